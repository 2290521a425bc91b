from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import translation

from projects.models import Milestone, Plan
from projects.spreadsheets.columns import DEFAULT_PLAN_CODE, MILESTONES, PROJECTS, kind_label
from projects.spreadsheets.files import portfolio_export


class Command(BaseCommand):
    help = (
        "핵심사업·마일스톤을 가져오기와 똑같은 열로 내보냅니다. XLSX는 두 시트, CSV는 --kind로 한 종류. "
        "/ Export projects and milestones in the import's columns (export → import changes nothing)."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="만들 파일 (.xlsx 또는 .csv)")
        parser.add_argument("--plan", default=DEFAULT_PLAN_CODE, help=f"계획 코드 (기본: {DEFAULT_PLAN_CODE})")
        parser.add_argument("--kind", choices=[PROJECTS, MILESTONES], help="한 종류만 내보냅니다 (CSV는 꼭 필요).")
        parser.add_argument(
            "--encoding",
            choices=["utf-8-sig", "cp949"],
            default="utf-8-sig",
            help="CSV 인코딩 (기본: BOM 붙은 UTF-8, Excel에서 한글이 깨지지 않습니다).",
        )

    def handle(self, *args, **options):
        translation.activate("ko")
        path = Path(options["file"])
        file_format = path.suffix.lower().lstrip(".")
        if file_format not in {"xlsx", "csv"}:
            raise CommandError("파일 이름은 .xlsx 또는 .csv로 끝나야 합니다.")
        kinds = (options["kind"],) if options["kind"] else (PROJECTS, MILESTONES)
        if file_format == "csv" and len(kinds) != 1:
            raise CommandError("CSV에는 한 종류만 담습니다: --kind projects 또는 --kind milestones를 주세요.")
        plan = Plan.objects.filter(code=options["plan"]).first()
        if plan is None:
            raise CommandError(f"계획 '{options['plan']}'이(가) 없습니다.")
        try:
            content = portfolio_export(plan=plan, file_format=file_format, kinds=kinds, encoding=options["encoding"])
        except UnicodeEncodeError as error:
            raise CommandError(
                f"{options['encoding']}로 쓸 수 없는 글자가 있습니다. --encoding utf-8-sig를 쓰세요."
            ) from error
        path.write_bytes(content)
        counts = {
            PROJECTS: plan.projects.count(),
            MILESTONES: Milestone.objects.filter(project__plan=plan).count(),
        }
        summary = ", ".join(f"{kind_label(kind)} {counts[kind]}건" for kind in kinds)
        self.stdout.write(f"{path}: {summary}")

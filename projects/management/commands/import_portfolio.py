from __future__ import annotations

from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils import translation

from projects.models import Plan
from projects.spreadsheets.columns import DEFAULT_PLAN_CODE, MILESTONES, PROJECTS, kind_label
from projects.spreadsheets.files import portfolio_import


class Command(BaseCommand):
    help = (
        "핵심사업·마일스톤 스프레드시트(XLSX 또는 UTF-8·CP949 CSV)를 가져옵니다. 한 행이라도 잘못되면 아무것도 "
        "바꾸지 않고, 잘못된 행을 모두 알려 줍니다. / Import projects and milestones, all or nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="XLSX 또는 CSV 파일")
        parser.add_argument("--dry-run", action="store_true", help="확인만 하고 저장하지 않습니다.")
        parser.add_argument("--user", help="변경 이력에 남길 사용자 이름 (관리자여야 합니다).")
        parser.add_argument("--plan", default=DEFAULT_PLAN_CODE, help=f"계획 코드 (기본: {DEFAULT_PLAN_CODE})")
        parser.add_argument(
            "--kind",
            choices=[PROJECTS, MILESTONES],
            help="파일 종류. 주지 않으면 열 머리글로 알아냅니다 (XLSX는 시트마다).",
        )

    def handle(self, *args, **options):
        translation.activate("ko")
        path = Path(options["file"])
        try:
            content = path.read_bytes()
        except OSError as error:
            raise CommandError(f"파일을 읽을 수 없습니다: {path} ({error.strerror})") from error
        plan = Plan.objects.filter(code=options["plan"]).first()
        if plan is None:
            raise CommandError(f"계획 '{options['plan']}'이(가) 없습니다. load_seeds를 먼저 실행하세요.")
        user = None
        if options["user"]:
            User = get_user_model()
            user = User.objects.filter(**{User.USERNAME_FIELD: options["user"]}).first()
            if user is None:
                raise CommandError(f"사용자 '{options['user']}'이(가) 없습니다.")
        report = portfolio_import(
            content=content,
            user=user,
            plan=plan,
            kind=options["kind"],
            file_name=path.name,
            dry_run=options["dry_run"],
        )
        for sheet in report.sheets:
            title = f" '{sheet.sheet}'" if sheet.sheet else ""
            self.stdout.write(
                f"{kind_label(sheet.kind)}{title}: 새로 만듦 {sheet.created}, 고침 {sheet.updated}, "
                f"그대로 {sheet.unchanged}"
            )
        if report.refused:
            for problem in report.problems:
                self.stderr.write(f"  {problem}")
            raise CommandError(f"가져오기를 거부했습니다: 문제 {len(report.problems)}건. 아무것도 바뀌지 않았습니다.")
        if report.dry_run:
            self.stdout.write("시험 실행(--dry-run)이라 저장하지 않았습니다. 문제는 없습니다.")
        else:
            self.stdout.write("가져오기를 마쳤습니다.")

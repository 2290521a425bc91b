from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import translation

from people.importer import people_import


class Command(BaseCommand):
    help = (
        "사람 명단(XLSX 또는 CSV: 아이디, 이메일, 성명, 직위, 부서, 역할)을 가져옵니다. 한 행이라도 잘못되면 아무것도 "
        "바꾸지 않습니다. 새 사용자는 비밀번호 찾기 메일로 비밀번호를 정합니다. / Import people, all or nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="XLSX 또는 CSV 파일")
        parser.add_argument("--dry-run", action="store_true", help="확인만 하고 저장하지 않습니다.")

    def handle(self, *args, file: str, dry_run: bool, **options):
        translation.activate("ko")
        try:
            content = Path(file).read_bytes()
        except OSError as error:
            raise CommandError(f"파일을 읽을 수 없습니다: {file} ({error.strerror})") from error
        report = people_import(content=content, dry_run=dry_run)
        if report.refused:
            raise CommandError("가져오지 않았습니다:\n" + "\n".join(report.problems))
        verb = "확인만 했습니다 (저장하지 않음)" if dry_run else "가져왔습니다"
        self.stdout.write(f"{verb}: 새 사용자 {report.created}명, 고침 {report.updated}명, 그대로 {report.unchanged}명")

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from projects.demo import demo_portfolio_create
from projects.models import Plan
from tracker.dates import seoul_today


class Command(BaseCommand):
    help = (
        "계획을 71개 사업까지 채우는 예시 사업([예시])과 역할별 예시 사용자를 만듭니다. "
        "/ Add sample projects and one sample user per role."
    )

    def add_arguments(self, parser):
        parser.add_argument("--plan", default="busan-2025", help="계획 코드 (기본: busan-2025)")

    def handle(self, *args, plan: str, **options):
        try:
            plan_obj = Plan.objects.get(code=plan)
        except Plan.DoesNotExist as error:
            raise CommandError(f"계획 '{plan}'이(가) 없습니다. 먼저 load_seeds를 실행하세요.") from error
        result = demo_portfolio_create(plan=plan_obj, today=seoul_today())
        if result.projects_created:
            self.stdout.write(
                f"예시 사업 {result.projects_created}개, 마일스톤 {result.milestones_created}개를 만들었습니다."
            )
        else:
            self.stdout.write("예시 사업이 이미 있습니다. 바꾼 것이 없습니다.")
        if result.passwords:
            self.stdout.write("예시 사용자 (비밀번호는 지금 한 번만 표시됩니다):")
            for username, password in result.passwords.items():
                self.stdout.write(f"  {username:<14} {password}")

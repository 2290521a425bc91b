from __future__ import annotations

from django.core.management.base import BaseCommand

from projects.services import plan_load_seed


class Command(BaseCommand):
    help = "계획 원본(seeds/)을 불러옵니다. 다시 실행해도 바뀌는 것이 없습니다. / Load the announced plan (idempotent)."

    def handle(self, *args, **options):
        plan, tally = plan_load_seed()
        self.stdout.write(
            f"{plan.name}: 새로 만듦 {tally['created']}, 고침 {tally['updated']}, 그대로 {tally['unchanged']}"
        )

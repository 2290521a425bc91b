from __future__ import annotations

from django.core.management.base import BaseCommand

from notifications.runs import outbox_dispatch_recorded


class Command(BaseCommand):
    help = "발송함에서 보낼 때가 된 메일을 보냅니다. / Send what is due in the outbox."

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=int, default=500)

    def handle(self, *args, limit: int, **options):
        result = outbox_dispatch_recorded(limit=limit, trigger="command")
        self.stdout.write(
            f"발송 {result.sent}, 재시도 예정 {result.retried}, 실패 {result.failed}, 취소 {result.cancelled}, "
            f"재개 {result.recovered}, 확인 필요 {result.flagged}"
        )

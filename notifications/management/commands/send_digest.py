from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from notifications.digest import WeekNotOver, digest_week_check, digests_plan
from notifications.runs import digests_plan_recorded, outbox_dispatch_recorded
from tracker.dates import parse_iso_week


class Command(BaseCommand):
    help = "주간 요약을 만들어 보냅니다 (--dry-run: 출력만). / Build and send the weekly digest."

    def add_arguments(self, parser):
        parser.add_argument("--week", help="ISO 주, 예: 2026-W48 (기본: 발송할 때가 된 주)")
        parser.add_argument("--dry-run", action="store_true", help="기록하거나 보내지 않고 본문을 출력합니다.")

    def handle(self, *args, week: str | None, dry_run: bool, **options):
        try:
            week_start = parse_iso_week(week) if week else None
        except ValueError as error:
            raise CommandError(f"주 형식이 잘못되었습니다: {week} (예: 2026-W48)") from error
        if week_start is not None:
            # Refused before anything is planned or recorded: a week that has not ended has no digest yet.
            try:
                digest_week_check(week_start=week_start, now=timezone.now())
            except WeekNotOver as error:
                raise CommandError(str(error)) from error
        if dry_run:
            messages = digests_plan(now=timezone.now(), week_start=week_start, dry_run=True)
        else:
            messages = digests_plan_recorded(now=timezone.now(), week_start=week_start, trigger="command")
        for message in messages:
            self.stdout.write(f"{message.to_email}: {message.subject}")
        if dry_run:
            if messages:
                self.stdout.write("\n" + messages[0].body_text)
            self.stdout.write(f"보낼 주간 요약 {len(messages)}통 (dry-run: 기록·발송하지 않음)")
            return
        result = outbox_dispatch_recorded(trigger="command")
        self.stdout.write(f"주간 요약 {len(messages)}통 준비; 발송 {result.sent}, 실패 {result.failed}")

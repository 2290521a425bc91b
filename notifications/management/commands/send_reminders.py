from __future__ import annotations

import datetime as dt

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from notifications.models import Reminder
from notifications.reminders import reminders_plan
from notifications.runs import outbox_dispatch_recorded, reminders_plan_recorded
from tracker.dates import SEOUL, dday_label


class Command(BaseCommand):
    help = "기한 알림을 계획하고 보냅니다 (--dry-run: 보낼 것만 출력). / Plan and send deadline reminders."

    def add_arguments(self, parser):
        parser.add_argument("--date", help="이 날짜(YYYY-MM-DD)가 오늘인 것처럼 계획합니다 (발송 시각 이후 기준).")
        parser.add_argument("--dry-run", action="store_true", help="기록하거나 보내지 않고 출력만 합니다.")

    def handle(self, *args, date: str | None, dry_run: bool, **options):
        now = timezone.now()
        if date:
            try:
                day = dt.date.fromisoformat(date)
            except ValueError as error:
                raise CommandError(f"날짜 형식이 잘못되었습니다: {date} (YYYY-MM-DD)") from error
            now = dt.datetime.combine(day, dt.time(23, 0), tzinfo=SEOUL)
        if dry_run:
            result = reminders_plan(now=now, dry_run=True)
        else:
            result = reminders_plan_recorded(now=now, trigger="command")
        today = now.astimezone(SEOUL).date()
        for reminder in result.planned:
            milestone = reminder.milestone
            self.stdout.write(
                f"{reminder.recipient.email or reminder.recipient}: [{dday_label(milestone.due_date, today)}] "
                f"{milestone.project.code} {milestone.title} ({milestone.due_date})"
            )
        if dry_run:
            self.stdout.write(f"보낼 알림 {len(result.planned)}건 (dry-run: 기록·발송하지 않음)")
            return
        sent = outbox_dispatch_recorded(now=now if date else None, trigger="command")
        self.stdout.write(
            f"새 알림 {result.recorded}건, 취소 {result.cancelled}건, 메일 {result.messages}통 준비; "
            f"발송 {sent.sent}, 재시도 예정 {sent.retried}, 실패 {sent.failed}, 취소 {sent.cancelled}"
        )
        if skipped := result.skipped + sent.skipped:
            labels = dict(Reminder.SkipReason.choices)
            self.stdout.write(
                "보내지 않음: " + ", ".join(f"{labels[reason]} {count}건" for reason, count in sorted(skipped.items()))
            )

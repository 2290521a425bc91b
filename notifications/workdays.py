"""When a reminder e-mail may go out: on a working day, from the send hour, until that day ends.

- A person's e-mail of the day is today's if today is a working day and today's e-mail has not gone out yet;
  otherwise the next working day's (a weekend, a public holiday, or after the day's e-mail went out).
- It is not sent before the policy's send hour, whenever it was written (a catch-up at 08:01 waits for 09:00).
- It is sent on its own day or not at all: one still undelivered when its day ends (the mail server was down)
  gives its reminders back, and the next planner tick puts those that still apply into the next working day's
  e-mail. A nearer threshold overtaking one of them cancels it there as usual (nobody reads D-2 on D-1).

With the policy's ``shift_to_working_day`` off, the admins have said weekends and holidays are ordinary days:
then every day is a sending day.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils.translation import gettext as _

from notifications.models import OutboxMessage, Reminder, ReminderPolicy
from tracker.dates import SEOUL, is_working_day, seoul_datetime
from tracker.sqlvalues import id_set


def is_sending_day(day: dt.date, policy: ReminderPolicy) -> bool:
    return is_working_day(day) if policy.shift_to_working_day else True


def reminder_email_day(*, now: dt.datetime, policy: ReminderPolicy, served: set[dt.date]) -> dt.date:
    """The first sending day from today whose e-mail has not gone out (``served``: days whose e-mail did)."""
    day = now.astimezone(SEOUL).date()
    while day in served or not is_sending_day(day, policy):
        day += dt.timedelta(days=1)
    return day


def reminder_email_window(*, day: dt.date, now: dt.datetime, policy: ReminderPolicy) -> tuple[dt.datetime, dt.datetime]:
    """(not before, send by) of ``day``'s e-mail: from the send hour (or now, if later) to the end of the day."""
    return max(now, seoul_datetime(day, policy.send_hour)), seoul_datetime(day + dt.timedelta(days=1), 0)


@transaction.atomic
def reminder_emails_carry_over(*, now: dt.datetime) -> int:
    """Cancel the reminder e-mails whose day ended before they could be delivered, and free their reminders for
    the next working day's e-mail. Rows a sender holds are skipped (the next tick sees them again)."""
    expired = list(
        OutboxMessage.objects.select_for_update(skip_locked=True)
        .filter(kind=OutboxMessage.Kind.REMINDER, status=OutboxMessage.Status.PENDING, send_by__lte=now)
        .values_list("pk", flat=True)
    )
    if not expired:
        return 0
    Reminder.objects.filter(message_id__in=id_set(expired), status=Reminder.Status.PENDING).update(message=None)
    return OutboxMessage.objects.filter(pk__in=id_set(expired)).update(
        status=OutboxMessage.Status.CANCELLED,
        last_error=_("그날 전달하지 못해 (메일 서버 장애) 알림을 다음 근무일 메일로 넘겼습니다."),
    )

"""Clock and scheduler helpers shared by the notification tests (planning and delivery)."""

from __future__ import annotations

import datetime as dt

import time_machine

from notifications.models import OutboxMessage, Reminder
from notifications.outbox import DispatchResult, outbox_dispatch
from notifications.reminders import PlanResult, reminders_plan
from tracker.dates import SEOUL


def seoul(day: str, hour: int = 10, minute: int = 0) -> dt.datetime:
    """An aware moment in Asia/Seoul, e.g. ``seoul("2026-12-02", 9)``."""
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time(hour, minute), tzinfo=SEOUL)


def _snapshot() -> tuple[list, list]:
    reminders = list(
        Reminder.objects.order_by("pk").values_list("pk", "recipient_id", "threshold", "due_date", "status", "message")
    )
    messages = list(OutboxMessage.objects.order_by("pk").values_list("pk", "key", "status", "not_before", "body_text"))
    return reminders, messages


def plan_twice(now: dt.datetime) -> PlanResult:
    """Run the planner twice at a frozen ``now``: the second run must find nothing to do and change nothing."""
    with time_machine.travel(now, tick=False):
        first = reminders_plan(now=now)
        after_first = _snapshot()
        second = reminders_plan(now=now)
        assert (second.recorded, second.cancelled, second.messages) == (0, 0, 0)
        assert _snapshot() == after_first
    return first


def dispatch_at(moment: dt.datetime, /, **kwargs) -> DispatchResult:
    """One run of the outbox dispatcher with the clock frozen at ``moment`` (``now=`` is passed on as given)."""
    with time_machine.travel(moment, tick=False):
        return outbox_dispatch(**kwargs)


def thresholds(milestone, **filters) -> list[int]:
    return sorted(Reminder.objects.filter(milestone=milestone, **filters).values_list("threshold", flat=True))

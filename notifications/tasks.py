"""Celery tasks: thin. Beat ticks them; they call the planner and the dispatcher, which read the database."""

from __future__ import annotations

from celery import shared_task
from django.db import OperationalError, transaction
from django.utils import timezone

from notifications.digest import digests_plan
from notifications.outbox import outbox_dispatch
from notifications.reminders import reminders_plan

# Only errors a retry can fix (the database briefly unavailable); SMTP retries live in the outbox rows.
RETRYABLE = (OperationalError,)


@shared_task(autoretry_for=RETRYABLE, max_retries=3, default_retry_delay=10, time_limit=240, soft_time_limit=200)
def plan_reminders() -> int:
    result = reminders_plan(now=timezone.now())
    if result.messages:
        transaction.on_commit(dispatch_outbox.delay)
    return result.recorded


@shared_task(autoretry_for=RETRYABLE, max_retries=3, default_retry_delay=10, time_limit=240, soft_time_limit=200)
def dispatch_outbox(limit: int = 500) -> int:
    return outbox_dispatch(limit=limit).sent


@shared_task(autoretry_for=RETRYABLE, max_retries=3, default_retry_delay=10, time_limit=240, soft_time_limit=200)
def plan_digests() -> int:
    written = digests_plan(now=timezone.now())
    if written:
        transaction.on_commit(dispatch_outbox.delay)
    return len(written)

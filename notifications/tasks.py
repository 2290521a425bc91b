"""Celery tasks: thin. Beat ticks them; they call the planner and the dispatcher (each run recorded, runs.py)."""

from __future__ import annotations

import smtplib

from celery import shared_task
from django.conf import settings
from django.db import OperationalError, transaction
from django.utils import timezone

from notifications.models import OutboxMessage
from notifications.runs import digests_plan_recorded, outbox_dispatch_recorded, reminders_plan_recorded
from tracker.accounts import password_reset_send

# Only errors a retry can fix (the database briefly unavailable); SMTP retries live in the outbox rows.
RETRYABLE = (OperationalError,)


@shared_task(autoretry_for=RETRYABLE, max_retries=3, default_retry_delay=10, time_limit=240, soft_time_limit=200)
def plan_reminders() -> int:
    result = reminders_plan_recorded(now=timezone.now())
    if result.messages:
        transaction.on_commit(dispatch_outbox.delay)
    return result.recorded


def _continue(task, **kwargs) -> None:
    """Queue the next run where this one came from (a worker may consume a queue other than the default)."""
    queue = (task.request.delivery_info or {}).get("routing_key")
    if queue:
        task.apply_async(kwargs=kwargs, queue=queue)
    else:
        task.delay(**kwargs)


# Time limits: settings.DISPATCH_SOFT_TIME_LIMIT / DISPATCH_TIME_LIMIT (CELERY_TASK_ANNOTATIONS), explained there.
@shared_task(bind=True, autoretry_for=RETRYABLE, max_retries=3, default_retry_delay=10)
def dispatch_outbox(self, limit: int | None = None, wave: int = 0) -> int:
    """One short run of the dispatcher. While a backlog remains it continues in a fresh task; beat's tick (wave 0)
    finding a backlog and no other sender at work fans out into DISPATCH_FANOUT chains, one per worker process,
    each of which continues until the backlog is gone."""
    result = outbox_dispatch_recorded(limit=limit, budget=settings.DISPATCH_BUDGET)
    if result.more:
        if wave > 0:
            _continue(self, limit=limit, wave=wave + 1)
        elif not OutboxMessage.objects.filter(
            status=OutboxMessage.Status.SENDING, lease_expires_at__gt=timezone.now()
        ).exists():
            for _chain in range(settings.DISPATCH_FANOUT):
                _continue(self, limit=limit, wave=1)
    return result.sent


@shared_task(autoretry_for=RETRYABLE, max_retries=3, default_retry_delay=10, time_limit=240, soft_time_limit=200)
def plan_digests() -> int:
    written = digests_plan_recorded(now=timezone.now())
    if written:
        transaction.on_commit(dispatch_outbox.delay)
    return len(written)


# Only errors a retry can fix: the database or the mail server briefly unreachable.
MAIL_RETRYABLE = (
    OperationalError,
    smtplib.SMTPServerDisconnected,
    smtplib.SMTPConnectError,
    ConnectionError,
    TimeoutError,
)


@shared_task(autoretry_for=MAIL_RETRYABLE, max_retries=3, default_retry_delay=10, time_limit=60, soft_time_limit=50)
def send_password_reset(email: str) -> int:
    return password_reset_send(email=email)

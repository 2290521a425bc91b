"""Celery tasks: thin. Beat ticks them; they call the planner and the dispatcher (each run recorded, runs.py)."""

from __future__ import annotations

import smtplib

from celery import shared_task
from django.db import OperationalError, transaction
from django.utils import timezone

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


@shared_task(autoretry_for=RETRYABLE, max_retries=3, default_retry_delay=10, time_limit=240, soft_time_limit=200)
def dispatch_outbox(limit: int = 500) -> int:
    return outbox_dispatch_recorded(limit=limit).sent


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

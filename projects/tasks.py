"""Celery tasks of the portfolio: thin, they take ids and call a service."""

from __future__ import annotations

from celery import shared_task
from django.db import OperationalError

from projects.spreadsheets.jobs import import_job_process


# A large import is checked in chunks, its progress recorded after each; the limits stay below Redis's visibility
# timeout (1 h), so a task is never delivered twice while it still runs. A job a dead worker left behind is
# claimed again when its task comes back (jobs.STALE_AFTER_SECONDS).
@shared_task(
    autoretry_for=(OperationalError,), max_retries=3, default_retry_delay=10, time_limit=3300, soft_time_limit=3240
)
def import_job_run(job_id: int) -> str | None:
    return import_job_process(job_id=job_id)

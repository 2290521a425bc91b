"""Every planner and dispatcher run recorded (start, end, outcome, counts) and logged as one ``key=value`` line,
and the one e-mail to the admins when delivery has been failing for an hour.

The scheduled tasks and the operator commands both go through the ``*_recorded`` functions here; the planners
and the dispatcher themselves only return their counts (PlanResult, DispatchResult).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from django.conf import settings
from django.core.mail import mail_admins
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from notifications.digest import digests_plan
from notifications.models import DeliveryAlert, JobRun, OutboxMessage, Reminder
from notifications.outbox import DispatchResult, outbox_dispatch
from notifications.reminders import PlanResult, reminders_plan
from tracker.dates import SEOUL

logger = logging.getLogger("tracker.jobs")

# Run records older than this are deleted as new ones are written (the dispatcher writes one a minute).
RETENTION = dt.timedelta(days=14)
# Delivery failing for this long sends the admins one e-mail.
ALERT_AFTER = dt.timedelta(hours=1)

SKIP_REASONS = tuple(Reminder.SkipReason.values)


def logfmt(fields: Mapping[str, object]) -> str:
    """``key=value`` pairs in order; values with spaces or quotes are quoted (logfmt, what log tools parse)."""
    parts = []
    for key, value in fields.items():
        text = "" if value is None else str(value)
        if not text or any(c in text for c in ' "=\\'):
            text = '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
        parts.append(f"{key}={text}")
    return " ".join(parts)


def skipped_counts(skipped: Mapping[str, int]) -> dict[str, int]:
    """Every skip reason as its own count (zeros included, so each line has the same fields)."""
    return {f"skipped_{reason}": int(skipped.get(reason, 0)) for reason in SKIP_REASONS}


@contextmanager
def job_run(job: str, *, trigger: str = "task") -> Iterator[JobRun]:
    """Record one run: a row when it starts, its outcome and counts (set ``run.counts``) when it ends, and one log
    line. An exception is recorded and logged (its type and message, no traceback here) and raised again."""
    run = JobRun.objects.create(job=job, trigger=trigger, started_at=timezone.now())
    started = time.monotonic()
    try:
        yield run
    except BaseException as error:
        run.outcome = JobRun.Outcome.ERROR
        run.error = f"{type(error).__name__}: {error}"[:500]
        _finish(run, started)
        raise
    else:
        run.outcome = JobRun.Outcome.OK
        _finish(run, started)


def _finish(run: JobRun, started: float) -> None:
    run.finished_at = timezone.now()
    try:
        run.save(update_fields=["finished_at", "outcome", "counts", "error"])
    except Exception:  # noqa: BLE001 - the run's own error (often the database itself) is what must surface
        logger.warning("job=%s run=%s could not be recorded as finished", run.job, run.pk)
    fields = {
        "job": run.job,
        "trigger": run.trigger,
        "outcome": run.outcome,
        "duration_ms": round((time.monotonic() - started) * 1000),
        **run.counts,
    }
    if run.error:
        fields["error"] = run.error
    logger.log(logging.INFO if run.outcome == JobRun.Outcome.OK else logging.ERROR, logfmt(fields))
    if run.outcome == JobRun.Outcome.OK:
        JobRun.objects.filter(started_at__lt=run.started_at - RETENTION).delete()


def reminders_plan_recorded(*, now: dt.datetime, trigger: str = "task") -> PlanResult:
    with job_run(JobRun.Job.REMINDERS, trigger=trigger) as run:
        result = reminders_plan(now=now)
        run.counts = {
            "planned": result.recorded,
            "queued": result.messages,
            "cancelled": result.cancelled,
            **skipped_counts(result.skipped),
        }
    return result


def digests_plan_recorded(
    *, now: dt.datetime, week_start: dt.date | None = None, trigger: str = "task"
) -> list[OutboxMessage]:
    with job_run(JobRun.Job.DIGESTS, trigger=trigger) as run:
        written = digests_plan(now=now, week_start=week_start)
        run.counts = {"queued": len(written)}
    return written


def outbox_dispatch_recorded(
    *,
    limit: int | None = 500,
    now: dt.datetime | None = None,
    budget: float | None = None,
    trigger: str = "task",
) -> DispatchResult:
    with job_run(JobRun.Job.DISPATCH, trigger=trigger) as run:
        result = outbox_dispatch(limit=limit, now=now, budget=budget)
        run.counts = {
            "sent": result.sent,
            "retried": result.retried,
            "failed": result.failed,
            "cancelled": result.cancelled,
            "recovered": result.recovered,
            "flagged": result.flagged,
            **skipped_counts(result.skipped),
        }
    delivery_alert_send_if_due(now=timezone.now())
    return result


# Failing delivery ------------------------------------------------------------------------------------------

ACTIVE = Q(counts__sent__gt=0) | Q(counts__retried__gt=0) | Q(counts__failed__gt=0)
FAILING = Q(counts__retried__gt=0) | Q(counts__failed__gt=0)


def delivery_failing_since() -> dt.datetime | None:
    """When the current stretch of failing delivery began, or None while delivery works.

    Delivery is failing when the latest dispatcher run that tried anything sent nothing and had failures (retried
    or failed); the stretch began with the first such run after the last run that sent something."""
    runs = JobRun.objects.filter(job=JobRun.Job.DISPATCH, outcome=JobRun.Outcome.OK)
    latest = runs.filter(ACTIVE).order_by("-started_at").values_list("counts", flat=True).first()
    if not latest or latest.get("sent", 0) > 0:
        return None
    last_success = runs.filter(counts__sent__gt=0).order_by("-started_at").values_list("started_at", flat=True).first()
    failures = runs.filter(FAILING)
    if last_success is not None:
        failures = failures.filter(started_at__gt=last_success)
    return failures.order_by("started_at").values_list("started_at", flat=True).first()


def delivery_alert_send_if_due(*, now: dt.datetime) -> DeliveryAlert | None:
    """After an hour of failing delivery, e-mail the admins once for that stretch (not once per failure).

    The alert row is claimed with a conditional UPDATE before the e-mail goes, so two dispatchers never both
    send it; when the e-mail itself cannot go (the relay may be the trouble) the claim is released and the next
    run tries again."""
    since = delivery_failing_since()
    if since is None or now - since < ALERT_AFTER:
        return None
    alert, _created = DeliveryAlert.objects.get_or_create(failing_since=since)
    if alert.sent_at is not None:
        return alert
    if not settings.ADMINS:
        if _created:
            logger.warning("alert=delivery_failing since=%s admins=none (set ADMINS)", since.isoformat())
        return alert
    if not DeliveryAlert.objects.filter(pk=alert.pk, sent_at=None).update(sent_at=now):
        return alert  # another dispatcher holds it
    try:
        mail_admins(*_alert_email(since=since, now=now), fail_silently=False)
    except Exception as error:  # noqa: BLE001 - any failure to send: release the claim, try on the next run
        DeliveryAlert.objects.filter(pk=alert.pk).update(sent_at=None, last_error=str(error)[:500])
        logger.warning("alert=delivery_failing since=%s sent=no error=%s", since.isoformat(), type(error).__name__)
        return alert
    logger.warning("alert=delivery_failing since=%s sent=yes admins=%d", since.isoformat(), len(settings.ADMINS))
    alert.refresh_from_db()
    return alert


def _alert_email(*, since: dt.datetime, now: dt.datetime) -> tuple[str, str]:
    waiting = OutboxMessage.objects.filter(status=OutboxMessage.Status.PENDING, attempts__gt=0)
    failed = OutboxMessage.objects.filter(status=OutboxMessage.Status.FAILED, updated_at__gte=since)
    last_error = (
        OutboxMessage.objects.filter(status__in=[OutboxMessage.Status.PENDING, OutboxMessage.Status.FAILED])
        .exclude(last_error="")
        .order_by("-updated_at")
        .values_list("last_error", flat=True)
        .first()
    )
    minutes = int((now - since).total_seconds() // 60)
    subject = _("메일 발송이 %(minutes)d분째 실패하고 있습니다") % {"minutes": minutes}
    lines = [
        _("부산 성장전략 TF 시스템의 메일 발송이 %(since)s부터 실패하고 있습니다.")
        % {"since": f"{since.astimezone(SEOUL):%Y-%m-%d %H:%M} (KST)"},
        "",
        _("재시도를 기다리는 메일: %(count)d통") % {"count": waiting.count()},
        _("실패한 메일: %(count)d통") % {"count": failed.count()},
        _("마지막 오류: %(error)s") % {"error": (last_error or "-")[:300]},
        "",
        _("메일 서버(EMAIL_URL)를 확인하세요. 이 장애 동안에는 이 알림을 다시 보내지 않습니다."),
        _("시스템 상태: %(url)s") % {"url": settings.SITE_URL + reverse("admin_system_status")},
    ]
    return subject, "\n".join(lines) + "\n"

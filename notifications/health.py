"""Is the tracker alive? The facts (scheduler, outbox) read from the run records, and the health checks built on
django-health-check that /health/, the admin's 시스템 상태 page, its banner and /metrics all report from.

No personal data: counts, ages and times only.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import uuid
from dataclasses import dataclass
from pathlib import Path

from asgiref.sync import async_to_sync, sync_to_async
from django.conf import settings
from django.db import DatabaseError
from django.db.models import Max, Min
from django.utils import timezone
from django.utils.translation import gettext as _
from health_check import Cache, Database, HealthCheck
from health_check.base import HealthCheckResult
from health_check.contrib.redis import Redis
from health_check.exceptions import ServiceUnavailable
from redis.asyncio import Redis as RedisClient

from notifications.models import JobRun, OutboxMessage, SchedulerHeartbeat
from notifications.runs import delivery_failing_since

# Beat records a tick every 30 s; this long without one means it is down.
TICK_STALE = dt.timedelta(minutes=10)
# The reminder planner is ticked every 5 minutes: three missed runs while beat ticks mean the broker or the
# workers are not doing the work (beat "ticking into the void").
PLANNER_STALE = dt.timedelta(minutes=15)
# A due e-mail waiting this long, or delivery failing this long, needs a person.
PENDING_STALE = dt.timedelta(hours=1)


@dataclass(frozen=True)
class SchedulerState:
    last_tick_at: dt.datetime | None
    beat_started_at: dt.datetime | None
    last_reminders_at: dt.datetime | None
    last_digests_at: dt.datetime | None
    last_dispatch_at: dt.datetime | None
    now: dt.datetime

    @property
    def seconds_since_tick(self) -> float | None:
        return (self.now - self.last_tick_at).total_seconds() if self.last_tick_at else None

    def problems(self) -> list[str]:
        if self.last_tick_at is None:
            return [_("스케줄러(Celery beat)가 한 번도 실행되지 않았습니다.")]
        problems = []
        if self.now - self.last_tick_at > TICK_STALE:
            problems.append(
                _("스케줄러(Celery beat)가 %(minutes)d분 동안 움직이지 않았습니다.")
                % {"minutes": self.seconds_since_tick // 60}
            )
        elif self._planner_silent():
            problems.append(
                _("스케줄러는 움직이지만 %(minutes)d분 넘게 알림 계획이 실행되지 않았습니다 (브로커 또는 워커 확인).")
                % {"minutes": PLANNER_STALE.seconds // 60}
            )
        return problems

    def _planner_silent(self) -> bool:
        """No reminder plan for PLANNER_STALE, counted from beat's start when none has run since (a fresh start
        is not an outage: the first plan comes on beat's first reminder tick)."""
        since = max(filter(None, (self.last_reminders_at, self.beat_started_at)), default=None)
        return since is None or self.now - since > PLANNER_STALE


@dataclass(frozen=True)
class OutboxState:
    pending: int
    due: int
    oldest_due_at: dt.datetime | None
    needs_attention: int
    failed: int
    failing_since: dt.datetime | None
    now: dt.datetime

    @property
    def oldest_pending_age_seconds(self) -> float | None:
        return (self.now - self.oldest_due_at).total_seconds() if self.oldest_due_at else None

    @property
    def failing_seconds(self) -> float | None:
        return (self.now - self.failing_since).total_seconds() if self.failing_since else None

    def problems(self) -> list[str]:
        problems = []
        if self.oldest_due_at is not None and self.now - self.oldest_due_at > PENDING_STALE:
            problems.append(
                _("보낼 때가 된 메일이 %(minutes)d분째 발송되지 않고 있습니다.")
                % {"minutes": self.oldest_pending_age_seconds // 60}
            )
        if self.failing_since is not None and self.now - self.failing_since > PENDING_STALE:
            problems.append(
                _("메일 발송이 %(minutes)d분째 실패하고 있습니다 (메일 서버 확인).")
                % {"minutes": self.failing_seconds // 60}
            )
        return problems


def scheduler_state(*, now: dt.datetime | None = None) -> SchedulerState:
    heartbeat = SchedulerHeartbeat.objects.filter(pk=1).first()
    last_ok = dict(
        JobRun.objects.filter(outcome=JobRun.Outcome.OK)
        .values("job")
        .annotate(last=Max("started_at"))
        .values_list("job", "last")
        .order_by()
    )
    return SchedulerState(
        last_tick_at=heartbeat.last_tick_at if heartbeat else None,
        beat_started_at=heartbeat.beat_started_at if heartbeat else None,
        last_reminders_at=last_ok.get(JobRun.Job.REMINDERS),
        last_digests_at=last_ok.get(JobRun.Job.DIGESTS),
        last_dispatch_at=last_ok.get(JobRun.Job.DISPATCH),
        now=now or timezone.now(),
    )


def outbox_state(*, now: dt.datetime | None = None) -> OutboxState:
    now = now or timezone.now()
    pending = OutboxMessage.objects.filter(status=OutboxMessage.Status.PENDING)
    due = pending.filter(not_before__lte=now)
    return OutboxState(
        pending=pending.count(),
        due=due.count(),
        oldest_due_at=due.aggregate(oldest=Min("not_before"))["oldest"],
        needs_attention=OutboxMessage.objects.filter(needs_attention=True).count(),
        failed=OutboxMessage.objects.filter(status=OutboxMessage.Status.FAILED).count(),
        failing_since=delivery_failing_since(),
        now=now,
    )


# Checks (django-health-check) ------------------------------------------------------------------------------


class FactCheck(HealthCheck):
    """A check of the tracker's own records. It runs in the request's thread (sync_to_async), on the request's
    database connection, and keeps what it found in ``state`` for the JSON and the status page."""

    state = None

    async def run(self) -> None:
        try:
            self.state = await sync_to_async(self.read)()
        except DatabaseError as error:  # the database check says why; this one only cannot read its records
            raise ServiceUnavailable(_("기록을 읽을 수 없습니다 (데이터베이스 확인).")) from error
        if problems := self.state.problems():
            raise ServiceUnavailable(" ".join(problems))

    def read(self):
        raise NotImplementedError


@dataclasses.dataclass
class HeartbeatCheck(FactCheck):
    """Beat has ticked within 10 minutes, and the reminder planner has run within 15 (a worker did the work)."""

    def read(self) -> SchedulerState:
        return scheduler_state()


@dataclasses.dataclass
class OutboxCheck(FactCheck):
    """No due e-mail has waited, and delivery has not been failing, for more than an hour."""

    def read(self) -> OutboxState:
        return outbox_state()


@dataclasses.dataclass
class FilesystemBroker(HealthCheck):
    """The local default broker (Celery's file-system transport): its queue folder takes and gives back a file."""

    def run(self) -> None:
        folder = Path(settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"])
        probe = folder.parent / f".health-{uuid.uuid4().hex}"
        try:
            probe.write_bytes(b"ok")
            if probe.read_bytes() != b"ok":
                raise ServiceUnavailable(_("브로커 폴더에 쓴 내용을 다시 읽지 못했습니다."))
        except OSError as error:
            message = _("브로커 폴더를 쓸 수 없습니다: %(error)s") % {"error": error.strerror}
            raise ServiceUnavailable(message) from error
        finally:
            with contextlib.suppress(OSError):
                probe.unlink(missing_ok=True)
        if not folder.is_dir():
            raise ServiceUnavailable(_("브로커 큐 폴더가 없습니다."))


def _redis_client() -> RedisClient:
    return RedisClient.from_url(settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=2)


def broker_check() -> HealthCheck:
    """Redis when REDIS_URL is set (django-health-check's own check), else the file-system transport's folder."""
    return Redis(client_factory=_redis_client) if settings.REDIS_URL else FilesystemBroker()


def checks() -> dict[str, HealthCheck]:
    """What /health/ reports, by the name it has in the JSON. Built per request: settings are read at run time."""
    return {
        "database": Database(),
        "cache": Cache(),
        "broker": broker_check(),
        "scheduler": HeartbeatCheck(),
        "outbox": OutboxCheck(),
    }


async def _run_all(named: dict[str, HealthCheck]) -> dict[str, HealthCheckResult]:
    results = await asyncio.gather(*(check.get_result() for check in named.values()))
    return dict(zip(named, results, strict=True))


async def health_results() -> dict[str, HealthCheckResult]:
    return await _run_all(checks())


def health_results_sync() -> dict[str, HealthCheckResult]:
    """The same from synchronous code (the admin's status page and banner, the metrics view)."""
    return async_to_sync(health_results)()


def _iso(moment: dt.datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _seconds(value: float | None) -> int | None:
    return None if value is None else int(value)


def health_report(results: dict[str, HealthCheckResult]) -> dict:
    """The JSON body of /health/: an overall status and each part with what it found. No personal data."""
    report: dict = {"status": "ok" if not any(r.error for r in results.values()) else "error"}
    for name, result in results.items():
        part: dict = {"ok": result.error is None}
        if result.error is not None:
            part["error"] = result.error.message
        if name == "broker":
            part["transport"] = "redis" if isinstance(result.check, Redis) else "filesystem"
        state = getattr(result.check, "state", None)
        if isinstance(state, SchedulerState):
            part |= {
                "last_tick": _iso(state.last_tick_at),
                "seconds_since_tick": _seconds(state.seconds_since_tick),
                "beat_started": _iso(state.beat_started_at),
                "last_reminder_plan": _iso(state.last_reminders_at),
                "last_digest_plan": _iso(state.last_digests_at),
                "last_dispatch": _iso(state.last_dispatch_at),
            }
        elif isinstance(state, OutboxState):
            part |= {
                "pending": state.pending,
                "due": state.due,
                "oldest_pending_age_seconds": _seconds(state.oldest_pending_age_seconds),
                "needs_attention": state.needs_attention,
                "failed": state.failed,
                "failing_since": _iso(state.failing_since),
            }
        report[name] = part
    report["checked_at"] = timezone.now().isoformat()
    return report

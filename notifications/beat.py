"""Celery beat's own heartbeat: the scheduler records its ticks in the database as it makes them.

Recorded by beat itself, not by a task a worker runs, so that each process answers for itself: a stale
heartbeat means beat is down; beat ticking while no planner run is recorded means the broker or the workers
are (health.py tells the two apart). Settings: CELERY_BEAT_SCHEDULER = "notifications.beat:HeartbeatScheduler".
"""

from __future__ import annotations

import logging
import time

from celery.beat import PersistentScheduler
from django.db import DatabaseError, close_old_connections, connection
from django.db.models import F
from django.utils import timezone

from notifications.models import SchedulerHeartbeat

logger = logging.getLogger("tracker.beat")

# Seconds between two recorded ticks: beat's loop may wake more often; the health check allows ten minutes.
HEARTBEAT_EVERY = 30.0


def heartbeat_record(*, started: bool = False) -> bool:
    """Record one tick (and, at start, when beat started). Never raises: beat must outlive a database outage."""
    now = timezone.now()
    try:
        if not connection.in_atomic_block:
            close_old_connections()  # a connection broken by a database restart is replaced, not reused
        values = {"last_tick_at": now, **({"beat_started_at": now} if started else {})}
        if not SchedulerHeartbeat.objects.filter(pk=1).update(ticks=F("ticks") + 1, **values):
            SchedulerHeartbeat.objects.update_or_create(pk=1, defaults={"ticks": 1, **values})
    except DatabaseError as error:
        if not connection.in_atomic_block:
            connection.close()
        logger.warning("beat heartbeat not recorded: %s", type(error).__name__)
        return False
    return True


class HeartbeatScheduler(PersistentScheduler):
    """Beat's usual scheduler (schedule kept in a file) that also records a heartbeat every HEARTBEAT_EVERY s."""

    def __init__(self, *args, **kwargs):
        self._last_heartbeat: float | None = None
        super().__init__(*args, **kwargs)

    def setup_schedule(self) -> None:
        super().setup_schedule()
        heartbeat_record(started=True)
        self._last_heartbeat = time.monotonic()

    def tick(self, *args, **kwargs) -> float:
        interval = super().tick(*args, **kwargs)
        moment = time.monotonic()
        if self._last_heartbeat is None or moment - self._last_heartbeat >= HEARTBEAT_EVERY:
            heartbeat_record()
            self._last_heartbeat = moment
        # Wake at least every HEARTBEAT_EVERY seconds, whatever the schedule says.
        return min(interval, HEARTBEAT_EVERY)

"""The worker and the dispatcher under the faults that stopped delivery for good: Redis restarted under a busy
worker, a relay that takes a second per message, a sender that dies with rows claimed, a backlog bigger than one
run. Real PostgreSQL, real Celery workers and Redis (our own redis-server where it is killed), the loopback SMTP
server; each case ends by counting at the SMTP server.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import threading
import time
from pathlib import Path
from unittest import mock

import time_machine
from django.conf import settings
from django.db import connection
from django.utils import timezone

from notifications import tasks
from notifications.models import OutboxMessage
from notifications.outbox import lease, outbox_dispatch, outbox_recover_expired_leases
from notifications.reminders import reminders_plan
from notifications.tasks import dispatch_outbox
from tests.reliability.conftest import (
    broker_idle,
    outbox_ids,
    people_with_due_milestones,
    wait_for,
)
from tests.reliability.test_delivery_reliability import due_in_a_week
from tracker.celery import app

Status = OutboxMessage.Status
ROOT = Path(settings.BASE_DIR)


def publish(broker_url: str, **kwargs) -> None:
    """What beat's tick does: one dispatch_outbox on the default queue of the broker at ``broker_url``."""
    with app.connection_for_write(broker_url) as broker_connection:
        dispatch_outbox.apply_async(kwargs=kwargs, connection=broker_connection, queue="celery")


def test_a_redis_restart_under_a_busy_worker_costs_no_worker_and_no_message(
    sends_now, smtp_server, worker_processes, own_redis
):
    """The worker (2 processes) is in the middle of a task, holding the SMTP server, when Redis is killed and
    started again. Before tracker/broker.py the worker logged "Unrecoverable error: AttributeError('NoneType'
    object has no attribute 'hostname')" and exited once its task ended. Now it reconnects and goes on."""
    people_with_due_milestones(12, due=due_in_a_week())
    reminders_plan(now=timezone.now())
    expected = outbox_ids()
    smtp_server.hold_next()
    worker = worker_processes(queue=None, broker_url=own_redis.url, pool="prefork", concurrency=2)
    publish(own_redis.url, limit=3)
    assert smtp_server.holding.wait(timeout=60), worker.log()

    own_redis.kill()
    own_redis.start()
    wait_for(lambda: "Connected to" in worker.log().split("Connection to broker lost")[-1], what="the reconnection")
    smtp_server.release()  # the busy task finishes, and acknowledges on the connection that died
    wait_for(lambda: len(smtp_server.delivered) >= 3, what=f"the held task to finish\n{worker.log()}")
    publish(own_redis.url)  # beat's next tick, on the restarted Redis

    wait_for(
        lambda: not OutboxMessage.objects.exclude(status=Status.SENT).exists(),
        what=f"every message to be sent\n{worker.log()}",
    )
    client = own_redis.client()
    wait_for(lambda: broker_idle(client, "celery"), what="the worker to finish its tasks")
    client.close()
    assert worker.running, worker.log()
    assert "Unrecoverable error" not in worker.log()
    smtp_server.assert_delivered_exactly_once(expected)


def test_a_relay_taking_a_second_per_message_is_never_cut_mid_batch(
    sends_now, smtp_server, worker_processes, broker, task_queue
):
    """With the shipped timeouts a run is a few seconds of batches: nothing is cut by a time limit, no delivered
    message is flagged, no row waits out a lease. (Before: 200 s soft limit < 10 × 30 s, runs cut mid-batch.)"""
    people_with_due_milestones(8, due=due_in_a_week())
    reminders_plan(now=timezone.now())
    expected = outbox_ids()
    smtp_server.delay = 1.0
    worker = worker_processes(queue=task_queue, pool="prefork", concurrency=2)
    dispatch_outbox.delay()  # one tick: it continues (and fans out) by itself while the backlog lasts

    smtp_server.wait_for_deliveries(len(expected), timeout=60)
    wait_for(lambda: broker_idle(broker, task_queue), what="the chains to end")
    smtp_server.assert_delivered_exactly_once(expected)
    rows = OutboxMessage.objects.all()
    assert {(row.status, row.attempts, row.needs_attention) for row in rows} == {(Status.SENT, 1, False)}
    assert "SoftTimeLimitExceeded" not in worker.log() and "TimeLimitExceeded" not in worker.log()


def test_the_timeouts_nest_and_a_dead_senders_rows_come_back_within_a_minute():
    batch_worst = settings.EMAIL_TIMEOUT * settings.OUTBOX_CLAIM_BATCH
    assert batch_worst + settings.DISPATCH_BUDGET < settings.DISPATCH_SOFT_TIME_LIMIT
    assert settings.DISPATCH_SOFT_TIME_LIMIT < settings.DISPATCH_TIME_LIMIT < settings.OUTBOX_LEASE_SECONDS
    assert settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("visibility_timeout", 3600) > settings.OUTBOX_LEASE_SECONDS
    assert settings.OUTBOX_LEASE_SECONDS + settings.DISPATCH_TICK_SECONDS <= 60
    assert settings.CELERY_BEAT_SCHEDULE["dispatch-outbox"]["schedule"] == settings.DISPATCH_TICK_SECONDS
    assert dispatch_outbox.soft_time_limit == settings.DISPATCH_SOFT_TIME_LIMIT
    assert dispatch_outbox.time_limit == settings.DISPATCH_TIME_LIMIT


def test_a_sender_that_died_with_rows_claimed_gives_them_back_at_the_first_tick_after_its_lease(sends_now, smtp_server):
    people_with_due_milestones(3, due=due_in_a_week())
    reminders_plan(now=timezone.now())
    died_at = timezone.now()
    with time_machine.travel(died_at, tick=False):  # a sender claims a batch and is killed before SMTP
        OutboxMessage.objects.update(
            status=Status.SENDING,
            claim_token="6f1c8d4e-0000-4000-8000-000000000002",
            lease_expires_at=died_at + lease(),
        )
    with time_machine.travel(died_at + lease() - dt.timedelta(seconds=1), tick=False):
        assert outbox_dispatch().sent == 0
    tick = died_at + lease() + dt.timedelta(seconds=settings.DISPATCH_TICK_SECONDS)
    assert tick - died_at <= dt.timedelta(seconds=60)
    with time_machine.travel(tick, tick=False):
        result = outbox_dispatch()
    assert (result.recovered, result.sent) == (3, 3)
    smtp_server.assert_delivered_exactly_once(outbox_ids())


def test_a_sender_still_working_renews_its_lease(sends_now, smtp_server, settings):
    """A lease of 2 s and a relay taking 0.8 s a message: a batch of four outlasts the lease, and another
    dispatcher looking in meanwhile must find nothing expired (nothing flagged, nothing sent twice)."""
    settings.OUTBOX_LEASE_SECONDS = 2
    people_with_due_milestones(4, due=due_in_a_week())
    reminders_plan(now=timezone.now())
    smtp_server.delay = 0.8
    errors = []

    def send() -> None:
        try:
            outbox_dispatch()
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connection.close()

    sender = threading.Thread(target=send)
    sender.start()
    looked = []
    while sender.is_alive():
        time.sleep(0.5)
        looked.append(outbox_recover_expired_leases(now=timezone.now()))
    sender.join()
    assert not errors
    assert len(looked) >= 5 and set(looked) == {(0, 0)}
    assert set(OutboxMessage.objects.values_list("status", "attempts", "needs_attention")) == {(Status.SENT, 1, False)}
    smtp_server.assert_delivered_exactly_once(outbox_ids())


# A backlog: the tick continues and fans out ------------------------------------------------------------------


def test_a_tick_finding_a_backlog_fans_out_and_each_chain_continues_until_it_is_empty(sends_now, smtp_server, settings):
    settings.DISPATCH_BUDGET = 0  # one batch per run, so the test sees every continuation
    settings.DISPATCH_FANOUT = 3
    people_with_due_milestones(3 * settings.OUTBOX_CLAIM_BATCH + 1, due=due_in_a_week())
    reminders_plan(now=timezone.now())
    with mock.patch.object(tasks.dispatch_outbox, "delay") as delay:
        tasks.dispatch_outbox()  # beat's tick (wave 0): a full batch sent, more due, nobody else sending
        assert [call.kwargs for call in delay.call_args_list] == [{"limit": None, "wave": 1}] * 3
        delay.reset_mock()
        tasks.dispatch_outbox(wave=1)  # one chain: continues with one task
        assert [call.kwargs for call in delay.call_args_list] == [{"limit": None, "wave": 2}]
        delay.reset_mock()
        while OutboxMessage.objects.filter(status=Status.PENDING).exists():
            tasks.dispatch_outbox(wave=2)
        tasks.dispatch_outbox(wave=3)  # nothing left: the chain ends
        assert delay.call_count <= 2
    smtp_server.assert_delivered_exactly_once(outbox_ids())


def test_a_tick_while_another_sender_is_at_work_does_not_fan_out(sends_now, smtp_server, settings):
    settings.DISPATCH_BUDGET = 0
    people_with_due_milestones(3 * settings.OUTBOX_CLAIM_BATCH, due=due_in_a_week())
    reminders_plan(now=timezone.now())
    busy = OutboxMessage.objects.order_by("-pk")[0]
    OutboxMessage.objects.filter(pk=busy.pk).update(
        status=Status.SENDING,
        claim_token="6f1c8d4e-0000-4000-8000-000000000003",
        lease_expires_at=timezone.now() + lease(),
    )
    with mock.patch.object(tasks.dispatch_outbox, "delay") as delay:
        tasks.dispatch_outbox()
    assert delay.call_count == 0


# Every supported way of running the worker restarts one that exits --------------------------------------------


def test_keep_running_starts_a_command_that_exits_again_and_stops_with_its_supervisor(tmp_path):
    runs = tmp_path / "runs"
    process = subprocess.Popen(
        ["bash", str(ROOT / "scripts" / "keep-running.sh"), "sh", "-c", f"echo run >> {runs}; exit 1"],
        env={**os.environ, "KEEP_RUNNING_DELAY": "0.1"},
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        wait_for(lambda: runs.exists() and len(runs.read_text().split()) >= 3, timeout=20, what="three runs")
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    assert b"exited with status 1; starting it again" in process.stderr.read()


def test_make_run_and_docker_compose_restart_a_worker_that_exits():
    procfile = dict(line.split(": ", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line)
    assert procfile["worker"].startswith("bash scripts/keep-running.sh celery -A tracker worker")
    compose = (ROOT / "docker-compose.yml").read_text()
    app_block = compose.split("x-app: &app", 1)[1].split("\nservices:", 1)[0]
    worker_block = compose.split("\n  worker:\n", 1)[1].split("\n\n", 1)[0]
    assert "\n  restart: unless-stopped\n" in app_block
    assert "<<: *app" in worker_block and "restart:" not in worker_block  # the anchor's policy applies

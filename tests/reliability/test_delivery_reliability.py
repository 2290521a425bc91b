"""Deadline reminders under the failures production will see: two planners or beats at once, a dispatch
task delivered ten times, a worker killed mid-send, a flaky or refusing SMTP server, Redis restarted with
tasks queued, the scheduler down for a night. Each case ends the way a project manager would check it: every
e-mail that should have arrived did, exactly once (by Message-ID at the SMTP server), and nothing else did.

Real PostgreSQL (committed rows shared with worker threads and processes), real Redis, real Celery workers,
a real SMTP server on loopback (tests/smtp.py).

The two tests at the end are bugs this suite found (a stale e-mail after downtime, a race between the planner
and the dispatcher), kept as regressions.
"""

from __future__ import annotations

import datetime as dt
import re
import threading

import psycopg
import time_machine
from django.db import connection, transaction
from django.test import Client
from django.utils import timezone

from notifications.models import OutboxMessage, Reminder
from notifications.outbox import outbox_dispatch
from notifications.reminders import reminders_plan
from notifications.tasks import dispatch_outbox, plan_reminders
from tests.factories import MilestoneFactory, UserFactory
from tests.reliability.conftest import (
    broker_idle,
    database_url,
    delivered_recipients,
    outbox_ids,
    people_with_due_milestones,
    wait_for,
)
from tests.smtp import refuse_at_random, refuse_message_ids
from tracker.celery import app
from tracker.dates import SEOUL, seoul_today

Status = OutboxMessage.Status


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=SEOUL)


def due_in_a_week() -> dt.date:
    """A due date whose D-7 reminder is ready now (with the sends_now policy), on whatever day the suite runs."""
    return seoul_today() + dt.timedelta(days=7)


def make_due_now() -> None:
    """Move every waiting message's backoff into the past, instead of sleeping through it."""
    OutboxMessage.objects.filter(status=Status.PENDING).update(not_before=timezone.now() - dt.timedelta(seconds=1))


def expire_leases() -> None:
    """What five minutes without the worker would do to its lease."""
    OutboxMessage.objects.filter(status=Status.SENDING).update(
        lease_expires_at=timezone.now() - dt.timedelta(seconds=1)
    )


# 1. Two planners, two beats ------------------------------------------------------------------------------------


def test_two_planners_at_the_same_moment_write_one_email_per_person(live_db, smtp_server):
    now = at(dt.date(2026, 12, 3), 10)  # a Thursday; the milestones are due the next Thursday: D-7 is due
    people = people_with_due_milestones(6, due=dt.date(2026, 12, 10), per_person=2)
    start, errors, recorded = threading.Barrier(4), [], []

    def plan() -> None:
        try:
            start.wait(timeout=10)
            recorded.append(reminders_plan(now=now).recorded)
        except Exception as error:  # noqa: BLE001 - reported by the assert below
            errors.append(error)
        finally:
            connection.close()

    with time_machine.travel(now, tick=True):
        planners = [threading.Thread(target=plan) for _ in range(4)]
        for planner in planners:
            planner.start()
        for planner in planners:
            planner.join(timeout=30)
        assert not errors
        assert not any(planner.is_alive() for planner in planners)
        first, second = outbox_dispatch(), outbox_dispatch()

    assert (first.sent, second.sent) == (6, 0)
    assert Reminder.objects.filter(threshold=7, status=Reminder.Status.SENT).count() == 12
    # Each planner reports what it wrote, not what it meant to (before: each said 12).
    assert sum(recorded) == 12, recorded
    assert OutboxMessage.objects.count() == 6
    smtp_server.assert_delivered_exactly_once(outbox_ids(status=Status.SENT))
    assert delivered_recipients(smtp_server) == {person.email: 1 for person in people}


def test_two_beats_ticking_together_send_one_email_per_person(
    sends_now, smtp_server, inprocess_worker, broker, task_queue
):
    people = people_with_due_milestones(8, due=due_in_a_week(), per_person=2)
    plan_reminders.delay()
    plan_reminders.delay()  # the second beat (or a beat that fired twice)
    assert broker.llen(task_queue) == 2

    with inprocess_worker(concurrency=2):  # both ticks are taken at once, by two threads
        smtp_server.wait_for_deliveries(len(people), timeout=60)
        wait_for(lambda: broker_idle(broker, task_queue), what="the worker to finish every task")

    assert OutboxMessage.objects.filter(status=Status.SENT).count() == len(people)
    smtp_server.assert_delivered_exactly_once(outbox_ids())
    assert delivered_recipients(smtp_server) == {person.email: 1 for person in people}


# 2. The dispatcher delivered ten times ---------------------------------------------------------------------------


def sent_by_task(worker_log: str) -> list[int]:
    """What each dispatch_outbox task returned (the number it sent), from the worker's log."""
    return [int(n) for n in re.findall(r"dispatch_outbox\[[^]]+\] succeeded in [^:]+: (\d+)", worker_log)]


def test_ten_dispatch_tasks_on_three_worker_processes_send_each_message_once(
    sends_now, smtp_server, worker_processes, broker, task_queue
):
    people_with_due_milestones(30, due=due_in_a_week())
    reminders_plan(now=timezone.now())
    expected = outbox_ids(status=Status.PENDING)
    assert len(expected) == 30
    smtp_server.delay = 0.03  # a slow server keeps the three processes claiming side by side
    for _ in range(10):
        dispatch_outbox.delay()

    worker = worker_processes(queue=task_queue, pool="prefork", concurrency=3)
    smtp_server.wait_for_deliveries(30, timeout=60)
    wait_for(lambda: broker_idle(broker, task_queue), what="the ten tasks to finish")
    wait_for(lambda: len(sent_by_task(worker.log())) == 10, what="the ten tasks' results in the worker log")

    assert OutboxMessage.objects.filter(status=Status.SENT).count() == 30
    smtp_server.assert_delivered_exactly_once(expected)
    sent = sent_by_task(worker.log())
    assert sum(sent) == 30
    assert sum(1 for n in sent if n) > 1, f"one task sent everything, nothing ran side by side: {sent}"


# 3. A worker killed after claiming a message ---------------------------------------------------------------------


def _worker_waiting_on_reminders() -> list[int]:
    """Sessions queued behind the lock the test holds on the reminder table."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT l.pid FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE c.relname = %s AND NOT l.granted",
            [Reminder._meta.db_table],
        )
        return [pid for (pid,) in cursor.fetchall()]


def test_a_worker_killed_between_its_claim_and_smtp_is_retried_once_the_lease_expires(
    sends_now, smtp_server, worker_processes, task_queue
):
    """The moment tested: the row is `sending` under the worker's claim and no SMTP conversation has begun
    (smtp_started_at is empty). To stop the worker exactly there, the test holds an exclusive lock on the
    reminder table: the dispatcher claims its batch (outbox only), then reads the reminders to write the
    e-mails before it records smtp_started_at, and waits on the lock. It is killed while it waits."""
    people_with_due_milestones(2, due=due_in_a_week())
    reminders_plan(now=timezone.now())
    first, second = OutboxMessage.objects.order_by("not_before", "pk")
    with psycopg.connect(database_url()) as locker:
        locker.execute(f"LOCK TABLE {Reminder._meta.db_table} IN ACCESS EXCLUSIVE MODE")
        worker = worker_processes(queue=task_queue)
        dispatch_outbox.delay()
        wait_for(
            lambda: bool(_worker_waiting_on_reminders()), what="the worker to claim a message and wait on the lock"
        )
        first.refresh_from_db()
        assert (first.status, first.smtp_started_at, first.attempts) == (Status.SENDING, None, 1)

        worker.kill()
        with connection.cursor() as cursor:  # its database session dies with it
            for pid in _worker_waiting_on_reminders():
                cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
        locker.rollback()

    # The next tick, within the lease: the dead worker claimed its batch (both rows), so both wait.
    early = outbox_dispatch()
    assert (early.sent, early.recovered) == (0, 0)
    assert set(OutboxMessage.objects.values_list("status", flat=True)) == {Status.SENDING}
    assert smtp_server.delivered == []

    expire_leases()
    late = outbox_dispatch()
    assert (late.recovered, late.flagged, late.sent) == (2, 0, 2)
    first.refresh_from_db()
    assert (first.status, first.needs_attention, first.attempts) == (Status.SENT, False, 2)
    assert outbox_dispatch().sent == 0
    smtp_server.assert_delivered_exactly_once({first.message_id, second.message_id})


def test_a_worker_killed_during_smtp_is_flagged_for_a_person_and_never_sent_twice(
    sends_now, smtp_server, worker_processes, task_queue
):
    """The moment tested: the SMTP server has the whole message (DATA) and has not answered yet when the worker
    is killed; the server then accepts it. The row's smtp_started_at is set: it may have gone out (it did)."""
    people_with_due_milestones(2, due=due_in_a_week())
    reminders_plan(now=timezone.now())
    first, second = OutboxMessage.objects.order_by("not_before", "pk")
    smtp_server.hold_next()
    worker = worker_processes(queue=task_queue)
    dispatch_outbox.delay()
    assert smtp_server.holding.wait(timeout=60), worker.log()
    first.refresh_from_db()
    assert first.status == Status.SENDING and first.smtp_started_at is not None

    worker.kill()
    smtp_server.release()  # the server accepts what it was given: the message did go out
    wait_for(lambda: len(smtp_server.delivered) == 1, what="the held message to be accepted")

    early = outbox_dispatch()  # within the lease: the dead worker's batch (both rows) waits
    assert (early.sent, early.flagged) == (0, 0)
    expire_leases()
    late = outbox_dispatch()  # the row SMTP began for is flagged; the one it never reached is sent
    assert (late.sent, late.recovered, late.flagged) == (1, 1, 1)
    first.refresh_from_db()
    assert (first.status, first.needs_attention, first.sent_at) == (Status.FAILED, True, None)
    assert "이미 발송되었을 수 있습니다" in first.last_error
    make_due_now()
    assert outbox_dispatch().sent == 0
    smtp_server.assert_delivered_exactly_once({first.message_id, second.message_id})


# 4-5. A flaky and a refusing SMTP server --------------------------------------------------------------------------


def test_temporary_smtp_failures_are_retried_until_each_message_arrived_once(sends_now, smtp_server):
    people_with_due_milestones(20, due=due_in_a_week())
    reminders_plan(now=timezone.now())
    expected = outbox_ids()
    smtp_server.policy = refuse_at_random(0.3, "451 4.3.0 Try again later", seed=2026)

    rounds = 0
    while OutboxMessage.objects.filter(status=Status.PENDING).exists():
        rounds += 1
        assert rounds <= 8, "still pending after eight dispatch rounds"
        make_due_now()
        outbox_dispatch()

    refused = {message.message_id for message in smtp_server.refused}
    assert refused and all(message.reply.startswith("451") for message in smtp_server.refused)
    assert set(OutboxMessage.objects.filter(attempts__gt=1).values_list("message_id", flat=True)) == refused
    assert OutboxMessage.objects.filter(status=Status.SENT).count() == 20
    smtp_server.assert_delivered_exactly_once(expected)


def test_a_permanent_smtp_failure_fails_the_message_visibly_and_is_not_retried(sends_now, smtp_server):
    people_with_due_milestones(3, due=due_in_a_week())
    reminders_plan(now=timezone.now())
    doomed = OutboxMessage.objects.order_by("pk").first()
    smtp_server.policy = refuse_message_ids({doomed.message_id}, "550 5.1.1 Mailbox unavailable")

    outbox_dispatch()
    make_due_now()
    outbox_dispatch()
    outbox_dispatch()

    doomed.refresh_from_db()
    assert (doomed.status, doomed.attempts, doomed.sent_at) == (Status.FAILED, 1, None)
    assert "550" in doomed.last_error
    assert [message.message_id for message in smtp_server.refused] == [doomed.message_id]
    smtp_server.assert_delivered_exactly_once(outbox_ids(status=Status.SENT))
    assert len(smtp_server.delivered) == 2

    admin = UserFactory(username="root", is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(admin)
    listing = client.get("/admin/notifications/outboxmessage/", {"status__exact": Status.FAILED})
    assert listing.status_code == 200
    assert doomed.key in listing.content.decode()
    detail = client.get(f"/admin/notifications/outboxmessage/{doomed.pk}/change/")
    assert "550" in detail.content.decode()


# 6. Redis restarted ------------------------------------------------------------------------------------------------


def test_after_redis_restarts_with_tasks_queued_every_message_arrives_once(
    sends_now, smtp_server, worker_processes, own_redis
):
    """Our own redis-server, without persistence: the restart loses the queued tasks; the outbox rows in
    PostgreSQL are what the next beat tick delivers from."""
    people_with_due_milestones(20, due=due_in_a_week())
    reminders_plan(now=timezone.now())
    expected = outbox_ids()
    with app.connection_for_write(own_redis.url) as broker_connection:
        for _ in range(7):
            dispatch_outbox.apply_async(kwargs={"limit": 3}, connection=broker_connection, queue="celery")
    smtp_server.hold_next()
    worker = worker_processes(queue=None, broker_url=own_redis.url)
    assert smtp_server.holding.wait(timeout=60), worker.log()
    client = own_redis.client()
    assert client.llen("celery") == 6  # one task running (and holding the SMTP server), six queued
    client.close()

    own_redis.kill()
    own_redis.start()
    client = own_redis.client()
    assert client.dbsize() == 0  # the queued tasks are gone
    smtp_server.release()
    with app.connection_for_write(own_redis.url) as broker_connection:  # the next beat tick
        dispatch_outbox.apply_async(connection=broker_connection, queue="celery")

    wait_for(
        lambda: not OutboxMessage.objects.exclude(status=Status.SENT).exists(),
        what=f"every message to be sent\n{worker.log()}",
    )
    wait_for(lambda: broker_idle(client, "celery"), what="the worker to finish the tick")
    client.close()
    assert worker.running
    smtp_server.assert_delivered_exactly_once(expected)


# 7. The scheduler down for a night ------------------------------------------------------------------------------


def test_after_26_hours_without_the_scheduler_only_the_nearest_threshold_is_sent(sends_now, smtp_server):
    """Thresholds D-3, D-1 and D-day; the scheduler runs at D-2 23:00 and next at D-day 01:00: D-1 is skipped."""
    due = dt.date(2026, 12, 10)
    (person,) = people_with_due_milestones(1, due=due)
    before = at(due - dt.timedelta(days=2), 23)

    for now in (before, before + dt.timedelta(hours=26)):
        with time_machine.travel(now, tick=False):
            reminders_plan(now=timezone.now())
            reminders_plan(now=timezone.now())
            outbox_dispatch()
            outbox_dispatch()

    assert sorted(Reminder.objects.values_list("threshold", "status")) == [(0, "sent"), (3, "sent")]
    smtp_server.assert_delivered_exactly_once(outbox_ids(status=Status.SENT))
    first, second = smtp_server.delivered
    assert "[D-2]" in first.text
    assert "[D-day]" in second.text and "[D-1]" not in second.text
    assert delivered_recipients(smtp_server) == {person.email: 2}


def test_an_email_left_waiting_while_the_scheduler_was_down_is_not_sent_stale(live_db, smtp_server):
    """The default policy (09:00, working days), both milestones due on Thursday. Monday 10:00: the D-3 e-mail
    goes. Monday 15:00: a second milestone is added; its D-3 item waits for Tuesday's e-mail (Monday's went).
    The scheduler is down from then until Wednesday 10:00, when D-1 is due for both: one e-mail, labelled D-1,
    not Tuesday's as well, which would tell the person "[D-2]" on D-1."""
    due = dt.date(2026, 12, 10)
    (person,) = people_with_due_milestones(1, due=due)
    monday = due - dt.timedelta(days=3)

    with time_machine.travel(at(monday, 10), tick=False):
        reminders_plan(now=timezone.now())
        outbox_dispatch()
    with time_machine.travel(at(monday, 15), tick=False):
        added = MilestoneFactory(
            project=person.managed_projects.get(), owner=person, title="월요일 오후에 생긴 마일스톤", due_date=due
        )
        reminders_plan(now=timezone.now())
        outbox_dispatch()
    with time_machine.travel(at(due - dt.timedelta(days=1), 10), tick=False):
        reminders_plan(now=timezone.now())
        reminders_plan(now=timezone.now())
        outbox_dispatch()
        outbox_dispatch()

    smtp_server.assert_delivered_exactly_once(outbox_ids(status=Status.SENT))
    monday_email, wednesday_email, *stale = smtp_server.delivered
    assert "[D-3]" in monday_email.text
    assert "[D-1]" in wednesday_email.text and added.title in wednesday_email.text
    assert not stale, [message.text for message in stale]


# A reminder recorded while the same person's e-mail of the day is being sent --------------------------------------


def _sessions_waiting_on_a_transaction() -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_locks WHERE locktype = 'transactionid' AND NOT granted")
        return [pid for (pid,) in cursor.fetchall()]


def test_a_reminder_attached_while_the_days_email_is_sent_still_reaches_its_recipient(sends_now, smtp_server):
    """The planner has read that Alice's e-mail of the day is still pending and is adding a second item to it,
    when the dispatcher sends that e-mail. To hold the planner exactly there, a transaction of the test has
    inserted (uncommitted) the row the planner is about to insert for Bob; the planner's insert waits on it."""
    (alice,) = people_with_due_milestones(1, due=due_in_a_week(), prefix="alice")
    reminders_plan(now=timezone.now())
    alices_email = OutboxMessage.objects.get(recipient=alice)
    later = MilestoneFactory(
        project=alice.managed_projects.get(),
        owner=alice,
        title="오후에 생긴 마일스톤",
        due_date=seoul_today() + dt.timedelta(days=3),
    )
    (bob,) = people_with_due_milestones(1, due=due_in_a_week(), prefix="bob")
    inserted, rolled_back, errors = threading.Event(), threading.Event(), []

    def hold_bobs_row() -> None:
        try:
            with transaction.atomic():
                OutboxMessage.objects.create(
                    key=f"reminders:{bob.pk}:{seoul_today().isoformat()}",
                    kind=OutboxMessage.Kind.REMINDER,
                    recipient=bob,
                    to_email=bob.email,
                    message_id="<held@test>",
                    not_before=timezone.now(),
                    status=Status.CANCELLED,
                )
                inserted.set()
                rolled_back.wait(timeout=60)
                transaction.set_rollback(True)
        finally:
            connection.close()

    def plan() -> None:
        try:
            reminders_plan(now=timezone.now())
        except Exception as error:  # noqa: BLE001 - reported by the assert below
            errors.append(error)
        finally:
            connection.close()

    blocker, planner = threading.Thread(target=hold_bobs_row), threading.Thread(target=plan)
    blocker.start()
    assert inserted.wait(timeout=30)
    planner.start()
    try:
        wait_for(lambda: bool(_sessions_waiting_on_a_transaction()), what="the planner to wait on Bob's row")
        outbox_dispatch()  # the dispatcher's tick, while the planner is adding to Alice's e-mail
    finally:
        rolled_back.set()
        blocker.join(timeout=30)
        planner.join(timeout=30)
    assert not errors

    for _tick in range(2):
        reminders_plan(now=timezone.now())
        outbox_dispatch()
    alices_email.refresh_from_db()
    assert alices_email.status == Status.SENT
    reminder = Reminder.objects.get(milestone=later)
    in_a_sent_email = any(
        later.title in message.text for message in smtp_server.delivered if alice.email in message.rcpt_tos
    )
    still_to_send = reminder.status == Reminder.Status.PENDING and reminder.message.status == Status.PENDING
    assert in_a_sent_email or still_to_send, (reminder.status, reminder.message.key, reminder.message.status)

"""The tracker watches itself: beat's heartbeat, recorded runs, /health/, the admin's 시스템 상태 page and banner,
the one alert e-mail to the admins, the structured log lines, and /metrics.

The clock is frozen (time-machine) wherever an age matters; the Redis that /health/ loses is the test's own.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import shutil

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.core import signing
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import OperationalError
from django.test import Client
from django.urls import reverse
from prometheus_client.parser import text_string_to_metric_families

from notifications import links
from notifications.beat import HeartbeatScheduler, heartbeat_record
from notifications.models import DeliveryAlert, JobRun, NotificationPreference, OutboxMessage, Reminder
from notifications.runs import outbox_dispatch_recorded, reminders_plan_recorded
from projects import roles
from tests.conftest import require_service
from tests.factories import CoreProjectFactory, MilestoneFactory, UserFactory
from tests.notifications.helpers import seoul
from tests.reliability.conftest import RedisServer
from tests.smtp import accept_every_recipient
from tracker.celery import app

pytestmark = pytest.mark.django_db

D = dt.date.fromisoformat
NOW = seoul("2026-12-02", 10)  # a Wednesday; the milestone below is due in seven days
MINUTE = dt.timedelta(minutes=1)


def at(moment: dt.datetime):
    return time_machine.travel(moment, tick=False)


def all_is_running(moment: dt.datetime) -> None:
    """Beat ticked and the reminder planner ran (a worker did the work) at ``moment``."""
    with at(moment):
        heartbeat_record(started=True)
        reminders_plan_recorded(now=moment)


def health(client: Client) -> tuple[int, dict]:
    response = client.get("/health/")
    assert response["Content-Type"] == "application/json"
    return response.status_code, response.json()


@pytest.fixture
def local_broker(settings, tmp_path):
    """The file-system broker of the local default, in a folder of the test's own (whatever REDIS_URL says)."""
    settings.REDIS_URL = ""
    queue = tmp_path / "broker" / "queue"
    queue.mkdir(parents=True)
    # Only the queue folder moves: Celery keeps its control folder where the settings put it.
    options = settings.CELERY_BROKER_TRANSPORT_OPTIONS
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {**options, "data_folder_in": str(queue)}
    return queue


@pytest.fixture
def admin_user(db):
    return UserFactory(username="gwanri", is_staff=True, role=roles.ADMIN)


@pytest.fixture
def milestone(project, owner):
    return MilestoneFactory(project=project, owner=owner, title="국비 신청서 제출", due_date=D("2026-12-09"))


# /health/ ----------------------------------------------------------------------------------------------------


def test_health_is_200_with_every_part_when_all_is_well_and_names_nobody(client, local_broker, milestone, owner):
    all_is_running(NOW - 2 * MINUTE)
    with at(NOW):
        status, body = health(client)
    assert status == 200, body
    assert body["status"] == "ok"
    assert {name: body[name]["ok"] for name in ("database", "cache", "broker", "scheduler", "outbox")} == dict.fromkeys(
        ("database", "cache", "broker", "scheduler", "outbox"), True
    )
    assert body["broker"]["transport"] == "filesystem"
    assert body["scheduler"]["seconds_since_tick"] == 120
    assert dt.datetime.fromisoformat(body["scheduler"]["last_reminder_plan"]) == NOW - 2 * MINUTE
    assert body["outbox"]["pending"] == 1 and body["outbox"]["oldest_pending_age_seconds"] == 120
    text = str(body)
    assert "owner" not in text and "@" not in text and "국비" not in text


def test_health_is_an_error_when_beat_has_not_ticked_for_ten_minutes(client, local_broker):
    all_is_running(NOW)
    with at(NOW + 9 * MINUTE):
        assert health(client)[0] == 200
    with at(NOW + 11 * MINUTE):
        heartbeat_fresh_planner_too = reminders_plan_recorded(now=NOW + 11 * MINUTE)  # a worker still plans
        assert heartbeat_fresh_planner_too.recorded == 0
        status, body = health(client)
    assert status == 503
    assert body["status"] == "error" and body["scheduler"]["ok"] is False
    assert "11분" in body["scheduler"]["error"]
    assert body["database"]["ok"] and body["outbox"]["ok"]


def test_health_is_an_error_when_beat_never_ticked(client, local_broker):
    status, body = health(client)
    assert status == 503 and body["scheduler"]["last_tick"] is None


def test_health_is_an_error_when_beat_ticks_into_the_void(client, local_broker):
    """Beat alive, but no worker has planned for 15 minutes (the broker or the workers are gone)."""
    all_is_running(NOW)
    with at(NOW + 16 * MINUTE):
        heartbeat_record()
        status, body = health(client)
    assert status == 503 and "알림 계획" in body["scheduler"]["error"]


def test_a_freshly_started_scheduler_is_healthy_until_its_first_plan_is_overdue(client, local_broker):
    """Right after `make run` no reminder plan has run yet: that is not an outage, for fifteen minutes."""
    with at(NOW):
        heartbeat_record(started=True)
    with at(NOW + MINUTE):
        heartbeat_record()
        assert health(client)[0] == 200
    with at(NOW + 16 * MINUTE):
        heartbeat_record()
        status, body = health(client)
    assert status == 503 and "알림 계획" in body["scheduler"]["error"]


def test_health_is_an_error_when_a_pending_email_is_older_than_an_hour(client, local_broker, milestone):
    all_is_running(NOW)
    assert OutboxMessage.objects.get().status == "pending"  # due since NOW, nobody sent it
    for minutes, expected in ((59, 200), (61, 503)):
        with at(NOW + minutes * MINUTE):
            heartbeat_record()
            reminders_plan_recorded(now=NOW + minutes * MINUTE)
            status, body = health(client)
        assert status == expected, body
    assert body["outbox"]["ok"] is False and body["outbox"]["oldest_pending_age_seconds"] == 61 * 60


def test_health_is_an_error_when_its_redis_stops(client, settings, tmp_path):
    require_service(shutil.which("redis-server") is not None, "redis-server is not installed")
    server = RedisServer(tmp_path / "redis.log")
    server.start()
    try:
        settings.REDIS_URL = server.url
        all_is_running(NOW)
        with at(NOW + MINUTE):
            status, body = health(client)
            assert (status, body["broker"]) == (200, {"ok": True, "transport": "redis"})
            server.kill()
            status, body = health(client)
    finally:
        server.kill()
    assert status == 503 and body["broker"]["ok"] is False
    assert "Redis" in body["broker"]["error"]
    assert body["scheduler"]["ok"] and body["database"]["ok"]


def test_the_local_broker_check_fails_when_its_folder_cannot_be_written(client, settings, local_broker, tmp_path):
    all_is_running(NOW)
    not_a_folder = tmp_path / "broker-file"
    not_a_folder.write_text("a file where the broker's folder should be")
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {
        **settings.CELERY_BROKER_TRANSPORT_OPTIONS,
        "data_folder_in": str(not_a_folder / "queue"),
    }
    with at(NOW + MINUTE):
        status, body = health(client)
    assert status == 503 and body["broker"]["ok"] is False and "브로커 폴더" in body["broker"]["error"]


def test_health_is_an_error_without_a_traceback_when_the_records_cannot_be_read(
    client, local_broker, monkeypatch, caplog
):
    def unreachable(**kwargs):
        raise OperationalError("could not connect to server")

    monkeypatch.setattr("notifications.health.scheduler_state", unreachable)
    monkeypatch.setattr("notifications.health.outbox_state", unreachable)
    with caplog.at_level(logging.INFO):
        status, body = health(client)
    assert (
        status == 503
        and body["scheduler"]["error"] == body["outbox"]["error"] == "기록을 읽을 수 없습니다 (데이터베이스 확인)."
    )
    assert [(r.name, r.getMessage(), r.exc_info) for r in caplog.records] == [
        ("tracker.health", "health=error failing=scheduler,outbox", None)
    ]


# Heartbeat ---------------------------------------------------------------------------------------------------


def test_beat_records_its_own_ticks_at_most_every_thirty_seconds(tmp_path):
    from notifications.models import SchedulerHeartbeat

    with at(NOW):
        scheduler = HeartbeatScheduler(app=app, schedule_filename=str(tmp_path / "schedule"), lazy=False)
        beat = SchedulerHeartbeat.objects.get()
        assert (beat.beat_started_at, beat.last_tick_at, beat.ticks) == (NOW, NOW, 1)
        assert scheduler.tick() <= 30
        assert SchedulerHeartbeat.objects.get().ticks == 1  # not yet 30 s since the last record
        scheduler._last_heartbeat -= 31
    with at(NOW + MINUTE):
        scheduler.tick()
    beat = SchedulerHeartbeat.objects.get()
    assert (beat.beat_started_at, beat.last_tick_at, beat.ticks) == (NOW, NOW + MINUTE, 2)
    scheduler.close()


def test_beat_outlives_a_database_error_while_recording(monkeypatch, caplog):
    def refuse(*args, **kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr("notifications.models.SchedulerHeartbeat.objects.filter", refuse)
    with caplog.at_level(logging.WARNING, logger="tracker.beat"):
        assert heartbeat_record() is False
    assert [r.getMessage() for r in caplog.records if r.name == "tracker.beat"] == [
        "beat heartbeat not recorded: OperationalError"
    ]


def test_check_heartbeat_exits_non_zero_when_beat_is_silent():
    with pytest.raises(CommandError, match="never"):
        call_command("check_heartbeat")
    with at(NOW):
        heartbeat_record()
    with at(NOW + 5 * MINUTE):
        call_command("check_heartbeat")
    with at(NOW + 11 * MINUTE), pytest.raises(CommandError, match="660"):
        call_command("check_heartbeat")
    with at(NOW + 2 * MINUTE), pytest.raises(CommandError):
        call_command("check_heartbeat", "--max-age", "60")


# Runs and their log lines ------------------------------------------------------------------------------------


def fields(record: logging.LogRecord) -> dict[str, str]:
    return dict(part.split("=", 1) for part in record.getMessage().split())


def test_a_planner_run_is_recorded_and_logged_with_each_skip_reason(project, owner, caplog):
    inactive = UserFactory(username="left", is_active=False, role=roles.PROJECT_MANAGER)
    no_email = UserFactory(username="noaddress", email="", role=roles.PROJECT_MANAGER)
    opted_out = UserFactory(username="quiet", role=roles.PROJECT_MANAGER)
    NotificationPreference.objects.create(user=opted_out, reminders=False)
    no_role = UserFactory(username="norole")
    MilestoneFactory(project=project, owner=owner, due_date=D("2026-12-09"))
    for person in (inactive, no_email, opted_out, no_role):  # each manages the project of their own milestone
        MilestoneFactory(project=CoreProjectFactory(managers=[person]), owner=person, due_date=D("2026-12-09"))
    with at(NOW), caplog.at_level(logging.INFO, logger="tracker.jobs"):
        reminders_plan_recorded(now=NOW)
        reminders_plan_recorded(now=NOW)
    first, second = (fields(r) for r in caplog.records if r.name == "tracker.jobs")
    assert first | {"duration_ms": "-"} == {
        "job": "reminders",
        "trigger": "task",
        "outcome": "ok",
        "duration_ms": "-",
        "planned": "1",
        "queued": "1",
        "cancelled": "0",
        "skipped_no_email": "1",
        "skipped_inactive": "1",
        "skipped_opted_out": "1",
        "skipped_lost_access": "1",
    }
    assert (second["planned"], second["skipped_opted_out"]) == ("0", "0")  # decided once, not every tick
    assert dict(Reminder.objects.filter(status="skipped").values_list("recipient__username", "skip_reason")) == {
        "left": "inactive",
        "noaddress": "no_email",
        "quiet": "opted_out",
        "norole": "lost_access",
    }
    run = JobRun.objects.filter(job="reminders").order_by("pk").first()
    assert (run.started_at, run.finished_at, run.outcome, run.counts["planned"]) == (NOW, NOW, "ok", 1)


def test_a_dispatcher_run_logs_what_it_sent_and_whom_it_skipped_since(milestone, owner, project, caplog, smtp_server):
    teammate_milestone = MilestoneFactory(project=project, owner=project.managers.get(username="teammate"))
    teammate_milestone.due_date = D("2026-12-09")
    teammate_milestone.save()
    with at(NOW):
        reminders_plan_recorded(now=NOW)
    Group.objects.get(name=roles.PROJECT_MANAGER).user_set.remove(owner)  # left the TF after the e-mail was queued
    with at(NOW), caplog.at_level(logging.INFO, logger="tracker.jobs"):
        outbox_dispatch_recorded()
    [line] = [fields(r) for r in caplog.records if r.name == "tracker.jobs" and "job=dispatch" in r.getMessage()]
    assert (line["job"], line["sent"], line["failed"], line["retried"]) == ("dispatch", "1", "0", "0")
    assert (line["skipped_lost_access"], line["skipped_opted_out"]) == ("1", "0")
    assert Reminder.objects.get(recipient=owner).skip_reason == "lost_access"
    assert [m.rcpt_tos for m in smtp_server.delivered] == [["teammate@example.com"]]


def test_send_reminders_records_a_command_run_and_says_who_was_skipped(project, owner):
    quiet = UserFactory(username="quiet", role=roles.PROJECT_MANAGER)
    NotificationPreference.objects.create(user=quiet, reminders=False)
    MilestoneFactory(project=project, owner=quiet, due_date=D("2026-12-09"))
    out = io.StringIO()
    with at(NOW):
        call_command("send_reminders", stdout=out)
    assert "보내지 않음: 알림 받지 않기 설정 1건" in out.getvalue()
    assert sorted(JobRun.objects.values_list("job", "trigger", "outcome")) == [
        ("dispatch", "command", "ok"),
        ("reminders", "command", "ok"),
    ]


def test_a_failed_run_is_recorded_with_its_error_and_raised(monkeypatch, caplog):
    def broken(**kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr("notifications.runs.reminders_plan", broken)
    with at(NOW), caplog.at_level(logging.INFO, logger="tracker.jobs"), pytest.raises(RuntimeError):
        reminders_plan_recorded(now=NOW)
    run = JobRun.objects.get()
    assert (run.outcome, run.finished_at, run.error) == ("error", NOW, "RuntimeError: database went away")
    [record] = [r for r in caplog.records if r.name == "tracker.jobs"]
    assert record.levelno == logging.ERROR and record.exc_info is None
    assert 'error="RuntimeError: database went away"' in record.getMessage()


def test_skipped_reminders_are_filterable_in_the_admin_by_reason(project, owner, superuser):
    quiet = UserFactory(username="quiet", role=roles.PROJECT_MANAGER)
    NotificationPreference.objects.create(user=quiet, reminders=False)
    MilestoneFactory(project=project, owner=quiet, title="조용한 마일스톤", due_date=D("2026-12-09"))
    MilestoneFactory(project=project, owner=owner, title="보낼 마일스톤", due_date=D("2026-12-09"))
    with at(NOW):
        reminders_plan_recorded(now=NOW)
    browser = Client()
    browser.force_login(superuser)
    changelist = reverse("admin:notifications_reminder_changelist")
    page = browser.get(changelist, {"skip_reason__exact": "opted_out"}).content.decode()
    assert "조용한 마일스톤" in page and "보낼 마일스톤" not in page
    assert "알림 받지 않기 설정" in browser.get(changelist).content.decode()


# Expected refusals -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("reason", ["expired", "tampered"])
def test_a_refused_signed_link_logs_one_line_and_no_traceback(milestone, owner, caplog, reason):
    with at(NOW):
        path = links.milestone_submit_path(user_id=owner.pk, milestone=milestone)
    if reason == "tampered":
        path = path.replace("/submit/", "x/submit/")
    with at(NOW + links.ACTION_LINK_MAX_AGE + MINUTE), caplog.at_level(logging.INFO):
        response = Client().get(path)
    assert response.status_code == 403
    assert ("유효 기간" if reason == "expired" else "올바르지 않은 링크") in response.content.decode()
    lines = [r for r in caplog.records if r.name in ("django.request", "tracker.links")]
    assert len(lines) == 1, [r.getMessage() for r in lines]
    [line] = lines
    assert line.exc_info is None and f"reason={reason}" in line.getMessage()
    assert path.split("/")[3] not in line.getMessage()  # the token is not logged
    assert signing  # the refusal comes from django.core.signing's own checks


# The admin's 시스템 상태 ----------------------------------------------------------------------------------------


@pytest.fixture
def quick_ping(monkeypatch):
    """No worker runs in these tests: the Celery ping is asked for no more than a tenth of a second."""
    from health_check.contrib import celery as celery_check

    monkeypatch.setattr(celery_check.Ping, "timeout", dt.timedelta(seconds=0.1))


def test_the_status_page_shows_the_facts_in_korean_to_admins(admin_user, local_broker, milestone, quick_ping):
    all_is_running(NOW)
    OutboxMessage.objects.update(status="failed", last_error="550 5.1.1 no such user", attempts=1)
    browser = Client()
    browser.force_login(admin_user)
    with at(NOW + MINUTE):
        response = browser.get(reverse("admin_system_status"))
    page = response.content.decode()
    assert response.status_code == 200
    expected = ("시스템 상태", "데이터베이스", "메시지 브로커", "스케줄러", "마지막 틱", "기한 알림 계획", "새 알림 1")
    for text in expected:
        assert text in page, text
    assert "owner@example.com" in page and "550 5.1.1" in page  # the message that needs a person
    assert "style=" not in page.split('id="content"')[1] and "<script>" not in page


def test_the_status_page_is_refused_to_everyone_else(db, project, local_broker):
    manager = UserFactory(username="pm-staff", is_staff=True, role=roles.PROJECT_MANAGER)
    browser = Client()
    browser.force_login(manager)
    assert browser.get(reverse("admin_system_status")).status_code == 403
    assert "시스템 상태" not in browser.get(reverse("admin:index")).content.decode()
    anonymous = Client().get(reverse("admin_system_status"))
    assert anonymous.status_code == 302 and "/admin/login/" in anonymous["Location"]


def test_the_admin_index_shows_a_red_banner_while_something_is_unhealthy(admin_user, local_broker):
    browser = Client()
    browser.force_login(admin_user)
    all_is_running(NOW)
    with at(NOW + MINUTE):
        page = browser.get(reverse("admin:index")).content.decode()
    assert "system-banner" not in page and reverse("admin_system_status") in page
    with at(NOW + 11 * MINUTE):
        page = browser.get(reverse("admin:index")).content.decode()
    assert 'class="system-banner"' in page and "11분 동안 움직이지 않았습니다" in page


# One alert e-mail to the admins ------------------------------------------------------------------------------


def test_admins_get_one_email_when_delivery_has_been_failing_for_an_hour(milestone, settings, smtp_server):
    settings.ADMINS = [("운영 담당", "ops@example.com")]
    smtp_server.recipient_policy = lambda address: None if address == "ops@example.com" else "451 4.4.1 try later"
    with at(NOW):
        reminders_plan_recorded(now=NOW)
    moment = NOW
    for _ in range(24):  # two hours of a dispatcher every five minutes, every try refused (and retried later)
        with at(moment):
            outbox_dispatch_recorded()
        moment += 5 * MINUTE
    alerts = [m for m in smtp_server.delivered if m.rcpt_tos == ["ops@example.com"]]
    assert len(alerts) == 1
    assert "[부산 성장전략 TF]" in alerts[0].subject and "실패" in alerts[0].subject
    assert "/admin/status/" in alerts[0].text
    alert = DeliveryAlert.objects.get()
    assert alert.failing_since == NOW
    assert dt.timedelta(hours=1) <= alert.sent_at - NOW < dt.timedelta(hours=1, minutes=5)
    assert OutboxMessage.objects.get(kind="reminder").status == "pending"

    # Delivery recovers: the retried e-mail goes out once, and the stretch is over (no second alert).
    smtp_server.recipient_policy = accept_every_recipient
    with at(moment + 30 * MINUTE):
        outbox_dispatch_recorded()
        outbox_dispatch_recorded()
    assert OutboxMessage.objects.get(kind="reminder").status == "sent"
    assert len([m for m in smtp_server.delivered if m.rcpt_tos == ["ops@example.com"]]) == 1
    assert DeliveryAlert.objects.count() == 1


def test_no_alert_for_an_outage_shorter_than_an_hour(milestone, project, settings, smtp_server):
    settings.ADMINS = [("운영 담당", "ops@example.com")]
    teammate = project.managers.get(username="teammate")
    MilestoneFactory(project=project, owner=teammate, due_date=D("2026-12-09"))
    smtp_server.recipient_policy = lambda address: None if address == "ops@example.com" else "451 4.4.1 try later"
    with at(NOW):
        reminders_plan_recorded(now=NOW)
    for minutes in range(0, 121, 5):
        if minutes == 20:  # the relay is back after 20 minutes
            smtp_server.recipient_policy = accept_every_recipient
        with at(NOW + minutes * MINUTE):
            outbox_dispatch_recorded()
    assert not DeliveryAlert.objects.exists()
    assert sorted(m.rcpt_tos[0] for m in smtp_server.delivered) == ["owner@example.com", "teammate@example.com"]


# /metrics ----------------------------------------------------------------------------------------------------


def test_metrics_are_off_without_a_token_and_refused_with_a_wrong_one(client, settings):
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics").status_code == 404
    settings.METRICS_TOKEN = "s3cret-token"
    assert client.get("/metrics").status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION="Basic s3cret-token").status_code == 403


def test_metrics_parse_with_prometheus_clients_own_parser(client, settings, local_broker, project, owner):
    settings.METRICS_TOKEN = "s3cret-token"
    quiet = UserFactory(username="quiet", role=roles.PROJECT_MANAGER)
    NotificationPreference.objects.create(user=quiet, reminders=False)
    MilestoneFactory(project=project, owner=owner, due_date=D("2026-12-09"))
    MilestoneFactory(project=CoreProjectFactory(managers=[quiet]), owner=quiet, due_date=D("2026-12-09"))
    all_is_running(NOW)
    with at(NOW + 3 * MINUTE):
        response = client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-token")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/plain")
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }
    assert samples[("tracker_scheduler_seconds_since_last_tick", ())] == 180
    assert samples[("tracker_reminders", (("skip_reason", ""), ("status", "pending")))] == 1
    assert samples[("tracker_reminders", (("skip_reason", "opted_out"), ("status", "skipped")))] == 1
    assert samples[("tracker_emails", (("kind", "reminder"), ("status", "pending")))] == 1
    assert samples[("tracker_outbox_backlog", ())] == 1
    assert samples[("tracker_outbox_oldest_due_age_seconds", ())] == 180
    assert samples[("tracker_job_last_success_timestamp_seconds", (("job", "reminders"),))] == NOW.timestamp()
    assert samples[("tracker_health_check_up", (("check", "scheduler"),))] == 1

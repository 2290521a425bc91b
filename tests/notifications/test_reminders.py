"""Deadline reminders: planned from the database (nearest threshold only, in Asia/Seoul, working days), one
e-mail per person per day, delivered once through a real SMTP server on loopback."""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import urlsplit

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from notifications.models import NotificationPreference, OutboxMessage, Reminder, ReminderPolicy
from notifications.outbox import lease, outbox_dispatch
from notifications.reminders import reminder_due, reminders_plan
from projects import roles, services
from projects.models import Milestone
from tests.factories import CoreProjectFactory, MilestoneFactory, StrategyFactory, TaskFactory, UserFactory
from tests.smtp import accept_all, refuse_always, refuse_share
from tracker.dates import SEOUL

pytestmark = pytest.mark.django_db


def seoul(day: str, hour: int = 10, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time(hour, minute), tzinfo=SEOUL)


def plan_twice(now: dt.datetime):
    """Every scheduler runs twice in these tests: the second run must change nothing."""
    with time_machine.travel(now, tick=False):
        first = reminders_plan(now=now)
        second = reminders_plan(now=now)
    assert second.recorded == 0
    return first


def dispatch(now: dt.datetime):
    with time_machine.travel(now, tick=False):
        return outbox_dispatch()


def thresholds(milestone) -> list[int]:
    return sorted(Reminder.objects.filter(milestone=milestone).values_list("threshold", flat=True))


@pytest.fixture
def due_dec_9(project, owner):
    return MilestoneFactory(project=project, owner=owner, due_date=dt.date(2026, 12, 9), title="국비 신청서 제출")


# Planning ---------------------------------------------------------------------------------------------------


def test_the_d7_reminder_waits_for_the_send_hour_and_is_recorded_once(due_dec_9):
    plan_twice(seoul("2026-11-25", 10))  # D-14 (Wednesday 11-25)
    assert thresholds(due_dec_9) == [14]
    plan_twice(seoul("2026-12-02", 8, 59))
    assert thresholds(due_dec_9) == [14]
    plan_twice(seoul("2026-12-02", 9, 0))
    assert thresholds(due_dec_9) == [7, 14]
    assert Reminder.objects.filter(recipient__username="owner").count() == 2


def test_a_milestone_created_late_gets_only_the_nearest_threshold(project, owner):
    late = MilestoneFactory(project=project, owner=owner, due_date=dt.date(2026, 11, 30))  # five days ahead
    plan_twice(seoul("2026-11-25"))
    assert thresholds(late) == [7]


def test_after_26_hours_without_a_scheduler_only_the_nearest_threshold_is_sent(project, owner, smtp_server):
    friday = MilestoneFactory(project=project, owner=owner, due_date=dt.date(2026, 12, 11))
    plan_twice(seoul("2026-12-09", 8))  # Wednesday: D-3 (12-08) is the nearest
    dispatch(seoul("2026-12-09", 8))
    assert smtp_server.delivered == []  # a catch-up waits for the send hour (it went out at 08:00)
    dispatch(seoul("2026-12-09", 9))
    assert len(smtp_server.delivered) == 1
    # down from Wednesday 08:00 until Thursday 10:00; D-1 (Thursday 09:00) came meanwhile
    plan_twice(seoul("2026-12-10", 10))
    dispatch(seoul("2026-12-10", 10))
    assert thresholds(friday) == [1, 3]
    assert len(smtp_server.delivered) == 2
    plan_twice(seoul("2026-12-14", 10))  # the scheduler was down over the deadline: only D-day, once
    assert thresholds(friday) == [0, 1, 3]


def test_one_email_a_day_lists_all_of_a_persons_items_most_urgent_first(project, owner, teammate, smtp_server):
    MilestoneFactory(project=project, owner=owner, title="일주일 뒤", due_date=dt.date(2026, 12, 2))
    MilestoneFactory(project=project, owner=owner, title="내일", due_date=dt.date(2026, 11, 26))
    MilestoneFactory(project=project, owner=teammate, title="팀원 것", due_date=dt.date(2026, 11, 26))
    plan_twice(seoul("2026-11-25"))
    dispatch(seoul("2026-11-25"))
    by_person = {item.rcpt_tos[0]: item.text for item in smtp_server.delivered}
    assert sorted(by_person) == ["owner@example.com", "teammate@example.com"]
    text = by_person["owner@example.com"]
    assert text.index("[D-1] 내일") < text.index("[D-7] 일주일 뒤")
    assert "팀원 것" not in text


def test_a_changed_due_date_re_arms_its_reminders(due_dec_9, owner):
    plan_twice(seoul("2026-12-02", 10))
    assert thresholds(due_dec_9) == [7]
    with time_machine.travel(seoul("2026-12-02", 11), tick=False):
        services.milestone_reschedule(
            milestone_id=due_dec_9.pk,
            user=owner,
            expected_version=due_dec_9.version,
            due_date=dt.date(2026, 12, 4),
            reason="앞당김",
        )
    plan_twice(seoul("2026-12-02", 12))
    reminders = Reminder.objects.filter(milestone=due_dec_9).order_by("due_date")
    assert [(r.due_date, r.threshold) for r in reminders] == [(dt.date(2026, 12, 4), 3), (dt.date(2026, 12, 9), 7)]
    assert reminders.get(due_date=dt.date(2026, 12, 9)).status in ("sent", "cancelled")


def test_a_milestone_achieved_after_its_reminder_was_queued_is_not_sent(due_dec_9, owner, smtp_server):
    plan_twice(seoul("2026-12-02", 10))
    assert OutboxMessage.objects.get().status == "pending"
    with time_machine.travel(seoul("2026-12-02", 10, 1), tick=False):
        services.milestone_set_status(
            milestone_id=due_dec_9.pk, user=owner, expected_version=due_dec_9.version, status="achieved"
        )
    dispatch(seoul("2026-12-02", 10, 2))
    assert smtp_server.delivered == []
    assert OutboxMessage.objects.get().status == "cancelled"
    assert Reminder.objects.get().status != "sent"


def test_days_off_move_to_the_previous_working_day():
    policy = ReminderPolicy.current()
    # Monday 2026-11-30: its D-1 is a Sunday, sent on Friday the 27th
    assert reminder_due(due_date=dt.date(2026, 11, 30), policy=policy, now=seoul("2026-11-27", 9)).threshold == 1
    assert reminder_due(due_date=dt.date(2026, 11, 30), policy=policy, now=seoul("2026-11-26", 23)).threshold == 7
    # Monday 2026-09-28, after 추석 (9/24-26) and a Sunday: D-3 (추석) and D-1 (Sunday) both go on Wednesday 9/23
    due = reminder_due(due_date=dt.date(2026, 9, 28), policy=policy, now=seoul("2026-09-23", 9))
    assert (due.threshold, due.send_on) == (1, dt.date(2026, 9, 23))
    policy.shift_to_working_day = False
    assert reminder_due(due_date=dt.date(2026, 9, 28), policy=policy, now=seoul("2026-09-23", 9)).threshold == 7


def test_a_reminder_falling_on_chuseok_goes_out_the_day_before_the_holidays(project, owner, smtp_server):
    MilestoneFactory(project=project, owner=owner, due_date=dt.date(2026, 9, 28))
    plan_twice(seoul("2026-09-23", 9, 5))
    dispatch(seoul("2026-09-23", 9, 5))
    assert Reminder.objects.get().threshold == 1
    assert len(smtp_server.delivered) == 1


def test_thresholds_are_counted_in_seoul_when_the_server_clock_is_utc(project, owner):
    milestone = MilestoneFactory(project=project, owner=owner, due_date=dt.date(2026, 11, 26))
    utc_evening = dt.datetime(2026, 11, 24, 15, 30, tzinfo=dt.UTC)  # already 11-25 00:30 in Seoul
    plan_twice(utc_evening)
    assert thresholds(milestone) == [3]  # 11-25's D-1 waits for 09:00 Seoul; 11-23's D-3 is owed
    plan_twice(dt.datetime(2026, 11, 25, 0, 30, tzinfo=dt.UTC))  # 09:30 in Seoul
    assert thresholds(milestone) == [1, 3]


def test_an_overdue_milestone_is_escalated_to_the_strategy_lead_and_the_tf_heads(owner, teammate):
    head = UserFactory(username="head", role=roles.TF_HEAD)
    strategy = StrategyFactory(lead=teammate)
    project = CoreProjectFactory(task=TaskFactory(strategy=strategy), managers=[owner])
    milestone = MilestoneFactory(project=project, owner=owner, due_date=dt.date(2026, 11, 10))
    plan_twice(seoul("2026-11-24", 10))  # 14 days over
    reminders = {
        (r.recipient.username, r.threshold, r.is_escalation) for r in Reminder.objects.filter(milestone=milestone)
    }
    assert reminders == {("owner", -14, False), ("teammate", -14, True), (head.username, -14, True)}


def test_nobody_is_nagged_who_said_no_or_cannot_be_reached(project, owner, teammate):
    NotificationPreference.objects.create(user=owner, reminders=False)
    teammate.email = ""
    teammate.save()
    MilestoneFactory(project=project, due_date=dt.date(2026, 11, 26))  # no owner: the managers
    plan_twice(seoul("2026-11-25"))
    assert not Reminder.objects.exists()


def test_a_title_cannot_inject_headers(project, owner, smtp_server):
    MilestoneFactory(project=project, owner=owner, title="제출\r\nBcc: x@example.com", due_date=dt.date(2026, 11, 26))
    plan_twice(seoul("2026-11-25"))
    dispatch(seoul("2026-11-25"))
    [received] = smtp_server.delivered
    assert received.rcpt_tos == ["owner@example.com"]
    assert received.header("Bcc") is None
    assert "\n" not in received.subject


def test_the_reminder_email_has_both_parts_a_fixed_message_id_and_one_click_links(due_dec_9, owner, smtp_server):
    plan_twice(seoul("2026-12-02"))
    dispatch(seoul("2026-12-02"))
    [received] = smtp_server.delivered
    row = OutboxMessage.objects.get()
    assert received.message_id == row.message_id and row.status == "sent" and row.sent_at
    unsubscribe_header = "".join(received.header("List-Unsubscribe").split())
    assert unsubscribe_header.startswith("<http") and received.header("List-Unsubscribe-Post")
    assert [part.get_content_type() for part in received.message.iter_parts()] == ["text/plain", "text/html"]
    text, html = received.text, received.html
    assert "[D-7] 국비 신청서 제출" in text and "D-7" in html and "제출 완료로 표시" in html
    dispatch(seoul("2026-12-02", 11))
    assert len(smtp_server.delivered) == 1

    # the signed "mark submitted" link: GET asks, POST acts through the service, as the recipient
    path = urlsplit(re.search(r"(http\S+/n/m/\S+/submit/)", text).group(1)).path
    client = Client()
    with time_machine.travel(seoul("2026-12-03"), tick=False):
        confirm = client.get(path)
        assert confirm.status_code == 200 and Milestone.objects.get(pk=due_dec_9.pk).status == "planned"
        client.post(path, {"version": confirm.context["milestone"].version})
    milestone = Milestone.objects.get(pk=due_dec_9.pk)
    assert milestone.status == "submitted"
    assert milestone.history.first().history_user == owner
    with time_machine.travel(seoul("2026-12-20"), tick=False):
        assert client.get(path).status_code == 403  # expired after 14 days
    assert client.get(path.replace("/m/", "/m/x")).status_code == 403

    unsubscribe = urlsplit(unsubscribe_header.strip("<>")).path
    assert client.get(unsubscribe).status_code == 200
    assert not NotificationPreference.objects.filter(user=owner, reminders=False).exists()
    Client(enforce_csrf_checks=True).post(unsubscribe)  # RFC 8058: no CSRF token, the signature is the proof
    assert NotificationPreference.objects.get(user=owner).reminders is False


def test_send_reminders_dry_run_prints_and_records_nothing(due_dec_9, capsys):
    call_command("send_reminders", "--date", "2026-12-02", "--dry-run")
    out = capsys.readouterr().out
    assert "owner@example.com" in out and "국비 신청서 제출" in out
    assert not Reminder.objects.exists() and not OutboxMessage.objects.exists()
    call_command("send_reminders", "--date", "2026-12-02")
    assert Reminder.objects.count() == 1 and OutboxMessage.objects.get().status == "sent"


def test_a_planning_pass_takes_the_same_queries_for_few_or_many_milestones(project, owner, teammate):
    def count() -> int:
        with time_machine.travel(seoul("2026-12-02"), tick=False), CaptureQueriesContext(connection) as queries:
            reminders_plan(now=seoul("2026-12-02"))
        return len(queries)

    ReminderPolicy.current()  # created once, on the first pass ever
    for n in range(3):
        MilestoneFactory(project=project, owner=[owner, teammate][n % 2], due_date=dt.date(2026, 12, 9))
    small = count()  # 17 queries on SQLite: policy, milestones, managers, TF heads, opt-outs, recorded keys,
    # insert, stale cancel (3), attach (select, messages, insert, fetch, update), render (3)
    Reminder.objects.all().delete()
    OutboxMessage.objects.all().delete()
    for n in range(60):
        MilestoneFactory(project=project, owner=[owner, teammate][n % 2], due_date=dt.date(2026, 12, 9))
    assert count() == small


# Delivery ---------------------------------------------------------------------------------------------------


def _many(project, owner, count: int) -> None:
    for n in range(count):
        user = UserFactory(username=f"pm{n}", role=roles.PROJECT_MANAGER)
        project.managers.add(user)
        MilestoneFactory(project=project, owner=user, due_date=dt.date(2026, 11, 26))


def test_temporary_failures_are_retried_until_every_message_arrives_once(project, owner, smtp_server):
    _many(project, owner, 10)
    smtp_server.policy = refuse_share(1 / 3, "451 4.3.0 try again later")  # every third DATA command
    plan_twice(seoul("2026-11-25"))
    moment = seoul("2026-11-25")
    for _ in range(12):
        dispatch(moment)
        moment += dt.timedelta(minutes=70)
    expected = set(OutboxMessage.objects.values_list("message_id", flat=True))
    assert len(expected) == 10
    smtp_server.assert_delivered_exactly_once(expected)
    assert OutboxMessage.objects.filter(attempts__gt=1).exists()


def test_a_permanent_failure_fails_at_once_is_visible_and_resent_only_on_purpose(due_dec_9, smtp_server, superuser):
    smtp_server.policy = refuse_always("550 5.1.1 no such user")
    plan_twice(seoul("2026-12-02"))
    dispatch(seoul("2026-12-02"))
    dispatch(seoul("2026-12-03"))
    row = OutboxMessage.objects.get()
    assert (row.status, row.attempts) == ("failed", 1) and "550" in row.last_error
    admin = Client()
    admin.force_login(superuser)
    changelist = reverse("admin:notifications_outboxmessage_changelist")
    assert row.key in admin.get(changelist, {"status__exact": "failed"}).content.decode()
    smtp_server.policy = accept_all
    admin.post(changelist, {"action": "resend", "_selected_action": [row.pk]})
    dispatch(seoul("2026-12-03", 11))
    smtp_server.assert_delivered_exactly_once({row.message_id})


def test_a_lease_that_expired_before_smtp_began_is_sent_once(due_dec_9, smtp_server):
    plan_twice(seoul("2026-12-02"))
    claimed_at = seoul("2026-12-02", 10, 1)
    # a worker claimed the row and died before talking to the SMTP server
    OutboxMessage.objects.update(
        status="sending", claim_token="6f1c8d4e-0000-4000-8000-000000000001", lease_expires_at=claimed_at + lease()
    )
    dispatch(claimed_at + dt.timedelta(seconds=30))
    assert smtp_server.delivered == []  # still leased: nobody else may send it
    dispatch(claimed_at + lease() + dt.timedelta(minutes=1))
    assert len(smtp_server.delivered) == 1 and OutboxMessage.objects.get().status == "sent"


def test_a_lease_that_expired_during_smtp_is_flagged_never_sent_twice(due_dec_9, smtp_server):
    plan_twice(seoul("2026-12-02"))
    claimed_at = seoul("2026-12-02", 10, 1)
    OutboxMessage.objects.update(
        status="sending",
        claim_token="6f1c8d4e-0000-4000-8000-000000000002",
        lease_expires_at=claimed_at + lease(),
        smtp_started_at=claimed_at,
    )
    dispatch(claimed_at + lease() + dt.timedelta(minutes=1))
    dispatch(claimed_at + lease() + dt.timedelta(hours=2))
    row = OutboxMessage.objects.get()
    assert (row.status, row.needs_attention) == ("failed", True)
    assert smtp_server.delivered == []

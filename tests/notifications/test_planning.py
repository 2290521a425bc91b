"""Reminder planning: which reminders a tick records, when, for whom, and in which day's e-mail.

The clock is frozen at aware Asia/Seoul moments; every tick runs the planner twice (``plan_twice``) and the
second run must change nothing. Default policy: D-30, D-14, D-7, D-3, D-1, D-day, then every 7 days overdue,
sent from 09:00 Seoul; days off move to the previous working day; escalation after 14 days overdue.
"""

from __future__ import annotations

import datetime as dt
import io

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.core.management import call_command

from notifications.models import NotificationPreference, OutboxMessage, Reminder, ReminderPolicy
from notifications.reminder_emails import reminder_email_preview
from notifications.reminders import Due, reminder_due
from projects import roles, services
from projects.models import Milestone
from tests.factories import CoreProjectFactory, MilestoneFactory, StrategyFactory, TaskFactory, UserFactory
from tests.notifications.helpers import dispatch_at, plan_twice, seoul, thresholds
from tracker.dates import SEOUL

pytestmark = pytest.mark.django_db

D = dt.date.fromisoformat


def due_at(due_date: str, now: dt.datetime, **policy_fields) -> Due | None:
    policy = ReminderPolicy.current()
    for name, value in policy_fields.items():
        setattr(policy, name, value)
    return reminder_due(due_date=D(due_date), policy=policy, now=now)


def sweep(first_day: str, last_day: str, hour: int = 9, minute: int = 30) -> dict[dt.date, list[tuple[str, int]]]:
    """Tick the planner once a day (twice each time) and say which reminders each day recorded."""
    seen: set[int] = set()
    recorded: dict[dt.date, list[tuple[str, int]]] = {}
    day = D(first_day)
    while day <= D(last_day):
        plan_twice(seoul(day.isoformat(), hour, minute))
        new = Reminder.objects.exclude(pk__in=seen).select_related("milestone")
        items = sorted((r.milestone.title, r.threshold) for r in new)
        seen |= {r.pk for r in new}
        if items:
            recorded[day] = items
        day += dt.timedelta(days=1)
    return recorded


def written(message: OutboxMessage) -> OutboxMessage:
    """A queued e-mail as the dispatcher would write it now (it is written when it is sent)."""
    return reminder_email_preview(message.pk)


@pytest.fixture
def due_dec_9(project, owner):
    """A funding application due Wednesday 2026-12-09: D-14 is Wed 11-25, D-7 is Wed 12-02."""
    return MilestoneFactory(project=project, owner=owner, title="국비 신청서 제출", due_date=D("2026-12-09"))


# The policy and the send hour -------------------------------------------------------------------------------


def test_the_default_policy_is_d30_d14_d7_d3_d1_dday_then_weekly_from_nine_seoul(db):
    policy = ReminderPolicy.current()
    assert policy.thresholds == [30, 14, 7, 3, 1, 0]
    assert (policy.overdue_every_days, policy.send_hour, policy.shift_to_working_day) == (7, 9, True)
    assert policy.escalate_after_days == 14


def test_the_d7_reminder_comes_at_nine_seoul_exactly_once(due_dec_9, owner, mailoutbox):
    plan_twice(seoul("2026-11-25", 10))  # its D-14
    dispatch_at(seoul("2026-11-25", 10))
    assert thresholds(due_dec_9) == [14]

    plan_twice(seoul("2026-12-02", 8, 59))  # D-7, a minute before the send hour: nothing new
    assert thresholds(due_dec_9) == [14]
    assert not OutboxMessage.objects.filter(key__endswith="2026-12-02").exists()

    plan_twice(seoul("2026-12-02", 9, 0))
    reminder = Reminder.objects.get(milestone=due_dec_9, threshold=7)
    assert (reminder.recipient, reminder.send_on, reminder.due_date) == (owner, D("2026-12-02"), D("2026-12-09"))
    message = OutboxMessage.objects.get(key__endswith="2026-12-02")
    assert reminder.message == message and message.recipient == owner
    assert message.not_before == seoul("2026-12-02", 9)
    assert "[D-7] 국비 신청서 제출" in written(message).body_text

    plan_twice(seoul("2026-12-02", 9, 30))  # later ticks the same day add nothing
    assert Reminder.objects.filter(milestone=due_dec_9, threshold=7).count() == 1
    assert OutboxMessage.objects.filter(key__endswith="2026-12-02").count() == 1
    dispatch_at(seoul("2026-12-02", 9, 30))
    dispatch_at(seoul("2026-12-02", 9, 35))
    assert [m.subject for m in mailoutbox] == ["[부산 성장전략 TF] 마일스톤 1건 알림 (11/25)"] + [
        "[부산 성장전략 TF] 마일스톤 1건 알림 (12/2)"
    ]


def test_the_nearest_threshold_at_a_moment_waits_for_the_send_hour(db):
    assert due_at("2026-12-09", seoul("2026-12-02", 8, 59)) == Due(14, D("2026-11-25"))
    assert due_at("2026-12-09", seoul("2026-12-02", 9)) == Due(7, D("2026-12-02"))
    assert due_at("2026-12-09", seoul("2026-12-02", 9), send_hour=15) == Due(14, D("2026-11-25"))
    assert due_at("2027-03-01", seoul("2026-12-02", 9)) is None  # more than 30 days ahead


def test_every_threshold_of_a_milestone_is_recorded_on_its_day_then_weekly_once_overdue(due_dec_9):
    recorded = sweep("2026-11-01", "2026-12-31")
    assert recorded == {
        D("2026-11-09"): [("국비 신청서 제출", 30)],  # Monday, D-30
        D("2026-11-25"): [("국비 신청서 제출", 14)],
        D("2026-12-02"): [("국비 신청서 제출", 7)],
        D("2026-12-04"): [("국비 신청서 제출", 3)],  # D-3 is Sunday 12-06: the Friday before
        D("2026-12-08"): [("국비 신청서 제출", 1)],
        D("2026-12-09"): [("국비 신청서 제출", 0)],
        D("2026-12-16"): [("국비 신청서 제출", -7)],
        D("2026-12-23"): [("국비 신청서 제출", -14)],
        D("2026-12-30"): [("국비 신청서 제출", -21)],
    }
    assert all(r.send_on == r.created_at.astimezone(SEOUL).date() for r in Reminder.objects.all())


def test_a_milestone_created_late_gets_only_the_nearest_threshold(project, owner):
    late = MilestoneFactory(project=project, owner=owner, due_date=D("2026-11-30"))  # Monday, five days ahead
    plan_twice(seoul("2026-11-25", 10))
    assert thresholds(late) == [7]  # D-7 was Monday 11-23; not D-30 and D-14 as well
    assert OutboxMessage.objects.get().not_before == seoul("2026-11-25", 10)  # owed now, not tomorrow


def test_after_26_hours_without_a_scheduler_only_the_nearest_threshold_is_recorded(project, owner):
    monday = MilestoneFactory(project=project, owner=owner, due_date=D("2026-12-14"))
    plan_twice(seoul("2026-12-10", 8))  # Thursday 08:00, then nothing until Friday 10:00
    assert thresholds(monday) == [7]
    plan_twice(seoul("2026-12-11", 10))  # D-3 (Friday) and D-1 (Sunday → Friday) both came meanwhile
    assert thresholds(monday) == [1, 7]
    plan_twice(seoul("2026-12-14", 10))
    assert thresholds(monday) == [0, 1, 7]


def test_a_scheduler_down_over_the_deadline_records_only_the_d_day_reminder_afterwards(project, owner, smtp_server):
    friday = MilestoneFactory(project=project, owner=owner, due_date=D("2026-12-11"))
    plan_twice(seoul("2026-12-09", 8))  # Wednesday 08:00: D-3 (Tuesday 12-08) is the nearest
    dispatch_at(seoul("2026-12-09", 8))
    assert smtp_server.delivered == []  # a catch-up waits for the send hour (it used to go at 08:00)
    dispatch_at(seoul("2026-12-09", 9))
    plan_twice(seoul("2026-12-10", 10))  # down until Thursday 10:00; D-1 (Thursday 09:00) came meanwhile
    dispatch_at(seoul("2026-12-10", 10))
    assert thresholds(friday) == [1, 3]
    assert len(smtp_server.delivered) == 2  # one e-mail each day
    plan_twice(seoul("2026-12-14", 10))  # down again over the deadline: only D-day, once, and no D-3 or D-1 again
    assert thresholds(friday) == [0, 1, 3]


def test_after_days_without_a_scheduler_the_missed_thresholds_are_never_sent_late(project, owner):
    friday = MilestoneFactory(project=project, owner=owner, due_date=D("2026-12-11"))
    plan_twice(seoul("2026-12-07", 10))  # Monday: D-7 (Friday 12-04)
    plan_twice(seoul("2026-12-10", 10))  # Thursday: D-3 (Tuesday) passed unseen
    plan_twice(seoul("2026-12-11", 10))
    assert thresholds(friday) == [0, 1, 7]


# One e-mail per person per day --------------------------------------------------------------------------------


def test_one_email_per_person_per_day_lists_all_their_items_most_urgent_first(project, owner, teammate, mailoutbox):
    MilestoneFactory(project=project, owner=owner, title="일주일 뒤 마감", due_date=D("2026-12-02"))
    MilestoneFactory(project=project, owner=owner, title="내일 마감", due_date=D("2026-11-26"))
    MilestoneFactory(project=project, owner=teammate, title="팀원 마감", due_date=D("2026-11-26"))
    result = plan_twice(seoul("2026-11-25", 10))
    assert (result.recorded, result.messages) == (3, 2)

    mine = written(OutboxMessage.objects.get(recipient=owner))
    assert mine.key == f"reminders:{owner.pk}:2026-11-25" and mine.to_email == "owner@example.com"
    assert mine.body_text.index("[D-1] 내일 마감") < mine.body_text.index("[D-7] 일주일 뒤 마감")
    assert "팀원 마감" not in mine.body_text
    assert "마일스톤 2건 알림" in mine.subject
    theirs = written(OutboxMessage.objects.get(recipient=teammate))
    assert "[D-1] 팀원 마감" in theirs.body_text and "내일 마감" not in theirs.body_text

    dispatch_at(seoul("2026-11-25", 10))
    assert sorted(tuple(m.to) for m in mailoutbox) == [("owner@example.com",), ("teammate@example.com",)]


def test_an_item_found_after_the_days_email_went_out_waits_for_tomorrows(project, owner, mailoutbox):
    MilestoneFactory(project=project, owner=owner, title="내일 마감", due_date=D("2026-11-26"))
    plan_twice(seoul("2026-11-25", 10))
    dispatch_at(seoul("2026-11-25", 10))
    MilestoneFactory(project=project, owner=owner, title="새로 등록", due_date=D("2026-12-02"))
    plan_twice(seoul("2026-11-25", 15))
    dispatch_at(seoul("2026-11-25", 15))
    assert len(mailoutbox) == 1  # not a second e-mail today
    tomorrow = OutboxMessage.objects.get(key=f"reminders:{owner.pk}:2026-11-26")
    assert tomorrow.status == "pending" and tomorrow.not_before == seoul("2026-11-26", 9)
    dispatch_at(seoul("2026-11-26", 9, 30))
    assert len(mailoutbox) == 2 and "새로 등록" in mailoutbox[1].body


def test_a_milestone_is_listed_once_in_an_email_even_with_two_thresholds_pending(project, owner, mailoutbox):
    MilestoneFactory(project=project, owner=owner, title="내일 마감", due_date=D("2026-11-26"))
    plan_twice(seoul("2026-11-25", 10))
    dispatch_at(seoul("2026-11-25", 10))
    MilestoneFactory(project=project, owner=owner, title="모레 마감", due_date=D("2026-11-27"))
    plan_twice(seoul("2026-11-25", 15))  # its D-3 (11-24) goes into tomorrow's e-mail
    plan_twice(seoul("2026-11-26", 9, 5))  # and tomorrow its D-1 joins the same e-mail
    dispatch_at(seoul("2026-11-26", 9, 5))
    assert mailoutbox[-1].body.count("모레 마감") == 1


# Changes to the milestone -----------------------------------------------------------------------------------


def _reschedule(milestone, user, new_due: str, at: dt.datetime) -> Milestone:
    milestone.refresh_from_db()
    with time_machine.travel(at, tick=False):
        return services.milestone_reschedule(
            milestone_id=milestone.pk,
            user=user,
            expected_version=milestone.version,
            due_date=D(new_due),
            reason="부처 일정 변경",
        )


def test_a_changed_due_date_cancels_the_queued_reminder_and_re_arms_for_the_new_date(due_dec_9, owner):
    plan_twice(seoul("2026-12-02", 10))
    assert thresholds(due_dec_9) == [7]
    _reschedule(due_dec_9, owner, "2026-12-04", at=seoul("2026-12-02", 11))
    plan_twice(seoul("2026-12-02", 11, 5))

    rows = {(r.due_date, r.threshold): r for r in Reminder.objects.filter(milestone=due_dec_9)}
    assert set(rows) == {(D("2026-12-09"), 7), (D("2026-12-04"), 3)}
    assert rows[D("2026-12-09"), 7].status == "cancelled"
    assert rows[D("2026-12-04"), 3].status == "pending" and rows[D("2026-12-04"), 3].message is not None
    todays = OutboxMessage.objects.get(key=f"reminders:{owner.pk}:2026-12-02")
    # the day's e-mail had not gone out: it now carries the new date's reminder instead of the old one
    assert todays.status == "pending" and rows[D("2026-12-04"), 3].message == todays
    assert "2026-12-04" in written(todays).body_text and "2026-12-09" not in written(todays).body_text


def test_a_reminder_still_waiting_when_a_nearer_threshold_comes_is_cancelled_not_sent_late(due_dec_9, owner):
    plan_twice(seoul("2026-11-25", 10))  # D-14, queued; its e-mail never goes out (the mail server is down)
    plan_twice(seoul("2026-12-02", 10))  # D-7 comes: the D-14 reminder must not ride along in today's e-mail

    rows = {r.threshold: r for r in Reminder.objects.filter(milestone=due_dec_9)}
    assert {threshold: row.status for threshold, row in rows.items()} == {14: "cancelled", 7: "pending"}
    todays = OutboxMessage.objects.get(key=f"reminders:{owner.pk}:2026-12-02")
    assert list(todays.reminders.values_list("threshold", flat=True)) == [7]


def test_a_changed_due_date_after_the_email_went_out_re_arms_in_the_next_days_email(due_dec_9, owner, mailoutbox):
    plan_twice(seoul("2026-12-02", 10))
    dispatch_at(seoul("2026-12-02", 10))
    _reschedule(due_dec_9, owner, "2026-12-16", at=seoul("2026-12-02", 11))
    plan_twice(seoul("2026-12-02", 11, 5))
    rows = {(r.due_date, r.threshold): r.status for r in Reminder.objects.filter(milestone=due_dec_9)}
    assert rows == {(D("2026-12-09"), 7): "sent", (D("2026-12-16"), 14): "pending"}
    dispatch_at(seoul("2026-12-02", 11, 5))
    assert len(mailoutbox) == 1
    dispatch_at(seoul("2026-12-03", 9))
    assert len(mailoutbox) == 2 and "2026-12-16" in mailoutbox[1].body


def test_a_re_armed_reminder_goes_out_today_when_todays_email_was_cancelled_unsent(due_dec_9, owner, mailoutbox):
    plan_twice(seoul("2026-12-02", 10))
    _reschedule(due_dec_9, owner, "2026-12-03", at=seoul("2026-12-02", 11))  # now due tomorrow
    plan_twice(seoul("2026-12-02", 11, 5))
    dispatch_at(seoul("2026-12-02", 11, 5))
    assert len(mailoutbox) == 1 and "[D-1]" in mailoutbox[0].body


def test_a_due_date_moved_away_and_back_re_arms_its_reminder(due_dec_9, owner):
    plan_twice(seoul("2026-12-02", 10))
    _reschedule(due_dec_9, owner, "2026-12-30", at=seoul("2026-12-02", 10, 10))
    plan_twice(seoul("2026-12-02", 10, 15))
    _reschedule(due_dec_9, owner, "2026-12-09", at=seoul("2026-12-02", 10, 20))  # a slip of the finger, undone
    plan_twice(seoul("2026-12-02", 10, 25))
    assert Reminder.objects.filter(milestone=due_dec_9, due_date=D("2026-12-09"), status="pending").exists()


def _achieve(milestone, user, at: dt.datetime) -> None:
    milestone.refresh_from_db()
    with time_machine.travel(at, tick=False):
        services.milestone_set_status(
            milestone_id=milestone.pk, user=user, expected_version=milestone.version, status="achieved"
        )


def test_a_milestone_achieved_after_its_reminder_was_queued_is_not_sent(due_dec_9, owner, smtp_server):
    plan_twice(seoul("2026-12-02", 10))
    message = OutboxMessage.objects.get()
    assert message.status == "pending"
    _achieve(due_dec_9, owner, at=seoul("2026-12-02", 10, 1))

    result = dispatch_at(seoul("2026-12-02", 10, 2))  # no planner tick in between: the dispatcher checks
    assert (result.sent, result.cancelled) == (0, 1)
    assert smtp_server.delivered == [] and smtp_server.refused == []
    message.refresh_from_db()
    assert message.status == "cancelled" and message.sent_at is None
    plan_twice(seoul("2026-12-02", 10, 5))
    assert Reminder.objects.get().status == "cancelled"
    dispatch_at(seoul("2026-12-03", 10))
    assert smtp_server.delivered == []


def test_a_milestone_achieved_before_the_next_tick_is_cancelled_by_the_planner(due_dec_9, owner, smtp_server):
    plan_twice(seoul("2026-12-02", 10))
    _achieve(due_dec_9, owner, at=seoul("2026-12-02", 10, 1))
    result = plan_twice(seoul("2026-12-02", 10, 2))
    assert result.cancelled == 1
    assert Reminder.objects.get().status == "cancelled" and OutboxMessage.objects.get().status == "cancelled"
    dispatch_at(seoul("2026-12-02", 10, 3))
    assert smtp_server.delivered == []


def test_an_email_with_two_items_loses_only_the_achieved_one(due_dec_9, project, owner, smtp_server):
    other = MilestoneFactory(project=project, owner=owner, title="협약 체결", due_date=D("2026-12-03"))
    plan_twice(seoul("2026-12-02", 10))
    assert "국비 신청서 제출" in written(OutboxMessage.objects.get()).body_text
    _achieve(due_dec_9, owner, at=seoul("2026-12-02", 10, 1))
    dispatch_at(seoul("2026-12-02", 10, 2))
    [received] = smtp_server.delivered
    assert "협약 체결" in received.text and "국비 신청서 제출" not in received.text
    assert "국비 신청서 제출" not in received.html
    assert "마일스톤 1건 알림" in received.subject
    assert Reminder.objects.get(milestone=other).status == "sent"


# Days off ---------------------------------------------------------------------------------------------------


def test_a_threshold_on_a_weekend_moves_to_the_friday_before(db):
    # Monday 2026-11-30: D-1 is Sunday 11-29 and D-3 Friday 11-27; both go out on Friday.
    assert due_at("2026-11-30", seoul("2026-11-27", 9)) == Due(1, D("2026-11-27"))
    assert due_at("2026-11-30", seoul("2026-11-27", 8, 59)) == Due(7, D("2026-11-23"))
    assert due_at("2026-11-30", seoul("2026-11-26", 23)) == Due(7, D("2026-11-23"))  # Thursday evening
    assert due_at("2026-11-30", seoul("2026-11-29", 12)) == Due(1, D("2026-11-27"))
    assert due_at("2026-11-30", seoul("2026-11-27", 9), shift_to_working_day=False) == Due(3, D("2026-11-27"))
    assert due_at("2026-11-30", seoul("2026-11-29", 9), shift_to_working_day=False) == Due(1, D("2026-11-29"))


def test_a_threshold_on_chuseok_or_foundation_day_moves_to_the_previous_working_day(db):
    # 추석 2026: Thu 9-24 to Sat 9-26. Friday 10-02's D-7 (9-25) goes out on Wednesday 9-23.
    assert due_at("2026-10-02", seoul("2026-09-23", 9)) == Due(7, D("2026-09-23"))
    assert due_at("2026-10-02", seoul("2026-09-23", 8, 59)) == Due(14, D("2026-09-18"))
    # Monday 9-28: D-3 (추석) and D-1 (Sunday) both on Wednesday 9-23, the day before the holidays.
    assert due_at("2026-09-28", seoul("2026-09-23", 9)) == Due(1, D("2026-09-23"))
    # Without the shift, 9-23 owes only the D-7 of Monday 9-21.
    assert due_at("2026-09-28", seoul("2026-09-23", 9), shift_to_working_day=False) == Due(7, D("2026-09-21"))
    # 개천절 Saturday 10-03 and its substitute Monday 10-05: Tuesday 10-06's D-3 and D-1 both on Friday 10-02.
    assert due_at("2026-10-06", seoul("2026-10-02", 9)) == Due(1, D("2026-10-02"))
    assert due_at("2026-10-06", seoul("2026-10-05", 12)) == Due(1, D("2026-10-02"))
    assert due_at("2026-10-06", seoul("2026-10-06", 9)) == Due(0, D("2026-10-06"))


DAYS_OFF_AROUND_CHUSEOK = {D("2026-09-24"), D("2026-09-25"), D("2026-09-26"), D("2026-10-03"), D("2026-10-05")}


def test_the_planner_sends_holiday_thresholds_on_the_working_day_before(project, owner, mailoutbox):
    for due in ("2026-09-28", "2026-10-02", "2026-10-06"):
        MilestoneFactory(project=project, owner=owner, title=due, due_date=D(due))
    recorded = sweep("2026-09-01", "2026-10-04")
    assert recorded == {
        D("2026-09-01"): [("2026-09-28", 30)],  # created late: its D-30 was Friday 8-28
        D("2026-09-02"): [("2026-10-02", 30)],
        D("2026-09-04"): [("2026-10-06", 30)],  # D-30 Sunday 9-06 → Friday 9-04
        D("2026-09-14"): [("2026-09-28", 14)],
        D("2026-09-18"): [("2026-10-02", 14)],
        D("2026-09-21"): [("2026-09-28", 7)],
        D("2026-09-22"): [("2026-10-06", 14)],
        D("2026-09-23"): [("2026-09-28", 1), ("2026-10-02", 7)],  # 추석 eve: 9-28's D-3 and D-1; 10-02's D-7
        D("2026-09-28"): [("2026-09-28", 0)],
        D("2026-09-29"): [("2026-10-02", 3), ("2026-10-06", 7)],
        D("2026-10-01"): [("2026-10-02", 1)],
        # 10-06's D-3 (개천절) and D-1 (대체공휴일); 9-28's D+7 falls on 10-05 (대체공휴일) and moves to Friday
        D("2026-10-02"): [("2026-09-28", -7), ("2026-10-02", 0), ("2026-10-06", 1)],
    }
    assert not set(recorded) & DAYS_OFF_AROUND_CHUSEOK
    assert all(r.send_on.isoweekday() <= 5 and r.send_on not in DAYS_OFF_AROUND_CHUSEOK for r in Reminder.objects.all())


def test_no_overdue_reminder_goes_out_on_a_day_off(project, owner, mailoutbox):
    MilestoneFactory(project=project, owner=owner, title="추석 직후 마감", due_date=D("2026-09-28"))
    plan_twice(seoul("2026-09-28", 10))
    dispatch_at(seoul("2026-09-28", 10))
    day = D("2026-09-29")
    while day <= D("2026-10-13"):
        plan_twice(seoul(day.isoformat(), 10))
        result = dispatch_at(seoul(day.isoformat(), 10))
        assert not (result.sent and day in DAYS_OFF_AROUND_CHUSEOK | {D("2026-10-04"), D("2026-10-11")}), day
        day += dt.timedelta(days=1)


# Asia/Seoul, whatever the server's clock ---------------------------------------------------------------------


def test_thresholds_are_worked_out_in_seoul_when_the_server_clock_is_utc(project, owner, settings):
    settings.TIME_ZONE = "UTC"
    tomorrow = MilestoneFactory(project=project, owner=owner, title="26일 마감", due_date=D("2026-11-26"))
    day_after = MilestoneFactory(project=project, owner=owner, title="27일 마감", due_date=D("2026-11-27"))
    next_week = MilestoneFactory(project=project, owner=owner, title="12월 2일 마감", due_date=D("2026-12-02"))
    just_after_midnight = dt.datetime(2026, 11, 24, 15, 30, tzinfo=dt.UTC)  # 2026-11-25 00:30 in Seoul

    assert due_at("2026-11-26", just_after_midnight) == Due(3, D("2026-11-23"))  # the 25th's D-1 not yet
    assert due_at("2026-11-27", just_after_midnight) == Due(3, D("2026-11-24"))  # the 24th's D-3 is
    assert due_at("2026-12-02", just_after_midnight) == Due(14, D("2026-11-18"))  # the 25th's D-7 not yet

    plan_twice(just_after_midnight)
    assert (thresholds(tomorrow), thresholds(day_after), thresholds(next_week)) == ([3], [3], [14])
    message = OutboxMessage.objects.get()
    assert message.key == f"reminders:{owner.pk}:2026-11-25"  # the Seoul day, not the UTC one
    assert "[D-1] 26일 마감" in written(message).body_text and "[D-2] 27일 마감" in written(message).body_text

    plan_twice(dt.datetime(2026, 11, 24, 23, 59, tzinfo=dt.UTC))  # 08:59 in Seoul
    assert (thresholds(tomorrow), thresholds(next_week)) == ([3], [14])
    plan_twice(dt.datetime(2026, 11, 25, 0, 0, tzinfo=dt.UTC))  # 09:00 in Seoul, midnight in UTC
    assert (thresholds(tomorrow), thresholds(next_week)) == ([1, 3], [7, 14])


# Who gets it ------------------------------------------------------------------------------------------------


@pytest.fixture
def escalation_setup(owner):
    lead = UserFactory(username="lead", role=roles.TF_HEAD)  # the strategy's lead, also a TF head
    head = UserFactory(username="head", role=roles.TF_HEAD)
    project = CoreProjectFactory(task=TaskFactory(strategy=StrategyFactory(lead=lead)), managers=[owner])
    milestone = MilestoneFactory(project=project, owner=owner, title="늦어진 신청", due_date=D("2026-11-10"))
    return milestone, lead, head


def test_overdue_by_fourteen_days_is_escalated_to_the_strategy_lead_and_tf_heads(escalation_setup, owner, mailoutbox):
    milestone, lead, head = escalation_setup
    plan_twice(seoul("2026-11-17", 10))  # 7 days over: the owner alone
    assert {(r.recipient, r.threshold, r.is_escalation) for r in Reminder.objects.all()} == {(owner, -7, False)}

    plan_twice(seoul("2026-11-24", 10))  # 14 days over
    assert {(r.recipient, r.is_escalation) for r in Reminder.objects.filter(threshold=-14)} == {
        (owner, False),
        (lead, True),
        (head, True),
    }
    dispatch_at(seoul("2026-11-24", 10))
    by_address = {m.to[0]: m for m in mailoutbox}
    assert "[D+14] 늦어진 신청 (상급 보고)" in by_address["head@example.com"].body
    assert "제출 완료로 표시" not in by_address["head@example.com"].body  # not theirs to mark
    assert "상급 보고" not in by_address["owner@example.com"].body
    assert "제출 완료로 표시" in by_address["owner@example.com"].body
    assert "기한 지난 마일스톤 1건" in by_address["lead@example.com"].subject


def test_a_strategy_lead_who_is_not_a_tf_head_is_escalated_to_as_well(owner, teammate):
    head = UserFactory(username="head", role=roles.TF_HEAD)
    project = CoreProjectFactory(task=TaskFactory(strategy=StrategyFactory(lead=teammate)), managers=[owner])
    milestone = MilestoneFactory(project=project, owner=owner, due_date=D("2026-11-10"))
    plan_twice(seoul("2026-11-24", 10))  # 14 days over
    assert {(r.recipient, r.threshold, r.is_escalation) for r in Reminder.objects.filter(milestone=milestone)} == {
        (owner, -14, False),
        (teammate, -14, True),  # a project manager by role, the strategy's lead here
        (head, -14, True),
    }


def test_an_owner_who_is_also_lead_and_tf_head_gets_one_plain_reminder(owner):
    owner.groups.add(Group.objects.get(name=roles.TF_HEAD))
    project = CoreProjectFactory(task=TaskFactory(strategy=StrategyFactory(lead=owner)), managers=[owner])
    MilestoneFactory(project=project, owner=owner, due_date=D("2026-11-10"))
    plan_twice(seoul("2026-11-24", 10))
    assert list(Reminder.objects.values_list("recipient__username", "threshold", "is_escalation")) == [
        ("owner", -14, False)
    ]


def test_nobody_gets_a_reminder_who_opted_out_is_inactive_or_has_no_address(project, owner, teammate):
    NotificationPreference.objects.create(user=owner, reminders=False)
    teammate.is_active = False
    teammate.save()
    no_address = UserFactory(username="noaddress", email="", role=roles.PROJECT_MANAGER)
    listening = UserFactory(username="listening", role=roles.PROJECT_MANAGER)
    NotificationPreference.objects.create(user=listening, reminders=True, digest=False)
    project.managers.add(no_address, listening)
    MilestoneFactory(project=project, owner=None, due_date=D("2026-11-26"))  # no owner: the project's managers
    MilestoneFactory(project=project, owner=owner, due_date=D("2026-11-26"))
    MilestoneFactory(project=project, owner=teammate, due_date=D("2026-11-26"))
    MilestoneFactory(project=project, owner=no_address, due_date=D("2026-11-26"))
    plan_twice(seoul("2026-11-25", 10))
    # The inactive teammate's milestone goes to the project's managers (an inactive owner has lost access).
    assert list(Reminder.objects.exclude(status="skipped").values_list("recipient__username", flat=True)) == [
        "listening",
        "listening",
    ]
    assert list(OutboxMessage.objects.values_list("to_email", flat=True)) == ["listening@example.com"]
    # Each person left out is recorded, with why: the answer to "why didn't I get it?".
    assert set(
        Reminder.objects.filter(status="skipped").values_list("recipient__username", "skip_reason").distinct()
    ) == {("owner", "opted_out"), ("teammate", "inactive"), ("noaddress", "no_email")}


def test_an_opted_out_strategy_lead_is_not_escalated_to(escalation_setup):
    milestone, lead, head = escalation_setup
    NotificationPreference.objects.create(user=lead, reminders=False)
    plan_twice(seoul("2026-11-24", 10))
    assert sorted(Reminder.objects.exclude(status="skipped").values_list("recipient__username", flat=True)) == [
        "head",
        "owner",
    ]
    assert list(Reminder.objects.filter(status="skipped").values_list("recipient", "is_escalation", "skip_reason")) == [
        (lead.pk, True, "opted_out")
    ]


# The command ------------------------------------------------------------------------------------------------


def test_send_reminders_dry_run_prints_and_records_nothing_then_sends_once(project, owner, smtp_server):
    milestone = MilestoneFactory(project=project, owner=owner, title="공모 제안서", due_date=D("2026-12-15"))
    with time_machine.travel(seoul("2026-11-25", 10), tick=False):
        out = io.StringIO()
        call_command("send_reminders", "--date", "2026-12-08", "--dry-run", stdout=out)
        assert f"owner@example.com: [D-7] {project.code} 공모 제안서 (2026-12-15)" in out.getvalue()
        assert "보낼 알림 1건 (dry-run" in out.getvalue()
        assert not Reminder.objects.exists() and not OutboxMessage.objects.exists()
        assert smtp_server.delivered == []

        for _run in range(2):
            call_command("send_reminders", "--date", "2026-12-08", stdout=io.StringIO())
    reminder = Reminder.objects.get()
    assert (reminder.milestone, reminder.threshold, reminder.status) == (milestone, 7, "sent")
    message = OutboxMessage.objects.get()
    assert message.status == "sent"
    smtp_server.assert_delivered_exactly_once({message.message_id})
    assert "[D-7] 공모 제안서" in smtp_server.delivered[0].text


def test_send_reminders_refuses_a_malformed_date(db):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        call_command("send_reminders", "--date", "2026/12/08", "--dry-run")


# Escalation around days off ----------------------------------------------------------------------------------


def test_an_escalation_moved_off_a_holiday_goes_out_with_its_reminder_on_the_working_day_before(owner, mailoutbox):
    lead = UserFactory(username="lead", role=roles.TF_HEAD)
    project = CoreProjectFactory(task=TaskFactory(strategy=StrategyFactory(lead=lead)), managers=[owner])
    MilestoneFactory(project=project, owner=owner, title="9월 21일 마감", due_date=D("2026-09-21"))
    day = D("2026-09-28")
    sent_on: dict[dt.date, list[str]] = {}
    while day <= D("2026-10-13"):
        before = len(mailoutbox)
        plan_twice(seoul(day.isoformat(), 9, 30))
        dispatch_at(seoul(day.isoformat(), 9, 30))
        if len(mailoutbox) > before:
            sent_on[day] = sorted(m.to[0] for m in mailoutbox[before:])
        day += dt.timedelta(days=1)
    # D+14 is 10-05 (substitute holiday for 개천절): it moves to Friday 10-02, escalation included.
    assert sent_on == {
        D("2026-09-28"): ["owner@example.com"],  # D+7
        D("2026-10-02"): ["lead@example.com", "owner@example.com"],  # D+14
        D("2026-10-12"): ["lead@example.com", "owner@example.com"],  # D+21
    }

"""Which week a digest is for, when somebody asks by hand and after the scheduler was down for weeks. The clock
is moved (time-machine); the digest planner and the dispatcher tick as beat would; each case ends by counting
at the SMTP server. SQLite or PostgreSQL."""

from __future__ import annotations

import datetime as dt
import logging
import re

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from notifications.digest import digests_plan
from notifications.models import OutboxMessage
from notifications.outbox import outbox_dispatch
from projects import roles
from tests.factories import CoreProjectFactory, PlanFactory, StrategyFactory, TaskFactory, UserFactory
from tracker.dates import SEOUL

pytestmark = pytest.mark.django_db


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=SEOUL)


def tick(moment: dt.datetime) -> None:
    """Beat's digest tick, then the dispatcher."""
    with time_machine.travel(moment, tick=False):
        digests_plan(now=timezone.now())
        outbox_dispatch()


def weeks_delivered(smtp_server) -> list[str]:
    return [re.search(r"\d{4}-W\d{2}", message.subject).group(0) for message in smtp_server.delivered]


@pytest.fixture
def tf_head(db, smtp_server):
    with time_machine.travel(at(dt.date(2026, 11, 2), 10), tick=False):
        plan = PlanFactory(code="busan-test", name="시험 계획")
        CoreProjectFactory(task=TaskFactory(strategy=StrategyFactory(plan=plan, code="S1", order=1)), code="A-1")
    return UserFactory(username="head", role=roles.TF_HEAD)


def test_send_digest_refuses_the_week_that_is_not_over_and_the_real_one_goes_next_monday(tf_head, smtp_server):
    tuesday = dt.date(2026, 11, 24)  # 2026-W48
    with time_machine.travel(at(tuesday, 10), tick=False):
        with pytest.raises(CommandError, match="2026-W48 주는 아직 끝나지 않았습니다"):
            call_command("send_digest", "--week", "2026-W48")
        with pytest.raises(CommandError, match="아직 끝나지 않았습니다"):
            call_command("send_digest", "--week", "2026-W53")  # a real ISO week, in the future
        with pytest.raises(CommandError, match="주 형식이 잘못되었습니다"):
            call_command("send_digest", "--week", "2027-W53")  # 2027 has 52 weeks
    assert not OutboxMessage.objects.exists()

    tick(at(dt.date(2026, 11, 30), 8))  # the following Monday, at the policy's hour
    tick(at(dt.date(2026, 11, 30), 8, 5))
    assert weeks_delivered(smtp_server) == ["2026-W48"]
    smtp_server.assert_delivered_exactly_once(OutboxMessage.objects.values_list("message_id", flat=True))


def test_send_digest_accepts_a_week_that_has_ended(tf_head, smtp_server):
    with time_machine.travel(at(dt.date(2026, 11, 30), 0, 0), tick=False):  # W48 ended a moment ago
        call_command("send_digest", "--week", "2026-W48")
    assert weeks_delivered(smtp_server) == ["2026-W48"]


def test_after_two_weeks_without_the_scheduler_each_missed_digest_is_sent_once_oldest_first(tf_head, smtp_server):
    tick(at(dt.date(2026, 11, 23), 8))  # W47's digest, on time
    # down from then until Monday 12-14 10:00: W48 (due 11-30) and W49 (due 12-07) were missed; W50 is due
    for moment in (at(dt.date(2026, 12, 14), 10), at(dt.date(2026, 12, 14), 10, 5), at(dt.date(2026, 12, 21), 8)):
        tick(moment)
    assert weeks_delivered(smtp_server) == ["2026-W47", "2026-W48", "2026-W49", "2026-W50", "2026-W51"]
    smtp_server.assert_delivered_exactly_once(OutboxMessage.objects.values_list("message_id", flat=True))


def test_after_seven_weeks_down_four_are_sent_and_the_older_ones_are_logged_and_shown_as_skipped(
    tf_head, smtp_server, caplog, superuser
):
    tick(at(dt.date(2026, 11, 23), 8))  # W47
    # down until Monday 2027-01-18: missed W48 … W53 and 2027-W01, W02 (eight weeks)
    with caplog.at_level(logging.WARNING, logger="notifications.digest"):
        tick(at(dt.date(2027, 1, 18), 9))
        tick(at(dt.date(2027, 1, 18), 9, 5))
    assert weeks_delivered(smtp_server) == ["2026-W47", "2026-W52", "2026-W53", "2027-W01", "2027-W02"]
    smtp_server.assert_delivered_exactly_once(
        OutboxMessage.objects.filter(status="sent").values_list("message_id", flat=True)
    )
    skipped = OutboxMessage.objects.filter(status="skipped").order_by("key")
    assert [row.key.rsplit(":", 1)[1] for row in skipped] == [f"2026-W{n}" for n in range(48, 52)]
    assert "2026-W48, 2026-W49, 2026-W50, 2026-W51" in caplog.text

    admin = Client()
    admin.force_login(superuser)
    page = admin.get("/admin/notifications/outboxmessage/", {"status__exact": "skipped"}).content.decode()
    assert all(row.key in page for row in skipped) and "건너뜀" in page

    tick(at(dt.date(2027, 1, 25), 8))  # back to normal: W03 only
    assert weeks_delivered(smtp_server)[-1] == "2027-W03" and len(smtp_server.delivered) == 6


def test_a_first_install_sends_only_the_due_week(tf_head, smtp_server):
    tick(at(dt.date(2026, 12, 14), 10))
    assert weeks_delivered(smtp_server) == ["2026-W50"]

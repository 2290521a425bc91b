"""The weekly digest: figures against a hand-counted week, changes from the history, exactly once per
recipient and week, a page with an archive and an XLSX attachment. (Its rendering in real Chromium:
tests/e2e/test_digest_browser.py.)"""

from __future__ import annotations

import datetime as dt
import email
import io

import openpyxl
import pytest
import time_machine
from django.core import mail
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from notifications.digest import Scope, digest_build, digests_plan
from notifications.models import DigestPolicy, NotificationPreference, OutboxMessage
from notifications.outbox import outbox_dispatch
from projects import services
from projects.models import Milestone
from projects.money import eok_to_won
from tests.factories import (
    CoreProjectFactory,
    MilestoneFactory,
    PlanFactory,
    StrategyFactory,
    TaskFactory,
    UserFactory,
)
from tests.notifications.digest_week import W47, at, hand_counted_week

pytestmark = pytest.mark.django_db


@pytest.fixture
def week(owner, teammate, tf_head):
    """A plan whose week 47 is counted by hand (tests/notifications/digest_week.py; see the asserts)."""
    return hand_counted_week(owner, teammate)


def test_every_figure_of_the_week_matches_the_hand_count(week, owner, teammate):
    with time_machine.travel(at(dt.date(2026, 11, 25)), tick=False):
        digest = digest_build(plan=week, scope=Scope("plan"), week_start=W47)
    assert digest.week_label == "2026-W47"
    assert digest.now.projects == 3
    assert digest.now.rag == {"on_track": 1, "delayed": 1, "at_risk": 1}
    assert digest.before.rag == {"on_track": 2, "at_risk": 1}
    rag = {status: (count, change, worse) for status, _label, count, change, worse in digest.rag_rows}
    assert rag["delayed"] == (1, 1, True) and rag["on_track"] == (1, -1, True) and rag["done"] == (0, 0, False)
    assert digest.now.achieved_in_week == 1
    assert digest.now.overdue == 1  # 협약 (due 11-12); 공모 moved out of the week
    assert digest.before.overdue == 1
    assert digest.now.due_ahead == 2  # 규제 특례 (11-30) and 공모 제출 (12-04), within 14 days of 11-23
    assert (digest.now.requested, digest.now.secured) == (eok_to_won(100), eok_to_won(80))
    assert digest.announced_budget == eok_to_won(1500)
    s1 = digest.strategies[0]
    assert (s1.milestones_achieved, s1.milestones_total, s1.achieved_percent) == (1, 3, 33)
    assert s1.secured_percent == 8  # 80 of 1,000
    changes = {(c.title, c.who) for c in digest.changes}
    assert changes == {("국비 신청", "김담당 (해양정책과)"), ("공모 제출", "이동료 (투자유치과)")}  # by name, not login
    moved = next(c for c in digest.changes if c.title == "공모 제출")
    assert (moved.due_before, moved.due_after) == (dt.date(2026, 11, 20), dt.date(2026, 12, 4))
    assert [p.code for p in digest.missing_notes] == ["B-1"]
    assert [n.project.code for n in digest.flagged_notes] == ["A-2"]


def test_a_past_week_is_rebuilt_with_the_numbers_it_had(week, owner):
    with time_machine.travel(at(dt.date(2026, 11, 25)), tick=False):
        before = digest_build(plan=week, scope=Scope("plan"), week_start=W47)
        late = Milestone.objects.get(title="협약")
        services.milestone_set_status(
            milestone_id=late.pk, user=UserFactory(is_superuser=True), expected_version=late.version, status="achieved"
        )
        again = digest_build(plan=week, scope=Scope("plan"), week_start=W47)
    assert (
        (again.now.overdue, again.now.achieved_in_week) == (before.now.overdue, before.now.achieved_in_week) == (1, 1)
    )


def test_quiet_sections_are_left_out_and_the_digest_says_so(tf_head, owner):
    with time_machine.travel(at(dt.date(2026, 11, 10)), tick=False):
        plan = PlanFactory(code="quiet")
        project = CoreProjectFactory(task=TaskFactory(strategy=StrategyFactory(plan=plan)), managers=[owner])
        MilestoneFactory(project=project, due_date=dt.date(2027, 5, 1))
    with time_machine.travel(at(dt.date(2026, 11, 23), 9), tick=False):
        [message] = [m for m in digests_plan(now=at(dt.date(2026, 11, 23), 9)) if m.recipient == tf_head]
    assert "지난주는 조용했습니다" in message.body_text
    assert "지난주 바뀐 마일스톤" not in message.body_text
    assert "주의·지연 보고" not in message.body_text
    assert "주간 보고가 없는 사업" in message.body_text  # the one project wrote no note


def test_the_planner_run_twice_sends_one_digest_per_recipient(week, tf_head, teammate):
    monday = at(dt.date(2026, 11, 23), 8, 5)
    with time_machine.travel(monday, tick=False):
        first = digests_plan(now=monday)
        second = digests_plan(now=monday)
        outbox_dispatch()
    recipients = sorted(m.to_email for m in first)
    # the TF head gets the plan, the S1 lead (teammate) gets S1
    assert recipients == sorted([tf_head.email, teammate.email])
    assert OutboxMessage.objects.filter(kind="digest").count() == 2
    assert len(second) == 0
    assert sorted(m.to[0] for m in mail.outbox) == recipients


def test_before_the_send_hour_nothing_goes_and_a_missed_monday_is_caught_up_on_tuesday(week, tf_head):
    with time_machine.travel(at(dt.date(2026, 11, 23), 7, 55), tick=False):
        assert [m for m in digests_plan(now=at(dt.date(2026, 11, 23), 7, 55)) if "W47" in m.subject] == []
    tuesday = at(dt.date(2026, 11, 24), 10)
    with time_machine.travel(tuesday, tick=False):
        caught_up = [m for m in digests_plan(now=tuesday) if m.recipient == tf_head]
        again = digests_plan(now=tuesday)
    assert [m.key.rsplit(":", 1)[1] for m in caught_up] == ["2026-W47"]
    assert "2026-W47" in caught_up[0].subject
    assert again == []


def test_people_who_turned_digests_off_get_none_and_subscribers_get_theirs(week, tf_head, owner):
    NotificationPreference.objects.create(user=tf_head, digest=False)
    NotificationPreference.objects.create(user=owner, digest_my_projects=True)
    monday = at(dt.date(2026, 11, 23), 9)
    with time_machine.travel(monday, tick=False):
        messages = {m.recipient.username: m for m in digests_plan(now=monday)}
    assert "tfhead" not in messages
    mine = messages["owner"]
    assert "A-1" in mine.body_text and "B-1" not in mine.body_text


def test_the_email_has_text_html_an_xlsx_and_an_unsubscribe_header(week, tf_head, settings):
    monday = at(dt.date(2026, 11, 23), 9)
    with time_machine.travel(monday, tick=False):
        digests_plan(now=monday)
        outbox_dispatch()
    [sent] = [m for m in mail.outbox if m.to == [tf_head.email]]
    assert "2026-W47" in sent.subject and "\n" not in sent.subject
    assert "국비 확보" in sent.body
    html = sent.alternatives[0][0]
    assert "한눈에 보기" in html and 'style="' in html
    assert sent.extra_headers["List-Unsubscribe"].startswith("<http")
    name, content, mimetype = sent.attachments[0]
    assert name == "portfolio-current-2026-11-23.xlsx" and mimetype.endswith("spreadsheetml.sheet")
    rows = list(openpyxl.load_workbook(io.BytesIO(content)).active.iter_rows(values_only=True))
    assert rows[0][0] == "사업코드"
    assert sorted(row[0] for row in rows[1:]) == ["A-1", "A-2", "B-1"]
    parsed = email.message_from_bytes(sent.message().as_bytes())
    assert parsed["Message-ID"] == OutboxMessage.objects.get(to_email=tf_head.email).message_id


def test_the_digest_page_and_its_archive(client, week, tf_head):
    client.force_login(tf_head)
    with time_machine.travel(at(dt.date(2026, 11, 25)), tick=False):
        response = client.get(reverse("notifications:digest"))
        assert response.status_code == 200
        assert response.context["digest"].week_label == "2026-W47"
        assert "2026-W46" in response.context["archive"]
        past = client.get(reverse("notifications:digest_week", args=["2026-W46"]))
        assert past.context["digest"].now.achieved_in_week == 0
        assert client.get(reverse("notifications:digest_week", args=["2026-W48"])).status_code == 404
        assert client.get(reverse("notifications:digest_week", args=["not-a-week"])).status_code == 404


def test_send_digest_command_builds_the_named_week(week, tf_head, capsys):
    with time_machine.travel(at(dt.date(2026, 11, 25)), tick=False):
        call_command("send_digest", "--week", "2026-W47", "--dry-run")
        assert "2026-W47" in capsys.readouterr().out
        assert not OutboxMessage.objects.exists()
        call_command("send_digest", "--week", "2026-W47")
    assert OutboxMessage.objects.filter(kind="digest", status="sent").count() == 2


def test_building_a_digest_takes_the_same_number_of_queries_at_two_sizes(week, owner):
    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            digest_build(plan=week, scope=Scope("plan"), week_start=W47)
        return len(queries)

    small = count()
    with time_machine.travel(at(dt.date(2026, 11, 17)), tick=False):
        task = week.strategies.first().tasks.first()
        for n in range(30):
            project = CoreProjectFactory(task=task, code=f"X-{n}", managers=[owner])
            milestone = MilestoneFactory(project=project, due_date=dt.date(2026, 11, 19))
            services.milestone_set_status(
                milestone_id=milestone.pk, user=owner, expected_version=milestone.version, status="submitted"
            )
    assert count() == small


def test_the_digest_policy_moves_the_send_moment(week, tf_head):
    DigestPolicy.objects.update_or_create(pk=1, defaults={"weekday": 1, "hour": 7})
    monday = at(dt.date(2026, 11, 23), 9)
    with time_machine.travel(monday, tick=False):
        assert [m for m in digests_plan(now=monday) if "W47" in m.key] == []
    tuesday = at(dt.date(2026, 11, 24), 7, 1)
    with time_machine.travel(tuesday, tick=False):
        assert any("W47" in m.key for m in digests_plan(now=tuesday))

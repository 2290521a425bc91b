"""Portfolio views: the dashboard's roll-up against a hand-counted fixture, filtered tables and their exports,
the timeline, calendar feeds, and query counts that do not grow with the portfolio."""

from __future__ import annotations

import csv
import datetime as dt
import io

import icalendar
import openpyxl
import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from notifications.feeds import calendar_feed_for, calendar_feed_rotate
from projects import roles
from projects.models import CoreProject, Milestone
from projects.money import eok_to_won
from projects.selectors import plan_dashboard
from tests.factories import (
    CoreProjectFactory,
    MilestoneFactory,
    PlanFactory,
    ProgressUpdateFactory,
    StrategyFactory,
    TaskFactory,
    UserFactory,
)
from tracker.dates import SEOUL

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 11, 25)  # a Wednesday; ISO week 2026-W48 starts on Monday 2026-11-23
NOW = dt.datetime(2026, 11, 25, 10, tzinfo=SEOUL)


@pytest.fixture(autouse=True)
def frozen_clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def viewer(db):
    return UserFactory(username="viewer", role=roles.VIEWER)


@pytest.fixture
def portfolio(owner):
    """Two strategies, three tasks, four projects and nine milestones, counted by hand below."""
    plan = PlanFactory(code="test-plan")
    s1 = StrategyFactory(plan=plan, code="S1", order=1, announced_budget=eok_to_won(1000))
    s2 = StrategyFactory(plan=plan, code="S2", order=2, announced_budget=eok_to_won(500))
    t1, t2 = TaskFactory(strategy=s1, code="T1", order=1), TaskFactory(strategy=s1, code="T2", order=2)
    t3 = TaskFactory(strategy=s2, code="T3", order=1)
    p1 = CoreProjectFactory(task=t1, code="A-1", rag_status="on_track", managers=[owner])
    p2 = CoreProjectFactory(task=t1, code="A-2", rag_status="delayed")
    p3 = CoreProjectFactory(task=t2, code="A-3", rag_status="at_risk", category="upgraded")
    p4 = CoreProjectFactory(task=t3, code="B-1", rag_status="on_track")
    funding = Milestone.Kind.NATIONAL_FUNDING
    # p1: one achieved funding milestone (requested 100, secured 80), one overdue, one due in 10 days
    MilestoneFactory(
        project=p1,
        kind=funding,
        status="achieved",
        due_date=TODAY - dt.timedelta(days=20),
        completed_on=TODAY - dt.timedelta(days=21),
        amount_requested=eok_to_won(100),
        amount_secured=eok_to_won(80),
    )
    MilestoneFactory(project=p1, kind="agreement", due_date=TODAY - dt.timedelta(days=3), title="overdue-1")
    MilestoneFactory(project=p1, kind="agreement", due_date=TODAY + dt.timedelta(days=10), title="upcoming-1")
    # p2: overdue submitted funding milestone (requested 50), a cancelled one (requested 999, not counted)
    MilestoneFactory(
        project=p2,
        kind=funding,
        status="submitted",
        due_date=TODAY - dt.timedelta(days=1),
        amount_requested=eok_to_won(50),
        title="overdue-2",
    )
    MilestoneFactory(project=p2, kind=funding, status="cancelled", amount_requested=eok_to_won(999))
    # p3: due today (upcoming), one far away (not upcoming)
    MilestoneFactory(project=p3, kind="legal", due_date=TODAY, title="upcoming-2")
    MilestoneFactory(project=p3, kind="legal", due_date=TODAY + dt.timedelta(days=200))
    # p4: achieved contest (requested 30, secured 30), one missed in the past (not overdue: closed)
    MilestoneFactory(
        project=p4,
        kind=Milestone.Kind.PUBLIC_CONTEST,
        status="achieved",
        due_date=TODAY - dt.timedelta(days=5),
        completed_on=TODAY - dt.timedelta(days=5),
        amount_requested=eok_to_won(30),
        amount_secured=eok_to_won(30),
    )
    MilestoneFactory(project=p4, kind="other", status="missed", due_date=TODAY - dt.timedelta(days=40))
    # notes this week: p1 and p4; p2 wrote last week only
    ProgressUpdateFactory(project=p1, week_start=dt.date(2026, 11, 23), author=owner)
    ProgressUpdateFactory(project=p4, week_start=dt.date(2026, 11, 23), author=owner)
    ProgressUpdateFactory(project=p2, week_start=dt.date(2026, 11, 16), author=owner)
    return plan


def test_the_dashboard_rolls_up_the_hand_counted_portfolio(portfolio):
    rows = {(row.level, row.code): row for row in plan_dashboard(plan=portfolio, today=TODAY)}
    whole = rows[("plan", "test-plan")]
    assert whole.projects == 4
    assert whole.rag == {"on_track": 2, "delayed": 1, "at_risk": 1}
    assert (whole.achieved, whole.overdue, whole.upcoming) == (2, 2, 2)
    assert whole.requested == eok_to_won(180)  # 100 + 50 + 30; the cancelled 999 is not counted
    assert whole.secured == eok_to_won(110)  # 80 + 30
    assert whole.noted_this_week == 2
    assert whole.announced_budget == eok_to_won(1500)

    s1 = rows[("strategy", "S1")]
    assert (s1.projects, s1.achieved, s1.overdue, s1.upcoming) == (3, 1, 2, 2)
    assert (s1.requested, s1.secured, s1.noted_this_week) == (eok_to_won(150), eok_to_won(80), 1)
    assert s1.announced_budget == eok_to_won(1000)
    t2 = rows[("task", "T2")]
    assert (t2.projects, t2.rag, t2.upcoming, t2.overdue) == (1, {"at_risk": 1}, 1, 0)
    s2 = rows[("strategy", "S2")]
    assert (s2.projects, s2.achieved, s2.overdue, s2.secured) == (1, 1, 0, eok_to_won(30))


def test_every_dashboard_number_links_to_the_rows_behind_it(client, viewer, portfolio):
    client.force_login(viewer)
    html = client.get(reverse("projects:dashboard"), {"plan": "test-plan"}).content.decode()
    strategy = portfolio.strategies.get(code="S1")
    overdue_link = f"{reverse('projects:milestones')}?strategy={strategy.pk}&amp;due=overdue"
    assert overdue_link in html
    response = client.get(reverse("projects:milestones"), {"strategy": strategy.pk, "due": "overdue"})
    titles = {row.record.title for row in response.context["table"].page.object_list}
    assert titles == {"overdue-1", "overdue-2"}
    response = client.get(reverse("projects:portfolio"), {"strategy": strategy.pk, "rag_status": "delayed"})
    assert [row.record.code for row in response.context["table"].page.object_list] == ["A-2"]
    response = client.get(reverse("projects:portfolio"), {"note_this_week": "no"})
    assert {row.record.code for row in response.context["table"].page.object_list} == {"A-2", "A-3"}


def _export(client, url: str, params: dict, fmt: str) -> list[list]:
    response = client.get(url, {**params, "_export": fmt})
    assert response.status_code == 200
    if fmt == "csv":
        return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    return [list(row) for row in sheet.iter_rows(values_only=True)]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_milestone_exports_hold_exactly_the_filtered_rows_with_korean_headers(client, viewer, portfolio, fmt):
    client.force_login(viewer)
    rows = _export(client, reverse("projects:milestones"), {"kind": "national_funding"}, fmt)
    header, body = rows[0], rows[1:]
    assert header[:4] == ["사업코드", "사업명", "전략", "기한"]
    assert "신청액(억원)" in header
    assert sorted(row[0] for row in body) == ["A-1", "A-2", "A-2"]
    requested = {str(row[header.index("신청액(억원)")]) for row in body}
    assert {"100.00", "50.00", "999.00"} <= {f"{float(value):.2f}" for value in requested}
    if fmt == "xlsx":
        due = body[0][header.index("기한")]
        assert isinstance(due, dt.datetime | dt.date)  # a real date cell, not text
        assert isinstance(body[0][header.index("신청액(억원)")], int | float)


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_project_exports_follow_the_filters(client, viewer, portfolio, fmt):
    client.force_login(viewer)
    rows = _export(client, reverse("projects:portfolio"), {"category": "upgraded"}, fmt)
    assert rows[0][0] == "사업코드"
    assert [row[0] for row in rows[1:]] == ["A-3"]


def test_text_and_date_range_filters(client, viewer, portfolio):
    client.force_login(viewer)
    response = client.get(
        reverse("projects:milestones"),
        {"due_date_after": TODAY.isoformat(), "due_date_before": (TODAY + dt.timedelta(days=15)).isoformat()},
    )
    assert {row.record.title for row in response.context["table"].page.object_list} == {"upcoming-1", "upcoming-2"}
    response = client.get(reverse("projects:portfolio"), {"q": "B-1"})
    assert [row.record.code for row in response.context["table"].page.object_list] == ["B-1"]


def test_the_timeline_marks_today_and_overdue_items(client, viewer, portfolio):
    client.force_login(viewer)
    response = client.get(reverse("projects:timeline"))
    html = response.content.decode()
    assert response.status_code == 200
    assert 'class="today"' in html
    assert html.count('class="m overdue"') == 2
    assert "A-1" in html and "B-1" in html


def test_a_personal_feed_holds_the_milestones_a_person_owns_or_manages(client, owner, portfolio):
    feed = calendar_feed_for(user=owner)
    response = client.get(reverse("notifications:my_calendar", args=[feed.token]))
    assert response["Content-Type"].startswith("text/calendar")
    calendar = icalendar.Calendar.from_ical(response.content)
    events = calendar.walk("VEVENT")
    # owner manages A-1 (3 milestones); cancelled milestones are never in a feed
    assert len(events) == 3
    first = events[0]
    assert isinstance(first["DTSTART"].dt, dt.date) and not isinstance(first["DTSTART"].dt, dt.datetime)
    assert first["DTEND"].dt - first["DTSTART"].dt == dt.timedelta(days=1)
    assert first["SUMMARY"].startswith("[A-1] ")
    assert "A-1" in first["DESCRIPTION"] and "/projects/" in first["DESCRIPTION"]
    uids = {str(event["UID"]) for event in events}
    again = icalendar.Calendar.from_ical(client.get(reverse("notifications:my_calendar", args=[feed.token])).content)
    assert {str(event["UID"]) for event in again.walk("VEVENT")} == uids  # stable UIDs


def test_a_revoked_feed_address_stops_working(client, owner, portfolio):
    old = calendar_feed_for(user=owner).token
    calendar_feed_rotate(user=owner)
    assert client.get(reverse("notifications:my_calendar", args=[old])).status_code == 404


def test_a_strategy_feed_is_only_for_people_who_may_read_it(client, viewer, portfolio):
    strategy = portfolio.strategies.get(code="S2")
    feed = calendar_feed_for(user=viewer)
    response = client.get(reverse("notifications:strategy_calendar", args=[feed.token, strategy.pk]))
    assert len(icalendar.Calendar.from_ical(response.content).walk("VEVENT")) == 2
    nobody = UserFactory(username="no-role")
    no_role_feed = calendar_feed_for(user=nobody)
    assert (
        client.get(reverse("notifications:strategy_calendar", args=[no_role_feed.token, strategy.pk])).status_code
        == 404
    )


def test_a_viewer_reads_every_portfolio_page_but_has_no_edit_links(client, viewer, portfolio):
    client.force_login(viewer)
    for name in ("dashboard", "portfolio", "milestones", "timeline"):
        assert client.get(reverse(f"projects:{name}"), {"plan": "test-plan"}).status_code == 200
    project = CoreProject.objects.get(code="A-1")
    html = client.get(reverse("projects:project", args=[project.pk])).content.decode()
    assert reverse("projects:milestone_create", args=[project.pk]) not in html
    assert "/edit/" not in html


def test_anonymous_people_are_sent_to_the_login_page(client, portfolio):
    for name in ("dashboard", "portfolio", "milestones", "timeline"):
        response = client.get(reverse(f"projects:{name}"))
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def _grow(portfolio, owner, extra: int) -> None:
    tasks = list(portfolio.strategies.get(code="S1").tasks.all())
    for n in range(extra):
        project = CoreProjectFactory(task=tasks[n % len(tasks)], managers=[owner])
        MilestoneFactory.create_batch(3, project=project, due_date=TODAY + dt.timedelta(days=n))
        ProgressUpdateFactory(project=project, week_start=dt.date(2026, 11, 23), author=owner)


@pytest.mark.parametrize(
    "url_name, params",
    [
        ("dashboard", {"plan": "test-plan"}),
        ("portfolio", {}),
        ("portfolio", {"strategy": "", "q": "A", "note_this_week": "no"}),
        ("milestones", {"due": "upcoming"}),
        ("timeline", {}),
        ("portfolio", {"_export": "xlsx"}),
    ],
)
def test_portfolio_pages_take_the_same_number_of_queries_at_two_sizes(
    client, viewer, owner, portfolio, url_name, params
):
    client.force_login(viewer)

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse(f"projects:{url_name}"), params).status_code == 200
        return len(queries)

    small = count()
    _grow(portfolio, owner, 60)
    assert count() == small

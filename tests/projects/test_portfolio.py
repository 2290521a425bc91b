"""Portfolio views: the dashboard's roll-up against a hand-counted fixture, filtered tables and their exports,
the timeline, and query counts that do not grow with the portfolio. (Calendar feeds: tests/notifications.)"""

from __future__ import annotations

import csv
import datetime as dt
import io

import openpyxl
import pytest
import time_machine
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from projects import roles
from projects.models import CoreProject
from projects.money import eok_to_won
from projects.selectors import plan_dashboard
from tests.conftest import shared_rows
from tests.factories import (
    CoreProjectFactory,
    MilestoneFactory,
    ProgressUpdateFactory,
    UserFactory,
)
from tests.portfolio import NOW, TODAY, hand_counted_portfolio

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("portfolio_clock")]


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
    content = b"".join(response.streaming_content)  # both formats are streamed, never built in the response
    if fmt == "csv":
        assert content.startswith("\ufeff".encode())  # the BOM that Korean Excel needs to read UTF-8
        return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    sheet = openpyxl.load_workbook(io.BytesIO(content)).active
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


PAGES_AT_TWO_SIZES = [
    ("dashboard", {"plan": "test-plan"}),
    ("portfolio", {}),
    ("portfolio", {"strategy": "", "q": "A", "note_this_week": "no"}),
    ("milestones", {"due": "upcoming"}),
    ("timeline", {}),
    ("portfolio", {"_export": "xlsx"}),
]


@pytest.fixture(scope="module")
def queries_at_two_sizes(django_db_setup, django_db_blocker) -> dict[int, tuple[int, int]]:
    """How many queries each of PAGES_AT_TWO_SIZES takes for a viewer on the hand-counted portfolio, then after
    60 more projects: the portfolio is built and grown once for all the pages, and rolled back before any test
    reads the numbers (tests/conftest.py: shared_rows)."""
    with shared_rows(django_db_blocker), time_machine.travel(NOW, tick=False):
        owner = UserFactory(username="owner", role=roles.PROJECT_MANAGER)
        portfolio = hand_counted_portfolio(owner)
        client = Client()
        client.force_login(UserFactory(username="viewer", role=roles.VIEWER))

        def count(url_name: str, params: dict) -> int:
            cache.clear()  # the dashboard's past trend points are cached by week: count them cold, the worst case
            with CaptureQueriesContext(connection) as queries:
                assert client.get(reverse(f"projects:{url_name}"), params).status_code == 200
            return len(queries)

        small = [count(url_name, params) for url_name, params in PAGES_AT_TWO_SIZES]
        _grow(portfolio, owner, 60)
        large = [count(url_name, params) for url_name, params in PAGES_AT_TWO_SIZES]
    return dict(enumerate(zip(small, large, strict=True)))


@pytest.mark.parametrize("url_name, params", PAGES_AT_TWO_SIZES)
def test_portfolio_pages_take_the_same_number_of_queries_at_two_sizes(queries_at_two_sizes, url_name, params):
    small, large = queries_at_two_sizes[PAGES_AT_TWO_SIZES.index((url_name, params))]
    assert large == small


def test_the_deadline_subqueries_built_once_a_day_answer_every_query_alike(portfolio):
    """projects_with_deadlines reuses one day's subqueries: using them in one query (filtered, counted, sorted by
    them) leaves them as they were for the next, and another day gets its own."""
    from projects.selectors import projects_with_deadlines

    first = str(projects_with_deadlines(CoreProject.objects.order_by("code"), today=TODAY).query)
    used = projects_with_deadlines(CoreProject.objects.filter(code__startswith="A"), today=TODAY)
    assert used.order_by("-overdue_count", "code").count() == used.count() > 0
    list(used.filter(upcoming_count__gte=0).order_by("next_milestone_due"))
    assert str(projects_with_deadlines(CoreProject.objects.order_by("code"), today=TODAY).query) == first
    tomorrow = str(
        projects_with_deadlines(CoreProject.objects.order_by("code"), today=TODAY + dt.timedelta(days=1)).query
    )
    assert tomorrow != first

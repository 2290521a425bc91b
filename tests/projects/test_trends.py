"""Trends rebuilt from the history against a hand-built history, and the national-funding pipeline against
hand-counted stages (projects/trends.py, projects/funding.py)."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from projects import roles, services
from projects.funding import funding_pipeline
from projects.models import Milestone
from projects.money import eok_to_won
from projects.selectors import plan_dashboard
from projects.trends import dashboard_trends, figures_by_week, figures_from_rollups, trend_points
from tests.factories import (
    CoreProjectFactory,
    MilestoneFactory,
    PlanFactory,
    StrategyFactory,
    TaskFactory,
    UserFactory,
)
from tests.factories import funding_milestone as make
from tracker.dates import SEOUL

pytestmark = pytest.mark.django_db

W44, W45, W46, W47 = (dt.date(2026, 10, 26), dt.date(2026, 11, 2), dt.date(2026, 11, 9), dt.date(2026, 11, 16))


def at(day: dt.date, hour: int = 10) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=SEOUL)


@pytest.fixture
def history(owner):
    """Three weeks counted by hand: W45 the start, W46 a note turns 알파 delayed and 협약 goes overdue, W47 both
    milestones are achieved (국비 80억 of 100억 secured)."""
    with time_machine.travel(at(dt.date(2026, 11, 3)), tick=False):
        plan = PlanFactory(code="trend-plan")
        s1 = StrategyFactory(plan=plan, code="S1", order=1)
        s2 = StrategyFactory(plan=plan, code="S2", order=2)
        alpha = CoreProjectFactory(task=TaskFactory(strategy=s1), code="A-1", rag_status="on_track", managers=[owner])
        beta = CoreProjectFactory(task=TaskFactory(strategy=s2), code="B-1", rag_status="at_risk", managers=[owner])
        funding = MilestoneFactory(
            project=alpha,
            kind=Milestone.Kind.NATIONAL_FUNDING,
            due_date=dt.date(2026, 11, 20),
            amount_requested=eok_to_won(100),
        )
        agreement = MilestoneFactory(project=beta, kind=Milestone.Kind.AGREEMENT, due_date=dt.date(2026, 11, 10))
    with time_machine.travel(at(dt.date(2026, 11, 11)), tick=False):
        services.progress_update_save(
            project=alpha, user=owner, summary="지연", blockers="", next_steps="", rag_status="delayed"
        )
    with time_machine.travel(at(dt.date(2026, 11, 18)), tick=False):
        services.milestone_set_status(
            milestone_id=funding.pk,
            user=owner,
            expected_version=funding.version,
            status="achieved",
            completed_on=dt.date(2026, 11, 18),
            amount_secured=eok_to_won(80),
        )
        services.milestone_set_status(
            milestone_id=agreement.pk,
            user=owner,
            expected_version=agreement.version,
            status="achieved",
            completed_on=dt.date(2026, 11, 18),  # not after "today" (issue 14: no completion in the future)
        )
    return plan, s1, s2


def test_each_week_is_counted_as_of_its_end(history):
    plan, s1, s2 = history
    weeks = figures_by_week(plan=plan, weeks=[W44, W45, W46, W47])
    assert weeks[W44] == {}  # nothing existed yet
    w45, w46, w47 = weeks[W45], weeks[W46], weeks[W47]
    assert (w45[s1.pk].rag, w45[s2.pk].rag) == ({"on_track": 1}, {"at_risk": 1})
    assert (w45[s1.pk].requested, w45[s1.pk].secured, w45[s2.pk].overdue) == (eok_to_won(100), 0, 0)
    assert w46[s1.pk].rag == {"delayed": 1}
    assert (w46[s2.pk].overdue, w46[s2.pk].milestones_achieved) == (1, 0)  # 협약 was due 11-10
    assert (w47[s1.pk].milestones_achieved, w47[s1.pk].achieved_in_week, w47[s1.pk].secured) == (1, 1, eok_to_won(80))
    assert (w47[s2.pk].overdue, w47[s2.pk].milestones_achieved, w47[s2.pk].milestones_total) == (0, 1, 1)


def test_a_past_weeks_point_is_cached_and_this_weeks_comes_from_the_live_tables(history):
    plan, s1, _s2 = history
    now = at(dt.date(2026, 11, 25))
    with time_machine.travel(now, tick=False):
        trend_points(plan=plan, weeks=[W45, W46, W47], now=now)  # fills the cache
        with CaptureQueriesContext(connection) as queries:
            cached = trend_points(plan=plan, weeks=[W45, W46, W47], now=now)
        assert len(queries) == 0
        assert cached[W47][s1.pk].secured == eok_to_won(80)
        rows = plan_dashboard(plan=plan, today=now.date())
        [plan_trend, s1_trend, _s2_trend] = dashboard_trends(plan=plan, now=now, current=figures_from_rollups(rows))
    assert [point.week_start for point in plan_trend.points][-4:] == [W45, W46, W47, dt.date(2026, 11, 23)]
    assert plan_trend.points[-1].is_current and not plan_trend.points[-2].is_current
    assert [p.figures.projects for p in plan_trend.points][-5:] == [0, 2, 2, 2, 2]
    assert [p.figures.overdue for p in plan_trend.points][-4:] == [0, 1, 0, 0]
    assert [p.figures.secured for p in s1_trend.points][-4:] == [0, 0, eok_to_won(80), eok_to_won(80)]


def test_the_dashboard_draws_the_trends_as_svg_and_prints_as_pdf(client, history):
    plan, _s1, _s2 = history
    client.force_login(UserFactory(role=roles.TF_HEAD))
    with time_machine.travel(at(dt.date(2026, 11, 25)), tick=False):
        html = client.get(reverse("projects:dashboard"), {"plan": plan.code}).content.decode()
        pdf = client.get(reverse("projects:dashboard_pdf"), {"plan": plan.code})
    assert html.count("<svg") == 3  # the plan and its two strategies
    assert "최근 12주 추이" in html and 'role="img"' in html
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")


# National-funding pipeline -----------------------------------------------------------------------------------


@pytest.fixture
def pipeline_plan(owner):
    plan = PlanFactory(code="pipe-plan")
    s1 = StrategyFactory(plan=plan, code="S1", order=1)
    alpha = CoreProjectFactory(task=TaskFactory(strategy=s1), code="A-1", managers=[owner])
    beta = CoreProjectFactory(task=TaskFactory(strategy=s1), code="A-2", managers=[owner])

    nf, br = Milestone.Kind.NATIONAL_FUNDING, Milestone.Kind.BUDGET_REFLECTION
    make(alpha, nf, "2027년 국비: 시 → 소관 부처 국비 신청", dt.date(2026, 4, 15), "achieved", 100, 90)
    make(alpha, br, "2027년 국비: 소관 부처 예산 요구 (기획재정부 제출)", dt.date(2026, 5, 29), "achieved", 90, 70)
    make(alpha, br, "2027년 국비: 정부 예산안 반영 (국회 제출)", dt.date(2026, 9, 3), "submitted", 70)
    make(alpha, br, "2027년 국비: 국회 예산안 의결 (국비 확정)", dt.date(2026, 12, 2), "planned", 70)
    make(beta, nf, "국비 신청", dt.date(2026, 3, 2), "missed", 50)  # no year in the title: the year after its due date
    make(beta, br, "예산 반영", dt.date(2026, 8, 14), "planned", 40)  # no word that says: August is 정부안
    make(beta, nf, "2027년 국비: 취소된 신청", dt.date(2026, 4, 15), "cancelled", 999)
    make(beta, br, "2028년 국비: 다음 해", dt.date(2027, 9, 3), "planned", 30)
    make(beta, Milestone.Kind.PUBLIC_CONTEST, "2027년 공모", dt.date(2026, 6, 1), "planned", 500)  # not the calendar
    return plan, s1, alpha, beta


def test_the_pipeline_sums_each_stage_by_the_rules(pipeline_plan):
    plan, s1, alpha, beta = pipeline_plan
    pipeline = funding_pipeline(plan=plan, year=2027)
    assert pipeline.years == [2027, 2028]
    rows = {(row.level, row.code): row for row in pipeline.rows}
    total = rows["plan", plan.code].stages
    eok = eok_to_won
    assert (total["request"].asked, total["request"].passed, total["request"].dropped) == (eok(150), eok(90), eok(60))
    assert (total["ministry"].asked, total["ministry"].passed, total["ministry"].dropped) == (eok(90), eok(70), eok(20))
    assert (total["government"].asked, total["government"].open, total["government"].open_milestones) == (
        eok(110),
        eok(110),
        2,
    )
    assert (total["assembly"].asked, total["assembly"].open) == (eok(70), eok(70))
    assert rows["strategy", "S1"].stages["request"].asked == eok(150)
    assert rows["project", "A-2"].stages["government"].asked == eok(40)
    assert [cell.change for cell in rows["project", "A-1"].cells] == [None, -eok(10), -eok(20), 0]
    assert total["request"].passed_percent == 60  # 90 of the 150 decided


def test_every_pipeline_number_links_to_its_milestones(client, pipeline_plan):
    plan, s1, alpha, beta = pipeline_plan
    client.force_login(UserFactory(role=roles.VIEWER))
    html = client.get(reverse("projects:funding_pipeline"), {"plan": plan.code, "year": 2027}).content.decode()
    link = f"{reverse('projects:milestones')}?funding_year=2027&amp;funding_stage=government&amp;project={beta.pk}&amp;"
    assert link in html
    response = client.get(
        reverse("projects:milestones"), {"funding_year": 2027, "funding_stage": "government", "strategy": s1.pk}
    )
    titles = {row.record.title for row in response.context["table"].page.object_list}
    assert titles == {"2027년 국비: 정부 예산안 반영 (국회 제출)", "예산 반영"}
    response = client.get(
        reverse("projects:milestones"), {"funding_year": 2027, "funding_stage": "request", "status": "achieved"}
    )
    assert [row.record.title for row in response.context["table"].page.object_list] == [
        "2027년 국비: 시 → 소관 부처 국비 신청"
    ]


def test_the_pipeline_takes_the_same_number_of_queries_at_two_sizes(client, pipeline_plan, owner):
    plan, s1, _alpha, _beta = pipeline_plan
    client.force_login(UserFactory(role=roles.VIEWER))

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse("projects:funding_pipeline"), {"plan": plan.code}).status_code == 200
        return len(queries)

    small = count()
    for n in range(20):
        project = CoreProjectFactory(task=s1.tasks.first(), code=f"X-{n}")
        MilestoneFactory(project=project, kind="national_funding", title="2027년 국비", amount_requested=eok_to_won(1))
    assert count() == small

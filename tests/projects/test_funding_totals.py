"""What 국비 신청 and 확보 count on the dashboard, in the digest and in the trends (projects/funding.py:
funding_totals_sql): a project's budget-calendar milestones of one fiscal year are one request, counted once —
checked against sums worked out by hand on a hand-built history, week by week."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from notifications.digest import Scope, digest_build
from projects import services
from projects.models import Milestone
from projects.money import eok_to_won
from projects.selectors import plan_dashboard
from projects.trends import figures_by_week
from tests.factories import (
    CoreProjectFactory,
    PlanFactory,
    StrategyFactory,
    TaskFactory,
)
from tests.factories import funding_milestone as make
from tracker.dates import SEOUL

pytestmark = pytest.mark.django_db

W45, W46, W49 = dt.date(2026, 11, 2), dt.date(2026, 11, 9), dt.date(2026, 11, 30)
NF, BR, CONTEST = Milestone.Kind.NATIONAL_FUNDING, Milestone.Kind.BUDGET_REFLECTION, Milestone.Kind.PUBLIC_CONTEST


def at(day: dt.date, hour: int = 10) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=SEOUL)


def achieve(milestone: Milestone, owner, secured: int, on: dt.date) -> None:
    milestone.refresh_from_db()
    services.milestone_set_status(
        milestone_id=milestone.pk,
        user=owner,
        expected_version=milestone.version,
        status="achieved",
        completed_on=on,
        amount_secured=eok_to_won(secured),
    )


@pytest.fixture
def calendar(owner):
    """W45: 알파 has been through three of the four stages of its 2027 request (asked 100, passed 90 → 70 → 65, the
    Assembly's vote still ahead); 베타 missed its 2027 application (50) but has a 정부안 step left (40) and a cancelled
    one (999); 감마 (S2) has a one-step application (30) and a public contest (200). W46: 감마 secures 25 and wins
    150 in the contest. W49: the Assembly passes 60 of 알파's 65."""
    with time_machine.travel(at(dt.date(2026, 11, 3)), tick=False):
        plan = PlanFactory(code="funding-plan")
        s1 = StrategyFactory(plan=plan, code="S1", order=1)
        s2 = StrategyFactory(plan=plan, code="S2", order=2)
        alpha = CoreProjectFactory(task=TaskFactory(strategy=s1), code="A-1", managers=[owner])
        beta = CoreProjectFactory(task=TaskFactory(strategy=s1), code="A-2", managers=[owner])
        gamma = CoreProjectFactory(task=TaskFactory(strategy=s2), code="B-1", managers=[owner])
        make(alpha, NF, "2027년 국비: 시 → 소관 부처 국비 신청", dt.date(2026, 4, 15), "achieved", 100, 90)
        make(alpha, BR, "2027년 국비: 소관 부처 예산 요구 (기획재정부 제출)", dt.date(2026, 5, 29), "achieved", 90, 70)
        make(alpha, BR, "2027년 국비: 정부 예산안 반영 (국회 제출)", dt.date(2026, 9, 3), "achieved", 70, 65)
        assembly = make(alpha, BR, "2027년 국비: 국회 예산안 의결 (국비 확정)", dt.date(2026, 12, 2), "planned", 65)
        make(beta, NF, "국비 신청", dt.date(2026, 3, 2), "missed", 50)  # fiscal year 2027 by its due date
        make(beta, BR, "예산 반영", dt.date(2026, 8, 14), "planned", 40)  # 2027, 정부안 by its month
        make(beta, NF, "2027년 국비: 취소된 신청", dt.date(2026, 4, 15), "cancelled", 999)
        single = make(gamma, NF, "2027년 국비 신청서 제출", dt.date(2026, 11, 12), "planned", 30)
        contest = make(gamma, CONTEST, "정부 공모 사업계획서 제출", dt.date(2026, 11, 12), "submitted", 200)
    with time_machine.travel(at(dt.date(2026, 11, 12)), tick=False):
        achieve(single, owner, 25, dt.date(2026, 11, 12))
        achieve(contest, owner, 150, dt.date(2026, 11, 12))
    with time_machine.travel(at(dt.date(2026, 12, 2), 18), tick=False):
        achieve(assembly, owner, 60, dt.date(2026, 12, 2))
    return plan, s1, s2


# Worked out by hand from the fixture's story, stage by stage (억원):
#   알파 2027: asked first at 부처 신청 = 100; the latest stage it has is 국회 의결: secured 0 until W49, then 60.
#   베타 2027: earliest stage not cancelled is 부처 신청 (missed) = 50; latest is 정부안 (planned): secured 0.
#   감마 2027: one step, 30 asked; secured 25 from W46. 감마's contest: 200 asked; 150 secured from W46.
EXPECTED = {
    W45: {"S1": (100 + 50, 0), "S2": (30 + 200, 0)},
    W46: {"S1": (100 + 50, 0), "S2": (30 + 200, 25 + 150)},
    W49: {"S1": (100 + 50, 60), "S2": (30 + 200, 25 + 150)},
}


def test_a_request_counts_once_however_many_stages_it_went_through(calendar):
    plan, s1, s2 = calendar
    codes = {s1.pk: "S1", s2.pk: "S2"}
    weeks = figures_by_week(plan=plan, weeks=list(EXPECTED))
    for week, expected in EXPECTED.items():
        got = {codes[pk]: (figures.requested, figures.secured) for pk, figures in weeks[week].items()}
        assert got == {code: (eok_to_won(asked), eok_to_won(won)) for code, (asked, won) in expected.items()}, week
    # Summing every stage's milestone, as before, counted 알파's request four times and its passes three times.
    every_stage = sum(
        m.amount_requested or 0
        for m in Milestone.objects.filter(project__task__strategy=s1).exclude(status="cancelled")
    )
    assert every_stage == eok_to_won(100 + 90 + 70 + 65 + 50 + 40) != weeks[W49][s1.pk].requested


def test_the_dashboard_and_the_digest_count_as_the_trends_do(calendar):
    plan, s1, s2 = calendar
    with time_machine.travel(at(dt.date(2026, 12, 3)), tick=False):
        rows = {(row.level, row.code): row for row in plan_dashboard(plan=plan, today=dt.date(2026, 12, 3))}
    assert (rows["strategy", "S1"].requested, rows["strategy", "S1"].secured) == (eok_to_won(150), eok_to_won(60))
    assert (rows["strategy", "S2"].requested, rows["strategy", "S2"].secured) == (eok_to_won(230), eok_to_won(175))
    assert (rows["plan", plan.code].requested, rows["plan", plan.code].secured) == (eok_to_won(380), eok_to_won(235))
    digest = digest_build(plan=plan, scope=Scope("plan"), week_start=W46)
    assert (digest.now.requested, digest.now.secured) == (eok_to_won(380), eok_to_won(175))
    assert (digest.before.requested, digest.before.secured) == (eok_to_won(380), 0)


def test_a_missed_last_step_secures_nothing_and_a_cancelled_one_is_not_a_step(calendar):
    plan, _s1, s2 = calendar
    with time_machine.travel(at(dt.date(2026, 12, 3)), tick=False):
        delta = CoreProjectFactory(task=s2.tasks.first(), code="B-2")
        make(delta, NF, "2027년 국비: 시 → 소관 부처 국비 신청", dt.date(2026, 4, 15), "achieved", 100, 90)
        make(delta, BR, "2027년 국비: 소관 부처 예산 요구 (기획재정부 제출)", dt.date(2026, 5, 29), "missed", 90)
        make(delta, BR, "2027년 국비: 정부 예산안 반영 (국회 제출)", dt.date(2026, 9, 3), "cancelled", 90)
        rows = {(row.level, row.code): row for row in plan_dashboard(plan=plan, today=dt.date(2026, 12, 3))}
    # 델타 2027 asked 100 and fell out at 부처 요구: 100 more asked, nothing more secured (the 90 that passed the
    # ministry is not money the city has; the cancelled 정부안 step is not where the request ended).
    assert (rows["strategy", "S2"].requested, rows["strategy", "S2"].secured) == (eok_to_won(330), eok_to_won(175))


def test_the_dashboards_milestone_figures_are_cached_until_anything_changes(calendar, owner):
    plan, s1, _s2 = calendar
    today = dt.date(2026, 12, 3)

    def s1_row(queries: list) -> object:
        with CaptureQueriesContext(connection) as captured:
            rows = {(row.level, row.code): row for row in plan_dashboard(plan=plan, today=today)}
        queries.append(len(captured))
        return rows["strategy", "S1"]

    counted: list[int] = []
    with time_machine.travel(at(today), tick=False):
        first = s1_row(counted)
        again = s1_row(counted)
        beta_step = Milestone.objects.get(title="예산 반영")
        services.milestone_set_status(
            milestone_id=beta_step.pk, user=owner, expected_version=beta_step.version, status="in_progress"
        )
        alpha_request = Milestone.objects.get(title="2027년 국비: 시 → 소관 부처 국비 신청")
        alpha_request.amount_requested = eok_to_won(120)
        alpha_request.save()  # any write that records history, here a plain save (the admin's way)
        changed = s1_row(counted)
    assert (first.requested, again.requested, changed.requested) == (eok_to_won(150), eok_to_won(150), eok_to_won(170))
    assert counted[1] == counted[0] - 2  # the milestone aggregate and the funding totals came from the cache
    assert counted[2] == counted[0]  # a write made a new key: counted afresh

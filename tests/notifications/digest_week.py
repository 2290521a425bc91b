"""The hand-counted week 2026-W47 that the weekly digest's tests read (tests/notifications/test_digest.py and
its rendering in Chromium, tests/e2e/test_digest_browser.py)."""

from __future__ import annotations

import datetime as dt

import time_machine

from projects import services
from projects.models import Milestone, Plan
from projects.money import eok_to_won
from tests.factories import CoreProjectFactory, MilestoneFactory, PlanFactory, StrategyFactory, TaskFactory
from tracker.dates import SEOUL

W47 = dt.date(2026, 11, 16)  # Monday of 2026-W47; the digest for it goes out on Monday 2026-11-23 08:00


def at(day: dt.date, hour: int = 10, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=SEOUL)


def hand_counted_week(owner, teammate) -> Plan:
    """A plan whose week 47 is counted by hand (see test_digest.py's asserts): ``owner`` manages 알파, ``teammate``
    베타 and leads strategy S1."""
    with time_machine.travel(at(dt.date(2026, 11, 10)), tick=False):  # week 46: the starting state
        plan = PlanFactory(code="busan-test", name="시험 계획")
        s1 = StrategyFactory(plan=plan, code="S1", order=1, announced_budget=eok_to_won(1000), lead=teammate)
        s2 = StrategyFactory(plan=plan, code="S2", order=2, announced_budget=eok_to_won(500))
        t1, t2 = TaskFactory(strategy=s1), TaskFactory(strategy=s2)
        alpha = CoreProjectFactory(task=t1, code="A-1", name="알파", rag_status="on_track", managers=[owner])
        beta = CoreProjectFactory(task=t1, code="A-2", name="베타", rag_status="on_track", managers=[teammate])
        gamma = CoreProjectFactory(task=t2, code="B-1", name="감마", rag_status="at_risk")
        funding = MilestoneFactory(
            project=alpha,
            kind=Milestone.Kind.NATIONAL_FUNDING,
            title="국비 신청",
            due_date=dt.date(2026, 11, 18),
            amount_requested=eok_to_won(100),
            owner=owner,
        )
        contest = MilestoneFactory(
            project=beta, kind="public_contest", title="공모 제출", due_date=dt.date(2026, 11, 20), owner=teammate
        )
        MilestoneFactory(project=gamma, kind="agreement", title="협약", due_date=dt.date(2026, 11, 12))  # overdue
        MilestoneFactory(project=gamma, kind="legal", title="규제 특례", due_date=dt.date(2026, 11, 30))  # ahead
        MilestoneFactory(project=beta, kind="other", title="먼 일정", due_date=dt.date(2027, 3, 1))
    with time_machine.travel(at(dt.date(2026, 11, 18), 15), tick=False):  # week 47: what happened
        services.milestone_set_status(
            milestone_id=funding.pk,
            user=owner,
            expected_version=funding.version,
            status="achieved",
            completed_on=dt.date(2026, 11, 18),
            amount_secured=eok_to_won(80),
        )
        contest.refresh_from_db()
        services.milestone_reschedule(
            milestone_id=contest.pk,
            user=teammate,
            expected_version=contest.version,
            due_date=dt.date(2026, 12, 4),
            reason="공고 연기",
        )
        services.progress_update_save(
            project=beta,
            user=teammate,
            summary="공고가 늦어짐",
            blockers="부처 일정",
            next_steps="",
            rag_status="delayed",
        )
        services.progress_update_save(
            project=alpha, user=owner, summary="국비 확보", blockers="", next_steps="", rag_status="on_track"
        )
    return plan

"""The hand-counted portfolio that the dashboard, table, timeline and calendar-feed tests read.

Two strategies, three tasks, four projects and nine milestones (one of them cancelled), made on Wednesday
2026-11-25 in Seoul (``NOW``); the figures the tests expect are counted by hand in the comments below.
"""

from __future__ import annotations

import datetime as dt

from projects.models import Milestone, Plan
from projects.money import eok_to_won
from tests.factories import (
    CoreProjectFactory,
    MilestoneFactory,
    PlanFactory,
    ProgressUpdateFactory,
    StrategyFactory,
    TaskFactory,
)
from tracker.dates import SEOUL

TODAY = dt.date(2026, 11, 25)  # a Wednesday; ISO week 2026-W48 starts on Monday 2026-11-23
NOW = dt.datetime(2026, 11, 25, 10, tzinfo=SEOUL)


def hand_counted_portfolio(owner) -> Plan:
    """The plan ``test-plan``; ``owner`` manages A-1 and wrote this week's notes. Call it with the clock at NOW."""
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

"""The database itself refuses rows that break the plan's rules, whatever path wrote them.

Rows are written with ``save()`` (which does not validate), ``QuerySet.update()`` or ``bulk_create()``, so
that the refusal comes from a constraint in the database and not from ``full_clean()``.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError, transaction

from projects.models import SAMPLE_PREFIX, CoreProject, Milestone, ProgressUpdate, Strategy
from projects.money import eok_to_won
from projects.services import milestone_update
from tests.factories import (
    CoreProjectFactory,
    MilestoneFactory,
    PlanFactory,
    ProgressUpdateFactory,
    StrategyFactory,
    TaskFactory,
)

pytestmark = pytest.mark.django_db

MONDAY = dt.date(2026, 11, 23)


# Codes are unique within their parent -----------------------------------------------------------------------


def test_it_refuses_a_duplicate_strategy_code_within_a_plan():
    strategy = StrategyFactory(code="S1")
    with pytest.raises(IntegrityError), transaction.atomic():
        Strategy.objects.bulk_create([Strategy(plan=strategy.plan, code="S1", name="같은 코드")])
    assert Strategy.objects.filter(plan=strategy.plan, code="S1").count() == 1


def test_another_plan_may_use_the_same_strategy_code():
    StrategyFactory(code="S1")
    StrategyFactory(code="S1", plan=PlanFactory())
    assert Strategy.objects.filter(code="S1").count() == 2


def test_it_refuses_a_duplicate_task_code_within_a_strategy():
    task = TaskFactory(code="T01")
    with pytest.raises(IntegrityError), transaction.atomic():
        TaskFactory(strategy=task.strategy, code="T01")
    TaskFactory(code="T01")  # another strategy may use it


def test_it_refuses_a_duplicate_project_code_within_a_plan():
    """Two tasks of one plan cannot both hold a project coded P-1: the code is unique across the plan."""
    strategy = StrategyFactory()
    CoreProjectFactory(task=TaskFactory(strategy=strategy), code="P-1")
    other_strategy_same_plan = StrategyFactory(plan=strategy.plan)
    with pytest.raises(IntegrityError), transaction.atomic():
        CoreProjectFactory(task=TaskFactory(strategy=other_strategy_same_plan), code="P-1")
    CoreProjectFactory(code="P-1")  # another plan may use it
    assert CoreProject.objects.filter(code="P-1").count() == 2


# Money, years and the budget split --------------------------------------------------------------------------


def test_it_refuses_a_negative_budget():
    project = CoreProjectFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        CoreProject.objects.filter(pk=project.pk).update(budget_national=-1)
    project.refresh_from_db()
    assert project.budget_national == eok_to_won(50)


def test_it_refuses_a_negative_amount_requested():
    project = CoreProjectFactory()
    milestone = MilestoneFactory(project=project, amount_requested=eok_to_won(10))
    with pytest.raises(IntegrityError), transaction.atomic():
        Milestone.objects.filter(pk=milestone.pk).update(amount_requested=-1)
    milestone.refresh_from_db()
    assert milestone.amount_requested == eok_to_won(10)


def test_it_refuses_an_end_year_before_the_start_year():
    project = CoreProjectFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        CoreProject.objects.filter(pk=project.pk).update(start_year=2030, end_year=2026)
    CoreProject.objects.filter(pk=project.pk).update(start_year=2026, end_year=2026)  # one year is fine


def test_it_refuses_a_budget_split_over_the_total():
    project = CoreProjectFactory()
    """국비 50 + 시비 30 + 민자 20 = 100억 fills the total; one more won of 국비 is too much."""
    with pytest.raises(IntegrityError), transaction.atomic():
        CoreProject.objects.filter(pk=project.pk).update(budget_national=eok_to_won(50) + 1)
    CoreProject.objects.filter(pk=project.pk).update(budget_total=None, budget_national=eok_to_won(500))


# Milestones and weekly notes --------------------------------------------------------------------------------


def test_it_refuses_a_completion_date_on_a_milestone_that_is_not_achieved():
    project = CoreProjectFactory()
    milestone = MilestoneFactory(project=project, status=Milestone.Status.SUBMITTED)
    with pytest.raises(IntegrityError), transaction.atomic():
        Milestone.objects.filter(pk=milestone.pk).update(completed_on=dt.date(2026, 11, 20))
    with pytest.raises(IntegrityError), transaction.atomic():
        MilestoneFactory(project=project, status=Milestone.Status.MISSED, completed_on=dt.date(2026, 11, 20))


def test_it_refuses_an_achieved_milestone_without_a_completion_date():
    project = CoreProjectFactory()
    milestone = MilestoneFactory(project=project)
    with pytest.raises(IntegrityError), transaction.atomic():
        Milestone.objects.filter(pk=milestone.pk).update(status=Milestone.Status.ACHIEVED)
    Milestone.objects.filter(pk=milestone.pk).update(
        status=Milestone.Status.ACHIEVED, completed_on=dt.date(2026, 11, 20)
    )


def test_it_refuses_a_weekly_note_that_does_not_start_on_a_monday(owner):
    project = CoreProjectFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        ProgressUpdateFactory(project=project, author=owner, week_start=MONDAY + dt.timedelta(days=1))
    note = ProgressUpdateFactory(project=project, author=owner, week_start=MONDAY)
    with pytest.raises(IntegrityError), transaction.atomic():
        ProgressUpdate.objects.filter(pk=note.pk).update(week_start=MONDAY - dt.timedelta(days=1))


def test_it_refuses_a_second_weekly_note_for_the_same_project_and_week(owner):
    project = CoreProjectFactory()
    ProgressUpdateFactory(project=project, author=owner, week_start=MONDAY)
    with pytest.raises(IntegrityError), transaction.atomic():
        ProgressUpdateFactory(project=project, author=owner, week_start=MONDAY)
    ProgressUpdateFactory(project=project, author=owner, week_start=MONDAY + dt.timedelta(days=7))
    assert project.progress_updates.count() == 2


# Sample data cannot pass for the plan's own -----------------------------------------------------------------


def test_it_refuses_a_sample_project_without_the_sample_prefix():
    with pytest.raises(IntegrityError), transaction.atomic():
        CoreProjectFactory(name="해양 데이터 플랫폼", is_sample=True)
    CoreProjectFactory(name=f"{SAMPLE_PREFIX} 해양 데이터 플랫폼", is_sample=True)


def test_it_refuses_a_plan_project_named_like_a_sample():
    project = CoreProjectFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        CoreProject.objects.filter(pk=project.pk).update(name=f"{SAMPLE_PREFIX} 해양 데이터 플랫폼")
    with pytest.raises(IntegrityError), transaction.atomic():
        CoreProjectFactory(name=f"{SAMPLE_PREFIX} 해양 데이터 플랫폼")


# History and the plan a project belongs to ------------------------------------------------------------------


def test_a_project_change_is_recorded_with_who_made_it(project, owner):
    before = project.history.count()
    project._history_user = owner
    project.name = "진해신항 스마트 항만"
    project.save()
    assert project.history.count() == before + 1
    latest, previous = project.history.all()[:2]
    assert (latest.name, latest.history_user, latest.history_type) == ("진해신항 스마트 항만", owner, "~")
    assert previous.name != latest.name


def test_a_milestone_change_is_recorded_with_who_made_it(project, owner):
    milestone = MilestoneFactory(project=project, title="국비 신청서 제출")
    milestone_update(
        milestone_id=milestone.pk,
        user=owner,
        expected_version=milestone.version,
        changes={"responsible_agency": "산업통상자원부"},
        reason="소관 부처 변경",
    )
    assert milestone.history.count() == 2
    latest = milestone.history.first()
    assert (latest.responsible_agency, latest.history_user, latest.history_change_reason) == (
        "산업통상자원부",
        owner,
        "소관 부처 변경",
    )


def test_a_project_takes_its_plan_from_its_task():
    task = TaskFactory()
    project = CoreProjectFactory(task=task)
    assert project.plan == task.strategy.plan
    task_in_another_plan = TaskFactory()
    project.task = task_in_another_plan
    project.save()
    project.refresh_from_db()
    assert project.plan == task_in_another_plan.strategy.plan != task.strategy.plan

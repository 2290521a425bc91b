"""Reads that build pages: each returns fully loaded data, so templates never query."""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import connection, models
from django.db.models import Count, OuterRef, Prefetch, Q, Subquery, Value
from django.db.models.functions import Coalesce

from projects.funding import funding_totals
from projects.models import CoreProject, Milestone, Plan, ProgressUpdate, Task
from tracker.dates import week_start

UPCOMING_DAYS = 30


def _open_milestones(project_ref: OuterRef) -> models.QuerySet[Milestone]:
    return Milestone.objects.filter(project=project_ref).open()


def _count(queryset: models.QuerySet) -> Coalesce:
    counted = queryset.order_by().values("project").annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted), Value(0))


@functools.lru_cache(maxsize=2)
def _deadline_annotations(today: dt.date) -> dict[str, models.Expression]:
    """The subqueries of ``projects_with_deadlines`` for one day, built once a day rather than once a page (five
    querysets, 1.3 of the portfolio page's 17 ms of Python): ``annotate()`` resolves a copy of each and leaves these
    as they are."""
    project = OuterRef("pk")
    next_open = _open_milestones(project).order_by("due_date", "pk")
    return {
        "overdue_count": _count(_open_milestones(project).overdue(today)),
        "upcoming_count": _count(_open_milestones(project).due_within(today, UPCOMING_DAYS)),
        "next_milestone_title": Subquery(next_open.values("title")[:1]),
        "next_milestone_due": Subquery(next_open.values("due_date")[:1]),
        "last_note_week": Subquery(
            ProgressUpdate.objects.filter(project=project).order_by("-week_start").values("week_start")[:1]
        ),
    }


def projects_with_deadlines(queryset: models.QuerySet[CoreProject], *, today: dt.date) -> models.QuerySet[CoreProject]:
    """Projects with their next open milestone, overdue and upcoming counts and last note week, in one query."""
    return queryset.select_related("task__strategy", "lead_department").annotate(**_deadline_annotations(today))


def my_projects(*, user, today: dt.date) -> models.QuerySet[CoreProject]:
    return projects_with_deadlines(CoreProject.objects.filter(managers=user).order_by("code"), today=today)


def project_for_page(*, pk: int) -> CoreProject:
    return (
        CoreProject.objects.select_related("task__strategy__plan", "lead_department")
        .prefetch_related(
            Prefetch("managers", queryset=get_user_model().objects.select_related("profile").order_by("profile__name")),
            "partners",
        )
        .get(pk=pk)
    )


def project_milestones(*, project: CoreProject) -> models.QuerySet[Milestone]:
    return project.milestones.select_related("owner__profile").order_by("due_date", "pk")


def project_notes(*, project: CoreProject, limit: int = 12) -> list[ProgressUpdate]:
    return list(project.progress_updates.select_related("author__profile").order_by("-week_start")[:limit])


# Portfolio dashboard ---------------------------------------------------------------------------------------


@dataclass
class Rollup:
    """The dashboard's figures for the plan, one strategy or one task; ``query`` filters the tables behind them."""

    level: str
    code: str
    name: str
    query: dict[str, str]
    announced_budget: int | None = None
    projects: int = 0
    rag: dict[str, int] = field(default_factory=dict)
    achieved: int = 0
    overdue: int = 0
    upcoming: int = 0
    requested: int = 0
    secured: int = 0
    noted_this_week: int = 0

    def add(self, other: Rollup) -> None:
        self.projects += other.projects
        for status, count in other.rag.items():
            self.rag[status] = self.rag.get(status, 0) + count
        for name in ("achieved", "overdue", "upcoming", "requested", "secured", "noted_this_week"):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @property
    def rag_segments(self) -> list[tuple[str, str, int, float]]:
        """(status, label, count, percent of projects) for the stacked bar, in the order of RagStatus."""
        return [
            (status, label, self.rag.get(status, 0), 100 * self.rag.get(status, 0) / self.projects)
            for status, label in CoreProject.RagStatus.choices
            if self.projects and self.rag.get(status)
        ]

    @property
    def noted_percent(self) -> float:
        return 100 * self.noted_this_week / self.projects if self.projects else 0.0

    @property
    def secured_percent_of_requested(self) -> float:
        return min(100.0, 100 * self.secured / self.requested) if self.requested else 0.0


MILESTONE_ROLLUP_SECONDS = 5 * 60


def _milestones_by_task(plan: Plan, today: dt.date) -> dict[int, tuple[int, int, int, int, int]]:
    """Per task: milestones achieved, overdue and due within UPCOMING_DAYS, and national funding 신청 and 확보 (the
    rule of ``funding.funding_totals_sql``: a project's request counts once, not once a stage).

    These two statements read every milestone of the plan (at ×100, 71,000), so their answer is cached under the
    newest history record of milestones and projects: every write the app makes (services, admin, imports, the
    demo) records one, so any change makes a new key and the next page counts again. The few minutes' expiry
    covers the one gap: two writes committed in the opposite order of their history ids."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT (SELECT MAX(history_id) FROM {connection.ops.quote_name(Milestone.history.model._meta.db_table)}),"
            f" (SELECT MAX(history_id) FROM {connection.ops.quote_name(CoreProject.history.model._meta.db_table)})"
        )
        milestones_stamp, projects_stamp = cursor.fetchone()
    key = f"dashboard-milestones:v1:{plan.pk}:{today.isoformat()}:{milestones_stamp}:{projects_stamp}"
    found = cache.get(key)
    if found is not None:
        return found
    result: dict[int, tuple[int, int, int, int, int]] = {}
    for row in (
        Milestone.objects.filter(project__plan=plan)
        .values("project__task_id")
        .annotate(
            achieved=Count("pk", filter=Q(status=Milestone.Status.ACHIEVED)),
            overdue=Count("pk", filter=Milestone.overdue_q(today)),
            upcoming=Count("pk", filter=Milestone.due_within_q(today, UPCOMING_DAYS)),
        )
        .order_by()
    ):
        result[row["project__task_id"]] = (row["achieved"], row["overdue"], row["upcoming"], 0, 0)
    funding = funding_totals(Milestone.objects.filter(project__plan=plan), by="project__task_id")
    for task_id, (requested, secured) in funding.items():
        result[task_id] = (*result.get(task_id, (0, 0, 0))[:3], requested, secured)
    cache.set(key, result, MILESTONE_ROLLUP_SECONDS)
    return result


def plan_dashboard(*, plan: Plan, today: dt.date) -> list[Rollup]:
    """The plan, then each strategy followed by its tasks, in seven queries whatever the portfolio's size (five
    once the milestones' figures are cached: ``_milestones_by_task``)."""
    tasks = list(
        Task.objects.filter(strategy__plan=plan).select_related("strategy").order_by("strategy__order", "order")
    )
    by_task: dict[int, Rollup] = {
        task.pk: Rollup("task", task.code, task.name, {"task": str(task.pk)}) for task in tasks
    }
    for row in CoreProject.objects.filter(plan=plan).values("task_id", "rag_status").annotate(n=Count("pk")).order_by():
        rollup = by_task[row["task_id"]]
        rollup.projects += row["n"]
        rollup.rag[row["rag_status"]] = row["n"]
    for task_id, (achieved, overdue, upcoming, requested, secured) in _milestones_by_task(plan, today).items():
        rollup = by_task[task_id]
        rollup.achieved, rollup.overdue, rollup.upcoming = achieved, overdue, upcoming
        rollup.requested, rollup.secured = requested, secured
    for row in (
        ProgressUpdate.objects.filter(project__plan=plan, week_start=week_start(today))
        .values("project__task_id")
        .annotate(n=Count("project", distinct=True))
        .order_by()
    ):
        by_task[row["project__task_id"]].noted_this_week = row["n"]

    plan_rollup = Rollup("plan", plan.code, plan.name, {}, announced_budget=0)
    rows = [plan_rollup]
    for strategy in plan.strategies.order_by("order"):
        strategy_rollup = Rollup(
            "strategy",
            strategy.code,
            strategy.name,
            {"strategy": str(strategy.pk)},
            announced_budget=strategy.announced_budget,
        )
        strategy_tasks = [by_task[task.pk] for task in tasks if task.strategy_id == strategy.pk]
        for task_rollup in strategy_tasks:
            strategy_rollup.add(task_rollup)
        plan_rollup.add(strategy_rollup)
        plan_rollup.announced_budget += strategy.announced_budget
        rows += [strategy_rollup, *strategy_tasks]
    return rows

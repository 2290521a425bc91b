"""Reads that build pages: each returns fully loaded data, so templates never query."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import models
from django.db.models import Count, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from people.names import person_label
from projects.models import CoreProject, Milestone, MoneyField, Plan, ProgressUpdate, Task
from projects.money import format_eok
from tracker.dates import week_start

UPCOMING_DAYS = 30


def _open_milestones(project_ref: OuterRef) -> models.QuerySet[Milestone]:
    return Milestone.objects.filter(project=project_ref, status__in=Milestone.OPEN_STATUSES)


def _count(queryset: models.QuerySet) -> Coalesce:
    counted = queryset.order_by().values("project").annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted), Value(0))


def projects_with_deadlines(queryset: models.QuerySet[CoreProject], *, today: dt.date) -> models.QuerySet[CoreProject]:
    """Projects with their next open milestone, overdue and upcoming counts and last note week, in one query."""
    project = OuterRef("pk")
    horizon = today + dt.timedelta(days=UPCOMING_DAYS)
    next_open = _open_milestones(project).order_by("due_date", "pk")
    return queryset.select_related("task__strategy", "lead_department").annotate(
        overdue_count=_count(_open_milestones(project).filter(due_date__lt=today)),
        upcoming_count=_count(_open_milestones(project).filter(due_date__gte=today, due_date__lte=horizon)),
        next_milestone_title=Subquery(next_open.values("title")[:1]),
        next_milestone_due=Subquery(next_open.values("due_date")[:1]),
        last_note_week=Subquery(
            ProgressUpdate.objects.filter(project=project).order_by("-week_start").values("week_start")[:1]
        ),
    )


def my_projects(*, user, today: dt.date) -> models.QuerySet[CoreProject]:
    return projects_with_deadlines(CoreProject.objects.filter(managers=user).order_by("code"), today=today)


def project_for_page(*, pk: int) -> CoreProject:
    return (
        CoreProject.objects.select_related("task__strategy__plan", "lead_department")
        .prefetch_related("managers__profile", "partners")
        .get(pk=pk)
    )


def project_milestones(*, project: CoreProject) -> models.QuerySet[Milestone]:
    return project.milestones.select_related("owner__profile").order_by("due_date", "pk")


def project_notes(*, project: CoreProject, limit: int = 12) -> list[ProgressUpdate]:
    return list(project.progress_updates.select_related("author__profile").order_by("-week_start")[:limit])


# History ---------------------------------------------------------------------------------------------------

HIDDEN_HISTORY_FIELDS = {
    "id",
    "created_at",
    "updated_at",
    "plan",
    "is_sample",
    "project",
    "version",
    "week_start",
    "closed_at",
}


@dataclass
class FieldChange:
    label: str
    before: str
    after: str


@dataclass
class HistoryEntry:
    when: dt.datetime
    who: str
    subject: str
    action: str
    reason: str
    changes: list[FieldChange] = field(default_factory=list)


def _display(model_field: models.Field, record: Any) -> str:
    if isinstance(model_field, models.ForeignKey):
        related = getattr(record, model_field.name, None)
        return str(related) if related is not None else "-"
    value = getattr(record, model_field.attname)
    if value is None or value == "":
        return "-"
    if model_field.choices:
        return str(dict(model_field.flatchoices).get(value, value))
    if isinstance(model_field, MoneyField):
        return format_eok(value)
    if isinstance(model_field, models.BooleanField):
        return _("예") if value else _("아니오")
    if model_field.name == "support_needs":
        labels = dict(CoreProject.Support.choices)
        return ", ".join(str(labels.get(item, item)) for item in value) or "-"
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _tracked_fields(model: type[models.Model]) -> list[models.Field]:
    return [f for f in model._meta.concrete_fields if f.name not in HIDDEN_HISTORY_FIELDS]


@dataclass
class HistorySource:
    """One model's history on a project page: which records, which relations to load, what to call a row."""

    model: type[models.Model]
    records: models.QuerySet
    related: list[str]
    subject: Callable[[Any], str]
    # (accessor on the historical record, attribute of a through row, label): many-to-many snapshots
    many: list[tuple[str, str, str]] = field(default_factory=list)

    def window(self, limit: int) -> list[tuple[Any, Any]]:
        """The newest ``limit`` records, each with the record before it (a fixed number of queries)."""
        history_model = self.records.model
        previous_id = (
            history_model.objects.filter(id=OuterRef("id"), history_id__lt=OuterRef("history_id"))
            .order_by("-history_id")
            .values("history_id")[:1]
        )
        prefetch = [f"{accessor}__{target}" for accessor, target, _label in self.many]
        prefetch += [f"{accessor}__user__profile" for accessor, target, _label in self.many if target == "user"]
        newest = list(
            self.records.select_related("history_user__profile", *self.related)
            .prefetch_related(*prefetch)
            .annotate(previous_history_id=Subquery(previous_id))
            .order_by("-history_date", "-history_id")[:limit]
        )
        previous_ids = [record.previous_history_id for record in newest if record.previous_history_id]
        previous = {
            record.history_id: record
            for record in history_model.objects.filter(history_id__in=previous_ids)
            .select_related(*self.related)
            .prefetch_related(*prefetch)
        }
        return [(record, previous.get(record.previous_history_id)) for record in newest]

    def changes(self, record: Any, before: Any) -> list[FieldChange]:
        values = [
            (str(model_field.verbose_name), lambda r, f=model_field: _display(f, r))
            for model_field in _tracked_fields(self.model)
        ]
        values += [
            (str(label), lambda r, a=accessor, t=target: _display_many(r, a, t))
            for accessor, target, label in self.many
        ]
        changes = []
        for label, show in values:
            after = show(record)
            if before is None:
                if record.history_type == "+" and after != "-":
                    changes.append(FieldChange(label, "", after))
            elif after != (was := show(before)):
                # A value set for the first time reads "→ value", not a struck-through "-".
                changes.append(FieldChange(label, "" if was == "-" else was, after))
        return changes


def _display_many(record: Any, accessor: str, target: str) -> str:
    return ", ".join(sorted(str(getattr(row, target)) for row in getattr(record, accessor).all())) or "-"


ACTIONS = {"+": gettext_lazy("만듦"), "~": gettext_lazy("고침"), "-": gettext_lazy("지움")}


def project_history(*, project: CoreProject, limit: int = 30) -> list[HistoryEntry]:
    """Who changed what and when on a project, its milestones and its notes, as before → after values."""
    sources = [
        HistorySource(
            CoreProject,
            CoreProject.history.filter(id=project.pk),
            related=["task", "lead_department"],
            subject=lambda record: _("사업 정보"),
            many=[
                ("historicalcoreproject_managers_set", "user", CoreProject._meta.get_field("managers").verbose_name),
                (
                    "historicalcoreproject_partners_set",
                    "organization",
                    CoreProject._meta.get_field("partners").verbose_name,
                ),
            ],
        ),
        HistorySource(
            Milestone,
            Milestone.history.filter(project_id=project.pk),
            related=["owner__profile"],
            subject=lambda record: record.title,
        ),
        HistorySource(
            ProgressUpdate,
            ProgressUpdate.history.filter(project_id=project.pk),
            related=["author__profile"],
            subject=lambda record: _("주간 보고 %(week)s") % {"week": f"{record.week_start:%G-W%V}"},
        ),
    ]
    entries = [
        HistoryEntry(
            when=record.history_date,
            who=person_label(record.history_user) if record.history_user else _("시스템"),
            subject=source.subject(record),
            action=str(ACTIONS.get(record.history_type, record.history_type)),
            reason=record.history_change_reason or "",
            changes=source.changes(record, before),
        )
        for source in sources
        for record, before in source.window(limit)
    ]
    entries.sort(key=lambda entry: entry.when, reverse=True)
    return entries[:limit]


def milestone_changes_since(*, milestone: Milestone, version: int) -> list[FieldChange]:
    """What others saved on a milestone since the person saw ``version``: field, then-value, current value."""
    seen = milestone.history.filter(version=version).select_related("owner__profile").order_by("-history_id").first()
    current = Milestone.objects.select_related("owner__profile").get(pk=milestone.pk)
    changes = []
    for model_field in _tracked_fields(Milestone):
        before = _display(model_field, seen) if seen is not None else "?"
        after = _display(model_field, current)
        if before != after:
            changes.append(FieldChange(str(model_field.verbose_name), before, after))
    return changes


def milestone_last_change(*, milestone: Milestone) -> tuple[str, dt.datetime | None]:
    """Who saved the milestone last, and when (for the row that tells a person someone else changed it)."""
    record = milestone.history.select_related("history_user__profile").order_by("-history_id").first()
    if record is None:
        return "", None
    return (person_label(record.history_user) if record.history_user else _("시스템")), record.history_date


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


def plan_dashboard(*, plan: Plan, today: dt.date) -> list[Rollup]:
    """The plan, then each strategy followed by its tasks, in five queries whatever the portfolio's size."""
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
    open_q = Q(status__in=Milestone.OPEN_STATUSES)
    funding_q = Q(kind__in=Milestone.FUNDING_KINDS)
    for row in (
        Milestone.objects.filter(project__plan=plan)
        .values("project__task_id")
        .annotate(
            achieved=Count("pk", filter=Q(status=Milestone.Status.ACHIEVED)),
            overdue=Count("pk", filter=open_q & Q(due_date__lt=today)),
            upcoming=Count(
                "pk", filter=open_q & Q(due_date__gte=today, due_date__lte=today + dt.timedelta(days=UPCOMING_DAYS))
            ),
            requested=Coalesce(Sum("amount_requested", filter=funding_q & ~Q(status=Milestone.Status.CANCELLED)), 0),
            secured=Coalesce(Sum("amount_secured", filter=funding_q & Q(status=Milestone.Status.ACHIEVED)), 0),
        )
        .order_by()
    ):
        rollup = by_task[row["project__task_id"]]
        for name in ("achieved", "overdue", "upcoming", "requested", "secured"):
            setattr(rollup, name, row[name])
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

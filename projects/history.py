"""Who changed what and when: django-simple-history records shown as before → after values.

The project page's history (the project, its milestones and notes, with many-to-many snapshots) and what others
saved on a milestone since a person loaded it (the 409 conflict page).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import models
from django.db.models import OuterRef, Subquery
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from people.names import person_label
from projects.models import CoreProject, Milestone, MoneyField, ProgressUpdate
from projects.money import format_eok

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

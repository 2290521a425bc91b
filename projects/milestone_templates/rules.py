"""Milestone templates worked out into dated milestones; no writes (services.milestone_template_apply saves them).

A template's steps take their dates either from the national budget calendar (a month and day in the year
before the fiscal year) or from dates the project manager enters (a public contest's schedule). Every date
that falls on a weekend or a Korean public holiday moves to the previous working day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from projects.models import MilestoneTemplate, MilestoneTemplateStep
from tracker.dates import previous_working_day

MIN_FISCAL_YEAR = 2000
MAX_FISCAL_YEAR = 2100


@dataclass(frozen=True)
class PlannedMilestone:
    step: MilestoneTemplateStep
    kind: str
    title: str
    responsible_agency: str
    due_date: dt.date
    nominal_date: dt.date  # before the move to a working day
    notes: str

    @property
    def moved(self) -> bool:
        return self.due_date != self.nominal_date


def template_needs_name(template: MilestoneTemplate) -> bool:
    return any("{name}" in step.title for step in template.steps.all())


def template_has_feasibility_steps(template: MilestoneTemplate) -> bool:
    return any(step.feasibility_study_only for step in template.steps.all())


def _title(step: MilestoneTemplateStep, *, fiscal_year: int | None, name: str) -> str:
    title = step.title.replace("{name}", name)
    if fiscal_year is not None:
        title = title.replace("{year}", str(fiscal_year))
    return " ".join(title.split())


def template_plan(
    *,
    template: MilestoneTemplate,
    fiscal_year: int | None = None,
    agency: str = "",
    name: str = "",
    needs_feasibility_study: bool = False,
    dates: Mapping[int, dt.date | None] | None = None,
) -> list[PlannedMilestone]:
    """The milestones the template gives for these inputs, in step order; ValidationError (Korean) if they don't fit.

    ``dates`` holds the entered date of each step that takes one, by step id.
    """
    dates = dates or {}
    agency = agency.strip()
    name = " ".join(name.split())
    steps = list(template.steps.all())
    errors: dict[str, list[str]] = {}
    uses_calendar = any(step.date_rule == step.DateRule.CALENDAR for step in steps)
    if uses_calendar or "{year}" in "".join(step.title for step in steps):
        if fiscal_year is None:
            errors.setdefault("fiscal_year", []).append(_("회계연도를 입력하세요."))
        elif not MIN_FISCAL_YEAR <= fiscal_year <= MAX_FISCAL_YEAR:
            errors.setdefault("fiscal_year", []).append(
                _("회계연도는 %(min)d~%(max)d 사이여야 합니다.") % {"min": MIN_FISCAL_YEAR, "max": MAX_FISCAL_YEAR}
            )
    if template_needs_name(template) and not name:
        errors.setdefault("name", []).append(_("이름(예: 공모명)을 입력하세요. 마일스톤 이름에 들어갑니다."))
    if errors:
        raise ValidationError(errors)

    planned: list[PlannedMilestone] = []
    previous: dt.date | None = None
    previous_label = ""
    for step in steps:
        if step.feasibility_study_only and not needs_feasibility_study:
            continue
        label = step.date_label or step.title_for_people
        if step.date_rule == step.DateRule.CALENDAR:
            nominal = dt.date(fiscal_year + step.year_offset, step.month, step.day)
        else:
            entered = dates.get(step.pk)
            if entered is not None:
                nominal = entered
            elif step.date_required:
                errors.setdefault(f"step_{step.pk}", []).append(_("%(label)s을(를) 입력하세요.") % {"label": label})
                continue
            elif previous is not None and step.days_after_previous is not None:
                nominal = previous + dt.timedelta(days=step.days_after_previous)
            else:
                continue  # an optional step with no date and nothing to count from is left out
            if previous is not None and nominal < previous:
                errors.setdefault(f"step_{step.pk}", []).append(
                    _("%(label)s(%(date)s)이(가) 앞 단계 %(previous_label)s(%(previous)s)보다 빠릅니다.")
                    % {"label": label, "date": nominal, "previous_label": previous_label, "previous": previous}
                )
        due = previous_working_day(nominal)
        planned.append(
            PlannedMilestone(
                step=step,
                kind=step.kind,
                title=_title(step, fiscal_year=fiscal_year, name=name),
                responsible_agency=step.responsible_agency or agency,
                due_date=due,
                nominal_date=nominal,
                notes=step.notes,
            )
        )
        previous, previous_label = due, label
    if errors:
        raise ValidationError(errors)
    return planned


def milestone_key(kind: str, title: str) -> tuple[str, str]:
    """A template step is already on the project when a milestone there has the same kind and title."""
    return kind, title.strip()

"""Writes that have a rule: the workspace's views, the seed and template commands call these.

The admin and the spreadsheet import save rows through their own forms and resources, and borrow the rules they
share from here (milestone_status_move_allowed), so the status sequence is written once.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from projects.milestone_templates.rules import milestone_key, template_plan
from projects.models import CoreProject, Milestone, MilestoneTemplate, Plan, ProgressUpdate, Strategy, Task
from projects.money import eok_to_won
from projects.permissions import ensure_can_change_project, is_portfolio_admin
from tracker.dates import seoul_today, week_start

SEEDS_DIR = Path(__file__).resolve().parent.parent / "seeds"
PLAN_SEED_FILE = SEEDS_DIR / "busan-2025.json"


def _upsert(model: type[models.Model], *, lookup: dict[str, Any], values: dict[str, Any], tally: Counter):
    """Create the row, or update only the fields that differ, so that an unchanged row is not saved again."""
    obj = model.objects.filter(**lookup).first()
    if obj is None:
        obj = model(**lookup, **values)
        obj.full_clean()
        obj.save()
        tally["created"] += 1
        return obj
    changed = [field for field, value in values.items() if getattr(obj, field) != value]
    if changed:
        for field in changed:
            setattr(obj, field, values[field])
        obj.full_clean()
        obj.save()
        tally["updated"] += 1
    else:
        tally["unchanged"] += 1
    return obj


@transaction.atomic
def plan_load_seed(*, path: Path = PLAN_SEED_FILE) -> tuple[Plan, Counter]:
    """Load the plan as announced (strategies, tasks, flagship projects); a second run changes nothing."""
    data = json.loads(path.read_text(encoding="utf-8"))
    tally: Counter = Counter()
    plan_data = dict(data["plan"])
    plan_data["adopted_on"] = dt.date.fromisoformat(plan_data["adopted_on"])
    plan = _upsert(Plan, lookup={"code": plan_data.pop("code")}, values=plan_data, tally=tally)

    for strategy_data in data["strategies"]:
        strategy = _upsert(
            Strategy,
            lookup={"plan": plan, "code": strategy_data["code"]},
            values={
                "order": strategy_data["order"],
                "name": strategy_data["name"],
                "name_en": strategy_data["name_en"],
                "announced_project_count": strategy_data["announced_project_count"],
                "announced_budget": eok_to_won(strategy_data["announced_budget_eok"]),
            },
            tally=tally,
        )
        tasks = {}
        for order, task_data in enumerate(strategy_data["tasks"], start=1):
            tasks[task_data["code"]] = _upsert(
                Task,
                lookup={"strategy": strategy, "code": task_data["code"]},
                values={
                    "order": order,
                    "name": task_data["name"],
                    "name_en": task_data["name_en"],
                    "is_inferred": task_data["inferred"],
                },
                tally=tally,
            )
        flagship = strategy_data["flagship"]
        _upsert(
            CoreProject,
            lookup={"plan": plan, "code": flagship["code"]},
            values={
                "task": tasks[flagship["task"]],
                "name": flagship["name"],
                "name_en": flagship["name_en"],
                "category": flagship["category"],
                "is_flagship": True,
            },
            tally=tally,
        )
    return plan, tally


# Milestones ------------------------------------------------------------------------------------------------

MILESTONE_SEQUENCE = (Milestone.Status.PLANNED, Milestone.Status.IN_PROGRESS, Milestone.Status.SUBMITTED)
# After creation a due date moves only through milestone_reschedule, which asks for a reason.
MILESTONE_UPDATE_FIELDS = tuple(name for name in Milestone.EDITABLE_FIELDS if name != "due_date")
# Final statuses that are bad news need a reason; achieving records a date instead.
MILESTONE_STATUSES_NEEDING_REASON = (Milestone.Status.MISSED, Milestone.Status.CANCELLED)
# How long a project manager may reopen a milestone they closed by mistake; admins may reopen any time.
MILESTONE_REOPEN_DAYS = 7


class MilestoneConflict(Exception):
    """Someone saved the milestone after the form was opened; ``current`` is what they saved."""

    def __init__(self, current: Milestone):
        super().__init__(f"milestone {current.pk} is at version {current.version}")
        self.current = current


def milestone_status_move_allowed(current: str, new: str) -> bool:
    """planned → in progress → submitted (steps may be skipped) → achieved | missed; cancel from any open state."""
    if current == new:
        return True
    if current not in MILESTONE_SEQUENCE:
        return False
    if new in MILESTONE_SEQUENCE:
        return MILESTONE_SEQUENCE.index(new) > MILESTONE_SEQUENCE.index(current)
    return True


def milestone_validate_status_move(current: str, new: str) -> None:
    if not milestone_status_move_allowed(current, new):
        raise ValidationError(
            {
                "status": _("'%(current)s'에서 '%(new)s'(으)로 바꿀 수 없습니다.")
                % {"current": Milestone.Status(current).label, "new": Milestone.Status(new).label}
            }
        )


def milestone_validate_reason(status: str, reason: str) -> None:
    """미달성 and 취소 are deliberate: each needs a reason, kept in the history."""
    if status in MILESTONE_STATUSES_NEEDING_REASON and not reason.strip():
        if status == Milestone.Status.CANCELLED:
            raise ValidationError({"reason": _("취소 사유를 입력하세요.")})
        raise ValidationError({"reason": _("미달성 사유를 입력하세요.")})


def milestone_reopen_deadline(milestone: Milestone) -> dt.datetime | None:
    """Until when the project's managers may reopen this closed milestone (None: it is open)."""
    if milestone.is_open or milestone.closed_at is None:
        return None
    return milestone.closed_at + dt.timedelta(days=MILESTONE_REOPEN_DAYS)


def milestone_can_reopen(user, milestone: Milestone, *, is_admin: bool | None = None) -> bool:
    """Admins reopen any closed milestone; the project's managers within 7 days of its closing."""
    if milestone.is_open:
        return False
    if is_admin is None:
        is_admin = is_portfolio_admin(user)
    if is_admin:
        return True
    deadline = milestone_reopen_deadline(milestone)
    return deadline is not None and timezone.now() <= deadline


def milestone_validate_reopen(user, milestone: Milestone, reason: str) -> Milestone.Status:
    """The rule for reopening, shared by the workspace and the admin; returns the status to go back to."""
    if milestone.is_open:
        raise ValidationError({"status": _("이미 열려 있는 마일스톤입니다.")})
    if not milestone_can_reopen(user, milestone):
        raise PermissionDenied(
            _("닫은 지 %(days)d일이 지난 마일스톤은 관리자만 다시 열 수 있습니다.") % {"days": MILESTONE_REOPEN_DAYS}
        )
    if not reason.strip():
        raise ValidationError({"reason": _("다시 여는 사유를 입력하세요.")})
    return milestone_status_before_closing(milestone)


def milestone_status_before_closing(milestone: Milestone) -> Milestone.Status:
    """The open status the milestone had before it was closed (예정 if it was created closed)."""
    last_open = (
        milestone.history.filter(status__in=Milestone.OPEN_STATUSES).order_by("-history_id").values("status").first()
    )
    return Milestone.Status(last_open["status"]) if last_open else Milestone.Status.PLANNED


def _save_milestone(milestone: Milestone, *, user, reason: str = "") -> Milestone:
    milestone._history_user = user
    milestone._change_reason = reason
    milestone.full_clean()
    milestone.save()
    return milestone


def _locked_milestone(*, milestone_id: int, user, expected_version: int) -> Milestone:
    milestone = Milestone.objects.select_for_update().select_related("project").get(pk=milestone_id)
    ensure_can_change_project(user, milestone.project)
    if milestone.version != expected_version:
        raise MilestoneConflict(milestone)
    return milestone


@transaction.atomic
def milestone_create(*, project: CoreProject, user, **fields: Any) -> Milestone:
    ensure_can_change_project(user, project)
    unknown = set(fields) - set(Milestone.EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"not editable: {sorted(unknown)}")
    return _save_milestone(Milestone(project=project, **fields), user=user)


@transaction.atomic
def milestone_update(
    *, milestone_id: int, user, expected_version: int, changes: dict[str, Any], reason: str = ""
) -> Milestone:
    """Apply a form's changes, unless someone saved the milestone since the form was opened."""
    milestone = _locked_milestone(milestone_id=milestone_id, user=user, expected_version=expected_version)
    unknown = set(changes) - set(MILESTONE_UPDATE_FIELDS)
    if unknown:
        raise TypeError(f"not editable: {sorted(unknown)}")
    for field, value in changes.items():
        setattr(milestone, field, value)
    return _save_milestone(milestone, user=user, reason=reason)


@transaction.atomic
def milestone_set_status(
    *,
    milestone_id: int,
    user,
    expected_version: int,
    status: str,
    completed_on: dt.date | None = None,
    amount_secured: int | None = None,
    reason: str = "",
) -> Milestone:
    """Move a milestone along its status rule; achieving it records the date and the amount secured."""
    milestone = _locked_milestone(milestone_id=milestone_id, user=user, expected_version=expected_version)
    if milestone.status == status:
        # Re-applying an action would rewrite its date, amount or reason: a closed milestone stays as it closed.
        raise ValidationError(
            {"status": _("이미 '%(current)s' 상태입니다.") % {"current": Milestone.Status(status).label}}
        )
    milestone_validate_status_move(milestone.status, status)
    milestone_validate_reason(status, reason)
    milestone.status = status
    if status == Milestone.Status.ACHIEVED:
        milestone.completed_on = completed_on or seoul_today()
        if amount_secured is not None:
            milestone.amount_secured = amount_secured
    else:
        milestone.completed_on = None
    return _save_milestone(milestone, user=user, reason=reason)


@transaction.atomic
def milestone_reopen(*, milestone_id: int, user, expected_version: int, reason: str) -> Milestone:
    """Undo a wrong final status: back to the open status it had, with the reason in the history."""
    milestone = _locked_milestone(milestone_id=milestone_id, user=user, expected_version=expected_version)
    milestone.status = milestone_validate_reopen(user, milestone, reason)
    milestone.completed_on = None
    return _save_milestone(milestone, user=user, reason=_("다시 열기: %(reason)s") % {"reason": reason.strip()})


@transaction.atomic
def milestone_reschedule(
    *, milestone_id: int, user, expected_version: int, due_date: dt.date, reason: str
) -> Milestone:
    """Move an open milestone's due date; the reason is kept in its history."""
    milestone = _locked_milestone(milestone_id=milestone_id, user=user, expected_version=expected_version)
    if not milestone.is_open:
        raise ValidationError({"due_date": _("완료되거나 취소된 마일스톤의 기한은 옮길 수 없습니다.")})
    if not reason.strip():
        raise ValidationError({"reason": _("기한을 옮기는 사유를 입력하세요.")})
    if due_date == milestone.due_date:
        raise ValidationError({"due_date": _("지금과 같은 기한입니다.")})
    milestone.due_date = due_date
    return _save_milestone(milestone, user=user, reason=reason)


# Milestone templates ---------------------------------------------------------------------------------------


@dataclasses.dataclass
class TemplateApplyResult:
    created: list[Milestone] = dataclasses.field(default_factory=list)
    already_there: list[Milestone] = dataclasses.field(default_factory=list)


@transaction.atomic
def milestone_template_apply(
    *,
    project: CoreProject,
    template: MilestoneTemplate,
    user,
    fiscal_year: int | None = None,
    agency: str = "",
    name: str = "",
    needs_feasibility_study: bool = False,
    dates: Mapping[int, dt.date | None] | None = None,
) -> TemplateApplyResult:
    """Create the template's milestones that the project lacks (same kind and title): applying twice adds nothing."""
    ensure_can_change_project(user, project)
    planned = template_plan(
        template=template,
        fiscal_year=fiscal_year,
        agency=agency,
        name=name,
        needs_feasibility_study=needs_feasibility_study,
        dates=dates,
    )
    # One application at a time per project, so that two clicks cannot both find a step missing.
    CoreProject.objects.select_for_update().filter(pk=project.pk).first()
    existing = {milestone_key(milestone.kind, milestone.title): milestone for milestone in project.milestones.all()}
    result = TemplateApplyResult()
    reason = _("템플릿 적용: %(template)s") % {"template": template.name}
    for item in planned:
        key = milestone_key(item.kind, item.title)
        if key in existing:
            result.already_there.append(existing[key])
            continue
        milestone = Milestone(
            project=project,
            kind=item.kind,
            title=item.title,
            responsible_agency=item.responsible_agency,
            due_date=item.due_date,
            notes=item.notes,
        )
        result.created.append(_save_milestone(milestone, user=user, reason=reason))
        existing[key] = milestone
    return result


# Weekly progress notes -------------------------------------------------------------------------------------


@transaction.atomic
def progress_update_save(
    *, project: CoreProject, user, summary: str, blockers: str, next_steps: str, rag_status: str
) -> ProgressUpdate:
    """Write this week's note (one per project per ISO week, Asia/Seoul); the note sets the project's status."""
    ensure_can_change_project(user, project)
    this_week = week_start(seoul_today())
    note = ProgressUpdate.objects.select_for_update().filter(project=project, week_start=this_week).first()
    if note is None:
        note = ProgressUpdate(project=project, week_start=this_week, author=user)
    note.summary, note.blockers, note.next_steps, note.rag_status = summary, blockers, next_steps, rag_status
    note._history_user = user
    note.full_clean()
    note.save()
    if project.rag_status != rag_status:
        project.rag_status = rag_status
        project._history_user = user
        project._change_reason = _("주간 진행 보고")
        project.save(update_fields=["rag_status", "updated_at"])
    return note

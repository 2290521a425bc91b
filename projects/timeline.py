"""The 12-month timeline: milestones by strategy and project, laid out for a server-rendered SVG."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.core.paginator import Paginator
from django.db.models import Q, QuerySet

from projects.models import CoreProject, Milestone

LABEL_WIDTH = 300
CHART_WIDTH = 860
ROW_HEIGHT = 26
HEADER_HEIGHT = 28
PROJECTS_PER_PAGE = 40


@dataclass
class Marker:
    x: float
    milestone: Milestone
    tone: str


@dataclass
class TimelineRow:
    y: int
    project: CoreProject | None
    heading: str = ""
    markers: list[Marker] = field(default_factory=list)


@dataclass
class Timeline:
    start: dt.date
    end: dt.date
    today_x: float
    months: list[tuple[float, str]]
    rows: list[TimelineRow]
    height: int
    width: int
    page: object

    @property
    def last_day(self) -> dt.date:
        """The last day shown (``end`` is the first day after the chart), for the title's "~ 2027-10"."""
        return self.end - dt.timedelta(days=1)


def _x(day: dt.date, start: dt.date, end: dt.date) -> float:
    span = (end - start).days or 1
    clamped = min(max(day, start), end)
    return round(LABEL_WIDTH + CHART_WIDTH * (clamped - start).days / span, 1)


def _tone(milestone: Milestone, today: dt.date) -> str:
    if milestone.status == Milestone.Status.ACHIEVED:
        return "achieved"
    if milestone.status in (Milestone.Status.MISSED, Milestone.Status.CANCELLED):
        return milestone.status
    if milestone.due_date < today:
        return "overdue"
    return "open"


def timeline_build(*, milestones: QuerySet[Milestone], today: dt.date, page_number: int | str = 1) -> Timeline:
    """Twelve months from the start of this month; open milestones already overdue are pinned at the left edge."""
    start = today.replace(day=1)
    end = (start + dt.timedelta(days=366)).replace(day=1)
    in_view = milestones.filter(Q(due_date__gte=start, due_date__lt=end) | Milestone.overdue_q(start))
    projects = (
        CoreProject.objects.filter(pk__in=in_view.values("project_id"))
        .select_related("task__strategy")
        .order_by("task__strategy__order", "code")
    )
    page = Paginator(projects, PROJECTS_PER_PAGE).get_page(page_number)
    page_projects = list(page.object_list)
    by_project: dict[int, list[Milestone]] = {}
    for milestone in in_view.filter(project__in=[p.pk for p in page_projects]).order_by("due_date"):
        by_project.setdefault(milestone.project_id, []).append(milestone)

    rows, y, strategy_id = [], HEADER_HEIGHT, None
    for project in page_projects:
        if project.task.strategy_id != strategy_id:
            strategy_id = project.task.strategy_id
            rows.append(TimelineRow(y=y, project=None, heading=str(project.task.strategy)))
            y += ROW_HEIGHT
        markers = [Marker(_x(m.due_date, start, end), m, _tone(m, today)) for m in by_project.get(project.pk, [])]
        rows.append(TimelineRow(y=y, project=project, markers=markers))
        y += ROW_HEIGHT

    months, month = [], start
    while month < end:
        months.append(
            (_x(month, start, end), f"{month:%Y.%m}" if month.month == 1 or month == start else f"{month.month}월")
        )
        month = (month + dt.timedelta(days=32)).replace(day=1)
    return Timeline(
        start=start,
        end=end,
        today_x=_x(today, start, end),
        months=months,
        rows=rows,
        height=y + 8,
        width=LABEL_WIDTH + CHART_WIDTH + 10,
        page=page,
    )

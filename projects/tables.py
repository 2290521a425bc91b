"""django-tables2 tables of the web app."""

from __future__ import annotations

import django_tables2 as tables
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from people.names import person_label
from projects.models import CoreProject, Milestone
from projects.money import format_eok, won_to_eok
from projects.permissions import is_portfolio_admin
from projects.templatetags.dates import short_date
from tracker.dates import dday_label, seoul_today

# Amounts and counts line up on the right, header and cells alike.
NUMERIC = {"th": {"class": "num"}, "td": {"class": "num"}}
# A project code ("DEMO-S1-02") is never broken at its hyphens on a wide screen.
CODE = {"td": {"class": "code"}}


def rag_badge(status: str, label: str) -> str:
    return format_html('<span class="badge rag-{}">{}</span>', status, label)


def dday_badge(due, today=None) -> str:
    today = today or seoul_today()
    days = (due - today).days
    tone = "overdue" if days < 0 else "soon" if days <= 7 else "later"
    return format_html('<span class="dday dday-{}">{}</span>', tone, dday_label(due, today))


class ProjectDeadlineTable(tables.Table):
    """Projects with their next deadline: a manager's own projects, or the whole portfolio."""

    code = tables.Column(verbose_name=_("사업코드"), attrs=CODE)
    name = tables.Column(verbose_name=_("사업명"))
    strategy = tables.Column(verbose_name=_("전략"), accessor="task__strategy__code", order_by="task__strategy__order")
    rag_status = tables.Column(verbose_name=_("추진 상태"))
    next_milestone_due = tables.Column(verbose_name=_("다음 마일스톤"))
    overdue_count = tables.Column(verbose_name=_("기한 지남"), attrs=NUMERIC)
    upcoming_count = tables.Column(verbose_name=_("30일 내"), attrs=NUMERIC)
    last_note_week = tables.Column(verbose_name=_("최근 주간 보고"))

    class Meta:
        model = CoreProject
        fields = ["code", "name", "strategy", "rag_status"]
        sequence = [
            "code",
            "name",
            "strategy",
            "rag_status",
            "next_milestone_due",
            "overdue_count",
            "upcoming_count",
            "last_note_week",
        ]
        attrs = {"class": "table"}
        empty_text = _("담당 사업이 없습니다.")
        per_page = 25
        orderable = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # One reverse() per table instead of one per cell: the project URL with a placeholder for the id.
        self.project_url = reverse("projects:project", args=[0]).replace("/0/", "/{}/")

    def render_code(self, value, record: CoreProject) -> str:
        return format_html('<a href="{}">{}</a>', self.project_url.format(record.pk), value)

    def render_name(self, value, record: CoreProject) -> str:
        return format_html('<a href="{}">{}</a>', self.project_url.format(record.pk), value)

    def value_code(self, value) -> str:
        return value

    def value_name(self, value) -> str:
        return value

    def render_rag_status(self, record: CoreProject) -> str:
        return rag_badge(record.rag_status, record.get_rag_status_display())

    def render_next_milestone_due(self, value, record: CoreProject) -> str:
        return format_html("{} <span class='muted'>{}</span>", dday_badge(value), record.next_milestone_title)

    def render_overdue_count(self, value: int) -> str:
        return format_html('<span class="count-alert">{}</span>', value) if value else "0"

    def render_last_note_week(self, value) -> str:
        return f"{value:%G-W%V}"


class MilestoneTable(tables.Table):
    """A project's milestones; the last column holds the one-click actions for those who may change it."""

    due_date = tables.Column(verbose_name=_("기한"), attrs={"td": {"class": "due"}})
    kind = tables.Column(verbose_name=_("유형"))
    title = tables.Column(verbose_name=_("마일스톤"))
    responsible_agency = tables.Column(verbose_name=_("소관 부처"))
    status = tables.Column(verbose_name=_("상태"))
    amount_requested = tables.Column(verbose_name=_("신청액"), attrs=NUMERIC)
    amount_secured = tables.Column(verbose_name=_("확보액"), attrs=NUMERIC)
    owner = tables.Column(verbose_name=_("담당자"))
    actions = tables.TemplateColumn(
        template_name="projects/_milestone_actions.html",
        verbose_name=_("처리"),
        orderable=False,
        attrs={"td": {"class": "actions"}},
        # render_table hands the column the page's context, where the table has another name.
        extra_context=lambda table: {"table": table},
    )

    class Meta:
        model = Milestone
        fields = [
            "due_date",
            "kind",
            "title",
            "responsible_agency",
            "status",
            "amount_requested",
            "amount_secured",
            "owner",
        ]
        attrs = {"class": "table milestones"}
        empty_text = _("마일스톤이 없습니다.")
        per_page = 100
        row_attrs = {"id": lambda record: f"milestone-{record.pk}", "data-status": lambda record: record.status}

    def __init__(self, *args, can_change: bool = False, row_messages=None, user=None, **kwargs):
        if not can_change:
            kwargs.setdefault("exclude", ["actions"])
        super().__init__(*args, **kwargs)
        self.can_change = can_change
        self.today = seoul_today()
        self.row_messages = row_messages or {}
        self.reopenable: set[int] = set()
        if can_change and user is not None:
            from projects.services import milestone_can_reopen

            is_admin = is_portfolio_admin(user)
            self.reopenable = {
                milestone.pk
                for milestone in self.data.data
                if not milestone.is_open and milestone_can_reopen(user, milestone, is_admin=is_admin)
            }

    def render_due_date(self, value, record: Milestone) -> str:
        if record.is_open:
            return format_html("{} {}", value.isoformat(), dday_badge(value, self.today))
        return value.isoformat()

    def render_status(self, record: Milestone) -> str:
        text = record.get_status_display()
        if record.completed_on:
            text = f"{text} ({short_date(record.completed_on, self.today)})"
        return format_html('<span class="status status-{}">{}</span>', record.status, text)

    def render_owner(self, value) -> str:
        return person_label(value)

    def value_owner(self, value) -> str:
        return person_label(value) if value else ""

    def render_amount_requested(self, value) -> str:
        return format_eok(value)

    def render_amount_secured(self, value) -> str:
        return format_eok(value)

    def render_title(self, value, record: Milestone) -> str:
        title = value
        if self.can_change:
            title = format_html('<a href="{}">{}</a>', reverse("projects:milestone_edit", args=[record.pk]), value)
        notes = self.row_messages.get(record.pk)
        if not notes:
            return title
        return format_html("{}{}", title, render_to_string("projects/_row_messages.html", {"row_messages": notes}))

    def value_title(self, value) -> str:
        return value


def _eok_value(value):
    """Spreadsheet cells get a number in 억원 (not text), so that sums work in a spreadsheet program."""
    return won_to_eok(value) if value is not None else None


class PortfolioProjectTable(ProjectDeadlineTable):
    """All core projects: sortable, paginated, exportable with Korean headers and 억원 amounts."""

    category = tables.Column(verbose_name=_("구분"))
    lead_department = tables.Column(verbose_name=_("주관부서"), order_by="lead_department__name")
    budget_total = tables.Column(verbose_name=_("총사업비(억원)"), attrs=NUMERIC)
    budget_national = tables.Column(verbose_name=_("국비(억원)"), attrs=NUMERIC)
    # Exports only: the screen shows the next milestone's date and title in one cell; a spreadsheet gets the
    # title and a real date cell side by side.
    next_milestone_date = tables.Column(
        verbose_name=_("다음 마일스톤 기한"), accessor="next_milestone_due", visible=False, orderable=False
    )

    class Meta(ProjectDeadlineTable.Meta):
        fields = ["code", "name", "strategy", "category", "lead_department", "rag_status", "budget_total"]
        sequence = [
            "code",
            "name",
            "strategy",
            "category",
            "lead_department",
            "rag_status",
            "budget_total",
            "budget_national",
            "next_milestone_due",
            "next_milestone_date",
            "overdue_count",
            "upcoming_count",
            "last_note_week",
        ]
        empty_text = _("조건에 맞는 사업이 없습니다.")

    def render_budget_total(self, value) -> str:
        return format_eok(value)

    def render_budget_national(self, value) -> str:
        return format_eok(value)

    def value_budget_total(self, value):
        return _eok_value(value)

    def value_budget_national(self, value):
        return _eok_value(value)

    def value_rag_status(self, record: CoreProject) -> str:
        return record.get_rag_status_display()

    def value_next_milestone_due(self, value, record: CoreProject) -> str:
        return record.next_milestone_title or ""

    def value_next_milestone_date(self, value):
        return value

    def value_last_note_week(self, value):
        return f"{value:%G-W%V}" if value else ""


class PortfolioMilestoneTable(MilestoneTable):
    """Milestones across the portfolio, with their project; exportable."""

    project_code = tables.Column(
        verbose_name=_("사업코드"),
        accessor="project__code",
        attrs=CODE,
        linkify=lambda record: record.get_absolute_url(),
    )
    project_name = tables.Column(verbose_name=_("사업명"), accessor="project__name")
    strategy = tables.Column(
        verbose_name=_("전략"), accessor="project__task__strategy__code", order_by="project__task__strategy__order"
    )
    amount_requested = tables.Column(verbose_name=_("신청액(억원)"), attrs=NUMERIC)
    amount_secured = tables.Column(verbose_name=_("확보액(억원)"), attrs=NUMERIC)

    class Meta(MilestoneTable.Meta):
        sequence = ["project_code", "project_name", "strategy", *MilestoneTable.Meta.fields]
        empty_text = _("조건에 맞는 마일스톤이 없습니다.")
        per_page = 25

    def value_due_date(self, value):
        return value

    def value_status(self, record: Milestone) -> str:
        return record.get_status_display()

    def value_amount_requested(self, value):
        return _eok_value(value)

    def value_amount_secured(self, value):
        return _eok_value(value)

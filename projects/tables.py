"""django-tables2 tables of the web app."""

from __future__ import annotations

import copy
import html
from collections import OrderedDict
from functools import cache, cached_property

import django_tables2 as tables
from django.db.models import Model
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.encoding import force_str
from django.utils.formats import localize
from django.utils.html import conditional_escape, escape
from django.utils.http import urlencode
from django.utils.safestring import SafeString, mark_safe
from django.utils.timezone import template_localtime
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from django_tables2.columns import ManyToManyColumn
from django_tables2.columns.linkcolumn import BaseLinkColumn
from django_tables2.rows import BoundRow, BoundRows
from django_tables2.templatetags.django_tables2 import table_page_range
from django_tables2.utils import A, AttributeDict, signature

from people.names import person_label
from projects.models import CoreProject, Milestone
from projects.money import format_eok, won_to_eok
from projects.permissions import is_portfolio_admin
from projects.table_exports import ExportField, choice_labels, person_labels
from projects.templatetags.dates import short_date
from tracker.dates import dday_label, seoul_today
from tracker.html import attributes, escaped, html_format

# Amounts and counts line up on the right, header and cells alike.
NUMERIC = {"th": {"class": "num"}, "td": {"class": "num"}}
# A project code ("DEMO-S1-02") is never broken at its hyphens on a wide screen.
CODE = {"td": {"class": "code"}}
# Every sort ends in the table's own order, so rows that tie (a status, a kind, an amount shared by thousands of
# milestones) keep one order from page to page, and an index (column, then these) can serve it (migration 0010).
PROJECTS_THEN = ("code", "pk")
MILESTONES_THEN = ("due_date", "pk")


def sorted_by(*keys: str, then: tuple[str, ...]) -> tuple[str, ...]:
    return (*keys, *then)


def rag_badge(status: str, label: str) -> str:
    return html_format('<span class="badge rag-{}">{}</span>', status, label)


def dday_badge(due, today=None) -> str:
    today = today or seoul_today()
    days = (due - today).days
    tone = "overdue" if days < 0 else "soon" if days <= 7 else "later"
    return html_format('<span class="dday dday-{}">{}</span>', tone, dday_label(due, today))


class _Row(BoundRow):
    """A row whose cells ask the table which arguments each column's render/value method takes.

    django-tables2 calls ``inspect.signature`` on the method for every cell it renders; a table's methods
    do not change between its rows, so the answer is worked out once per column and table.
    """

    def _call_render(self, bound_column, value=None):
        content = self._call(bound_column, "render", value)
        if bound_column.link:
            return bound_column.link(content, **self._optional_cell_arguments(bound_column, value))
        return content

    def _call_value(self, bound_column, value=None):
        return self._call(bound_column, "value", value)

    @property
    def attrs(self):
        return AttributeDict(self.attributes())

    def attributes(self) -> dict:
        """Row attributes (the app's are flat: a value, or a function of the record)."""
        attrs = {
            name: value(record=self._record) if callable(value) else value
            for name, value in self._table.row_attrs.items()
        }
        even_odd = self.get_even_odd_css_class()
        attrs["class"] = f"{attrs['class']} {even_odd}" if attrs.get("class") else even_odd
        return attrs

    def _call(self, bound_column, kind: str, value):
        method = getattr(bound_column, kind)
        key = (bound_column.name, kind)
        known = self._table.cell_arguments.get(key)
        if known is None:
            known = self._table.cell_arguments[key] = signature(method)
        arguments, catch_all = known
        available = {
            "value": value,
            "record": self._record,
            "column": bound_column.column,
            "bound_column": bound_column,
            "bound_row": self,
            "table": self._table,
        }
        if catch_all:
            return method(**available)
        return method(**{name: available[name] for name in arguments})


class _Rows(BoundRows):
    def __iter__(self):
        for record in self.data:
            yield _Row(record, table=self.table)

    def __getitem__(self, key):
        if isinstance(key, slice):
            return _Rows(data=self.data[key], table=self.table, pinned_data=self.pinned_data)
        return _Row(record=self.data[key], table=self.table)


class _DeclaredColumns(OrderedDict):
    """A table class's columns, which django-tables2 deep-copies for every table so that a table's changes stay its
    own. What it changes is a column's own attributes (``visible``, ``accessor``), never what they hold (attribute
    dicts, sort keys, lazy labels), so a copy of each column object is enough (the deep copies took about 1 ms of a
    table page's Python)."""

    def __deepcopy__(self, memo) -> OrderedDict:
        return OrderedDict((name, copy.copy(column)) for name, column in self.items())


class Table(tables.Table):
    """The app's tables: rows that introspect each column once, not once per cell, and a body written in Python."""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.base_columns = _DeclaredColumns(cls.base_columns)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("template_name", "projects/_table.html")
        super().__init__(*args, **kwargs)
        self.cell_arguments: dict[tuple[str, str], tuple[tuple[str, ...], str | None]] = {}
        self.rows = _Rows(data=self.data, table=self, pinned_data=self.pinned_data)

    @cached_property
    def project_url(self) -> str:
        """A project page's URL with a placeholder for the id: one reverse() per table instead of one per row."""
        return reverse("projects:project", args=[0]).replace("/0/", "/{}/")

    def querystring(self, name: str, value) -> str:
        """``{% querystring_replace name=value %}``: the request's query string with one parameter set, escaped."""
        params = dict(self.request.GET)
        params[name] = value
        return escape("?" + urlencode(params, doseq=True))

    @property
    def thead_html(self) -> str:
        """The ``<thead>`` of the tracker's table template (django_tables2/tracker.html), with its leading and
        trailing whitespace: a sort link per orderable column."""
        order_field = self.prefixed_order_by_field
        cells = []
        for column in self.columns:
            header = escaped(column.header)
            if column.orderable:
                header = f'<a href="{self.querystring(order_field, column.order_by_alias.next)}">{header}</a>'
            cells.append(f'<th {column.attrs["th"].as_html()} role="columnheader" scope="col">{header}</th>')
        return mark_safe(  # noqa: S308 (headers escaped above, attributes and links escaped by django-tables2's way)
            f'\n  <thead {self.attrs["thead"].as_html()} role="rowgroup"><tr role="row">\n    {"".join(cells)}'
            "\n  </tr></thead>\n  "
        )

    @property
    def pagination_html(self) -> str:
        """The pagination of the tracker's table template, for a table of more than one page: previous, up to ten
        page numbers with gaps, next."""
        page, page_field = self.page, self.prefixed_page_field
        items = []
        for number in table_page_range(page, self.paginator):
            if number == "...":
                items.append('<li class="gap" aria-hidden="true">…</li>\n    ')
            elif number == page.number:
                link = self.querystring(page_field, number)
                items.append(
                    f'<li class="active"><a href="{link}" aria-current="page">{localize(number)}</a></li>\n    '
                )
            else:
                items.append(f'<li><a href="{self.querystring(page_field, number)}">{localize(number)}</a></li>')
        previous = next_ = ""
        if page.has_previous():
            link = self.querystring(page_field, page.previous_page_number())
            previous = f'<li class="previous"><a href="{link}" rel="prev">{escaped(_("이전"))}</a></li>'
        if page.has_next():
            link = self.querystring(page_field, page.next_page_number())
            next_ = f'<li class="next"><a href="{link}" rel="next">{escaped(_("다음"))}</a></li>'
        numbers = "".join(f"\n    {item}\n  " for item in items)
        return mark_safe(  # noqa: S308 (links escaped by querystring, labels escaped here)
            f'\n<nav class="pagination" aria-label="{escaped(_("페이지"))}"><ul>\n  {previous}\n  {numbers}\n  {next_}'
            "\n</ul></nav>\n"
        )

    @property
    def tbody_html(self) -> str:
        """The ``<tbody>`` of the tracker's table template (django_tables2/tracker.html), cell for cell, with each
        column's ``<td>`` attributes, label and way to its value worked out once (the app's column attributes do
        not depend on the row)."""
        columns = list(self.columns)
        cells = [
            (column.name, column.attrs["td"].as_html(), conditional_escape(column.header), column.localize)
            for column in columns
        ]
        writers: dict[type, list] = {}
        parts = [f'<tbody {self.attrs.get("tbody", AttributeDict()).as_html()} role="rowgroup">']
        for row in self.paginated_rows:
            record = row.record
            kind = type(record)
            if kind not in writers:
                writers[kind] = [_cell_writer(self, column, kind) for column in columns]
            parts.append(f'<tr {attributes(row.attributes())} role="row">')
            for (name, td, label, localized), writer in zip(cells, writers[kind], strict=True):
                content = writer(record) if writer is not None else row.get_cell(name)
                parts.append(f'<td {td} role="cell" data-label="{label}">{_cell_html(content, localized)}</td>')
            parts.append("</tr>")
        if len(parts) == 1 and self.empty_text:
            parts.append(
                f'<tr role="row"><td colspan="{len(columns)}" role="cell" class="empty">'
                f"{conditional_escape(self.empty_text)}</td></tr>"
            )
        parts.append("</tbody>")
        return mark_safe("".join(parts))  # noqa: S308 (every cell is escaped above, or safe from format_html)


# What a cell's render method may ask for, apart from its row (a method that asks for its row, or for everything,
# goes through django-tables2's BoundRow).
_RECORD_ARGUMENTS = frozenset({"value", "record", "column", "bound_column", "table"})


def _cell_writer(table: Table, bound_column, model: type):
    """A function from a record to its cell's content, equal to ``BoundRow.get_cell``, with what django-tables2
    looks up for every cell (the accessor's model field and choices, the render method's arguments, the default)
    looked up once; None where the column needs django-tables2's own way (links, many-to-many, rows that are not
    model instances)."""
    column = bound_column.column
    if bound_column.link or isinstance(column, BaseLinkColumn | ManyToManyColumn) or not issubclass(model, Model):
        return None
    arguments, catch_all = _signature(bound_column.render)
    if catch_all or not set(arguments) <= _RECORD_ARGUMENTS:
        return None
    if callable(column._default):
        return None
    accessor = A(bound_column.accessor)
    bits = accessor.bits
    if not bits:
        return None
    value_of = _value_reader(accessor, model)
    render = bound_column.render
    empty_values = column.empty_values
    default = bound_column.default
    if getattr(render, "__func__", None) is tables.Column.render:

        def write_value(record):  # Column.render gives the value as it is
            value = value_of(record)
            return default if value in empty_values else value

        return write_value
    fixed = {"column": column, "bound_column": bound_column, "table": table}
    fixed = {name: fixed[name] for name in arguments if name in fixed}
    wants_value, wants_record = "value" in arguments, "record" in arguments

    def write(record):
        value = value_of(record)
        if value in empty_values:
            return default
        kwargs = dict(fixed)
        if wants_value:
            kwargs["value"] = value
        if wants_record:
            kwargs["record"] = record
        return render(**kwargs)

    return write


@cache
def _method_signature(function) -> tuple[tuple[str, ...], str | None]:
    arguments, catch_all = signature(function)
    return arguments[1:], catch_all  # a method's function: its first argument is self


def _signature(method) -> tuple[tuple[str, ...], str | None]:
    """django-tables2's ``signature`` of a render method, worked out once per method of a class (not per table)."""
    function = getattr(method, "__func__", None)
    return signature(method) if function is None else _method_signature(function)


@cache
def _choice_labels(field, language: str | None) -> dict:
    """A field's choices and their labels in one language (``get_FOO_display()`` translates every label of every
    choice, for every cell)."""
    return {value: force_str(label) for value, label in field.flatchoices}


def _value_reader(accessor: A, model: type):
    """The value django-tables2 gives a cell: the choice's label (``get_FOO_display()``) where the accessor ends in a
    field with choices on a model instance, else what the accessor resolves to (None where it fails)."""
    path, remainder = accessor.bits[:-1], accessor.bits[-1]
    field = accessor.get_field(model)
    display = f"get_{remainder}_display" if getattr(field, "choices", ()) else None
    labels = _choice_labels(field, get_language()) if display else {}

    def resolve(record):
        try:
            return accessor.resolve(record)
        except Exception:  # noqa: BLE001 (django-tables2 leaves such a cell empty)
            return None

    def read(record):
        penultimate = record
        for bit in path:
            penultimate = getattr(penultimate, bit, None)
            if penultimate is None or callable(penultimate):
                return resolve(record)  # the accessor's own way: dictionaries, calls, a relation that is null
        if display is not None and isinstance(penultimate, Model):
            method = getattr(penultimate, display, None)
            if method is not None:
                stored = getattr(penultimate, field.attname)
                try:
                    return labels[stored] if stored in labels else force_str(stored, strings_only=True)
                except TypeError:  # unhashable
                    return method()
        value = getattr(penultimate, remainder, _MISSING)
        if value is _MISSING or callable(value):
            return resolve(record)
        return value

    return read


_MISSING = object()


def _cell_html(value, localized: bool | None) -> str:
    """A cell as ``{{ cell }}`` (or ``|localize`` / ``|unlocalize``) writes it in a template."""
    if type(value) is SafeString:
        return value
    if type(value) is str:  # what localize and template_localtime return as it is
        return html.escape(value)
    value = template_localtime(value)
    value = localize(value, use_l10n=localized)
    return escaped(value)


class ProjectLinkColumn(tables.Column):
    """The project's code, linked to the milestone's row on the project page."""

    def render(self, value, record: Milestone, table: Table) -> str:
        # Milestone.get_absolute_url, with the project URL worked out once per table.
        url = f"{table.project_url.format(record.project_id)}#milestone-{record.pk}"
        return html_format('<a href="{}">{}</a>', url, value)

    def value(self, value, **kwargs):
        return value


class ProjectDeadlineTable(Table):
    """Projects with their next deadline: a manager's own projects, or the whole portfolio."""

    code = tables.Column(verbose_name=_("사업코드"), attrs=CODE, order_by=PROJECTS_THEN)
    name = tables.Column(verbose_name=_("사업명"), order_by=sorted_by("name", then=PROJECTS_THEN))
    strategy = tables.Column(
        verbose_name=_("전략"),
        accessor="task__strategy__code",
        order_by=sorted_by("task__strategy__order", then=PROJECTS_THEN),
    )
    rag_status = tables.Column(verbose_name=_("추진 상태"), order_by=sorted_by("rag_status", then=PROJECTS_THEN))
    next_milestone_due = tables.Column(
        verbose_name=_("다음 마일스톤"), order_by=sorted_by("next_milestone_due", then=PROJECTS_THEN)
    )
    overdue_count = tables.Column(
        verbose_name=_("기한 지남"), attrs=NUMERIC, order_by=sorted_by("overdue_count", then=PROJECTS_THEN)
    )
    upcoming_count = tables.Column(
        verbose_name=_("30일 내"), attrs=NUMERIC, order_by=sorted_by("upcoming_count", then=PROJECTS_THEN)
    )
    last_note_week = tables.Column(
        verbose_name=_("최근 주간 보고"), order_by=sorted_by("last_note_week", then=PROJECTS_THEN)
    )

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
        self.today = seoul_today()

    def render_code(self, value, record: CoreProject) -> str:
        return html_format('<a href="{}">{}</a>', self.project_url.format(record.pk), value)

    def render_name(self, value, record: CoreProject) -> str:
        return html_format('<a href="{}">{}</a>', self.project_url.format(record.pk), value)

    def value_code(self, value) -> str:
        return value

    def value_name(self, value) -> str:
        return value

    def render_rag_status(self, value: str, record: CoreProject) -> str:
        return rag_badge(record.rag_status, value)  # value: the status's label

    def render_next_milestone_due(self, value, record: CoreProject) -> str:
        return html_format(
            "{} <span class='muted'>{}</span>", dday_badge(value, self.today), record.next_milestone_title
        )

    def render_overdue_count(self, value: int) -> str:
        return html_format('<span class="count-alert">{}</span>', value) if value else "0"

    def render_last_note_week(self, value) -> str:
        return f"{value:%G-W%V}"


class MilestoneTable(Table):
    """A project's milestones; the last column holds the one-click actions for those who may change it."""

    due_date = tables.Column(verbose_name=_("기한"), attrs={"td": {"class": "due"}}, order_by=MILESTONES_THEN)
    kind = tables.Column(verbose_name=_("유형"), order_by=sorted_by("kind", then=MILESTONES_THEN))
    title = tables.Column(verbose_name=_("마일스톤"), order_by=sorted_by("title", then=MILESTONES_THEN))
    responsible_agency = tables.Column(
        verbose_name=_("소관 부처"), order_by=sorted_by("responsible_agency", then=MILESTONES_THEN)
    )
    status = tables.Column(verbose_name=_("상태"), order_by=sorted_by("status", then=MILESTONES_THEN))
    amount_requested = tables.Column(
        verbose_name=_("신청액"), attrs=NUMERIC, order_by=sorted_by("amount_requested", then=MILESTONES_THEN)
    )
    amount_secured = tables.Column(
        verbose_name=_("확보액"), attrs=NUMERIC, order_by=sorted_by("amount_secured", then=MILESTONES_THEN)
    )
    owner = tables.Column(verbose_name=_("담당자"), order_by=sorted_by("owner", then=MILESTONES_THEN))
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
            return html_format("{} {}", value.isoformat(), dday_badge(value, self.today))
        return value.isoformat()

    def render_status(self, value: str, record: Milestone) -> str:
        text = value  # the status's label
        if record.completed_on:
            text = f"{text} ({short_date(record.completed_on, self.today)})"
        return html_format('<span class="status status-{}">{}</span>', record.status, text)

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
            title = html_format('<a href="{}">{}</a>', reverse("projects:milestone_edit", args=[record.pk]), value)
        notes = self.row_messages.get(record.pk)
        if not notes:
            return title
        return html_format("{}{}", title, render_to_string("projects/_row_messages.html", {"row_messages": notes}))

    def value_title(self, value) -> str:
        return value


def _eok_value(value):
    """Spreadsheet cells get a number in 억원 (not text), so that sums work in a spreadsheet program."""
    return won_to_eok(value) if value is not None else None


class PortfolioProjectTable(ProjectDeadlineTable):
    """All core projects: sortable, paginated, exportable with Korean headers and 억원 amounts."""

    category = tables.Column(verbose_name=_("구분"), order_by=sorted_by("category", then=PROJECTS_THEN))
    lead_department = tables.Column(
        verbose_name=_("주관부서"), order_by=sorted_by("lead_department__name", then=PROJECTS_THEN)
    )
    budget_total = tables.Column(
        verbose_name=_("총사업비(억원)"), attrs=NUMERIC, order_by=sorted_by("budget_total", then=PROJECTS_THEN)
    )
    budget_national = tables.Column(
        verbose_name=_("국비(억원)"), attrs=NUMERIC, order_by=sorted_by("budget_national", then=PROJECTS_THEN)
    )
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

    # The fields the page's cells read (with the selector's annotations), for ``only()``: a project row has long
    # texts (description, support needs) the table never shows, each read, decoded and set on a model for nothing.
    row_fields = (
        "code",
        "name",
        "category",
        "rag_status",
        "budget_total",
        "budget_national",
        "task__strategy__code",
        "lead_department__name",
    )

    export_fields = {
        "code": ExportField("code"),
        "name": ExportField("name"),
        "strategy": ExportField("task__strategy__code"),
        "category": ExportField("category", choice_labels(CoreProject.Category)),
        "lead_department": ExportField("lead_department__name"),
        "rag_status": ExportField("rag_status", choice_labels(CoreProject.RagStatus)),
        "budget_total": ExportField("budget_total", won_to_eok),
        "budget_national": ExportField("budget_national", won_to_eok),
        "next_milestone_due": ExportField("next_milestone_title"),  # the screen's cell: date and title
        "next_milestone_date": ExportField("next_milestone_due"),
        "overdue_count": ExportField("overdue_count"),
        "upcoming_count": ExportField("upcoming_count"),
        "last_note_week": ExportField("last_note_week", lambda week: f"{week:%G-W%V}"),
    }

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

    project_code = ProjectLinkColumn(
        verbose_name=_("사업코드"),
        accessor="project__code",
        attrs=CODE,
        order_by=sorted_by("project__code", then=MILESTONES_THEN),
    )
    project_name = tables.Column(
        verbose_name=_("사업명"), accessor="project__name", order_by=sorted_by("project__name", then=MILESTONES_THEN)
    )
    strategy = tables.Column(
        verbose_name=_("전략"),
        accessor="project__task__strategy__code",
        order_by=sorted_by("project__task__strategy__order", then=MILESTONES_THEN),
    )
    amount_requested = tables.Column(
        verbose_name=_("신청액(억원)"), attrs=NUMERIC, order_by=sorted_by("amount_requested", then=MILESTONES_THEN)
    )
    amount_secured = tables.Column(
        verbose_name=_("확보액(억원)"), attrs=NUMERIC, order_by=sorted_by("amount_secured", then=MILESTONES_THEN)
    )

    class Meta(MilestoneTable.Meta):
        sequence = ["project_code", "project_name", "strategy", *MilestoneTable.Meta.fields]
        empty_text = _("조건에 맞는 마일스톤이 없습니다.")
        per_page = 25

    # The fields the page's cells read, for ``only()``: a row joins five tables, and the rest of them (notes,
    # descriptions, password hashes) would be read, decoded and set on five models a row for nothing.
    row_fields = (
        "project_id",
        *Milestone.ROW_FIELDS,
        "owner_id",
        "project__code",
        "project__name",
        "project__task__strategy__code",
        "owner__first_name",  # people.names.person_label: the profile's name and department, else the full name
        "owner__last_name",
        "owner__email",  # or the e-mail
        "owner__profile__name",
        "owner__profile__department",
    )

    export_fields = {
        "project_code": ExportField("project__code"),
        "project_name": ExportField("project__name"),
        "strategy": ExportField("project__task__strategy__code"),
        "due_date": ExportField("due_date"),
        "kind": ExportField("kind", choice_labels(Milestone.Kind)),
        "title": ExportField("title"),
        "responsible_agency": ExportField("responsible_agency"),
        "status": ExportField("status", choice_labels(Milestone.Status)),
        "amount_requested": ExportField("amount_requested", won_to_eok),
        "amount_secured": ExportField("amount_secured", won_to_eok),
        "owner": ExportField("owner_id", person_labels),
    }

    def value_due_date(self, value):
        return value

    def value_status(self, record: Milestone) -> str:
        return record.get_status_display()

    def value_amount_requested(self, value):
        return _eok_value(value)

    def value_amount_secured(self, value):
        return _eok_value(value)

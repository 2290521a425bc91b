"""Table exports read tuples and stream, and still hold exactly what django-tables2's own export held; table
cells are rendered without asking every cell's method for its signature."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from unittest import mock

import openpyxl
import pytest
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation
from django_tables2 import RequestConfig, utils
from django_tables2.export import TableExport
from django_tables2.rows import BoundRows

from projects import selectors, tables
from projects.models import CoreProject, Milestone
from projects.money import eok_to_won
from tests.factories import CoreProjectFactory, MilestoneFactory, ProgressUpdateFactory, UserFactory
from tests.portfolio import TODAY

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("portfolio_clock")]


def _streamed(client, url: str, params: dict) -> bytes:
    response = client.get(url, params)
    assert response.status_code == 200
    assert response.streaming
    return b"".join(response.streaming_content)


# The tracker's table template, rendering django-tables2's own rows and cells: what the tables' Python body must equal.
STOCK_TEMPLATE = "django_tables2/tracker.html"


def _tbody(table, request, *, template_name: str | None = None) -> str:
    """The table's first page's ``<tbody>``, whitespace between and inside tags folded; written by the table in
    Python, or, with ``template_name``, by django-tables2's own rows through that template."""
    if template_name:
        table.template_name = template_name
        table.rows = BoundRows(data=table.data, table=table, pinned_data=table.pinned_data)
    RequestConfig(request, paginate={"per_page": 50}).configure(table)
    html = table.as_html(request)
    tbody = html[html.index("<tbody") : html.index("</tbody>")]
    tbody = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "csrf", tbody)  # masked anew each time
    return re.sub(r"\s+", " ", re.sub(r">\s+<", "><", tbody)).strip()


def _configured(table_class, queryset):
    table = table_class(queryset)
    RequestConfig(RequestFactory().get("/"), paginate=False).configure(table)
    return table


def _old_export_rows(table) -> list[list[str]]:
    """What django-tables2's TableExport wrote (as CSV text), the export this module replaced."""
    text = TableExport("csv", table, exclude_columns=("actions",)).export()
    return list(csv.reader(io.StringIO(text)))


def test_the_milestone_csv_holds_what_the_django_tables2_export_held(client, viewer, portfolio):  # noqa: F811
    MilestoneFactory(project=CoreProject.objects.get(code="A-1"), owner=viewer, amount_requested=0)
    queryset = Milestone.objects.select_related("project__task__strategy", "owner").order_by("due_date", "pk")
    expected = _old_export_rows(_configured(tables.PortfolioMilestoneTable, queryset))
    client.force_login(viewer)
    content = _streamed(client, reverse("projects:milestones"), {"_export": "csv"})
    assert list(csv.reader(io.StringIO(content.decode("utf-8-sig")))) == expected
    assert len(expected) == 11  # header and ten milestones


def test_the_project_csv_holds_what_the_django_tables2_export_held(client, viewer, portfolio):  # noqa: F811
    queryset = selectors.projects_with_deadlines(CoreProject.objects.order_by("code"), today=TODAY)
    expected = _old_export_rows(_configured(tables.PortfolioProjectTable, queryset))
    client.force_login(viewer)
    content = _streamed(client, reverse("projects:portfolio"), {"_export": "csv"})
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    overdue = expected[0].index("기한 지남")
    for row in expected[1:]:
        # The old export leaked the page's HTML badge into this one column: now the number alone.
        row[overdue] = row[overdue].replace('<span class="count-alert">', "").replace("</span>", "")
    assert rows == expected


def test_exports_follow_the_requested_sort(client, viewer, portfolio):  # noqa: F811
    client.force_login(viewer)
    content = _streamed(client, reverse("projects:portfolio"), {"_export": "csv", "sort": "-code"})
    codes = [row[0] for row in csv.reader(io.StringIO(content.decode("utf-8-sig")))][1:]
    assert codes == ["B-1", "A-3", "A-2", "A-1"]


def test_text_that_looks_like_a_formula_stays_text_in_the_workbook(client, viewer, portfolio):  # noqa: F811
    MilestoneFactory(project=CoreProject.objects.get(code="A-1"), title='=HYPERLINK("http://x")')
    client.force_login(viewer)
    content = _streamed(client, reverse("projects:milestones"), {"_export": "xlsx"})
    sheet = openpyxl.load_workbook(io.BytesIO(content)).active
    cells = [cell for row in sheet.iter_rows() for cell in row if str(cell.value).startswith("=HYPERLINK")]
    assert len(cells) == 1 and cells[0].data_type == "s"
    assert sheet.freeze_panes == "A2" and sheet["A1"].font.bold


def test_every_exported_text_cell_goes_through_one_function(client, viewer, portfolio):  # noqa: F811
    client.force_login(viewer)
    seen = []

    def spy(value: str) -> str:
        seen.append(value)
        return value

    with mock.patch("projects.table_exports.spreadsheet_text", side_effect=spy):
        _streamed(client, reverse("projects:milestones"), {"_export": "csv", "q": "overdue-1"})
    assert "overdue-1" in seen and "A-1" in seen


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
@pytest.mark.parametrize("url_name", ["milestones", "portfolio"])
def test_an_export_takes_the_same_queries_for_ten_rows_or_two_hundred(client, viewer, portfolio, url_name, fmt):  # noqa: F811
    client.force_login(viewer)

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            _streamed(client, reverse(f"projects:{url_name}"), {"_export": fmt})
        return len(queries)

    small = count()
    owner = UserFactory(username="grower")
    for n in range(40):
        project = CoreProjectFactory(task=portfolio.strategies.get(code="S1").tasks.first(), managers=[owner])
        MilestoneFactory.create_batch(5, project=project, owner=owner, amount_requested=eok_to_won(n))
        ProgressUpdateFactory(project=project, week_start=dt.date(2026, 11, 23), author=owner)
    assert count() == small


def test_a_table_page_asks_each_column_for_its_arguments_once(client, viewer, portfolio):  # noqa: F811
    """django-tables2 inspects a render method's signature for every cell; the app's tables once a column."""
    for n in range(30):
        MilestoneFactory(project=CoreProject.objects.get(code="A-1"), title=f"extra-{n}")
    client.force_login(viewer)
    calls = []
    real = utils.signature

    def counting(fn):
        calls.append(fn)
        return real(fn)

    with mock.patch.object(utils, "signature", counting), mock.patch.object(tables, "signature", counting):
        response = client.get(reverse("projects:milestones"), {"per_page": 50})
    assert response.status_code == 200
    assert len(response.context["table"].page.object_list) == 39
    columns = len(response.context["table"].columns)
    from collections import Counter

    assert len(calls) <= 2 * columns, Counter(getattr(c, "__qualname__", repr(c)) for c in calls)


@pytest.mark.parametrize(
    ("table_class", "model"),
    [(tables.PortfolioMilestoneTable, Milestone), (tables.PortfolioProjectTable, CoreProject)],
)
def test_every_cell_of_the_portfolio_tables_has_a_writer_of_its_own(table_class, model):
    """No cell of the portfolio's tables falls back to django-tables2's way (a signature check and a model field
    lookup per cell): each column's writer is worked out once per table."""
    table = table_class(model.objects.none())
    assert [column.name for column in table.columns if tables._cell_writer(table, column, model) is None] == []


def test_a_tables_changes_to_its_columns_stay_its_own():
    """Tables copy each declared column (not deep copies of everything a column holds): what one table changes, the
    next table of its class does not see."""
    table = tables.PortfolioMilestoneTable(Milestone.objects.none(), exclude=["strategy"])
    table.columns.hide("title")
    assert not table.columns["title"].visible and "strategy" not in table.columns
    fresh = tables.PortfolioMilestoneTable(Milestone.objects.none())
    assert fresh.columns["title"].visible and "strategy" in fresh.columns
    assert fresh.columns["title"].column is not tables.PortfolioMilestoneTable.base_columns["title"]


@pytest.mark.parametrize("can_change", [False, True])
def test_the_table_body_is_the_markup_django_tables2_wrote(rf, viewer, portfolio, can_change):  # noqa: F811
    """The body written in Python equals the tracker's table template's, once whitespace is set aside."""
    MilestoneFactory(project=CoreProject.objects.get(code="A-1"), title="<b>escaped</b> & more", owner=viewer)
    request = rf.get("/", {"sort": "-due_date"})
    request.user = viewer

    def table():
        return tables.MilestoneTable(Milestone.objects.select_related("owner"), can_change=can_change)

    ours = _tbody(table(), request)
    assert ours == _tbody(table(), request, template_name=STOCK_TEMPLATE)
    assert "&lt;b&gt;escaped&lt;/b&gt; &amp; more" in ours


@pytest.mark.parametrize("language", ["ko", "en"])
@pytest.mark.parametrize(
    "query",
    [{}, {"sort": "-project_code", "page": "2"}, {"page": "4", "q": '<a href="x">&', "kind": ["agreement", "contest"]}],
)
def test_the_table_header_and_pagination_are_the_markup_django_tables2_wrote(rf, viewer, portfolio, language, query):  # noqa: F811
    """The header (a sort link per column) and the pagination written in Python equal the tracker's table template's,
    character for character, whatever else the query string holds."""
    for n in range(40):
        MilestoneFactory(project=CoreProject.objects.get(code="A-1"), title=f"extra-{n}")
    request = rf.get("/", query)
    request.user = viewer

    def html(template_name: str | None) -> str:
        table = tables.PortfolioMilestoneTable(Milestone.objects.select_related("project__task__strategy", "owner"))
        if template_name:  # django-tables2's own header and pagination through the template
            table.template_name = template_name
            table.rows = BoundRows(data=table.data, table=table, pinned_data=table.pinned_data)
        RequestConfig(request, paginate={"per_page": 5}).configure(table)
        with translation.override(language):
            page = table.as_html(request)
        # Up to the end of the header, and from the end of the body (the tests above; its blocks' whitespace differs)
        return page[: page.index("</thead>")] + page[page.index("</tbody>") + len("</tbody>") :].lstrip()

    ours = html(None)
    assert ours == html("django_tables2/tracker.html")
    assert ours.count('<a href="?') > 10 and 'rel="next"' in ours and 'aria-current="page"' in ours


def test_an_empty_table_says_so(rf, viewer):  # noqa: F811
    request = rf.get("/")
    request.user = viewer
    table = tables.PortfolioMilestoneTable(Milestone.objects.none())
    RequestConfig(request).configure(table)
    assert "조건에 맞는 마일스톤이 없습니다." in table.as_html(request)


@pytest.mark.parametrize("sort", ["", "-due_date", "status", "kind", "-project_code", "owner"])
def test_the_portfolio_milestone_body_is_the_markup_django_tables2_wrote(rf, viewer, portfolio, sort):  # noqa: F811
    """The body of the portfolio's milestone table (choice labels, the project link, amounts, owners) written
    in Python equals the tracker's table template's, once whitespace is set aside."""
    MilestoneFactory(project=CoreProject.objects.get(code="A-1"), title="<b>escaped</b> & more", owner=viewer)
    request = rf.get("/", {"sort": sort} if sort else {})
    request.user = viewer

    milestones = Milestone.objects.select_related("project__task__strategy", "owner__profile")
    ours = _tbody(tables.PortfolioMilestoneTable(milestones), request)
    assert ours == _tbody(tables.PortfolioMilestoneTable(milestones), request, template_name=STOCK_TEMPLATE)
    assert "&lt;b&gt;escaped&lt;/b&gt; &amp; more" in ours
    for milestone in Milestone.objects.all():
        assert f'href="{milestone.get_absolute_url()}"' in ours  # the project link, reversed once per table

    projects = selectors.projects_with_deadlines(CoreProject.objects.order_by("code"), today=TODAY)
    request = rf.get("/")
    request.user = viewer
    ours = _tbody(tables.PortfolioProjectTable(projects), request)
    assert ours == _tbody(tables.PortfolioProjectTable(projects), request, template_name=STOCK_TEMPLATE)

"""What every table page shares: CSV that Korean Excel opens, pagination in the person's language, and cells
that say which column they belong to (the phone layout turns rows into cards labelled from them)."""

from __future__ import annotations

import csv
import io
import re

import openpyxl
import pytest
from django.conf import settings
from django.urls import reverse

from tests.factories import CoreProjectFactory, MilestoneFactory

UTF8_BOM = b"\xef\xbb\xbf"


@pytest.fixture
def thirty_projects(db):
    projects = [CoreProjectFactory(name=f"해양 데이터 플랫폼 고도화 {n:02d}") for n in range(30)]
    MilestoneFactory(project=projects[0], title="2027년 국비 신청서 제출")
    return projects


@pytest.mark.parametrize("page", ["portfolio", "milestones"])
def test_csv_exports_start_with_a_utf8_byte_order_mark(client, viewer, thirty_projects, page):
    client.force_login(viewer)
    response = client.get(reverse(f"projects:{page}"), {"_export": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    content = b"".join(response.streaming_content)  # streamed (projects/table_exports.py)
    assert content.startswith(UTF8_BOM)  # Korean Excel reads a CSV without it as CP949
    header = next(csv.reader(io.StringIO(content[len(UTF8_BOM) :].decode("utf-8"))))
    assert header[0] == "사업코드"


def test_xlsx_exports_are_left_as_they_were(client, viewer, thirty_projects):
    client.force_login(viewer)
    response = client.get(reverse("projects:portfolio"), {"_export": "xlsx"})
    content = b"".join(response.streaming_content)
    assert content.startswith(b"PK")  # a zip file, no BOM in front
    sheet = openpyxl.load_workbook(io.BytesIO(content)).worksheets[0]
    rows = list(sheet.values)
    assert rows[0][0] == "사업코드" and len(rows) == 1 + len(thirty_projects)
    assert sorted(row[0] for row in rows[1:]) == sorted(project.code for project in thirty_projects)


def _page_links(client, page: int) -> list[str]:
    """The texts of the pagination links, in order."""
    html = client.get(reverse("projects:portfolio"), {"page": page}).content.decode()
    start = html.index('<nav class="pagination"')
    pagination = html[start : html.index("</nav>", start)]
    return [text.strip() for text in re.findall(r"<a [^>]*>([^<]*)</a>", pagination)]


def test_pagination_speaks_korean_and_english_never_djangos_defaults(client, viewer, thirty_projects):
    client.force_login(viewer)
    assert _page_links(client, 1) == ["1", "2", "다음"]
    assert _page_links(client, 2) == ["이전", "1", "2"]

    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    assert _page_links(client, 1) == ["1", "2", "Next"]
    assert _page_links(client, 2) == ["Previous", "1", "2"]


def test_every_table_cell_names_its_column_for_the_phone_layout(client, viewer, thirty_projects):
    client.force_login(viewer)
    html = client.get(reverse("projects:portfolio")).content.decode()
    assert 'data-label="사업명"' in html
    assert 'data-label="추진 상태"' in html
    html = client.get(reverse("projects:project", args=[thirty_projects[0].pk])).content.decode()
    assert 'data-label="마일스톤"' in html
    assert 'data-label="총사업비"' in html  # the budget table too


@pytest.mark.parametrize("sort", ["status", "-status", "kind", "owner", "-amount_requested", "project_code"])
def test_paging_through_a_sort_shows_every_milestone_once(client, viewer, sort):
    """Thousands of milestones share a status or a kind: every sort ends in the table's own order (due date,
    then id), so rows that tie keep one order from page to page and none is shown twice or skipped."""
    project = CoreProjectFactory()
    MilestoneFactory.create_batch(23, project=project, status="planned", kind="agreement", amount_requested=None)
    client.force_login(viewer)
    seen = []
    for page in (1, 2, 3):
        response = client.get(reverse("projects:milestones"), {"sort": sort, "per_page": 10, "page": page})
        seen += [row.record.pk for row in response.context["table"].page.object_list]
    assert sorted(seen) == sorted(project.milestones.values_list("pk", flat=True))
    rows = list(project.milestones.order_by("due_date", "pk").values_list("pk", flat=True))
    assert seen == (rows[::-1] if sort.startswith("-") else rows)


@pytest.mark.parametrize("page", ["portfolio", "milestones"])
def test_a_table_page_takes_ten_queries(client, viewer, thirty_projects, page, django_assert_num_queries):
    client.force_login(viewer)
    # The session, its user, the user's and their groups' permissions (may they read the portfolio), the rows'
    # count for the pager, the signed-in person's profile (the header), the filter's strategies, tasks and
    # departments, and the page of rows with everything its cells show.
    with django_assert_num_queries(10):
        response = client.get(reverse(f"projects:{page}"), {"sort": "-status" if page == "milestones" else "name"})
    assert response.status_code == 200

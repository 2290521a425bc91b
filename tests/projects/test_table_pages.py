"""What every table page shares: CSV that Korean Excel opens, pagination in the person's language, and cells
that say which column they belong to (the phone layout turns rows into cards labelled from them)."""

from __future__ import annotations

import csv
import io
import re

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
    assert b"".join(response.streaming_content).startswith(b"PK")  # a zip file, no BOM in front


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

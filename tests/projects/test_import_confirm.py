"""The admin's confirm does not redo its preview: it imports the rows the preview found to change, unless the file
or the database changed since, in which case it checks everything again. And the row limit lets the tracker's
own largest possible export back in."""

from __future__ import annotations

from unittest import mock

import pytest
from django.urls import reverse

from projects.models import CoreProject, Milestone
from projects.spreadsheets import files
from projects.spreadsheets.columns import MILESTONES, PROJECTS, CoreProjectResource, MilestoneResource
from projects.spreadsheets.files import portfolio_export, portfolio_import
from tests.projects.test_import_export import (  # noqa: F401 (fixtures)
    PROJECT_HEADERS,
    _plan_and_demo_rows,
    csv_bytes,
    csv_rows,
    plan,
    portfolio_state,
    project_row,
    seeded_plan,
    upload,
)

pytestmark = pytest.mark.django_db


def _confirm(client, model: str, preview):
    return client.post(reverse(f"admin:projects_{model}_process_import"), preview.context["confirm_form"].initial)


def _rows_read(resource_class):
    return mock.patch.object(resource_class, "import_row", autospec=True, side_effect=resource_class.import_row)


def test_confirming_an_unchanged_file_reads_no_row_again(admin_client, seeded_plan):  # noqa: F811
    content = portfolio_export(plan=seeded_plan, file_format="xlsx", kinds=(MILESTONES,))
    preview = upload(admin_client, "milestone", content, "milestones.xlsx", seeded_plan)
    assert preview.context["confirm_form"].initial["certificate"]
    before = portfolio_state()
    with _rows_read(MilestoneResource) as import_row:
        done = _confirm(admin_client, "milestone", preview)
    assert done.status_code == 302
    assert import_row.call_count == 0
    assert portfolio_state() == before
    messages = [str(m) for m in done.wsgi_request._messages]
    assert f"그대로 {Milestone.objects.count()}" in messages[0]


def test_confirm_imports_only_the_rows_the_preview_found_to_change(admin_client, seeded_plan):  # noqa: F811
    rows = csv_rows(portfolio_export(plan=seeded_plan, file_format="csv", kinds=(PROJECTS,)))
    rows[1][PROJECT_HEADERS.index("연계 정부사업")] = "국정과제 연계 (수정)"
    rows.append(project_row(사업코드="NEW-50", 사업명="관리자 화면으로 추가한 사업"))
    preview = upload(admin_client, "coreproject", csv_bytes(rows), "핵심사업.csv", seeded_plan)
    with _rows_read(CoreProjectResource) as import_row:
        done = _confirm(admin_client, "coreproject", preview)
    assert done.status_code == 302
    assert import_row.call_count == 2  # the changed row and the new one, not the 70 unchanged
    assert CoreProject.objects.get(code="NEW-50").name == "관리자 화면으로 추가한 사업"
    assert CoreProject.objects.get(code=rows[1][2]).government_programme == "국정과제 연계 (수정)"
    messages = [str(m) for m in done.wsgi_request._messages]
    assert "새로 만듦 1, 고침 1, 그대로 70" in messages[0]


def test_a_change_in_the_database_after_the_preview_makes_the_confirm_check_everything(
    admin_client,
    seeded_plan,  # noqa: F811
):
    content = portfolio_export(plan=seeded_plan, file_format="xlsx", kinds=(MILESTONES,))
    preview = upload(admin_client, "milestone", content, "milestones.xlsx", seeded_plan)
    # Meanwhile someone marks a planned milestone achieved: the file would move it back to 예정, which the
    # status rule refuses. The confirm must see that, though the preview found the row unchanged.
    milestone = Milestone.objects.filter(status=Milestone.Status.PLANNED).order_by("pk").first()
    milestone.status, milestone.completed_on = Milestone.Status.ACHIEVED, milestone.due_date
    milestone.save()
    before = portfolio_state()
    with _rows_read(MilestoneResource) as import_row:
        done = _confirm(admin_client, "milestone", preview)
    assert import_row.call_count == Milestone.objects.count()
    assert portfolio_state() == before
    messages = [str(m) for m in done.wsgi_request._messages]
    assert "가져오기를 거부했습니다" in messages[0] and "바꿀 수 없습니다" in messages[0]


def test_a_certificate_of_another_file_is_not_trusted(admin_client, seeded_plan):  # noqa: F811
    rows = csv_rows(portfolio_export(plan=seeded_plan, file_format="csv", kinds=(PROJECTS,)))
    first = upload(admin_client, "coreproject", csv_bytes(rows), "a.csv", seeded_plan)
    rows[1][PROJECT_HEADERS.index("연계 정부사업")] = "다른 파일"
    second = upload(admin_client, "coreproject", csv_bytes(rows), "b.csv", seeded_plan)
    data = {
        **second.context["confirm_form"].initial,
        "certificate": first.context["confirm_form"].initial["certificate"],
    }
    with _rows_read(CoreProjectResource) as import_row:
        done = admin_client.post(reverse("admin:projects_coreproject_process_import"), data)
    assert done.status_code == 302
    assert import_row.call_count == len(rows) - 1  # checked in full
    assert CoreProject.objects.get(code=rows[1][2]).government_programme == "다른 파일"


def test_the_row_limit_is_the_xlsx_sheet_limit_so_any_export_reimports():
    # An XLSX sheet holds 1,048,576 rows: a header and 1,048,575 data rows. No export can be longer.
    assert files.MAX_ROWS == 1_048_575


def test_a_file_over_the_row_limit_is_refused_with_one_message(plan, monkeypatch):  # noqa: F811
    monkeypatch.setattr(files, "MAX_ROWS", 2)
    content = csv_bytes(
        [PROJECT_HEADERS, project_row(), project_row(사업코드="NEW-02"), project_row(사업코드="NEW-03")]
    )
    report = portfolio_import(content=content, plan=plan, kind=PROJECTS)
    assert [str(problem) for problem in report.problems] == ["행이 너무 많습니다 (최대 2행)."]
    assert not CoreProject.objects.filter(code__startswith="NEW-").exists()


@pytest.mark.parametrize("new", [False, True])
def test_the_preview_diff_is_the_markup_django_import_export_writes(new):
    from import_export.resources import Diff

    from projects.spreadsheets.columns import PortfolioDiff

    def filled(diff_class):
        diff = object.__new__(diff_class)
        diff.left = ["같음", "", "a<b>&\n둘째 줄", 1, "전", None, 2]
        diff.right = ["같음", "", "a<b>&\n둘째 줄", "1", "후", "새 값", 2]
        diff.new = new
        return diff

    assert filled(PortfolioDiff).as_html() == filled(Diff).as_html()

"""Issue 14's dates, money unit and smaller screen items: a date window the plan allows (docs/decisions.md), no
completion in the future, the year shown when it is not this year; 억원 in the milestone form; a note length limit;
사업 기간, template placeholders, the timeline title, the XLSX next milestone, the admin's Korean, SITE_URL."""

from __future__ import annotations

import datetime as dt
import html
import io
import os
import re
import subprocess
from pathlib import Path

import openpyxl
import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from notifications.models import Reminder
from notifications.reminders import reminders_plan
from projects import services
from projects.forms import MilestoneForm
from projects.models import Milestone, MilestoneTemplateStep, Plan
from projects.spreadsheets.files import portfolio_import
from tests.conftest import signed_in
from tests.factories import CoreProjectFactory, MilestoneFactory
from tracker.dates import SEOUL

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 25, 10, tzinfo=SEOUL)
TODAY = NOW.date()
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def frozen_clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def milestone(project, owner):
    return MilestoneFactory(project=project, owner=owner, title="국비 신청서", due_date=dt.date(2026, 12, 2))


def text(content: bytes | str) -> str:
    content = content.decode() if isinstance(content, bytes) else content
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", content)).split())


def field_errors(page: str, field: str) -> str:
    found = re.search(rf'<div class="errors" id="id_{field}_errors">(.*?)</div>', page, re.S)
    return text(found.group(1)) if found else ""


# Dates that make sense -------------------------------------------------------------------------------------


def test_the_plans_window_runs_from_the_year_before_adoption_to_five_years_after_the_last_project(project):
    # The factory plan was adopted in 2025; its project ends in 2028.
    assert project.plan.date_window() == (dt.date(2024, 1, 1), dt.date(2033, 12, 31))
    CoreProjectFactory(task=project.task, start_year=2027, end_year=2035)
    assert project.plan.date_window() == (dt.date(2024, 1, 1), dt.date(2040, 12, 31))


@pytest.mark.parametrize("new_due", ["1900-01-01", "9999-12-31", "2023-12-31", "2034-01-01"])
def test_repro_rescheduling_outside_the_plans_window_is_refused_next_to_the_date(milestone, owner, new_due):
    """Issue 14: "기한 변경 to 1900-01-01 or 9999-12-31 is accepted ('D+46355')"."""
    url = reverse("projects:milestone_action", args=[milestone.pk, "reschedule"])
    response = signed_in(owner).post(url, {"version": milestone.version, "due_date": new_due, "reason": "오타"})
    assert response.status_code == 400
    assert field_errors(response.content.decode(), "due_date") == "기한은 2024-01-01부터 2033-12-31 사이여야 합니다."
    assert Milestone.objects.get(pk=milestone.pk).due_date == dt.date(2026, 12, 2)


@pytest.mark.parametrize(
    "completed_on, error",
    [
        ("1900-01-01", "달성일은 2024-01-01 이후여야 합니다."),
        ("2026-11-26", "달성일은 오늘보다 늦을 수 없습니다."),
    ],
)
def test_repro_a_completion_date_before_the_plan_or_in_the_future_is_refused(milestone, owner, completed_on, error):
    """Issue 14: "달성일 1900-01-01 is shown as '달성 (01.01)'"."""
    url = reverse("projects:milestone_action", args=[milestone.pk, "achieve"])
    response = signed_in(owner).post(url, {"version": milestone.version, "completed_on": completed_on})
    assert response.status_code == 400
    assert field_errors(response.content.decode(), "completed_on") == error
    assert Milestone.objects.get(pk=milestone.pk).status == "planned"


def test_repro_a_new_milestone_due_in_1900_is_refused_and_queues_no_reminder(project, owner):
    """Issue 14: "a new milestone due in 1900 queues reminders"."""
    data = {"kind": "other", "title": "오타 난 기한", "due_date": "1900-01-01", "owner": owner.pk, "version": ""}
    response = signed_in(owner).post(reverse("projects:milestone_create", args=[project.pk]), data)
    assert response.status_code == 200
    assert field_errors(response.content.decode(), "due_date") == "기한은 2024-01-01부터 2033-12-31 사이여야 합니다."
    with pytest.raises(ValidationError):
        services.milestone_create(project=project, user=owner, kind="other", title="t", due_date=dt.date(1900, 1, 1))
    assert not Milestone.objects.exists()
    reminders_plan(now=NOW)
    assert not Reminder.objects.exists()


def test_the_admin_refuses_a_due_date_outside_the_window(milestone, superuser):
    data = {
        "project": milestone.project_id,
        "kind": milestone.kind,
        "title": milestone.title,
        "responsible_agency": "",
        "due_date": "1900-01-01",
        "status": "planned",
        "completed_on": "",
        "owner": "",
        "notes": "",
        "reason": "",
    }
    response = signed_in(superuser).post(reverse("admin:projects_milestone_change", args=[milestone.pk]), data)
    assert response.status_code == 200
    assert "기한은 2024-01-01부터 2033-12-31 사이여야 합니다." in text(response.content)
    assert Milestone.objects.get(pk=milestone.pk).due_date == dt.date(2026, 12, 2)


def test_the_import_refuses_a_due_date_outside_the_window_with_its_row(db):
    call_command("load_seeds")
    plan = Plan.objects.get(code="busan-2025")
    low, high = plan.date_window()
    header = ["사업코드", "유형", "마일스톤", "소관부처", "기한", "상태"]
    too_late = high + dt.timedelta(days=1)  # a date the cell reader takes (1990–2100), outside the plan's window
    content = "\n".join(
        [",".join(header), f"S1-01,국비 신청,먼 훗날 국비,해양수산부,{too_late.isoformat()},예정"]
    ).encode("utf-8-sig")
    report = portfolio_import(content=content)
    assert report.refused
    assert any(
        f"기한은 {low.isoformat()}부터 {high.isoformat()} 사이여야 합니다." in str(p) for p in report.problems
    ), [str(p) for p in report.problems]
    assert not Milestone.objects.exists()


def test_the_year_is_shown_when_a_completion_is_not_this_year(project, owner):
    last_year = MilestoneFactory(
        project=project, title="작년 협약", status="achieved", completed_on=dt.date(2025, 12, 30)
    )
    this_year = MilestoneFactory(project=project, title="올해 협약", status="achieved", completed_on=TODAY)
    page = text(signed_in(owner).get(project.get_absolute_url()).content)
    assert "달성 (2025.12.30)" in page
    assert "달성 (11.25)" in page
    assert last_year.closed_at and this_year.closed_at


# Money in 억원 ---------------------------------------------------------------------------------------------


def test_the_milestone_forms_amounts_say_eok_in_label_help_and_error(project, owner):
    form = MilestoneForm(project=project)
    for name in ("amount_requested", "amount_secured"):
        field = form.fields[name]
        assert str(field.label).endswith("(억원)")
        assert "억원 단위로 입력합니다" in str(field.help_text)
        assert "원 단위로 저장" not in str(field.help_text)
    # Typing won where 억원 is asked: the message says what to type instead.
    data = {"kind": "other", "title": "t", "due_date": "2027-01-15", "amount_requested": "52750000000"}
    bound = MilestoneForm(data, project=project)
    assert not bound.is_valid()
    [error] = bound.errors["amount_requested"]
    assert "억원 단위로 90000000 이하로 입력하세요" in error
    assert "52750000000원 → 527.5" in error


def test_a_note_longer_than_2000_characters_is_refused_by_the_form_and_the_service(milestone, owner):
    url = reverse("projects:milestone_edit", args=[milestone.pk])
    data = {"kind": "other", "title": "t", "owner": owner.pk, "notes": "가" * 10_000, "version": milestone.version}
    response = signed_in(owner).post(url, data)
    assert response.status_code == 200
    assert "2000" in field_errors(response.content.decode(), "notes")
    with pytest.raises(ValidationError) as refused:
        services.milestone_update(
            milestone_id=milestone.pk, user=owner, expected_version=milestone.version, changes={"notes": "가" * 2001}
        )
    assert "notes" in refused.value.message_dict
    assert Milestone.objects.get(pk=milestone.pk).notes == ""


# Smaller screen items -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "start, end, shown",
    [(2026, 2028, "2026~2028년"), (2026, None, "2026년부터 (종료 미정)"), (None, 2030, "2030년까지 (시작 미정)")],
)
def test_the_project_period_never_reads_question_marks(owner, start, end, shown):
    project = CoreProjectFactory(start_year=start, end_year=end, managers=[owner])
    page = text(signed_in(owner).get(project.get_absolute_url()).content)
    assert f"사업 기간 {shown}" in page
    assert "?" not in page.split("사업 기간", 1)[1][:30]


def test_an_undecided_period_reads_undecided(owner):
    project = CoreProjectFactory(start_year=None, end_year=None, managers=[owner])
    assert "사업 기간 미정" in text(signed_in(owner).get(project.get_absolute_url()).content)


def test_the_templates_page_spells_out_year_and_name_placeholders(project, owner):
    page = text(signed_in(owner).get(reverse("projects:milestone_template_choose", args=[project.pk])).content)
    assert MilestoneTemplateStep.objects.filter(title__contains="{year}").exists()
    assert "{year}" not in page and "{name}" not in page
    assert "○○○○" in page


def test_the_timeline_title_ends_with_the_last_month_on_its_axis(owner, project):
    MilestoneFactory(project=project, due_date=dt.date(2027, 3, 2))
    page = text(signed_in(owner).get(reverse("projects:timeline")).content)
    assert "2026-11 ~ 2027-10" in page


def test_the_xlsx_next_milestone_column_holds_its_title_next_to_a_date_cell(owner, project):
    MilestoneFactory(project=project, title="2027년 국비 신청", due_date=dt.date(2026, 12, 2))
    response = signed_in(owner).get(reverse("projects:portfolio") + "?_export=xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content))).active  # streamed
    header = [cell.value for cell in sheet[1]]
    row = [cell.value for cell in sheet[2]]
    assert row[header.index("다음 마일스톤")] == "2027년 국비 신청"
    assert row[header.index("다음 마일스톤 기한")] == dt.datetime(2026, 12, 2)


def test_the_admins_korean_login_error_has_no_stock_particle_placeholder(owner):
    response = Client().post(reverse("admin:login"), {"username": "owner", "password": "틀린 비밀번호"})
    shown = text(response.content)
    assert "와/과" not in shown
    assert "사용자 이름 또는 비밀번호가 올바르지 않습니다" in shown


def test_make_run_writes_links_for_the_port_it_serves(tmp_path):
    env = {key: value for key, value in os.environ.items() if key not in {"SITE_URL", "MAKEFLAGS", "MFLAGS"}}
    dry_run = subprocess.run(
        ["make", "--no-print-directory", "-n", "run", "WEB_PORT=8201"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert 'SITE_URL="http://127.0.0.1:8201"' in dry_run
    chosen = subprocess.run(
        ["make", "--no-print-directory", "-n", "run", "WEB_PORT=8201"],
        cwd=REPO,
        env={**env, "SITE_URL": "https://tracker.example.kr"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert 'SITE_URL="https://tracker.example.kr"' in chosen

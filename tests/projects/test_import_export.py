"""Spreadsheet import and export of the portfolio: round trip, encodings, all-or-nothing, history, admin, commands.

A refused file must leave the database exactly as it was; ``portfolio_state`` is what "exactly" means here: every
project and milestone column, their managers and partners, departments, organizations and history rows.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
from collections.abc import Iterator

import openpyxl
import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from projects import roles
from projects.models import CoreProject, Department, Milestone, Organization, Plan
from projects.money import eok_to_won
from projects.spreadsheets.columns import MILESTONES, PROJECTS, CoreProjectResource, MilestoneResource
from projects.spreadsheets.files import blank_template, portfolio_export, portfolio_import, read_sheets
from tests.conftest import shared_rows
from tests.factories import UserFactory
from tests.seeded import plan_and_demo_load

pytestmark = pytest.mark.django_db

PROJECT_HEADERS = CoreProjectResource().column_names()
MILESTONE_HEADERS = MilestoneResource().column_names()
HANGUL = re.compile(r"[가-힣]")


# Helpers ---------------------------------------------------------------------------------------------------


def portfolio_state() -> dict:
    """Everything an import may touch, in a comparable form: every column of every project and milestone (their
    versions and updated_at included), their managers and partners, departments, organizations and history rows.

    Read as plain rows (``values()``), not model instances: the property-based test below takes it 120 times.
    """
    return {
        "projects": list(CoreProject.objects.order_by("pk").values()),
        "managers": sorted(CoreProject.managers.through.objects.values_list("coreproject_id", "user_id")),
        "partners": sorted(CoreProject.partners.through.objects.values_list("coreproject_id", "organization_id")),
        "milestones": list(Milestone.objects.order_by("pk").values()),
        "departments": list(Department.objects.order_by("pk").values_list("pk", "name")),
        "organizations": list(Organization.objects.order_by("pk").values_list("pk", "name", "kind")),
        "project_history": CoreProject.history.count(),
        "milestone_history": Milestone.history.count(),
    }


def csv_bytes(rows: list[list], *, encoding: str = "utf-8-sig") -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode(encoding)


def xlsx_bytes(sheets: dict[str, list[list]]) -> bytes:
    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for title, rows in sheets.items():
        sheet = workbook.create_sheet(title)
        for row in rows:
            sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def csv_rows(content: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))


def project_row(**values) -> list:
    """A valid project row for the seeded plan, in PROJECT_HEADERS order; keyword names are the Korean headers."""
    base = {
        "전략": "S1",
        "추진과제": "T01",
        "사업코드": "NEW-01",
        "사업명": "신규 시험 사업",
        "구분": "신규",
        "주관부서": "해양농수산국",
        "총사업비(억원)": "100",
        "국비": "50",
        "시비": "30",
        "민자": "20",
        "사업기간": "2026-2030",
        "담당자 이메일": "",
        "대표사업": "아니오",
        "연계 정부사업": "",
        "추진 상태": "정상",
        "요청 지원": "재정",
        "협력기관": "",
        "사업명(영문)": "",
        "사업 개요": "",
    }
    base.update(values)
    return [base[header] for header in PROJECT_HEADERS]


@pytest.fixture(scope="module")
def _plan_and_demo_rows(django_db_setup, django_db_blocker) -> Iterator[None]:
    """The plan (load_seeds) and its sample portfolio (seed_demo), made once for this module (tests/seeded.py);
    every test runs in its own savepoint on top, so what one test imports is gone for the next (tests/conftest.py)."""
    with shared_rows(django_db_blocker):
        plan_and_demo_load()
        yield


@pytest.fixture
def plan(_plan_and_demo_rows, db) -> Plan:
    """The 2025 plan as announced, with the sample portfolio around it (what `make run` loads)."""
    return Plan.objects.get(code="busan-2025")


@pytest.fixture
def seeded_plan(plan) -> Plan:
    """The plan filled out to 71 projects by the sample portfolio."""
    return plan


@pytest.fixture
def importer(db):
    return UserFactory(username="importer", email="importer@busan.example", role=roles.ADMIN, is_staff=True)


# Round trip ------------------------------------------------------------------------------------------------


def test_export_then_import_changes_nothing_on_the_seeded_plan(seeded_plan, importer):
    assert seeded_plan.projects.count() == 71
    before = portfolio_state()
    content = portfolio_export(plan=seeded_plan, file_format="xlsx")

    report = portfolio_import(content=content, user=importer, file_name="portfolio.xlsx")

    assert not report.refused, [str(problem) for problem in report.problems]
    assert [(sheet.kind, sheet.created, sheet.updated, sheet.unchanged) for sheet in report.sheets] == [
        (PROJECTS, 0, 0, 71),
        (MILESTONES, 0, 0, Milestone.objects.count()),
    ]
    assert portfolio_state() == before  # no new history rows, no version bumps, no new departments


def test_csv_round_trip_for_each_kind_in_every_encoding(seeded_plan):
    before = portfolio_state()
    for kind in (PROJECTS, MILESTONES):
        for encoding in ("utf-8-sig", "utf-8", "cp949"):
            content = portfolio_export(plan=seeded_plan, file_format="csv", kinds=(kind,), encoding=encoding)

            report = portfolio_import(content=content, file_name=f"{kind}.csv")

            assert not report.refused, (kind, encoding, [str(problem) for problem in report.problems])
            assert report.sheets[0].created == report.sheets[0].updated == 0
            assert portfolio_state() == before


def test_export_has_exactly_the_import_columns_with_amounts_in_eok(seeded_plan):
    project = seeded_plan.projects.get(code="S1-01")
    project.budget_total, project.budget_national = eok_to_won("19270"), eok_to_won("0.5")
    project.save()
    workbook = openpyxl.load_workbook(io.BytesIO(portfolio_export(plan=seeded_plan, file_format="xlsx")))

    assert workbook.sheetnames == ["핵심사업", "마일스톤"]
    projects, milestones = workbook["핵심사업"], workbook["마일스톤"]
    assert [cell.value for cell in projects[1]] == PROJECT_HEADERS
    assert [cell.value for cell in milestones[1]] == MILESTONE_HEADERS
    row = next(row for row in projects.iter_rows(min_row=2, values_only=True) if row[2] == "S1-01")
    values = dict(zip(PROJECT_HEADERS, row, strict=True))
    assert values["총사업비(억원)"] == 19270
    assert values["국비"] == 0.5
    assert values["전략"] == "S1. 해양-미래기술 대융합"
    assert values["대표사업"] == "예"
    due = next(milestones.iter_rows(min_row=2, max_row=2, values_only=True))[4]
    assert isinstance(due, dt.datetime)  # a real date cell, not text


def test_export_needs_the_same_few_queries_however_many_projects(seeded_plan):
    def export_queries() -> int:
        with CaptureQueriesContext(connection) as queries:
            portfolio_export(plan=seeded_plan, file_format="xlsx")
        return len(queries)

    before = export_queries()
    task = seeded_plan.projects.first().task
    for number in range(20):
        project = CoreProject.objects.create(task=task, code=f"MORE-{number}", name=f"추가 사업 {number}")
        project.managers.add(UserFactory())
        Milestone.objects.create(project=project, title="추가 마일스톤", due_date=dt.date(2027, 1, 5))

    # Projects: a page count, the page, managers, partners. Milestones: a page. Users' e-mails: once.
    assert export_queries() == before <= 8


# Hangul headers, encodings and formats ---------------------------------------------------------------------


def test_cp949_csv_with_hangul_headers_creates_projects(plan, importer):
    owner = UserFactory(username="pm-kim", email="Kim@Busan.example", role=roles.PROJECT_MANAGER)
    rows = [
        ["부산 경제성장 혁신전략 핵심사업 목록 (2025. 11.)"],  # a title line above the header is fine
        ["사업 코드", "사업명", "전략", "추진과제", "구분(신규/고도화/확대)", "주관부서", "총사업비(억원)",
         "국비(억원)", "시비", "민자", "사업기간", "담당자 이메일", "대표사업", "추진 상태", "협력기관"],
        ["S2-07", "AI 반도체 실증 테스트베드", "S2. 인공지능(AI) 기반 기술혁신 고도화", "T04", "고도화", "디지털경제실",
         "1,250.5", "600", "400", "0", "2026~2029", "kim@busan.example", "", "주의", "부산테크노파크, 부산대학교"],
        ["S4-03", "에이지테크 실증 단지", "라이프산업 활성화(붐업)", "고령 친화 기술(에이지 테크) 활성화", "확대", "",
         "", "0", "0", "0", "2027", "", "예", "", ""],
    ]  # fmt: skip
    content = csv_bytes(rows, encoding="cp949")
    with pytest.raises(UnicodeDecodeError):
        content.decode("utf-8")

    report = portfolio_import(content=content, user=importer, file_name="핵심사업.csv")

    assert not report.refused, [str(problem) for problem in report.problems]
    assert report.sheets[0].created == 2
    ai = CoreProject.objects.get(code="S2-07")
    assert (ai.task.code, ai.category, ai.rag_status) == ("T04", "upgraded", "at_risk")
    assert ai.budget_total == 125_050_000_000
    assert (ai.budget_national, ai.budget_city, ai.budget_private) == (eok_to_won(600), eok_to_won(400), 0)
    assert (ai.start_year, ai.end_year) == (2026, 2029)
    assert list(ai.managers.all()) == [owner]
    assert ai.lead_department.name == "디지털경제실"
    assert sorted(ai.partners.values_list("name", flat=True)) == ["부산대학교", "부산테크노파크"]
    age = CoreProject.objects.get(code="S4-03")
    assert (age.task.code, age.budget_total, age.start_year, age.end_year, age.is_flagship) == (
        "T10",
        None,
        2027,
        2027,
        True,
    )
    assert age.history.get().history_user == importer


def test_xlsx_with_hangul_headers_creates_milestones_from_date_and_number_cells(plan):
    project = plan.projects.get(code="S1-01")
    header = ["사업코드", "유형", "마일스톤", "소관부처", "기한", "상태", "달성일", "신청액(억원)", "확보액", "비고"]
    funding_row = ["S1-01", "국비 신청", "2027년 국비 신청", "해양수산부", dt.datetime(2026, 4, 15), "예정"]
    funding_row += [None, 120.5, None, ""]
    contest_row = ["S1-01", "정부 공모", "AX 센터 공모 신청", "과학기술정보통신부", "2026. 3. 2.", "달성"]
    contest_row += ["2026.3.2", 80, 75, "선정"]
    content = xlsx_bytes(
        {
            "작성 안내": [["열", "설명"], ["사업코드", "사업의 코드"]],  # ignored: not a portfolio sheet
            "마일스톤": [header, funding_row, contest_row],
        }
    )

    report = portfolio_import(content=content)

    assert not report.refused, [str(problem) for problem in report.problems]
    assert [(sheet.kind, sheet.created) for sheet in report.sheets] == [(MILESTONES, 2)]
    funding = project.milestones.get(kind="national_funding")
    assert (funding.due_date, funding.amount_requested, funding.status) == (
        dt.date(2026, 4, 15),
        12_050_000_000,
        "planned",
    )
    contest = project.milestones.get(kind="public_contest")
    assert (contest.status, contest.completed_on, contest.amount_secured) == (
        "achieved",
        dt.date(2026, 3, 2),
        eok_to_won(75),
    )


def test_number_cells_are_read_to_the_won_and_typed_text_exactly(plan):
    noisy = 295.40000000000003  # what Excel's =A1*0.28 leaves in a cell
    content = xlsx_bytes({"사업": [PROJECT_HEADERS, project_row(**{"총사업비(억원)": 1000, "국비": noisy})]})
    assert not portfolio_import(content=content).refused
    assert CoreProject.objects.get(code="NEW-01").budget_national == 29_540_000_000

    typed = portfolio_import(content=csv_bytes([PROJECT_HEADERS, project_row(사업코드="NEW-02", 국비="0.123456789")]))
    assert [(problem.row, problem.column) for problem in typed.problems] == [(2, "국비")]


def test_a_workbook_adds_a_project_and_its_milestones_at_once(plan):
    content = xlsx_bytes(
        {
            "사업": [PROJECT_HEADERS, project_row(사업코드="NEW-77")],
            "일정": [MILESTONE_HEADERS, ["NEW-77", "협약", "사업 협약", "", "2026-09-01", "", "", "", "", "", ""]],
        }
    )

    report = portfolio_import(content=content)

    assert not report.refused, [str(problem) for problem in report.problems]
    assert Milestone.objects.get(project__code="NEW-77").title == "사업 협약"


# Updates and history ---------------------------------------------------------------------------------------


def test_an_edited_file_updates_by_code_and_records_the_change_under_the_importer(seeded_plan, importer):
    rows = csv_rows(portfolio_export(plan=seeded_plan, file_format="csv", kinds=(PROJECTS,)))
    index = next(number for number, row in enumerate(rows) if row[2] == "S3-01")
    rows[index][PROJECT_HEADERS.index("국비")] = "12.5"
    history_before = CoreProject.history.count()

    report = portfolio_import(content=csv_bytes(rows), user=importer, file_name="고친 파일.csv")

    assert (report.sheets[0].created, report.sheets[0].updated, report.sheets[0].unchanged) == (0, 1, 70)
    project = CoreProject.objects.get(code="S3-01")
    assert project.budget_national == 1_250_000_000
    assert CoreProject.history.count() == history_before + 1
    latest = project.history.first()
    assert latest.history_user == importer
    assert latest.history_change_reason == "스프레드시트 가져오기: 고친 파일.csv"


@pytest.mark.parametrize("kind", [PROJECTS, MILESTONES])
def test_a_long_file_name_is_cut_in_the_history_and_never_refuses_a_row(seeded_plan, importer, kind):
    """The history's reason column holds 100 characters: "스프레드시트 가져오기: " and a 95-character file name
    are cut to fit, in the preview and the import alike (on PostgreSQL a longer reason refused every changed row)."""
    name = "가" * 95 + ".csv"
    rows = csv_rows(portfolio_export(plan=seeded_plan, file_format="csv", kinds=(kind,)))
    text_column, text_field = ("사업 개요", "description") if kind == PROJECTS else ("비고", "notes")
    rows[1][(PROJECT_HEADERS if kind == PROJECTS else MILESTONE_HEADERS).index(text_column)] = "긴 파일 이름으로 고침"

    for dry_run in (True, False):
        report = portfolio_import(
            content=csv_bytes(rows), user=importer, plan=seeded_plan, kind=kind, file_name=name, dry_run=dry_run
        )
        assert not report.problems, report.problems[:3]

    model = CoreProject if kind == PROJECTS else Milestone
    reason = model.history.filter(**{text_field: "긴 파일 이름으로 고침"}).get().history_change_reason
    assert reason == f"스프레드시트 가져오기: {name}"[:99] + "…" and len(reason) == 100


def test_a_changed_milestone_row_bumps_its_version_once_and_keeps_the_status_rule(seeded_plan, importer):
    milestone = Milestone.objects.filter(status="achieved").first()
    rows = csv_rows(portfolio_export(plan=seeded_plan, file_format="csv", kinds=(MILESTONES,)))
    status_column, notes_column = MILESTONE_HEADERS.index("상태"), MILESTONE_HEADERS.index("비고")
    index = next(n for n, row in enumerate(rows) if row[:3] == [milestone.project.code, "정부 공모", milestone.title]
                 or (row[0] == milestone.project.code and row[2] == milestone.title))  # fmt: skip
    rows[index][notes_column] = "결과 보고 완료"

    portfolio_import(content=csv_bytes(rows), user=importer)
    milestone.refresh_from_db()
    assert (milestone.notes, milestone.version) == ("결과 보고 완료", 2)

    rows[index][status_column] = "예정"
    report = portfolio_import(content=csv_bytes(rows), user=importer)
    assert [(problem.row, problem.column, problem.message) for problem in report.problems] == [
        (index + 1, "상태", "'달성'에서 '예정'(으)로 바꿀 수 없습니다.")
    ]


def test_importing_needs_a_portfolio_admin(plan, owner):
    with pytest.raises(PermissionDenied):
        portfolio_import(content=csv_bytes([PROJECT_HEADERS, project_row()]), user=owner)
    assert not CoreProject.objects.filter(code="NEW-01").exists()


# All or nothing --------------------------------------------------------------------------------------------


def test_one_bad_row_among_hundreds_leaves_the_database_exactly_as_it_was(seeded_plan, importer):
    rows = csv_rows(portfolio_export(plan=seeded_plan, file_format="csv", kinds=(MILESTONES,)))
    projects = list(seeded_plan.projects.values_list("code", flat=True))
    for number in range(300):  # three hundred new milestones, and every existing one changed
        rows.append([projects[number % len(projects)], "기타", f"점검 회의 {number:03d}", "부산광역시",
                     f"2027-{number % 12 + 1:02d}-10", "예정", "", "", "", "", ""])  # fmt: skip
    for row in rows[1:]:
        row[MILESTONE_HEADERS.index("비고")] = "일괄 수정"
    bad_index = 250
    rows[bad_index][MILESTONE_HEADERS.index("기한")] = "2027-02-30"
    assert len(rows) > 500
    before = portfolio_state()

    report = portfolio_import(content=csv_bytes(rows), user=importer)

    assert report.refused
    assert [(problem.row, problem.column) for problem in report.problems] == [(bad_index + 1, "기한")]
    assert "날짜가 아닙니다" in report.problems[0].message
    assert portfolio_state() == before


def test_every_refused_row_is_listed_with_its_column_and_a_korean_reason(plan, importer):
    rows = [
        PROJECT_HEADERS,
        project_row(사업코드="A-1"),
        project_row(사업코드="A-2", **{"총사업비(억원)": "많음"}),
        project_row(사업코드="A-3", 전략="S9"),
        project_row(사업코드="A-1"),
        project_row(사업코드="A-5", **{"담당자 이메일": "nobody@busan.example"}),
        project_row(사업코드="A-6", 국비="99999999999"),
        project_row(사업코드="A-7", **{"총사업비(억원)": "10"}),
        project_row(사업코드="A-8", 사업기간="2030-2026"),
        project_row(사업코드="A-9", 구분="최우선"),
        project_row(사업코드="", 사업명=""),
        project_row(사업코드="A-11", 사업명="[예시] 흉내 낸 사업"),
        project_row(사업코드="A-12", 추진과제="T05"),
    ]
    before = portfolio_state()

    report = portfolio_import(content=csv_bytes(rows), user=importer)

    found = {(problem.row, problem.column) for problem in report.problems}
    assert found == {
        (3, "총사업비(억원)"),
        (4, "전략"),
        (5, "사업코드"),
        (6, "담당자 이메일"),
        (7, "국비"),
        (8, "총사업비(억원)"),
        (9, "사업기간"),
        (10, "구분"),
        (11, "사업코드"),
        (11, "사업명"),
        (12, "사업명"),
        (13, "추진과제"),
    }
    assert all(HANGUL.search(problem.message) for problem in report.problems)
    assert "2행에도 있습니다" in next(p.message for p in report.problems if p.row == 5)
    assert portfolio_state() == before


def test_header_problems_are_reported_before_any_row(plan):
    rows = [["사업코드", "사업명", "전략", "국비(백만원)", "국비"], ["X-1", "이름", "S1", "1", "1"]]

    report = portfolio_import(content=csv_bytes(rows), kind=PROJECTS)

    messages = [str(problem) for problem in report.problems]
    assert any("알 수 없는 열 '국비(백만원)'" in message for message in messages)
    assert any("꼭 있어야 할 열이 없습니다: 추진과제" in message for message in messages)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "빈 파일입니다."),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "스프레드시트(XLSX 또는 CSV) 파일이 아닙니다."),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64, "예전 Excel 형식(.xls)"),
        (b"PK\x03\x04 not really a zip", "XLSX 파일을 열 수 없습니다"),
        (b"\xff\xfe\xfa broken", "인코딩을 알 수 없습니다"),
        ("사업코드,사업명,전략,추진과제\n".encode(), "가져올 행이 없습니다."),
        (b"a,b,c\n1,2,3\n", "열 머리글을 찾지 못했습니다"),
    ],
)
def test_unreadable_files_get_one_clear_message(plan, content, expected):
    report = portfolio_import(content=content)
    assert report.refused
    assert expected in str(report.problems[0])


def test_a_formula_without_its_computed_value_is_refused_with_its_cell(plan):
    content = xlsx_bytes({"사업": [PROJECT_HEADERS, project_row(국비="=10+40")]})

    report = portfolio_import(content=content)

    assert [(problem.row, problem.column) for problem in report.problems] == [(2, "국비")]
    assert "수식" in report.problems[0].message


def test_a_formula_is_read_as_the_value_its_workbook_saved(plan):
    written = xlsx_bytes({"사업": [PROJECT_HEADERS, project_row(국비="=10+40")]})
    saved = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(written)) as source, zipfile.ZipFile(saved, "w") as target:
        for part in source.infolist():  # the value Excel saves with a formula (openpyxl writes none)
            target.writestr(part, source.read(part).replace(b"<f>10+40</f><v />", b"<f>10+40</f><v>50</v>"))

    report = portfolio_import(content=saved.getvalue())

    assert report.saved, report.problems
    assert CoreProject.objects.get(code="NEW-01").budget_national == eok_to_won(50)


# Malformed files, generated ---------------------------------------------------------------------------------

BASE_ROWS = [project_row(사업코드=f"HYP-{number}", 사업명=f"시험 사업 {number}") for number in range(1, 4)]

CELL_MUTATIONS = {
    # column: values that must each be refused there
    "국비": st.sampled_from(["많음", "-5", "1e30", "NaN", "Infinity", "0.000000001", "99999999999999999999999"]),
    "총사업비(억원)": st.sampled_from(["abc", "1,2,3억원?", "-0.01", "1" * 60]),
    "전략": st.sampled_from(["S9", "존재하지 않는 전략", "", "S1.5"]),
    "추진과제": st.sampled_from(["T99", "", "T05"]),
    "사업기간": st.sampled_from(["2030-2026", "내년", "1800-1900", "2026-2030-2040"]),
    "구분": st.sampled_from(["최우선", "new!"]),
    "대표사업": st.sampled_from(["아마도", "2"]),
    "담당자 이메일": st.sampled_from(["nobody@busan.example", "nobody"]),
    "사업명": st.sampled_from(["", "가" * 301, "제어\x07문자", "[예시] 흉내"]),
    "사업코드": st.sampled_from(["", "코" * 31]),
}


@st.composite
def malformed_files(draw) -> tuple[bytes, tuple[int, str] | None]:
    """A file the importer must refuse, and (row, column) where that is knowable."""
    family = draw(st.sampled_from(["bytes", "cell", "missing_column", "duplicate_code", "empty", "formula", "types"]))
    as_xlsx = draw(st.booleans())
    rows = [list(PROJECT_HEADERS), *[list(row) for row in BASE_ROWS]]
    expected = None
    if family == "bytes":
        return draw(st.binary(min_size=0, max_size=300).filter(lambda data: b"," not in data)), None
    if family == "cell":
        column = draw(st.sampled_from(sorted(CELL_MUTATIONS)))
        row_index = draw(st.integers(1, len(BASE_ROWS)))
        rows[row_index][PROJECT_HEADERS.index(column)] = draw(CELL_MUTATIONS[column])
        expected = (row_index + 1, column)
    elif family == "missing_column":
        column = draw(st.sampled_from(["사업코드", "사업명", "전략", "추진과제"]))
        position = PROJECT_HEADERS.index(column)
        rows = [row[:position] + row[position + 1 :] for row in rows]
    elif family == "duplicate_code":
        rows.append(list(rows[1]))
        expected = (len(rows), "사업코드")
    elif family == "empty":
        rows = draw(
            st.sampled_from([[], [list(PROJECT_HEADERS)], [list(PROJECT_HEADERS), [""] * len(PROJECT_HEADERS)]])
        )
    elif family == "formula":
        as_xlsx = True
        column = draw(st.sampled_from(["국비", "사업명", "전략"]))
        rows[2][PROJECT_HEADERS.index(column)] = "=SUM(A1:A3)"
        expected = (3, column)
    elif family == "types":
        as_xlsx = True
        column = draw(st.sampled_from(["국비", "사업명", "전략", "사업기간"]))
        value = draw(st.sampled_from([True, dt.datetime(2026, 1, 1, 9, 30), dt.time(10, 0), -1, 10**40]))
        if column == "사업명" and isinstance(value, int) and not isinstance(value, bool):
            value = True
        if column == "사업기간" and value == -1:
            value = True
        rows[1][PROJECT_HEADERS.index(column)] = value
        expected = (2, column)
    if as_xlsx and not any(isinstance(cell, str) and "\x07" in cell for row in rows for cell in row):
        return xlsx_bytes({"사업": rows}), expected
    return csv_bytes(rows, encoding=draw(st.sampled_from(["utf-8-sig", "cp949"]))), expected


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=malformed_files())
def test_malformed_files_get_a_clear_error_never_a_crash_never_a_partial_write(plan, importer, case):
    content, expected = case
    before = portfolio_state()

    report = portfolio_import(content=content, user=importer, kind=PROJECTS)

    assert report.refused
    for problem in report.problems:
        assert HANGUL.search(problem.message), problem
        assert "Traceback" not in problem.message
        assert "처리하지 못했습니다" not in problem.message, problem  # a row that crashed rather than validated
    if expected is not None:
        assert expected in {(problem.row, problem.column) for problem in report.problems}, report.problems
    assert portfolio_state() == before


# Blank template --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", [PROJECTS, MILESTONES])
def test_the_blank_template_has_the_import_headers_and_a_guide(kind, plan):
    workbook = openpyxl.load_workbook(io.BytesIO(blank_template(kind=kind)))
    first, guide = workbook.worksheets
    assert [cell.value for cell in first[1]] == (PROJECT_HEADERS if kind == PROJECTS else MILESTONE_HEADERS)
    assert guide.title == "작성 안내"
    sheets = read_sheets(blank_template(kind=kind))
    assert [sheet.kind for sheet in sheets] == [kind, None]


# Commands --------------------------------------------------------------------------------------------------


def test_export_and_import_commands_round_trip(seeded_plan, tmp_path):
    path = tmp_path / "portfolio.xlsx"
    out = io.StringIO()
    call_command("export_portfolio", str(path), stdout=out)
    assert f"핵심사업 71건, 마일스톤 {Milestone.objects.count()}건" in out.getvalue()
    before = portfolio_state()

    out = io.StringIO()
    call_command("import_portfolio", str(path), "--user", "demo_admin", stdout=out)

    assert "핵심사업 '핵심사업': 새로 만듦 0, 고침 0, 그대로 71" in out.getvalue()
    assert portfolio_state() == before


def test_import_command_dry_run_saves_nothing(plan, tmp_path):
    path = tmp_path / "new.csv"
    path.write_bytes(csv_bytes([PROJECT_HEADERS, project_row()], encoding="cp949"))
    out = io.StringIO()

    call_command("import_portfolio", str(path), "--dry-run", stdout=out)

    assert "새로 만듦 1" in out.getvalue() and "저장하지 않았습니다" in out.getvalue()
    assert not CoreProject.objects.filter(code="NEW-01").exists()


def test_import_command_lists_the_refused_rows_and_fails(plan, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_bytes(csv_bytes([PROJECT_HEADERS, project_row(), project_row(사업코드="NEW-02", 국비="abc")]))
    err = io.StringIO()

    with pytest.raises(CommandError, match="가져오기를 거부했습니다: 문제 1건"):
        call_command("import_portfolio", str(path), "--kind", "projects", stderr=err, stdout=io.StringIO())

    assert "3행 국비: 'abc'은(는) 금액이 아닙니다" in err.getvalue()
    assert not CoreProject.objects.filter(code="NEW-01").exists()


def test_export_command_refuses_a_csv_without_a_kind(plan, tmp_path):
    with pytest.raises(CommandError, match="--kind"):
        call_command("export_portfolio", str(tmp_path / "x.csv"))


# Admin -----------------------------------------------------------------------------------------------------


def upload(client, model: str, content: bytes, name: str, plan: Plan):
    url = reverse(f"admin:projects_{model}_import")
    upload_file = io.BytesIO(content)
    upload_file.name = name
    return client.post(url, {"import_file": upload_file, "format": "0", "resource": "0", "plan": plan.pk})


def test_admin_import_previews_then_confirms(admin_client, superuser, seeded_plan):
    rows = csv_rows(portfolio_export(plan=seeded_plan, file_format="csv", kinds=(PROJECTS,)))
    rows[1][PROJECT_HEADERS.index("연계 정부사업")] = "국정과제 연계 (수정)"
    rows.append(project_row(사업코드="NEW-50", 사업명="관리자 화면으로 추가한 사업"))
    before = portfolio_state()

    preview = upload(admin_client, "coreproject", csv_bytes(rows, encoding="cp949"), "핵심사업.csv", seeded_plan)

    assert preview.status_code == 200
    page = preview.content.decode()
    assert "새로 만듦 1 · 고침 1 · 그대로 70 · 거부 0" in page
    assert "관리자 화면으로 추가한 사업" in page
    assert portfolio_state() == before  # the preview wrote nothing
    confirm = preview.context["confirm_form"]

    done = admin_client.post(reverse("admin:projects_coreproject_process_import"), confirm.initial)

    assert done.status_code == 302
    created = CoreProject.objects.get(code="NEW-50")
    assert created.history.get().history_user == superuser
    assert CoreProject.objects.get(code=rows[1][2]).government_programme == "국정과제 연계 (수정)"


def test_admin_import_preview_lists_refused_rows_and_offers_no_confirm(admin_client, plan):
    rows = [PROJECT_HEADERS, project_row(), project_row(사업코드="NEW-02", 시비="-1")]

    response = upload(admin_client, "coreproject", csv_bytes(rows), "bad.csv", plan)

    assert response.status_code == 200
    assert "confirm_form" not in response.context
    page = response.content.decode()
    assert "가져오기를 거부했습니다: 문제 1건" in page
    assert "금액은 0 이상이어야 합니다." in page
    assert not CoreProject.objects.filter(code="NEW-01").exists()


def test_admin_import_of_a_non_spreadsheet_says_so(admin_client, plan):
    response = upload(admin_client, "milestone", b"%PDF-1.4\x00\x00binary", "report.pdf", plan)

    assert response.status_code == 200
    assert "스프레드시트(XLSX 또는 CSV) 파일이 아닙니다." in response.content.decode()


def test_admin_milestone_import_reads_the_milestone_sheet_of_an_exported_workbook(admin_client, seeded_plan):
    content = portfolio_export(plan=seeded_plan, file_format="xlsx")

    response = upload(admin_client, "milestone", content, "portfolio.xlsx", seeded_plan)

    assert f"그대로 {Milestone.objects.count()}" in response.content.decode()


def test_admin_export_button_and_action_give_the_import_columns(admin_client, seeded_plan):
    before = portfolio_state()
    response = admin_client.post(reverse("admin:projects_coreproject_export"), {"format": "0", "resource": "0"})
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="projects-')
    assert not portfolio_import(content=response.getvalue()).refused
    assert portfolio_state() == before

    action = admin_client.post(
        reverse("admin:projects_milestone_changelist"),
        {"action": "export_admin_action", "_selected_action": list(Milestone.objects.values_list("pk", flat=True)[:2])},
    )
    assert action.status_code == 200 and "export_items" in action.content.decode()


def test_admin_blank_template_downloads(admin_client, plan):
    response = admin_client.get(reverse("admin:projects_milestone_import_template"))
    assert response.status_code == 200
    workbook = openpyxl.load_workbook(io.BytesIO(response.content))
    assert [cell.value for cell in workbook.worksheets[0][1]] == MILESTONE_HEADERS
    changelist = admin_client.get(reverse("admin:projects_milestone_changelist")).content.decode()
    assert reverse("admin:projects_milestone_import_template") in changelist


def test_admin_import_is_refused_to_staff_without_the_admin_role(client, plan):
    tf_head = UserFactory(username="tf-head", role=roles.TF_HEAD, is_staff=True)
    client.force_login(tf_head)
    assert client.get(reverse("admin:projects_coreproject_import")).status_code == 403


@pytest.mark.parametrize("kind, file_format", [("milestone", "csv"), ("coreproject", "csv"), ("milestone", "xlsx")])
def test_admin_export_streams_the_file_export_portfolio_writes(admin_client, seeded_plan, kind, file_format):
    """The admin's export is streamed row by row (no size of portfolio waits on one response), cell for cell the
    file of `export_portfolio`, read back by the import without a change."""
    sheet = MILESTONES if kind == "milestone" else PROJECTS
    before = portfolio_state()
    response = admin_client.post(
        reverse(f"admin:projects_{kind}_export"), {"format": "1" if file_format == "csv" else "0", "resource": "0"}
    )
    assert response.status_code == 200 and response.streaming
    content = response.getvalue()
    expected = portfolio_export(plan=seeded_plan, file_format=file_format, kinds=(sheet,))
    if file_format == "csv":
        assert content.startswith(b"\xef\xbb\xbf")
        assert sorted(csv_rows(content)) == sorted(csv_rows(expected))
    else:
        streamed, written = (openpyxl.load_workbook(io.BytesIO(data)).worksheets[0] for data in (content, expected))
        assert streamed.title == written.title
        assert sorted(streamed.values, key=str) == sorted(written.values, key=str)
    assert not portfolio_import(content=content, plan=seeded_plan).refused
    assert portfolio_state() == before

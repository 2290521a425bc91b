"""Reading and writing the portfolio spreadsheet (XLSX, or CSV in UTF-8 or CP949) around projects.spreadsheets.columns.

``portfolio_import`` and ``portfolio_export`` are what the commands call; the admin goes through the same
Resources with ``PortfolioFileFormat``. Files are read with openpyxl and Python's csv module into tablib
datasets, the form django-import-export works on.
"""

from __future__ import annotations

import contextlib
import contextvars
import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

import tablib
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from import_export.formats import base_formats

from projects.models import Plan
from projects.permissions import is_portfolio_admin
from projects.spreadsheets.cells import MissingFormulaValue, cell_text_or_none, header_base, header_key
from projects.spreadsheets.columns import (
    MILESTONES,
    PROJECTS,
    RESOURCES,
    ImportProblem,
    PortfolioResult,
    detect_kind,
    kind_label,
)
from projects.spreadsheets.previews import file_digest
from projects.spreadsheets.safety import neutralised_dataset, restore
from projects.table_exports import xlsx_workbook_write

# An XLSX sheet holds 1,048,576 rows: a header and 1,048,575 data rows. No export the tracker writes can be
# longer, so every export it produces imports back (20,000 stopped the round trip at ×30 of the plan).
MAX_ROWS = 1_048_575
MAX_COLUMNS = 100
HEADER_SEARCH_ROWS = 10
XLSX_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls and other pre-2007 Office files
CSV_ENCODINGS = ("utf-8-sig", "cp949")
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class PortfolioFileError(Exception):
    """The file as a whole cannot be read; the message says why, in Korean."""


# Reading ---------------------------------------------------------------------------------------------------


def read_sheets(content: bytes) -> list[tablib.Dataset]:
    """Every sheet of an XLSX file, or the one table of a CSV file, with its header row found and rows numbered.

    Each dataset carries ``title``, ``kind`` (projects, milestones or None), ``header_row`` and ``row_numbers``
    (the spreadsheet's own number of every data row), so that problems can name the row a person sees.
    """
    if not content:
        raise PortfolioFileError(_("빈 파일입니다."))
    if content.startswith(XLSX_MAGIC):
        return _read_xlsx(content)
    if content.startswith(OLE_MAGIC):
        raise PortfolioFileError(
            _("예전 Excel 형식(.xls)은 읽지 못합니다. Excel에서 'Excel 통합 문서(.xlsx)'로 저장해 올려 주세요.")
        )
    return [_read_csv(content)]


def xlsx_expansion_check(content: bytes) -> None:
    """Refuse an XLSX (a zip) whose parts would unpack to more than the limit, before anything unpacks them.

    A few hundred kilobytes can hold gigabytes of repeated XML (a zip bomb); openpyxl would unpack and parse
    them in the web process. The sizes in the zip's directory are the ones Python's zipfile holds every part to.
    """
    import zipfile

    limit = settings.UPLOAD_XLSX_MAX_UNPACKED_BYTES
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            unpacked = sum(member.file_size for member in archive.infolist())
    except (zipfile.BadZipFile, ValueError, OSError) as error:
        raise PortfolioFileError(
            _("XLSX 파일을 열 수 없습니다. 손상되었거나 Excel 파일이 아닙니다. (%(error)s)")
            % {"error": type(error).__name__}
        ) from error
    if unpacked > limit:
        raise PortfolioFileError(
            _("XLSX 파일의 압축을 풀면 %(size)s MB로, 한도(%(limit)s MB)를 넘습니다. 값만 남겨 다시 저장해 주세요.")
            % {"size": f"{unpacked / 1_048_576:,.0f}", "limit": f"{limit / 1_048_576:,.0f}"}
        )


OPEN_FAILED = gettext_lazy("XLSX 파일을 열 수 없습니다. 손상되었거나 Excel 파일이 아닙니다. (%(error)s)")
READ_FAILED = gettext_lazy("XLSX 파일을 읽는 중 문제가 생겼습니다. 손상된 파일일 수 있습니다. (%(error)s)")


@contextlib.contextmanager
def _xlsx_errors(message) -> Iterator[None]:
    """A damaged or foreign zip fails in many ways (BadZipFile, KeyError, XML errors…): one clear message."""
    try:
        yield
    except PortfolioFileError:
        raise
    except Exception as error:
        raise PortfolioFileError(str(message) % {"error": type(error).__name__}) from error


def _read_xlsx(content: bytes) -> list[tablib.Dataset]:
    """The workbook's sheets. Most files hold no formula: one values-only read. A file with formulas is also opened
    for the formulas' saved values (``_row_values``)."""
    import openpyxl

    xlsx_expansion_check(content)
    with contextlib.ExitStack() as opened:
        with _xlsx_errors(OPEN_FAILED):
            workbook = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=False)
            opened.callback(workbook.close)
            saved_sheets = [None] * len(workbook.worksheets)
            if _has_formulas(content):
                saved = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
                opened.callback(saved.close)
                saved_sheets = saved.worksheets
        with _xlsx_errors(READ_FAILED):
            sheets = []
            for sheet, saved_sheet in zip(workbook.worksheets, saved_sheets, strict=True):
                _check_columns(sheet)
                rows = []
                for number, values in enumerate(_row_values(sheet, saved_sheet), start=1):
                    _check_rows(sheet, number)
                    while values and values[-1] is None:
                        values.pop()  # read-only sheets pad every row to MAX_COLUMNS cells
                    rows.append(values)
                sheets.append(_dataset(rows, title=sheet.title))
            return sheets


def _row_values(sheet, saved_sheet) -> Iterator[list]:
    """Each row's values: the cells' own, or, with ``saved_sheet`` (the same sheet opened for computed values), each
    formula's saved value. A formula saved by a program has none, and must not be read as blank: it is a
    ``MissingFormulaValue``, which the columns refuse with its cell."""
    if saved_sheet is None:
        for row in sheet.iter_rows(max_col=MAX_COLUMNS, values_only=True):
            yield list(row)
        return
    saved_rows = saved_sheet.iter_rows(max_col=MAX_COLUMNS)
    for cells, saved_cells in zip(sheet.iter_rows(max_col=MAX_COLUMNS), saved_rows, strict=False):
        yield [_xlsx_value(saved_cell, cell) for saved_cell, cell in zip(saved_cells, cells, strict=False)]


# A cell's formula, in a worksheet's XML: <f>…</f>, <f t="shared" …/> (with or without a namespace prefix), and not
# <formula1> (data validation) or another element whose name starts with f.
_FORMULA_TAG = re.compile(rb"<(?:[A-Za-z0-9_]+:)?f[\s>/]")


def _has_formulas(content: bytes) -> bool:
    """Might the XLSX file hold a formula? Every XML part is searched (wherever the workbook keeps its sheets), so
    a formula is never missed; a chart's reference to a range counts too, and costs only the slower read."""
    import zipfile

    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return any(_FORMULA_TAG.search(archive.read(name)) for name in archive.namelist() if name.endswith(".xml"))


def _check_columns(sheet) -> None:
    if sheet.max_column and sheet.max_column > MAX_COLUMNS:
        raise PortfolioFileError(
            _("'%(sheet)s' 시트의 열이 너무 많습니다 (최대 %(max)d열).") % {"sheet": sheet.title, "max": MAX_COLUMNS}
        )


def _check_rows(sheet, number: int) -> None:
    if number > MAX_ROWS + 1:
        raise PortfolioFileError(
            _(
                "'%(sheet)s' 시트의 행이 너무 많습니다 (최대 %(max)s행). "
                "빈 서식만 남은 행이 많다면 지우고 저장해 주세요."
            )
            % {"sheet": sheet.title, "max": f"{MAX_ROWS:,}"}
        )


def _xlsx_value(value_cell, formula_cell):
    value = value_cell.value
    if value is None and getattr(formula_cell, "data_type", None) == "f":
        return MissingFormulaValue(getattr(formula_cell, "coordinate", ""))
    return value


def _read_csv(content: bytes) -> tablib.Dataset:
    if b"\x00" in content[:65536]:
        raise PortfolioFileError(_("스프레드시트(XLSX 또는 CSV) 파일이 아닙니다."))
    for encoding in CSV_ENCODINGS:
        try:
            text = content.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise PortfolioFileError(
            _("CSV 파일의 글자 인코딩을 알 수 없습니다. UTF-8 또는 CP949(EUC-KR)로 저장해 올려 주세요.")
        )
    first_line = text.split("\n", 1)[0]
    delimiter = "\t" if "\t" in first_line and "," not in first_line else ","
    rows = []
    try:
        for number, row in enumerate(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True), 1):
            if number > MAX_ROWS + 1:
                raise PortfolioFileError(_("행이 너무 많습니다 (최대 %(max)s행).") % {"max": f"{MAX_ROWS:,}"})
            if len(row) > MAX_COLUMNS:
                raise PortfolioFileError(_("열이 너무 많습니다 (최대 %(max)d열).") % {"max": MAX_COLUMNS})
            rows.append([restore(cell) for cell in row])  # the apostrophe our export put before a formula
    except csv.Error as error:
        raise PortfolioFileError(_("CSV 형식이 잘못되었습니다: %(error)s") % {"error": error}) from error
    return _dataset(rows, title="")


def _dataset(rows: list[list], *, title: str) -> tablib.Dataset:
    """A table whose header is the first row (among the first few) that names 사업코드."""
    header_index = 0
    for index, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        if any(header_base(header_key(cell_text_or_none(cell))) == "사업코드" for cell in row):
            header_index = index
            break
    header = rows[header_index] if rows else []
    body = rows[header_index + 1 :]
    width = max([len(header), *(len(row) for row in body)], default=0)
    headers = [cell_text_or_none(cell) for cell in header] + [""] * (width - len(header))
    dataset = tablib.Dataset(headers=headers or None, title=title or None)
    row_numbers = []
    for number, row in enumerate(body, start=header_index + 2):
        dataset.append(list(row) + [None] * (width - len(row)))
        row_numbers.append(number)
    dataset.row_numbers = row_numbers
    dataset.header_row = header_index + 1
    dataset.kind = detect_kind(headers)
    return dataset


# What ``PortfolioFileFormat`` read inside ``one_read_per_file()``: a file's digest → its dataset, or the error
# reading it raised. None outside such a block.
_READS: contextvars.ContextVar[dict[str, tablib.Dataset | Exception] | None] = contextvars.ContextVar(
    "portfolio_file_reads", default=None
)


@contextlib.contextmanager
def one_read_per_file() -> Iterator[None]:
    """Within the block, ``PortfolioFileFormat`` reads a given file once and hands the same dataset to whoever asks
    again: the admin's import request reads an upload to count its rows (is it a background job?), then
    django-import-export reads it for the preview."""
    token = _READS.set({})
    try:
        yield
    finally:
        _READS.reset(token)


class PortfolioFileFormat(base_formats.Format):
    """The admin's one import format: XLSX or CSV (UTF-8 or CP949), told apart by the file's content."""

    def __init__(self, encoding=None):
        self.encoding = encoding  # unused: the content says what it is

    def get_title(self):
        return "xlsx / csv"

    def create_dataset(self, in_stream):
        content = bytes(in_stream)
        digest = file_digest(content)
        reads = _READS.get()
        if reads is None:
            return _primary_dataset(content, digest)
        if digest not in reads:
            try:
                reads[digest] = _primary_dataset(content, digest)
            except Exception as error:  # the same error for the second reader, who reports it
                reads[digest] = error
        read = reads[digest]
        if isinstance(read, Exception):
            raise read
        return read

    def can_import(self):
        return True

    def get_extension(self):
        return "xlsx"


def _primary_dataset(content: bytes, digest: str) -> tablib.Dataset:
    """The sheet the admin imports (the first recognised one with rows), carrying every sheet of the file."""
    sheets = read_sheets(content)
    recognised = [sheet for sheet in sheets if sheet.kind] or sheets[:1]
    primary = next((sheet for sheet in recognised if sheet.height), None)
    if primary is None:
        raise PortfolioFileError(_("가져올 행이 없습니다."))
    primary.sheets = sheets
    primary.digest = digest  # lets a confirm reuse its preview (previews.py)
    return primary


# Writing ---------------------------------------------------------------------------------------------------


def workbook_bytes(datasets: list[tablib.Dataset]) -> bytes:
    """An XLSX file with one sheet per dataset: bold frozen header, dates as dates, amounts as numbers, text as
    text (a name starting with '=' stays text), multi-line text wrapped. Written directly as XML (fast at any
    size); see projects.table_exports."""
    output = io.BytesIO()
    xlsx_workbook_write(
        [(dataset.title or "Sheet", [str(h) for h in dataset.headers or []], dataset) for dataset in datasets],
        output,
        formatted=True,
    )
    return output.getvalue()


def export_datasets(*, plan: Plan, kinds: tuple[str, ...], native: bool) -> list[tablib.Dataset]:
    datasets = []
    for kind in kinds:
        dataset = RESOURCES[kind](plan=plan).export(force_native_type=native)
        dataset.title = kind_label(kind)
        datasets.append(dataset)
    return datasets


def portfolio_export(
    *, plan: Plan, file_format: str, kinds: tuple[str, ...] = (PROJECTS, MILESTONES), encoding: str = "utf-8-sig"
) -> bytes:
    """The plan's projects and milestones in exactly the import's columns: XLSX (a sheet each) or CSV (one kind)."""
    if file_format == "xlsx":
        return workbook_bytes(export_datasets(plan=plan, kinds=kinds, native=True))
    if file_format == "csv":
        if len(kinds) != 1:
            raise ValueError("a CSV file holds one kind")
        dataset = export_datasets(plan=plan, kinds=kinds, native=False)[0]
        return neutralised_dataset(dataset).export("csv").encode(encoding)
    raise ValueError(f"unknown format: {file_format}")


COLUMN_GUIDE = {
    "전략": "필수. 전략 코드(S1) 또는 'S1. 전략명'",
    "추진과제": "필수. 과제 코드(T01) 또는 'T01. 과제명'. 전략에 속한 과제여야 합니다.",
    "사업코드": "필수. 계획 안에서 겹치지 않는 코드. 이 코드로 기존 사업을 찾아 고칩니다.",
    "사업명": "필수.",
    "구분": "신규, 고도화, 확대 중 하나. 비우면 기존 값(새 사업은 신규).",
    "주관부서": "부서명. 없는 부서는 새로 만듭니다.",
    "총사업비(억원)": "억원 단위 숫자(예: 1927, 0.5). 비우면 미정.",
    "국비": "억원 단위. 비우면 0.",
    "시비": "억원 단위. 비우면 0.",
    "민자": "억원 단위. 비우면 0. 국비+시비+민자는 총사업비를 넘을 수 없습니다.",
    "사업기간": "예: 2026-2030, 2026 (한 해), 2026- (끝 미정).",
    "담당자 이메일": "사용자 이메일을 쉼표로 구분(예: a@busan.go.kr, b@busan.go.kr). 등록된 사용자여야 합니다.",
    "대표사업": "예 또는 아니오.",
    "연계 정부사업": "자유롭게.",
    "추진 상태": "정상, 주의, 지연, 완료, 보류 중 하나. 비우면 기존 값.",
    "요청 지원": "재정, 세제, 금융, 인력, 규제, 입지 중 쉼표로 구분.",
    "협력기관": "기관명을 쉼표로 구분. 없는 기관은 새로 만듭니다(유형: 기타).",
    "사업명(영문)": "선택.",
    "사업 개요": "선택.",
    "유형": "국비 신청, 정부 공모, 정부 예산 반영, 예비타당성조사, 협약, 법·제도, 착공·공사, 기타 중 하나.",
    "마일스톤": "필수. 사업코드·유형·마일스톤이 같으면 기존 마일스톤을 고칩니다.",
    "소관부처": "예: 해양수산부.",
    "기한": "필수. 날짜(예: 2026-04-15).",
    "상태": "예정, 진행 중, 제출 완료, 달성, 미달성, 취소 중 하나. 비우면 기존 값(새 마일스톤은 예정).",
    "달성일": "상태가 '달성'일 때만, 반드시 적습니다.",
    "신청액": "억원 단위. 비우면 없음.",
    "확보액": "억원 단위. 비우면 없음.",
    "비고": "자유롭게.",
}


def blank_template(*, kind: str, file_format: str = "xlsx") -> bytes:
    """An empty file with the import's headers; the XLSX one has a second sheet explaining every column."""
    columns = RESOURCES[kind]().column_names()
    sheet = tablib.Dataset(headers=columns, title=kind_label(kind))
    if file_format == "csv":
        return sheet.export("csv").encode("utf-8-sig")
    guide = tablib.Dataset(headers=["열", "작성 방법"], title="작성 안내")
    for column in columns:
        guide.append([column, COLUMN_GUIDE.get(column, "")])
    guide.append(["", ""])
    guide.append(["", "한 행이라도 잘못되면 파일 전체를 가져오지 않습니다. 잘못된 행과 열, 이유를 알려 드립니다."])
    guide.append(["", "같은 파일을 다시 올려도 바뀌는 것은 없습니다. 고친 행만 바뀌고, 변경 이력에 남습니다."])
    return workbook_bytes([sheet, guide])


# Importing -------------------------------------------------------------------------------------------------


@dataclass
class SheetReport:
    kind: str
    sheet: str
    created: int = 0
    updated: int = 0
    unchanged: int = 0


@dataclass
class ImportReport:
    """What an import did (or, on a dry run or a refusal, would have done): counts per sheet, and problems."""

    dry_run: bool
    sheets: list[SheetReport] = field(default_factory=list)
    problems: list[ImportProblem] = field(default_factory=list)

    @property
    def refused(self) -> bool:
        return bool(self.problems)

    @property
    def saved(self) -> bool:
        return not self.refused and not self.dry_run


def portfolio_import(
    *,
    content: bytes,
    user=None,
    plan: Plan | None = None,
    kind: str | None = None,
    file_name: str = "",
    dry_run: bool = False,
) -> ImportReport:
    """Import projects and/or milestones from one file, all or nothing (one transaction for every sheet).

    Projects are imported before milestones, so that a workbook can add a project and its milestones at once.
    ``user`` (if given) must be a portfolio admin; the changes are recorded in history under their name.
    """
    if user is not None and not is_portfolio_admin(user):
        raise PermissionDenied(_("포트폴리오를 가져올 권한이 없습니다."))
    report = ImportReport(dry_run=dry_run)
    try:
        sheets = read_sheets(content)
    except PortfolioFileError as error:
        report.problems.append(ImportProblem(str(error)))
        return report
    selected = _select_sheets(sheets, kind=kind)
    if not selected:
        if kind:
            message = _("%(kind)s 열 머리글(사업코드 등)이 있는 시트를 찾지 못했습니다.") % {"kind": kind_label(kind)}
        else:
            message = _(
                "열 머리글을 찾지 못했습니다. 첫 줄(또는 제목 아래 줄)에 '사업코드'와 '사업명'(핵심사업) "
                "또는 '마일스톤'(마일스톤) 열 머리글을 적어 주세요."
            )
        report.problems.append(ImportProblem(message))
        return report
    with transaction.atomic():
        for sheet_kind, sheet in selected:
            resource = RESOURCES[sheet_kind](plan=plan)
            result: PortfolioResult = resource.import_data(sheet, dry_run=False, user=user, file_name=file_name)
            report.sheets.append(
                SheetReport(
                    kind=sheet_kind,
                    sheet=sheet.title or "",
                    created=result.created,
                    updated=result.updated,
                    unchanged=result.unchanged,
                )
            )
            report.problems.extend(result.problems)
        if report.problems or dry_run:
            transaction.set_rollback(True)
    return report


def _select_sheets(sheets: list[tablib.Dataset], *, kind: str | None) -> list[tuple[str, tablib.Dataset]]:
    if kind:
        matching = [sheet for sheet in sheets if sheet.kind == kind]
        if not matching:
            matching = [sheet for sheet in sheets if sheet.kind is None][:1]  # read as asked; its headers are checked
        return [(kind, sheet) for sheet in matching]
    order = {PROJECTS: 0, MILESTONES: 1}
    return sorted(((sheet.kind, sheet) for sheet in sheets if sheet.kind), key=lambda pair: order[pair[0]])

"""Exports of the web app's tables (?_export=csv|xlsx): every filtered row, in the table's order and columns.

Rows are read as tuples (``values_list``), never as model instances, and each cell is converted by a plain
function chosen once per column (choice labels looked up in a dict built once per export): django-tables2's
own export inspects every cell's render method and builds a model per row, 16× its SQL at 71,000 rows.

CSV is streamed as it is read (UTF-8 with a BOM, what Korean Excel opens without garbling), so a gunicorn
timeout never cuts it off; XLSX is written row by row (its sheet XML straight into the zip) into a temporary
file and sent from there. Every text cell goes through ``spreadsheet_text`` — the one place that decides
how text that looks like a formula is written.

``SafeTableExport`` (django-tables2's own export, written as XLSX by the same formula-safe writer) remains for the
digest's small attachment, which has no request to stream to.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from xml.sax.saxutils import escape

from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.http import FileResponse, StreamingHttpResponse
from django.utils.encoding import force_str
from django.utils.http import content_disposition_header
from django_tables2.export import TableExport

from projects.spreadsheets.safety import ESCAPE, FORMULA_TRIGGERS, formula_like, neutralise

CSV_CONTENT_TYPE = "text/csv; charset=utf-8"
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
BOM = "\ufeff"
# Rows fetched from the database at a time (a server-side cursor on PostgreSQL).
CHUNK_ROWS = 5000


@dataclass(frozen=True)
class ExportField:
    """How one table column is exported: the ``values_list`` path it reads and how a value becomes a cell."""

    path: str
    convert: Callable[[Any], Any] | None = None


class _Labels(dict):
    def __missing__(self, value):
        return value  # a value that is no longer a choice is exported as stored


def choice_labels(choices: type[models.Choices]) -> Callable[[], Callable[[Any], Any]]:
    """A converter from a stored choice to its label, translated once per export rather than once per cell.

    Returns a factory: the labels are read when an export starts, in the language of its request.
    """

    def factory() -> Callable[[Any], Any]:
        return _Labels((value, force_str(label)) for value, label in choices.choices).__getitem__

    factory.per_export = True
    return factory


def person_labels() -> Callable[[Any], Any]:
    """User id → '성명 (부서)' (people.names.person_label), for every user, read in one query per export."""
    from django.contrib.auth import get_user_model

    from people.names import person_label

    labels = {user.pk: person_label(user) for user in get_user_model().objects.select_related("profile")}
    return lambda pk: labels.get(pk, "")


person_labels.per_export = True


# The first characters of the text that ``neutralise`` may change: a formula's, or the apostrophe itself.
_FORMULA_FIRST = frozenset(trigger[0] for trigger in FORMULA_TRIGGERS)
_NEUTRALISED_FIRST = _FORMULA_FIRST | {ESCAPE[0]}


def spreadsheet_text(value: str) -> str:
    """Every database text cell of a CSV export passes through here: formula-like text gets the apostrophe of
    projects.spreadsheets.safety (which the import takes off again). In XLSX the same text is a text cell with
    Excel's quote prefix, its content unchanged (``_xlsx_row``). Text whose first character no formula starts
    with is left as it is without asking ``neutralise`` (most cells: the question was a third of the export)."""
    if value and value[0] in _NEUTRALISED_FIRST:
        return neutralise(value)
    return value


def _plain(queryset: models.QuerySet, path: str, *, csv: bool):
    """How a database value is written as it is: text through ``spreadsheet_text``; a number or a date as is
    (None: no call at all); anything else (an annotation) looked at cell by cell."""
    model = queryset.model
    *relations, name = path.split("__")
    try:
        for relation in relations:
            model = model._meta.get_field(relation).related_model
        field = model._meta.get_field(name)
    except (AttributeError, FieldDoesNotExist):
        return _cell if csv else None
    if isinstance(field, models.CharField | models.TextField):
        return spreadsheet_text if csv else None
    if isinstance(field, models.DateField | models.IntegerField | models.BooleanField | models.DecimalField):
        return None
    return _cell


def _cell(value):
    if isinstance(value, str):
        return spreadsheet_text(value)
    return value


@dataclass
class TableExportPlan:
    """Headers, the ordered queryset and one converter per column of a configured table."""

    headers: list[str]
    queryset: models.QuerySet
    paths: list[str]
    converters: list[Callable[[Any], Any] | None]

    def rows(self, *, csv: bool = False) -> Iterator[list]:
        """Each row as a list of cells; None is an empty cell. Converted values (labels, 억원, weeks) are final;
        every other value is a database value, and text among them goes through ``spreadsheet_text``."""
        transforms = [
            (convert() if getattr(convert, "per_export", False) else convert)
            if convert
            else _plain(self.queryset, path, csv=csv)
            for convert, path in zip(self.converters, self.paths, strict=True)
        ]
        for raw in self.queryset.values_list(*self.paths).iterator(chunk_size=CHUNK_ROWS):
            yield [
                value if value is None or transform is None else transform(value)
                for transform, value in zip(transforms, raw, strict=True)
            ]


def export_plan(table, *, exclude_columns: Iterable[str] = ("actions",)) -> TableExportPlan:
    """The export of a table that RequestConfig has configured (ordered, not paginated).

    The table class declares ``export_fields``: column name → ExportField. A visible column without one is a
    programming error and fails loudly, rather than exporting a blank column.
    """
    fields: dict[str, ExportField] = table.export_fields
    columns = [
        column
        for column in table.columns.iterall()
        if not (column.column.exclude_from_export or column.name in set(exclude_columns))
    ]
    missing = [column.name for column in columns if column.name not in fields]
    if missing:
        raise KeyError(f"{type(table).__name__}.export_fields lacks {missing}")
    return TableExportPlan(
        headers=[force_str(column.header) for column in columns],
        queryset=table.data.data,
        paths=[fields[column.name].path for column in columns],
        converters=[fields[column.name].convert for column in columns],
    )


class _Echo:
    """A file-like object whose write returns what it was given, so csv.writer produces strings to stream."""

    def write(self, value: str) -> str:
        return value


def csv_chunks(headers: list[str], rows: Iterable[list]) -> Iterator[bytes]:
    """The CSV file in chunks of a few hundred rows: BOM and header first. The csv module writes None as an
    empty field, a date as ISO 8601 and a Decimal as its digits, as the old export did."""
    writer = csv.writer(_Echo())
    yield (BOM + writer.writerow(headers)).encode("utf-8")
    buffer: list[str] = []
    for row in rows:
        buffer.append(writer.writerow(row))
        if len(buffer) >= 500:
            yield "".join(buffer).encode("utf-8")
            buffer.clear()
    if buffer:
        yield "".join(buffer).encode("utf-8")


def csv_response(plan: TableExportPlan, *, filename: str) -> StreamingHttpResponse:
    return csv_rows_response(plan.headers, plan.rows(csv=True), filename=filename)


def csv_rows_response(headers: list[str], rows: Iterable[list], *, filename: str) -> StreamingHttpResponse:
    """A CSV download streamed as ``rows`` are produced; the rows' text must already be formula-safe."""
    response = StreamingHttpResponse(csv_chunks(headers, rows), content_type=CSV_CONTENT_TYPE)
    response["Content-Disposition"] = content_disposition_header(True, filename)
    return response


def xlsx_workbook_write(sheets: list[tuple[str, list[str], Iterable[list]]], output, *, formatted: bool = False):
    """An XLSX workbook, a sheet per (title, headers, rows): bold frozen header, dates as date cells, numbers as
    numbers, text as text (``formatted``: numbers with thousands separators, multi-line text wrapped).

    The sheets' XML is written directly, row by row, into the zip: openpyxl (even write-only) took 50× the SQL
    for 71,000 rows, most of it building a cell object per value. Text is always a (shared) string cell and no
    cell is ever a formula, so a title starting with "=" stays text.
    """
    names = []
    for title, _headers, _rows in sheets:
        name = _sheet_name(title)
        while name in names:
            name = f"{name[:28]}_{len(names)}"
        names.append(name)
    # Text goes into the shared-string table (what Excel writes, and what openpyxl reads fastest), each
    # distinct text once; the table is written after the sheets, once it is complete.
    strings: dict[str, int] = {}
    with zipfile.ZipFile(output, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for part, content in _xlsx_parts(names).items():
            archive.writestr(part, content)
        for number, (_title, headers, rows) in enumerate(sheets, start=1):
            with archive.open(f"xl/worksheets/sheet{number}.xml", "w") as sheet:
                sheet.write(_sheet_head(headers, strings).encode())
                buffer: list[str] = []
                for row_number, row in enumerate(rows, start=2):
                    buffer.append(_xlsx_row(row_number, row, strings, formatted))
                    if len(buffer) >= 500:
                        sheet.write("".join(buffer).encode())
                        buffer.clear()
                sheet.write(("".join(buffer) + "</sheetData></worksheet>").encode())
        with archive.open("xl/sharedStrings.xml", "w") as table:
            table.write(f'{_XML}<sst xmlns="{_MAIN_NS}" uniqueCount="{len(strings)}">'.encode())
            chunk: list[str] = []
            for text in strings:
                chunk.append(f'<si><t xml:space="preserve">{escape(text)}</t></si>')
                if len(chunk) >= 1000:
                    table.write("".join(chunk).encode())
                    chunk.clear()
            table.write(("".join(chunk) + "</sst>").encode())


def _sheet_name(title: str) -> str:
    return re.sub(r"[\\/*?:\[\]]", "_", title)[:31] or "Sheet"


_ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_EXCEL_EPOCH = dt.date(1899, 12, 30)
# Cell styles (xl/styles.xml): 0 plain, 1 date, 2 bold header, 3 number with separators, 4 wrapped text,
# 5 text with Excel's quote prefix (formula-like text that stays text when edited).
_DATE, _NUMBER, _WRAPPED, _QUOTED = ' s="1"', ' s="3"', ' s="4"', ' s="5"'


def _text(value: str, strings: dict[str, int], style: str = "") -> str:
    index = strings.get(value)  # a text already in the table has no character XML forbids
    if index is None:
        text = _ILLEGAL_XML.sub("", value)
        index = strings.get(text)
        if index is None:
            index = strings[text] = len(strings)
    return f'<c{style} t="s"><v>{index}</v></c>'


def _xlsx_row(number: int, row: list, strings: dict[str, int], formatted: bool = False) -> str:
    cells = []
    number_style = _NUMBER if formatted else ""
    for value in row:
        kind = value.__class__
        if value is None:
            cells.append("<c/>")
        elif kind is str:
            if value and value[0] in _FORMULA_FIRST and formula_like(value):
                cells.append(_text(value, strings, _QUOTED))  # stays text when someone edits the cell
            else:
                cells.append(_text(value, strings, _WRAPPED if formatted and "\n" in value else ""))
        elif kind is bool:
            cells.append(f'<c t="b"><v>{int(value)}</v></c>')
        elif kind is dt.date:
            cells.append(f"<c{_DATE}><v>{(value - _EXCEL_EPOCH).days}</v></c>")
        elif kind is dt.datetime:
            cells.append(_text(value.isoformat(sep=" ", timespec="minutes"), strings))
        elif kind is float:
            cells.append(f"<c><v>{value!r}</v></c>")
        elif isinstance(value, int | Decimal):
            cells.append(f"<c{number_style}><v>{value}</v></c>")
        else:
            cells.append(_text(str(value), strings))
    return f'<row r="{number}">{"".join(cells)}</row>'


def _sheet_head(headers: list[str], strings: dict[str, int]) -> str:
    widths = "".join(
        f'<col min="{n}" max="{n}" width="{max(10, min(40, len(header) * 2 + 4))}" customWidth="1"/>'
        for n, header in enumerate(headers, start=1)
    )
    header_cells = "".join(_text(header, strings, ' s="2"') for header in headers)
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<worksheet xmlns="{_MAIN_NS}"><sheetViews><sheetView workbookViewId="0">'
        '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
        '<selection pane="bottomLeft" activeCell="A2" sqref="A2"/></sheetView></sheetViews>'
        f'<cols>{widths}</cols><sheetData><row r="1">{header_cells}</row>'
    )


_MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
_XML = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_SHEET_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
_STYLES = (
    f'{_XML}<styleSheet xmlns="{_MAIN_NS}">'
    '<numFmts count="2"><numFmt numFmtId="164" formatCode="yyyy-mm-dd"/>'
    '<numFmt numFmtId="165" formatCode="#,##0.########"/></numFmts>'
    '<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="6"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1" applyAlignment="1">'
    '<alignment vertical="center"/></xf>'
    '<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0" applyAlignment="1">'
    '<alignment vertical="top" wrapText="1"/></xf>'
    '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0" quotePrefix="1"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)


def _xlsx_parts(names: list[str]) -> dict[str, str]:
    """Every part of the package but the sheets' data: content types, relationships, workbook, styles."""
    count = range(1, len(names) + 1)
    sheet_types = "".join(
        f'<Override PartName="/xl/worksheets/sheet{n}.xml" ContentType="{_SHEET_TYPE}"/>' for n in count
    )
    sheet_rels = "".join(
        f'<Relationship Id="rId{n}" Type="{_REL_NS}/worksheet" Target="worksheets/sheet{n}.xml"/>' for n in count
    )
    sheet_list = "".join(
        f'<sheet name="{escape(name, {chr(34): "&quot;"})}" sheetId="{n}" r:id="rId{n}"/>'
        for n, name in zip(count, names, strict=True)
    )
    return {
        "[Content_Types].xml": (
            f'{_XML}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml"'
            ' ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            f"{sheet_types}"
            '<Override PartName="/xl/styles.xml"'
            ' ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
            '<Override PartName="/xl/sharedStrings.xml"'
            ' ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
            "</Types>"
        ),
        "_rels/.rels": (
            f'{_XML}<Relationships xmlns="{_PKG_REL_NS}">'
            f'<Relationship Id="rId1" Type="{_REL_NS}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
        ),
        "xl/_rels/workbook.xml.rels": (
            f'{_XML}<Relationships xmlns="{_PKG_REL_NS}">{sheet_rels}'
            f'<Relationship Id="rId{len(names) + 1}" Type="{_REL_NS}/styles" Target="styles.xml"/>'
            f'<Relationship Id="rId{len(names) + 2}" Type="{_REL_NS}/sharedStrings" Target="sharedStrings.xml"/>'
            "</Relationships>"
        ),
        "xl/workbook.xml": (
            f'{_XML}<workbook xmlns="{_MAIN_NS}" xmlns:r="{_REL_NS}"><sheets>{sheet_list}</sheets></workbook>'
        ),
        "xl/styles.xml": _STYLES,
    }


def xlsx_response(plan: TableExportPlan, *, filename: str, title: str) -> FileResponse:
    return xlsx_sheets_response([(title, plan.headers, plan.rows())], filename=filename)


def xlsx_sheets_response(
    sheets: list[tuple[str, list[str], Iterable[list]]], *, filename: str, formatted: bool = False
) -> FileResponse:
    """An XLSX download written row by row into a temporary file (see ``xlsx_workbook_write``), then sent."""
    output = tempfile.TemporaryFile(suffix=".xlsx")  # noqa: SIM115 (FileResponse closes it when sent)
    xlsx_workbook_write(sheets, output, formatted=formatted)
    output.seek(0)
    return FileResponse(output, as_attachment=True, filename=filename, content_type=XLSX_CONTENT_TYPE)


class SafeTableExport(TableExport):
    """django-tables2's export of a whole table in memory as XLSX, through the formula-safe workbook writer."""

    def export(self):
        from projects.spreadsheets.files import workbook_bytes  # files imports this module's XLSX writer

        if self.format != self.XLSX:
            raise ValueError("SafeTableExport writes XLSX only; CSV streams through csv_response")
        return workbook_bytes([self.dataset])

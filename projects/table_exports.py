"""Table exports (django-tables2's TableExport) that Korean Excel opens without garbling, and without running.

CSV in UTF-8 with a byte order mark (without it, Korean Excel reads a CSV as CP949 and garbles Hangul); XLSX
through the portfolio's workbook writer (text cells, dates as dates, amounts as numbers). Formula-like text stays
text in both (projects.spreadsheets.safety).
"""

from __future__ import annotations

from django_tables2.export import TableExport

from projects.spreadsheets.files import workbook_bytes
from projects.spreadsheets.safety import neutralised_dataset

UTF8_BOM = "\ufeff"


class SafeTableExport(TableExport):
    def export(self):
        if self.format == self.XLSX:
            return workbook_bytes([self.dataset])
        data = neutralised_dataset(self.dataset).export(self.format)
        return UTF8_BOM + data if self.format == self.CSV else data

    def content_type(self) -> str:
        if self.format == self.CSV:
            return "text/csv; charset=utf-8"
        return super().content_type()

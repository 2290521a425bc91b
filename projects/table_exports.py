"""Table exports (django-tables2's TableExport) that Korean Excel opens without garbling."""

from __future__ import annotations

from django_tables2.export import TableExport as BaseTableExport

UTF8_BOM = "\ufeff"


class TableExport(BaseTableExport):
    """CSV in UTF-8 with a byte order mark: without it, Korean Excel reads a CSV as CP949 and garbles Hangul."""

    def export(self):
        data = super().export()
        if self.format == self.CSV:
            return UTF8_BOM + data
        return data

    def content_type(self) -> str:
        if self.format == self.CSV:
            return "text/csv; charset=utf-8"
        return super().content_type()

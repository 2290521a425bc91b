"""The plan (load_seeds) and its sample portfolio (seed_demo) as data for tests: made by the two commands once per
test process, and written again from a copy of their rows after that.

seed_demo writes a thousand rows one save at a time, with history, and takes a second or two; the import, export
and browser tests need its rows, not its run (tests/projects/test_seeds.py and tests/people/test_people.py test
the commands themselves, and run them). The copy is replayed only onto a database in the state the commands first
ran on (the rows the migrations make, nothing else), on the same day (the sample portfolio is dated around
today), so the rows written are the rows the commands would write, ids included; only the sample users' random
passwords, which no test can know, are those of the first run.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass

from django.apps import apps
from django.core.management import call_command
from django.core.management.color import no_style
from django.db import connection, transaction
from django.db.models import Model

from tracker.dates import seoul_today

Rows = dict[type[Model], dict[object, tuple]]


@dataclass
class _Copy:
    """Where the commands started (``start``), on ``day``, and the rows they added (``added``)."""

    day: dt.date
    start: dict
    added: Rows


_copy: _Copy | None = None  # this process's (each test worker has its own database)


def _tables() -> list[type[Model]]:
    return [
        model for model in apps.get_models(include_auto_created=True) if model._meta.managed and not model._meta.proxy
    ]


def _rows() -> Rows:
    """Every row of every table, by primary key, as the tuple of its own columns."""
    state = {}
    for model in _tables():
        fields = model._meta.local_concrete_fields
        key = fields.index(model._meta.pk)
        values = model._base_manager.using(connection.alias).values_list(*[f.attname for f in fields])
        state[model] = {row[key]: row for row in values}
    return state


def _start(rows: Rows) -> dict:
    """The rows as the commands see them: a many-to-many link's own id is nobody's business (a database restored
    for a transactional test links the role groups to their permissions again, under new ids)."""
    return {
        model: frozenset(row[1:] for row in by_pk.values()) if model._meta.auto_created else by_pk
        for model, by_pk in rows.items()
    }


def _added(before: Rows, after: Rows) -> Rows:
    for model, rows in before.items():
        if any(after[model].get(pk) != row for pk, row in rows.items()):
            raise RuntimeError(f"load_seeds or seed_demo changed or deleted {model._meta.label} rows: replay cannot")
    return {model: {pk: row for pk, row in rows.items() if pk not in before[model]} for model, rows in after.items()}


def _replayable(copy: _Copy | None, today: dt.date, before: Rows) -> bool:
    return (
        copy is not None
        and copy.day == today
        and copy.start == _start(before)
        and not any(before[model].keys() & rows.keys() for model, rows in copy.added.items())
    )


def _write(added: Rows) -> None:
    """Insert the rows as they were read (raw: no auto_now, no signals, no history), ids included."""
    models = [model for model, rows in added.items() if rows]
    for model in models:
        fields = model._meta.local_concrete_fields
        names = [f.attname for f in fields]
        objs = [model(**dict(zip(names, row, strict=True))) for row in added[model].values()]
        batch = max(connection.ops.bulk_batch_size(fields, objs), 1)
        for start in range(0, len(objs), batch):
            model._base_manager.using(connection.alias)._insert(objs[start : start + batch], fields=fields, raw=True)
    # PostgreSQL's sequences do not move for explicit ids (SQLite's AUTOINCREMENT counters do).
    with connection.cursor() as cursor:
        for statement in connection.ops.sequence_reset_sql(no_style(), models):
            cursor.execute(statement)


def plan_and_demo_load() -> None:
    """`load_seeds` then `seed_demo`, or the rows they wrote the first time, where that gives the same database."""
    global _copy
    today = seoul_today()
    before = _rows()
    with transaction.atomic():
        if _replayable(_copy, today, before):
            _write(_copy.added)
            return
        call_command("load_seeds", stdout=io.StringIO())
        call_command("seed_demo", stdout=io.StringIO())
        _copy = _Copy(today, _start(before), _added(before, _rows()))

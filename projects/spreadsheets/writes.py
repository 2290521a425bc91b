"""An import's writes in batches: what ``Model.save()`` does for each row, in a few statements per batch.

Saving a milestone one at a time costs four statements a row (a savepoint, its release, the UPDATE or INSERT and
the history row); a 20,000-row file spent most of its time there. Here a batch of rows is written with one
``INSERT`` (new rows, their ids returned) or one ``UPDATE … FROM`` a table of the rows' values (tracker/sqlvalues.py:
one array per column, where a prepared ``UPDATE`` sent once per row took 0.1 ms a row), and its history with one
``INSERT … SELECT`` from the same kind of table: the same columns ``save()`` writes (every field, ``auto_now`` dates
stamped), the same history rows (type, date, user and reason, each field's value) that django-simple-history's
``bulk_history_create`` writes, without building a historical model object per row. The model's own rules for a
save (``Milestone.before_save``) are applied by the caller, once, before a row is queued.
"""

from __future__ import annotations

from django.conf import settings
from django.db import connections
from django.db.models import Model
from django.utils import timezone
from simple_history.utils import get_change_reason_from_object

from tracker.sqlvalues import values_table

BATCH = 500  # rows per batch: one savepoint each, so that a refused batch is retried row by row (columns.py)


def rows_write(instances: list[Model], *, created: bool, using: str, history: bool = True) -> None:
    """Write ``instances`` (one model; all new, or all existing) and, unless ``history`` is off, their history
    rows (a preview, which is rolled back, needs none: the history table takes whatever the row's table took, and
    the import cuts its change reason to the column's length, columns.py: ``_change_reason_for``)."""
    if not instances:
        return
    model = type(instances[0])
    now = timezone.now()
    if created:
        model._base_manager.using(using).bulk_create(instances, batch_size=BATCH)
    else:
        _update(model, instances, using=using)
    manager = getattr(model._meta, "simple_history_manager_attribute", None)
    if history and manager and getattr(settings, "SIMPLE_HISTORY_ENABLED", True):
        _history_write(getattr(model, manager), instances, created=created, using=using, now=now)


def _columns(fields, connection) -> list[tuple[str, str]]:
    """The fields as (quoted column, database type) pairs, for a table of values (tracker/sqlvalues.py). The type
    goes without its length: PostgreSQL cuts a value cast to ``varchar(300)`` to 300 characters without a word,
    where writing it to the column refuses it, as a save would."""
    return [(connection.ops.quote_name(field.column), field.db_type(connection).split("(")[0]) for field in fields]


def _update(model: type[Model], instances: list[Model], *, using: str) -> None:
    """Every column of every row, as ``save()`` writes an existing row (``auto_now`` fields stamped now)."""
    connection = connections[using]
    meta = model._meta
    fields = [field for field in meta.concrete_fields if not field.primary_key]
    table = connection.ops.quote_name(meta.db_table)
    pk = connection.ops.quote_name(meta.pk.column)
    columns = _columns([meta.pk, *fields], connection)
    rows = [
        [instance.pk, *(field.get_db_prep_save(field.pre_save(instance, False), connection) for field in fields)]
        for instance in instances
    ]
    assignments = ", ".join(f"{column} = v.{column}" for column, _type in columns[1:])
    source, params = values_table(columns, rows)
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET {assignments} FROM {source} WHERE {table}.{pk} = v.{pk}", params)


def _history_write(manager, instances: list[Model], *, created: bool, using: str, now) -> None:
    """The history rows ``bulk_history_create(instances, update=not created, default_date=now)`` writes: each
    tracked field's value, the date, the user (``_history_user``, else the model's default), the reason
    (``_change_reason``) and the type ("+" new, "~" changed), in the instances' order."""
    historical = manager.model
    connection = connections[using]
    tracked = historical.tracked_fields
    own = [historical._meta.get_field(name) for name in ("history_date", "history_user", "history_change_reason")]
    rows = []
    for instance in instances:
        # As simple-history reads them: a ``_history_user`` set to None stays None.
        user = (
            instance._history_user
            if hasattr(instance, "_history_user")
            else historical.get_default_history_user(instance)
        )
        rows.append(
            [
                *(field.get_db_prep_save(getattr(instance, field.attname), connection) for field in tracked),
                own[0].get_db_prep_save(getattr(instance, "_history_date", now), connection),
                getattr(user, "pk", None),
                get_change_reason_from_object(instance) or "",
            ]
        )
    columns = _columns([*tracked, *own], connection)
    source, params = values_table(columns, rows)
    names = ", ".join(column for column, _type in columns)
    picks = ", ".join(f"v.{column}" for column, _type in columns)
    table = connection.ops.quote_name(historical._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({names}, history_type) SELECT {picks}, %s FROM {source}",
            ["+" if created else "~", *params],
        )

"""An import's writes in batches: what ``Model.save()`` does for each row, in a few statements per batch.

Saving a milestone one at a time costs four statements a row (a savepoint, its release, the UPDATE or INSERT and
the history row); a 20,000-row file spent most of its time there. Here a batch of rows is written with one
``INSERT`` (new rows, their ids returned) or one prepared ``UPDATE`` sent for every row at once (``executemany``,
not a ``CASE`` with a branch per row), and its history with one ``INSERT``: the same columns ``save()`` writes
(every field, ``auto_now`` dates stamped), the same history rows (type, date, user and reason) that
django-simple-history writes on ``save()``. The model's own rules for a save (``Milestone.before_save``) are
applied by the caller, once, before a row is queued.
"""

from __future__ import annotations

from django.db import connections
from django.db.models import Model
from django.utils import timezone

BATCH = 500  # rows per batch: 20 columns × 500 stays under both databases' limits on parameters


def rows_write(instances: list[Model], *, created: bool, using: str) -> None:
    """Write ``instances`` (one model; all new, or all existing) and their history rows."""
    if not instances:
        return
    model = type(instances[0])
    now = timezone.now()
    if created:
        model._base_manager.using(using).bulk_create(instances, batch_size=BATCH)
    else:
        _update(model, instances, using=using)
    history = getattr(model._meta, "simple_history_manager_attribute", None)
    if history:
        getattr(model, history).bulk_history_create(instances, batch_size=BATCH, update=not created, default_date=now)


def _update(model: type[Model], instances: list[Model], *, using: str) -> None:
    """Every column of every row, as ``save()`` writes an existing row (``auto_now`` fields stamped now)."""
    connection = connections[using]
    meta = model._meta
    fields = [field for field in meta.concrete_fields if not field.primary_key]
    quote = connection.ops.quote_name
    sql = (
        f"UPDATE {quote(meta.db_table)} SET {', '.join(f'{quote(field.column)} = %s' for field in fields)}"
        f" WHERE {quote(meta.pk.column)} = %s"
    )
    params = [
        [*(field.get_db_prep_save(field.pre_save(instance, False), connection) for field in fields), instance.pk]
        for instance in instances
    ]
    with connection.cursor() as cursor:
        for start in range(0, len(params), BATCH):
            cursor.executemany(sql, params[start : start + BATCH])

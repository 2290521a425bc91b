"""Rows written from arrays (PostgreSQL) or one JSON document (SQLite) arrive exactly as they were given."""

from __future__ import annotations

import datetime as dt

import pytest

from notifications.inserts import insert_new_values
from notifications.models import OutboxMessage
from tracker.dates import SEOUL
from tracker.sqlvalues import id_set, text_set

pytestmark = pytest.mark.django_db

AWKWARD = ['따옴표 "인용"', "역슬래시 \\ 와 \\\\", "{중괄호, 쉼표}", "NULL", "", "줄\n바꿈", "'작은따옴표'"]


def test_awkward_text_nulls_dates_and_json_arrive_unchanged_and_a_second_insert_writes_nothing(owner):
    moment = dt.datetime(2026, 12, 2, 9, 0, 0, 123456, tzinfo=SEOUL)
    rows = [
        (f"key:{n}:{text}", owner.pk, owner.email, f"<{n}@tracker>", moment, None if n % 2 else moment, text, {"n": n})
        for n, text in enumerate(AWKWARD)
    ]
    columns = ("key", "recipient_id", "to_email", "message_id", "not_before", "send_by", "subject", "headers")

    written = insert_new_values(OutboxMessage, columns, rows, constants={"kind": OutboxMessage.Kind.REMINDER})

    assert len(written) == len(AWKWARD)
    assert sorted(OutboxMessage.objects.filter(pk__in=id_set(written)).values_list(*columns)) == sorted(rows)
    assert insert_new_values(OutboxMessage, columns, rows) == []
    assert OutboxMessage.objects.filter(key__in=text_set(row[0] for row in rows)).count() == len(AWKWARD)
    assert set(OutboxMessage.objects.values_list("status", "kind", "attempts")) == {("pending", "reminder", 0)}

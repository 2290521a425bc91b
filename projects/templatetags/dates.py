"""Dates as people read them: the year only when it is not this year (Asia/Seoul)."""

from __future__ import annotations

import datetime as dt

from django import template

from tracker.dates import seoul_today

register = template.Library()


@register.filter
def short_date(value: dt.date | None, today: dt.date | None = None) -> str:
    """'12.02' this year, '2027.12.02' (or '1900.01.01') any other year; '' for no date."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = value.date()
    today = today or seoul_today()
    if value.year == today.year:
        return f"{value:%m.%d}"
    return f"{value:%Y.%m.%d}"

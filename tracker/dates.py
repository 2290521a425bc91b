"""Dates as the TF lives them: 'today', 'this week' and D-day labels are always computed in Asia/Seoul."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from django.utils import timezone

SEOUL = ZoneInfo("Asia/Seoul")


def seoul_now() -> dt.datetime:
    return timezone.now().astimezone(SEOUL)


def seoul_today() -> dt.date:
    """Today's date in Asia/Seoul, whatever the server's or the request's time zone."""
    return seoul_now().date()


def week_start(day: dt.date) -> dt.date:
    """The Monday of the ISO week that holds ``day``."""
    return day - dt.timedelta(days=day.isoweekday() - 1)


def dday_label(due: dt.date, today: dt.date) -> str:
    """'D-7' before the day, 'D-day' on it, 'D+3' once it has passed."""
    days = (due - today).days
    if days == 0:
        return "D-day"
    return f"D-{days}" if days > 0 else f"D+{-days}"

"""Dates as the TF lives them: 'today', 'this week' and D-day labels are always computed in Asia/Seoul."""

from __future__ import annotations

import datetime as dt
import functools
from zoneinfo import ZoneInfo

import holidays
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


@functools.cache
def _korean_holidays(year: int) -> frozenset[dt.date]:
    return frozenset(holidays.country_holidays("KR", years=year))


def is_working_day(day: dt.date) -> bool:
    """Monday to Friday, and not a Korean public holiday (the ``holidays`` package, country KR)."""
    return day.isoweekday() <= 5 and day not in _korean_holidays(day.year)


def previous_working_day(day: dt.date) -> dt.date:
    """``day`` itself if it is a working day, otherwise the last working day before it."""
    while not is_working_day(day):
        day -= dt.timedelta(days=1)
    return day


def seoul_datetime(day: dt.date, hour: int) -> dt.datetime:
    """The aware moment ``hour``:00 on ``day`` in Asia/Seoul."""
    return dt.datetime.combine(day, dt.time(hour), tzinfo=SEOUL)


def parse_iso_week(value: str) -> dt.date:
    """'2026-W48' → the Monday of that ISO week; ValueError if it is not one."""
    year, _sep, week = value.upper().partition("-W")
    return dt.date.fromisocalendar(int(year), int(week), 1)

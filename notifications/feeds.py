"""iCalendar feeds (RFC 5545): all-day events on milestones' due dates, behind a secret, revocable token."""

from __future__ import annotations

import datetime as dt
import secrets
from urllib.parse import urlsplit

from django.conf import settings
from django.db.models import Q, QuerySet
from icalendar import Calendar, Event

from notifications.models import CalendarFeed
from projects.models import Milestone, Strategy


def calendar_feed_rotate(*, user) -> CalendarFeed:
    """Issue a new secret address for the user's feeds; the previous one stops working at once."""
    feed, _created = CalendarFeed.objects.update_or_create(user=user, defaults={"token": secrets.token_urlsafe(32)})
    return feed


def calendar_feed_for(*, user) -> CalendarFeed:
    return CalendarFeed.objects.filter(user=user).first() or calendar_feed_rotate(user=user)


def milestones_for_user(user) -> QuerySet[Milestone]:
    """Milestones the person owns, or of the projects they manage; cancelled ones are left out."""
    return _feed_milestones().filter(Q(owner=user) | Q(project__managers=user)).distinct()


def milestones_for_strategy(strategy: Strategy) -> QuerySet[Milestone]:
    return _feed_milestones().filter(project__task__strategy=strategy)


def _feed_milestones() -> QuerySet[Milestone]:
    return (
        Milestone.objects.exclude(status=Milestone.Status.CANCELLED)
        .select_related("project")
        .order_by("due_date", "pk")
    )


def calendar_build(*, name: str, milestones: QuerySet[Milestone]) -> bytes:
    domain = urlsplit(settings.SITE_URL).hostname or "localhost"
    calendar = Calendar()
    calendar.add("prodid", "-//Busan growth-strategy TF//tracker//KO")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", name)
    calendar.add("x-wr-timezone", "Asia/Seoul")
    for milestone in milestones:
        project = milestone.project
        url = f"{settings.SITE_URL}{milestone.get_absolute_url()}"
        event = Event()
        event.add("uid", f"milestone-{milestone.pk}@{domain}")
        event.add("dtstamp", milestone.updated_at)
        event.add("last-modified", milestone.updated_at)
        event.add("dtstart", milestone.due_date)
        event.add("dtend", milestone.due_date + dt.timedelta(days=1))
        event.add("summary", f"[{project.code}] {milestone.title}")
        event.add(
            "description",
            f"{project.code} {project.name}\n{milestone.get_kind_display()} · {milestone.get_status_display()}"
            f"\n{milestone.responsible_agency}\n{url}",
        )
        event.add("url", url)
        event.add("transp", "TRANSPARENT")
        calendar.add_component(event)
    return calendar.to_ical()

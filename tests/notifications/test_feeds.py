"""Private calendar feeds (notifications/feeds.py): a person's milestones and a strategy's, as iCalendar, read
against the hand-counted portfolio (tests/portfolio.py)."""

from __future__ import annotations

import datetime as dt

import icalendar
import pytest
from django.urls import reverse

from notifications.feeds import calendar_feed_for, calendar_feed_rotate
from tests.factories import UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("portfolio_clock")]


def test_a_personal_feed_holds_the_milestones_a_person_owns_or_manages(client, owner, portfolio):
    feed = calendar_feed_for(user=owner)
    response = client.get(reverse("notifications:my_calendar", args=[feed.token]))
    assert response["Content-Type"].startswith("text/calendar")
    calendar = icalendar.Calendar.from_ical(response.content)
    events = calendar.walk("VEVENT")
    # owner manages A-1 (3 milestones); cancelled milestones are never in a feed
    assert len(events) == 3
    first = events[0]
    assert isinstance(first["DTSTART"].dt, dt.date) and not isinstance(first["DTSTART"].dt, dt.datetime)
    assert first["DTEND"].dt - first["DTSTART"].dt == dt.timedelta(days=1)
    assert first["SUMMARY"].startswith("[A-1] ")
    assert "A-1" in first["DESCRIPTION"] and "/projects/" in first["DESCRIPTION"]
    uids = {str(event["UID"]) for event in events}
    again = icalendar.Calendar.from_ical(client.get(reverse("notifications:my_calendar", args=[feed.token])).content)
    assert {str(event["UID"]) for event in again.walk("VEVENT")} == uids  # stable UIDs


def test_a_revoked_feed_address_stops_working(client, owner, portfolio):
    old = calendar_feed_for(user=owner).token
    calendar_feed_rotate(user=owner)
    assert client.get(reverse("notifications:my_calendar", args=[old])).status_code == 404


def test_a_strategy_feed_is_only_for_people_who_may_read_it(client, viewer, portfolio):
    strategy = portfolio.strategies.get(code="S2")
    feed = calendar_feed_for(user=viewer)
    response = client.get(reverse("notifications:strategy_calendar", args=[feed.token, strategy.pk]))
    assert len(icalendar.Calendar.from_ical(response.content).walk("VEVENT")) == 2
    nobody = UserFactory(username="no-role")
    no_role_feed = calendar_feed_for(user=nobody)
    assert (
        client.get(reverse("notifications:strategy_calendar", args=[no_role_feed.token, strategy.pk])).status_code
        == 404
    )

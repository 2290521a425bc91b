"""Audit finding 9: feeds and signed links stop with the role or the account, and show nothing of a closed one."""

from __future__ import annotations

import pytest
from django.urls import reverse

from notifications import links
from notifications.feeds import calendar_feed_rotate
from tests.factories import MilestoneFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def feed_urls(owner, project):
    MilestoneFactory(project=project, owner=owner, title="국비 신청")
    token = calendar_feed_rotate(user=owner).token
    return [
        reverse("notifications:my_calendar", args=[token]),
        reverse("notifications:strategy_calendar", args=[token, project.task.strategy_id]),
    ]


def lose_every_role(user) -> None:
    user.groups.clear()


def deactivate(user) -> None:
    user.is_active = False
    user.save(update_fields=["is_active"])


@pytest.mark.parametrize("change", [lose_every_role, deactivate])
def test_calendar_feeds_stop_with_the_role_or_the_account(client, owner, feed_urls, change):
    assert [client.get(url).status_code for url in feed_urls] == [200, 200]
    change(owner)
    assert [client.get(url).status_code for url in feed_urls] == [404, 404]


@pytest.mark.parametrize("change", [lose_every_role, deactivate])
def test_the_submit_link_stops_with_the_role_or_the_account(client, owner, project, change):
    milestone = MilestoneFactory(project=project, owner=owner)
    url = links.milestone_submit_path(user_id=owner.pk, milestone=milestone)
    assert client.get(url).status_code == 200
    change(owner)
    assert client.get(url).status_code in {403, 404}
    response = client.post(url, {"version": milestone.version})
    assert response.status_code in {403, 404}
    milestone.refresh_from_db()
    assert milestone.status == milestone.Status.PLANNED


def test_preferences_and_unsubscribe_of_a_deactivated_account_show_nothing_of_it(client, owner):
    urls = [links.preferences_path(user_id=owner.pk), links.unsubscribe_path(user_id=owner.pk, kind="reminders")]
    assert owner.email in client.get(urls[0]).content.decode()
    assert client.get(urls[1]).status_code == 200
    deactivate(owner)
    for url in urls:
        response = client.get(url)
        assert response.status_code == 403
        assert owner.email not in response.content.decode()
        assert owner.username not in response.content.decode()

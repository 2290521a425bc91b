"""Audit finding 10: a strict Content-Security-Policy and no-store on everything private."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from notifications import links
from tests.factories import MilestoneFactory

pytestmark = pytest.mark.django_db

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|\son[a-z]+\s*=", re.IGNORECASE)


def policy(response) -> dict[str, list[str]]:
    header = response.headers.get("Content-Security-Policy", "")
    directives = [part.split() for part in header.split(";") if part.strip()]
    return {name: values for name, *values in directives}


@pytest.fixture
def owner_client(client, owner, project):
    MilestoneFactory(project=project, owner=owner)
    client.force_login(owner)
    return client


def test_every_page_carries_a_policy_without_inline_script(owner_client, project):
    for url in [
        reverse("projects:dashboard"),
        reverse("projects:project", args=[project.pk]),
        reverse("notifications:calendar"),
        reverse("notifications:digest"),
        reverse("login"),
    ]:
        response = owner_client.get(url, follow=True)
        assert response.status_code == 200, url
        directives = policy(response)
        assert directives["script-src"] == ["'self'"], url
        assert directives["default-src"] == ["'self'"]
        assert directives["style-src"] == ["'self'"]
        assert directives["object-src"] == ["'none'"] and directives["frame-ancestors"] == ["'none'"]
        assert "'unsafe-inline'" not in " ".join(directives["script-src"] + directives["style-src"])
        assert not INLINE_SCRIPT.findall(response.content.decode()), url


def test_the_digest_archive_works_without_script(owner_client):
    response = owner_client.get(reverse("notifications:digest"), {"week": "2025-W47"})
    assert (response.status_code, response["Location"]) == (
        302,
        reverse("notifications:digest_week", args=["2025-W47"]),
    )


def test_signed_in_pages_exports_and_secret_links_are_not_stored(owner_client, client, owner):
    for url in [reverse("projects:dashboard"), reverse("projects:milestones") + "?_export=csv"]:
        assert "no-store" in owner_client.get(url)["Cache-Control"], url
    owner_client.logout()
    assert "no-store" in client.get(links.preferences_path(user_id=owner.pk))["Cache-Control"]

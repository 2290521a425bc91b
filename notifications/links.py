"""Signed, expiring links in e-mails: they stand in for a login, for one purpose and one person each."""

from __future__ import annotations

import datetime as dt

from django.core import signing
from django.urls import reverse

from projects.models import Milestone

ACTION_LINK_MAX_AGE = dt.timedelta(days=14)
PREFERENCES_LINK_MAX_AGE = dt.timedelta(days=90)


def _sign(purpose: str, payload: dict) -> str:
    return signing.dumps(payload, salt=f"notifications.{purpose}", compress=True)


def unsign(purpose: str, token: str, *, max_age: dt.timedelta) -> dict:
    """The payload of a link made for ``purpose``; raises signing.BadSignature (or SignatureExpired)."""
    return signing.loads(token, salt=f"notifications.{purpose}", max_age=max_age)


def milestone_submit_path(*, user_id: int, milestone: Milestone) -> str:
    token = _sign("submit", {"u": user_id, "m": milestone.pk})
    return reverse("notifications:milestone_submit", args=[token])


def preferences_path(*, user_id: int) -> str:
    return reverse("notifications:preferences", args=[_sign("preferences", {"u": user_id})])


def unsubscribe_path(*, user_id: int, kind: str) -> str:
    return reverse("notifications:unsubscribe", args=[_sign("unsubscribe", {"u": user_id, "k": kind})])

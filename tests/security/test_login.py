"""Audit findings 3 and 6: a lock-out nobody can make permanent, the proxy's address is not the client's, and
a password reset that tells nothing, floods nothing and lifts the lock."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tracker.dates import SEOUL

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 25, 10, tzinfo=SEOUL)
PASSWORD = "correct-horse-battery"  # tests.factories.UserFactory
PROXY = "10.0.0.2"


def log_in(client: Client, username: str, password: str, **headers):
    return client.post(reverse("login"), {"username": username, "password": password}, **headers)


def lock_out(client: Client, username: str = "owner", **headers) -> None:
    for _ in range(5):
        log_in(client, username, "wrong-password", **headers)
    assert log_in(client, username, PASSWORD, **headers).status_code == 429


def test_failures_during_the_cool_off_do_not_extend_it(owner):
    client = Client()
    with time_machine.travel(NOW, tick=False):
        lock_out(client)
    for minutes in (4, 8, 12, 14):  # "four requests an hour" would keep the user out for ever
        with time_machine.travel(NOW + dt.timedelta(minutes=minutes), tick=False):
            assert log_in(client, "owner", "wrong-password").status_code == 429
    with time_machine.travel(NOW + dt.timedelta(minutes=15, seconds=30), tick=False):
        assert log_in(client, "owner", PASSWORD).status_code == 302


def test_a_password_reset_lifts_the_lock(owner, celery_eager, django_capture_on_commit_callbacks):
    client = Client()
    lock_out(client)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("password_reset"), {"email": owner.email})
    link = re.search(re.escape(settings.SITE_URL) + r"(/accounts/reset/\S+/)", mail.outbox[0].body).group(1)
    set_password_url = client.get(link, follow=True).redirect_chain[-1][0]
    client.post(set_password_url, {"new_password1": "Gwangalli-2026!", "new_password2": "Gwangalli-2026!"})
    assert log_in(client, "owner", "Gwangalli-2026!").status_code == 302


def test_behind_a_trusted_proxy_one_client_cannot_lock_out_another(owner, settings):
    settings.TRUSTED_PROXIES = 1
    attacker, colleague = Client(REMOTE_ADDR=PROXY), Client(REMOTE_ADDR=PROXY)
    lock_out(attacker, HTTP_X_FORWARDED_FOR="203.0.113.9")
    assert log_in(colleague, "owner", PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.7").status_code == 302


def test_a_forged_forwarded_for_does_not_escape_the_lock(owner, settings):
    settings.TRUSTED_PROXIES = 1
    client = Client(REMOTE_ADDR=PROXY)
    lock_out(client, HTTP_X_FORWARDED_FOR="203.0.113.9")
    # The client writes its own X-Forwarded-For; the proxy appends the address it really saw.
    assert log_in(client, "owner", PASSWORD, HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.9").status_code == 429


def test_without_trusted_proxies_the_header_is_ignored(owner, settings):
    settings.TRUSTED_PROXIES = 0
    client = Client(REMOTE_ADDR="192.0.2.1")
    lock_out(client, HTTP_X_FORWARDED_FOR="203.0.113.9")
    assert log_in(client, "owner", PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.7").status_code == 429


def reset_request(client: Client, email: str, django_capture_on_commit_callbacks):
    with CaptureQueriesContext(connection) as queries, django_capture_on_commit_callbacks() as callbacks:
        response = client.post(reverse("password_reset"), {"email": email})
    return response, [query["sql"] for query in queries], callbacks


def test_a_reset_takes_the_same_path_for_a_known_and_an_unknown_address(owner, django_capture_on_commit_callbacks):
    known = reset_request(Client(), owner.email, django_capture_on_commit_callbacks)
    unknown = reset_request(Client(), "nobody@example.com", django_capture_on_commit_callbacks)
    assert (known[0].status_code, known[0]["Location"]) == (unknown[0].status_code, unknown[0]["Location"])
    assert known[1] == unknown[1]  # the same queries (none looks the address up)
    assert len(known[2]) == len(unknown[2]) == 1  # one task queued either way, after the commit
    assert mail.outbox == []  # nothing is written in the web request: the worker writes the e-mail


def test_reset_emails_to_one_address_are_limited(owner, celery_eager, django_capture_on_commit_callbacks):
    for n in range(12):
        client = Client(REMOTE_ADDR=f"192.0.2.{n}")  # twelve different clients
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(reverse("password_reset"), {"email": owner.email})
        assert response.status_code == 302
    assert len(mail.outbox) == 3


def test_reset_requests_from_one_client_are_limited(owner, celery_eager, django_capture_on_commit_callbacks):
    client = Client(REMOTE_ADDR="192.0.2.50")
    statuses = []
    for n in range(12):
        with django_capture_on_commit_callbacks(execute=True):
            statuses.append(client.post(reverse("password_reset"), {"email": f"someone{n}@example.com"}).status_code)
    assert statuses == [302] * 10 + [429] * 2
    assert (
        "재설정 요청이 너무 많습니다"
        in client.post(reverse("password_reset"), {"email": "x@example.com"}).content.decode()
    )

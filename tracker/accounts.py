"""Password reset that tells nobody whether an address is known, cannot be used to flood a mailbox, and
lifts a login lock-out once the person has proved they own the account.

The web request only counts (per address and per client) and queues a task with the address; the worker
looks the address up and writes the e-mail. Known and unknown addresses therefore take the same path and
the same time, and the reset link (a secret) never passes through the broker.
"""

from __future__ import annotations

import hashlib
from functools import partial
from urllib.parse import urlsplit

from axes.utils import reset as axes_reset
from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import PasswordResetForm
from django.core.cache import cache
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render

from tracker.client_ip import client_ip

RESETS_PER_ADDRESS = 3  # e-mails to one address per window
REQUESTS_PER_CLIENT = 10  # reset requests from one client address per window
WINDOW_SECONDS = 60 * 60


def _within_limit(key: str, limit: int) -> bool:
    """Count one more under ``key`` (a fixed window from the first count); True while the count is within limit."""
    cache.add(key, 0, timeout=WINDOW_SECONDS)
    try:
        count = cache.incr(key)
    except ValueError:  # the window ended between add and incr
        cache.set(key, 1, timeout=WINDOW_SECONDS)
        count = 1
    return count <= limit


def _address_key(email: str) -> str:
    return "password-reset:address:" + hashlib.sha256(email.strip().lower().encode()).hexdigest()


def password_reset_send(*, email: str) -> int:
    """Write the reset e-mail to every active account with this address (usually none or one); the worker's job."""
    form = PasswordResetForm({"email": email})
    if not form.is_valid():
        return 0
    site = urlsplit(settings.SITE_URL)
    users = list(form.get_users(email))
    form.save(domain_override=site.netloc, use_https=site.scheme == "https")
    return len(users)


class PasswordResetRequestView(auth_views.PasswordResetView):
    """The same answer, the same work and the same time for any address; at most a few e-mails an hour."""

    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not _within_limit(f"password-reset:client:{client_ip(request)}", REQUESTS_PER_CLIENT):
            return render(request, "registration/password_reset_limited.html", status=429)
        return super().post(request, *args, **kwargs)

    def form_valid(self, form) -> HttpResponse:
        from notifications.tasks import send_password_reset

        email = form.cleaned_data["email"]
        if _within_limit(_address_key(email), RESETS_PER_ADDRESS):
            transaction.on_commit(partial(send_password_reset.delay, email=email))
        return HttpResponseRedirect(self.get_success_url())


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """Setting a new password through the e-mailed link also ends a login lock-out of that account."""

    def form_valid(self, form) -> HttpResponse:
        response = super().form_valid(form)
        axes_reset(username=form.user.get_username())
        return response

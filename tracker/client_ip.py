"""The client's address, as the outermost of a configured number of trusted reverse proxies saw it.

Behind a proxy every request comes from the proxy's address; the proxies add the address they saw to
X-Forwarded-For, each at the right end. With ``TRUSTED_PROXIES`` = N, the client is the N-th entry from the
right: entries further left were written by the client itself and prove nothing. With 0 (no proxy) the
header is ignored altogether. The proxies must not be reachable directly, or anyone can write the header.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str:
    remote = request.META.get("REMOTE_ADDR", "") or ""
    proxies = getattr(settings, "TRUSTED_PROXIES", 0)
    if proxies <= 0:
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    if not forwarded:
        return remote
    return forwarded[-proxies] if len(forwarded) >= proxies else forwarded[0]

from __future__ import annotations

from django.conf import settings
from django.utils import translation
from django.utils.cache import add_never_cache_headers


class KoreanFirstLocaleMiddleware:
    """Korean unless the person chose English with the switch (a cookie); the browser's language is ignored.

    City PCs often run English browsers; the product speaks Korean first, English only on request.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        language = chosen if chosen in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = language
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", language)
        return response


class PrivateResponsesNotStoredMiddleware:
    """``Cache-Control: no-store`` on every response for a signed-in person, every download (exports, feeds)
    and every page reached through a secret link, so that no shared or browser cache keeps a copy.

    Static files never get here (WhiteNoise answers them earlier) and keep their long cache lifetime.
    """

    SECRET_LINK_PREFIXES = ("/n/", "/accounts/reset/")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if (
            (user is not None and user.is_authenticated)
            or response.has_header("Content-Disposition")
            or request.path_info.startswith(self.SECRET_LINK_PREFIXES)
        ):
            add_never_cache_headers(response)
        return response

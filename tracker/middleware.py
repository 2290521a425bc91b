from __future__ import annotations

from django.conf import settings
from django.utils import translation


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

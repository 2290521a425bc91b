from __future__ import annotations

import pytest

from tests.smtp_sink import SmtpSink, start_sink


@pytest.fixture
def smtp(settings):
    """A loopback SMTP server the app's real SMTP backend talks to."""
    sink = SmtpSink()
    controller = start_sink(sink)
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = controller.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_TIMEOUT = 5
    yield sink
    controller.stop()

"""A real SMTP server on loopback (aiosmtpd) for the notification tests: it records every message it accepts,
parsed as a mail program would read it, and can be told to refuse some or all of them.

The app talks to it through Django's ordinary SMTP backend (the ``smtp_server`` fixture points the settings at
it), so a test sees what a recipient would: the envelope, the headers, the text and the HTML part.

A *policy* decides, per DATA command, whether to refuse: ``policy(attempt, message)`` gets the 1-based number
of the DATA command (counted over the server's life) and the parsed message, and returns an SMTP reply such as
``"451 4.3.0 try again"`` to refuse it, or None to accept it. ``refuse_always`` and ``refuse_share`` make the
usual ones. A *recipient policy* does the same for each RCPT TO address (``recipient_policy(address)``).
"""

from __future__ import annotations

import email
import email.policy
import socket
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from fractions import Fraction

import pytest
from aiosmtpd.controller import Controller


@dataclass
class ReceivedMessage:
    """One message as the server received it: the SMTP envelope and the parsed message."""

    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    message: EmailMessage

    def header(self, name: str) -> str | None:
        """A header's decoded value, as a mail program shows it (a long header arrives folded: unfolded here)."""
        value = self.message[name]
        return None if value is None else str(value).strip()

    @property
    def message_id(self) -> str:
        return self.header("Message-ID")

    @property
    def to(self) -> str:
        return self.header("To")

    @property
    def subject(self) -> str:
        return self.header("Subject")

    @property
    def headers(self) -> list[tuple[str, str]]:
        """Every header, in order, decoded (a header sent twice appears twice)."""
        return [(name, str(value).strip()) for name, value in self.message.items()]

    @property
    def text(self) -> str:
        part = self.message.get_body(preferencelist=("plain",))
        return part.get_content() if part is not None else ""

    @property
    def html(self) -> str:
        part = self.message.get_body(preferencelist=("html",))
        return part.get_content() if part is not None else ""


Policy = Callable[[int, ReceivedMessage], str | None]
RecipientPolicy = Callable[[str], str | None]


def accept_all(attempt: int, message: ReceivedMessage) -> str | None:
    return None


def accept_every_recipient(address: str) -> str | None:
    return None


def refuse_always(reply: str) -> Policy:
    """Refuse every message with ``reply``, e.g. ``"550 5.1.1 no such user"``."""
    return lambda attempt, message: reply


def refuse_share(share: float, reply: str) -> Policy:
    """Refuse ``share`` of the DATA commands, spread evenly and deterministically (0.3: the 4th, 7th, 10th, 14th…).

    Refusals are never back to back for a share up to one half, so a retried message soon gets through.
    """
    ratio = Fraction(share).limit_denominator(100)

    def policy(attempt: int, message: ReceivedMessage) -> str | None:
        return reply if int(attempt * ratio) > int((attempt - 1) * ratio) else None

    return policy


@dataclass
class RecordingHandler:
    """The aiosmtpd handler: runs in the server's thread, so everything it shares goes through ``lock``."""

    policy: Policy = accept_all
    recipient_policy: RecipientPolicy = accept_every_recipient
    refused_recipients: list[tuple[str, str]] = field(default_factory=list)
    received: list[ReceivedMessage] = field(default_factory=list)
    refused: list[tuple[ReceivedMessage, str]] = field(default_factory=list)
    attempts: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:  # noqa: N802
        with self.lock:
            reply = self.recipient_policy(address)
            if reply:
                self.refused_recipients.append((address, reply))
                return reply
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 - aiosmtpd's hook name
        raw = envelope.original_content or envelope.content
        parsed = email.message_from_bytes(raw, policy=email.policy.default)
        message = ReceivedMessage(envelope.mail_from, list(envelope.rcpt_tos), raw, parsed)
        with self.lock:
            self.attempts += 1
            reply = self.policy(self.attempts, message)
            if reply:
                self.refused.append((message, reply))
                return reply
            self.received.append(message)
        return "250 2.0.0 OK"


class SmtpServer:
    """A started server: ``port``, what arrived (``received``, ``message_ids()``), and ``policy`` to refuse."""

    def __init__(self, handler: RecordingHandler, controller: Controller):
        self.handler = handler
        self.controller = controller
        self.port = controller.port

    @property
    def policy(self) -> Policy:
        return self.handler.policy

    @policy.setter
    def policy(self, value: Policy) -> None:
        with self.handler.lock:
            self.handler.policy = value

    @property
    def recipient_policy(self) -> RecipientPolicy:
        return self.handler.recipient_policy

    @recipient_policy.setter
    def recipient_policy(self, value: RecipientPolicy) -> None:
        """``policy(address)`` returns a reply such as ``"550 5.1.1 no such user"`` to refuse RCPT TO, or None."""
        with self.handler.lock:
            self.handler.recipient_policy = value

    @property
    def refused_recipients(self) -> list[tuple[str, str]]:
        with self.handler.lock:
            return list(self.handler.refused_recipients)

    @property
    def received(self) -> list[ReceivedMessage]:
        with self.handler.lock:
            return list(self.handler.received)

    @property
    def refused(self) -> list[tuple[ReceivedMessage, str]]:
        with self.handler.lock:
            return list(self.handler.refused)

    def message_ids(self) -> list[str]:
        return [message.message_id for message in self.received]

    def by_message_id(self, message_id: str) -> ReceivedMessage:
        [message] = [item for item in self.received if item.message_id == message_id]
        return message

    def tries_by_message_id(self) -> Counter:
        """How many DATA commands each Message-ID took, refused ones included."""
        with self.handler.lock:
            items = list(self.handler.received) + [m for m, _reply in self.handler.refused]
        return Counter(item.message_id for item in items)

    def assert_delivered_exactly_once(self, expected: set[str] | list[str]) -> None:
        """Every expected Message-ID arrived exactly once, and nothing else arrived."""
        counts = Counter(self.message_ids())
        expected = set(expected)
        duplicates = {message_id: n for message_id, n in counts.items() if n > 1}
        assert not duplicates, f"delivered more than once: {duplicates}"
        assert not expected - set(counts), f"never delivered: {expected - set(counts)}"
        assert not set(counts) - expected, f"delivered but not expected: {set(counts) - expected}"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def smtp_server_start(policy: Policy = accept_all) -> SmtpServer:
    # aiosmtpd's Controller checks that it is up by connecting to its port, so it needs a real one, not 0.
    handler = RecordingHandler(policy=policy)
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    return SmtpServer(handler, controller)


@pytest.fixture(name="smtp_server")
def smtp_server_fixture(settings) -> Iterator[SmtpServer]:
    """A loopback SMTP server, with Django's SMTP backend pointed at it for the test."""
    server = smtp_server_start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = server.port
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 5
    try:
        yield server
    finally:
        server.controller.stop()

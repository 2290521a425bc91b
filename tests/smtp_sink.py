"""A real SMTP server on loopback (aiosmtpd) that records what it accepts and can be told to refuse."""

from __future__ import annotations

import email
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from aiosmtpd.controller import Controller


@dataclass
class Received:
    message_id: str
    mail_from: str
    rcpt_tos: list[str]
    message: email.message.Message


@dataclass
class SmtpSink:
    """``refuse(n)`` gets the 1-based number of the DATA command and returns an SMTP reply to refuse it, or None."""

    refuse: Callable[[int], str | None] = lambda n: None
    received: list[Received] = field(default_factory=list)
    attempts: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        with self.lock:
            self.attempts += 1
            reply = self.refuse(self.attempts)
            if reply:
                return reply
            parsed = email.message_from_bytes(envelope.content)
            self.received.append(Received(parsed["Message-ID"], envelope.mail_from, list(envelope.rcpt_tos), parsed))
        return "250 OK"

    def message_ids(self) -> list[str]:
        with self.lock:
            return [item.message_id for item in self.received]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_sink(sink: SmtpSink, port: int | None = None) -> Controller:
    controller = Controller(sink, hostname="127.0.0.1", port=port or free_port())
    controller.start()
    return controller

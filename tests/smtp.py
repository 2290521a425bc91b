"""A real SMTP server on loopback (aiosmtpd) for the tests and the benchmark: it records every message it is
offered, answers each as a *policy* says, and can hold a message unanswered.

It listens on 127.0.0.1 in a thread of its own, so the app in this process (the ``smtp_server`` fixture in
tests/conftest.py points Django's SMTP backend at it) and worker processes (``EMAIL_URL=smtp://127.0.0.1:<port>``)
talk to it as to any mail server. A test then sees what a recipient would: the envelope, the headers, the text
and the HTML part, and which Message-IDs arrived how many times.

A *policy* decides per DATA command: ``policy(number, message)`` gets the 1-based number of the DATA command
(counted over the server's life) and the message, and returns an SMTP reply such as ``"451 4.3.0 try again"`` to
refuse it, or None to accept it: ``accept_all``, ``refuse_always``, ``refuse_share``, ``refuse_at_random``,
``refuse_message_ids``. A *recipient policy* does the same for each RCPT TO address.

A message counts as delivered only when the server answered 250. A held message is answered (and counted) when
it is released, even if its client died meanwhile: a real server may already have passed it on.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import random
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from email.message import EmailMessage
from fractions import Fraction
from functools import cached_property

from aiosmtpd.controller import Controller

ACCEPTED = "250 2.0.0 OK"


@dataclass
class ReceivedMessage:
    """One DATA command as the server received it: the SMTP envelope, the message, and the server's reply."""

    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    reply: str = ACCEPTED

    @property
    def accepted(self) -> bool:
        return self.reply.startswith("250")

    @cached_property
    def message(self) -> EmailMessage:
        """The message as a mail program reads it (parsed on first use, so that a busy server stays fast)."""
        return email.message_from_bytes(self.raw, policy=email.policy.default)

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


def accept_all(number: int, message: ReceivedMessage) -> str | None:
    return None


def accept_every_recipient(address: str) -> str | None:
    return None


def refuse_always(reply: str) -> Policy:
    """Refuse every message with ``reply``, e.g. ``"550 5.1.1 no such user"``."""
    return lambda number, message: reply


def refuse_share(share: float, reply: str) -> Policy:
    """Refuse ``share`` of the DATA commands, spread evenly and deterministically (0.3: the 4th, 7th, 10th, 14th…;
    1/3: every third). Refusals are never back to back for a share up to one half, so a retried message soon
    gets through."""
    ratio = Fraction(share).limit_denominator(100)
    return lambda number, message: reply if int(number * ratio) > int((number - 1) * ratio) else None


def refuse_at_random(share: float, reply: str, *, seed: int) -> Policy:
    """Refuse each DATA command with probability ``share``, by a seeded coin (the same run, the same refusals)."""
    coin = random.Random(seed)  # the server asks its policy under its lock: one toss at a time
    return lambda number, message: reply if coin.random() < share else None


def refuse_message_ids(message_ids: Iterable[str], reply: str) -> Policy:
    """Refuse every message whose Message-ID is one of ``message_ids`` with ``reply``, and accept the rest."""
    refused = set(message_ids)
    return lambda number, message: reply if message.message_id in refused else None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class SmtpServer:
    """``with SmtpServer() as server:`` listens on 127.0.0.1:<server.port> until the block ends.

    ``policy``, ``recipient_policy`` and ``delay`` (seconds before each answer) may be changed at any time.
    """

    def __init__(self) -> None:
        self.policy: Policy = accept_all
        self.recipient_policy: RecipientPolicy = accept_every_recipient
        self.delay = 0.0
        # aiosmtpd's Controller checks that it is up by connecting to its port, so it needs a real one, not 0.
        self.port = free_port()
        self.holding = threading.Event()
        self._release = threading.Event()
        self._hold_next = False
        self._data_commands = 0
        self._answered: list[ReceivedMessage] = []
        self._refused_recipients: list[tuple[str, str]] = []
        self._lock = threading.Lock()  # shared with the server's thread
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port, ready_timeout=10)

    def __enter__(self) -> SmtpServer:
        self._controller.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._release.set()
        self._controller.stop()

    # aiosmtpd's handler hooks, run in the server's thread

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:
        with self._lock:
            reply = self.recipient_policy(address)
            if reply:
                self._refused_recipients.append((address, reply))
                return reply
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope) -> str:
        received = ReceivedMessage(
            envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content or envelope.content
        )
        with self._lock:
            self._data_commands += 1
            received.reply = self.policy(self._data_commands, received) or ACCEPTED
            hold, self._hold_next = self._hold_next, False
        if hold:
            await self._wait_for_release(received)
        if self.delay:
            await asyncio.sleep(self.delay)
        self._record(received)
        return received.reply

    async def _wait_for_release(self, received: ReceivedMessage) -> None:
        self.holding.set()
        released = asyncio.get_running_loop().run_in_executor(None, self._release.wait, 60)
        try:
            await asyncio.shield(released)
        except asyncio.CancelledError:
            # The client went away while held: the server still has the message and answers it on release.
            released.add_done_callback(lambda _done: self._record(received))
            raise

    def _record(self, received: ReceivedMessage) -> None:
        with self._lock:
            self._answered.append(received)

    def hold_next(self) -> None:
        """Keep the next DATA unanswered until release(); ``holding`` is set when it arrives."""
        with self._lock:
            self._hold_next = True
            self.holding.clear()
            self._release.clear()

    def release(self) -> None:
        self._release.set()

    @property
    def delivered(self) -> list[ReceivedMessage]:
        """The messages answered 250, in order."""
        with self._lock:
            return [message for message in self._answered if message.accepted]

    @property
    def refused(self) -> list[ReceivedMessage]:
        """The messages refused at DATA, in order (``message.reply`` says how)."""
        with self._lock:
            return [message for message in self._answered if not message.accepted]

    @property
    def refused_recipients(self) -> list[tuple[str, str]]:
        """(address, reply) for every RCPT TO the recipient policy refused."""
        with self._lock:
            return list(self._refused_recipients)

    def deliveries_by_message_id(self) -> Counter[str]:
        return Counter(message.message_id for message in self.delivered)

    def tries_by_message_id(self) -> Counter[str]:
        """How many DATA commands each Message-ID took, refused ones included."""
        with self._lock:
            answered = list(self._answered)
        return Counter(message.message_id for message in answered)

    def assert_delivered_exactly_once(self, expected: Iterable[str]) -> None:
        """Every expected Message-ID arrived exactly once, and nothing else did."""
        counts, expected = self.deliveries_by_message_id(), set(expected)
        duplicates = {message_id: n for message_id, n in counts.items() if n > 1}
        assert not duplicates, f"delivered more than once: {duplicates}"
        assert not expected - set(counts), f"never delivered: {expected - set(counts)}"
        assert not set(counts) - expected, f"delivered but not expected: {set(counts) - expected}"

    def wait_for_deliveries(self, count: int, *, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while len(self.delivered) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(self.delivered)} of {count} messages arrived within {timeout} s")
            time.sleep(0.05)

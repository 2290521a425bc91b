"""A recording SMTP server on loopback for the reliability suite and the benchmark.

It records every DATA it is offered by Message-ID, answers it according to a policy (accept, 451, 550…), and
can hold the next DATA open until it is released, so that a test can kill a worker in the middle of a send.
A message counts as delivered only when the server answered 250; a held message that is released is
answered (and counted) as delivered even if its client died meanwhile, as a real server may already have
passed it on.
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
from collections.abc import Callable
from dataclasses import dataclass
from email.parser import BytesHeaderParser

from aiosmtpd.controller import Controller

# (Message-ID, how many times this Message-ID has been offered, this one included) → an SMTP reply, or None for 250.
Policy = Callable[[str, int], str | None]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def accept_all(message_id: str, attempt: int) -> str | None:
    return None


def temporary_failures(rate: float, *, seed: int = 7, reply: str = "451 4.3.0 Try again later") -> Policy:
    """Answer ``reply`` to a fraction ``rate`` of the offers, decided by a seeded coin per offer."""
    coin = random.Random(seed)
    lock = threading.Lock()

    def policy(message_id: str, attempt: int) -> str | None:
        with lock:
            return reply if coin.random() < rate else None

    return policy


def reject(message_ids: set[str], *, reply: str = "550 5.1.1 Mailbox unavailable") -> Policy:
    """Answer ``reply`` to every offer of the given Message-IDs, and accept the rest."""

    def policy(message_id: str, attempt: int) -> str | None:
        return reply if message_id in message_ids else None

    return policy


@dataclass(frozen=True)
class Offer:
    message_id: str
    recipients: tuple[str, ...]
    peer: str
    reply: str
    subject: str
    body: bytes

    def text(self) -> str:
        """The plain-text part, decoded."""
        message = email.message_from_bytes(self.body, policy=email.policy.default)
        return message.get_body(preferencelist=("plain",)).get_content()


class SmtpSink:
    """``with SmtpSink() as sink:`` listens on 127.0.0.1:<sink.port> until the block ends."""

    def __init__(self, *, policy: Policy = accept_all, delay: float = 0.0) -> None:
        self.policy = policy
        self.delay = delay
        self.port = free_port()
        self.offers: list[Offer] = []
        self._lock = threading.Lock()
        self._hold_next = False
        self.holding = threading.Event()
        self._release = threading.Event()
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port, ready_timeout=10)

    def __enter__(self) -> SmtpSink:
        self._controller.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._release.set()
        self._controller.stop()

    # aiosmtpd handler hook
    async def handle_DATA(self, server, session, envelope) -> str:
        body = envelope.original_content or envelope.content
        message = BytesHeaderParser(policy=email.policy.default).parsebytes(body)  # headers are enough here
        message_id = str(message.get("Message-ID", "")).strip()
        with self._lock:
            attempt = 1 + sum(1 for offer in self.offers if offer.message_id == message_id)
            hold, self._hold_next = self._hold_next, False
        reply = self.policy(message_id, attempt) or "250 2.0.0 OK"
        offer = Offer(
            message_id=message_id,
            recipients=tuple(envelope.rcpt_tos),
            peer=f"{session.peer[0]}:{session.peer[1]}",
            reply=reply,
            subject=str(message.get("Subject", "")),
            body=body,
        )
        if hold:
            self.holding.set()
            released = asyncio.get_running_loop().run_in_executor(None, self._release.wait, 60)
            try:
                await asyncio.shield(released)
            except asyncio.CancelledError:
                # The client went away while held: the server still has the message and answers it on release.
                released.add_done_callback(lambda _done: self._record(offer))
                raise
        if self.delay:
            await asyncio.sleep(self.delay)
        self._record(offer)
        return reply

    def _record(self, offer: Offer) -> None:
        with self._lock:
            self.offers.append(offer)

    def hold_next(self) -> None:
        """Keep the next DATA unanswered until release(); ``holding`` is set when it arrives."""
        with self._lock:
            self._hold_next = True
            self.holding.clear()
            self._release.clear()

    def release(self) -> None:
        self._release.set()

    def delivered(self) -> list[Offer]:
        with self._lock:
            return [offer for offer in self.offers if offer.reply.startswith("250")]

    def refused(self) -> list[Offer]:
        with self._lock:
            return [offer for offer in self.offers if not offer.reply.startswith("250")]

    def delivered_counts(self) -> Counter[str]:
        return Counter(offer.message_id for offer in self.delivered())

    def wait_for_deliveries(self, count: int, *, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while len(self.delivered()) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(self.delivered())} of {count} messages arrived within {timeout} s")
            time.sleep(0.05)

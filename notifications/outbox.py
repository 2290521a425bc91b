"""Delivery from the outbox: claim a row, send it with its fixed Message-ID, mark it sent while holding the claim.

- A claim is a conditional UPDATE (pending → sending) with a token and a lease; only the holder may finish it.
- Temporary failures (SMTP 4xx, timeouts, lost connections) go back to pending with a capped backoff for as long
  as the outage lasts; permanent ones (5xx, a bad header) fail at once and show in the admin. A reminder e-mail
  is only sent on its own day (``send_by``): one still undelivered when its day ends hands its reminders to the
  next working day's e-mail (notifications/workdays.py), it does not fail.
- A run claims batches for a few seconds (DISPATCH_BUDGET), renewing its lease as it goes, and says whether due
  rows were left (``more``), so that the task can continue in a fresh task and fan out across workers.
- A lease that expires before the SMTP conversation began is simply retried. One that expires after it began
  may have gone out already: that row is failed and flagged for a person, never silently sent a second time.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import smtplib
import socket
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

from django.conf import settings
from django.core.mail import BadHeaderError, get_connection
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from notifications.emails import build_email
from notifications.models import OutboxMessage, Reminder
from notifications.reminder_emails import messages_render
from projects.permissions import portfolio_readers

logger = logging.getLogger(__name__)

# Never more than this between two tries of a message the server refused for now or could not be reached for.
MAX_BACKOFF = dt.timedelta(minutes=30)
# A digest still undelivered after a week of temporary failures is failed for a person to look at: by then the
# next week's digest says more.
DIGEST_RETRY_FOR = dt.timedelta(days=7)
# Errors that say the server itself cannot be reached, not that it refused one message.
UNREACHABLE = (ConnectionError, TimeoutError, smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError)


class TemporaryFailure(Exception):
    pass


class PermanentFailure(Exception):
    pass


@dataclass
class DispatchResult:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    cancelled: int = 0
    recovered: int = 0
    flagged: int = 0
    # E-mails not sent because their recipient declined since (Reminder.SkipReason values).
    skipped: Counter[str] = field(default_factory=Counter)
    more: bool = False  # stopped on its time budget or limit with due rows left


def lease() -> dt.timedelta:
    """How long a claim holds without renewal (settings.OUTBOX_LEASE_SECONDS, where the timeouts are explained)."""
    return dt.timedelta(seconds=settings.OUTBOX_LEASE_SECONDS)


def claim_batch_size() -> int:
    return settings.OUTBOX_CLAIM_BATCH


def backoff(attempts: int) -> dt.timedelta:
    """1, 2, 4, 8, 16 minutes after each temporary failure, then every 30 minutes for as long as it lasts."""
    return min(dt.timedelta(minutes=2 ** min(max(attempts - 1, 0), 6)), MAX_BACKOFF)


def classify(error: Exception) -> Exception:
    """Whether retrying can fix an SMTP error: 4xx and network trouble can; 5xx and bad headers cannot."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _message in error.recipients.values()]
        return (
            TemporaryFailure(str(error))
            if codes and all(400 <= c < 500 for c in codes)
            else PermanentFailure(str(error))
        )
    if isinstance(error, smtplib.SMTPResponseException):
        return TemporaryFailure(str(error)) if 400 <= error.smtp_code < 500 else PermanentFailure(str(error))
    if isinstance(error, BadHeaderError | ValueError | UnicodeError):
        return PermanentFailure(str(error))
    if isinstance(error, smtplib.SMTPException | OSError | socket.timeout | TimeoutError):
        return TemporaryFailure(str(error) or type(error).__name__)
    raise error


def outbox_recover_expired_leases(*, now: dt.datetime) -> tuple[int, int]:
    """Sending rows whose worker died: retried if SMTP never began, flagged for a person if it may have."""
    expired = OutboxMessage.objects.filter(status=OutboxMessage.Status.SENDING, lease_expires_at__lt=now)
    recovered = expired.filter(smtp_started_at=None).update(
        status=OutboxMessage.Status.PENDING,
        claim_token=None,
        lease_expires_at=None,
        last_error=_("발송 작업이 전송 전에 중단되어 다시 보냅니다."),
    )
    flagged = expired.exclude(smtp_started_at=None).update(
        status=OutboxMessage.Status.FAILED,
        claim_token=None,
        lease_expires_at=None,
        needs_attention=True,
        last_error=_(
            "전송 도중 작업이 중단되어 이미 발송되었을 수 있습니다. 받은 사람에게 확인한 뒤 '다시 보내기'를 하세요."
        ),
    )
    if flagged:
        logger.warning("outbox: %d message(s) flagged after a lease expired during SMTP", flagged)
    return recovered, flagged


def _claim_batch(*, now: dt.datetime, size: int) -> list[OutboxMessage]:
    """Claim up to ``size`` due rows at once (skipping rows another sender or the planner holds); a reminder
    e-mail whose day has ended is left for the planner to carry over."""
    with transaction.atomic():
        candidates = list(
            OutboxMessage.objects.select_for_update(skip_locked=True)
            .filter(status=OutboxMessage.Status.PENDING, not_before__lte=now)
            .filter(Q(send_by=None) | Q(send_by__gt=now))
            .order_by("not_before", "pk")
            .values_list("pk", flat=True)[:size]
        )
        if not candidates:
            return []
        token = uuid.uuid4()
        OutboxMessage.objects.filter(pk__in=candidates, status=OutboxMessage.Status.PENDING).update(
            status=OutboxMessage.Status.SENDING,
            claim_token=token,
            lease_expires_at=timezone.now() + lease(),  # the real clock, even when dispatching "as of" a date
            smtp_started_at=None,
            attempts=F("attempts") + 1,
        )
    return _claimed(token)


def _claimed(token: uuid.UUID) -> list[OutboxMessage]:
    return list(
        OutboxMessage.objects.filter(status=OutboxMessage.Status.SENDING, claim_token=token)
        .select_related("recipient__notification_preference", "recipient__profile")
        .order_by("not_before", "pk")
    )


def _held(message: OutboxMessage):
    return OutboxMessage.objects.filter(
        pk=message.pk, status=OutboxMessage.Status.SENDING, claim_token=message.claim_token
    )


def _declined_because(message: OutboxMessage, *, readers: set[int]) -> tuple[str, str]:
    """Why the recipient no longer gets this e-mail (deactivated, no address, opted out since, and for a reminder
    no longer allowed to read the portfolio): a Reminder.SkipReason and a sentence, or ("", "")."""
    recipient = message.recipient
    if not recipient.is_active or not recipient.email:
        reason = Reminder.SkipReason.INACTIVE if not recipient.is_active else Reminder.SkipReason.NO_EMAIL
        return reason, _("받는 사람이 비활성화되었거나 전자우편 주소가 없어 보내지 않았습니다.")
    if message.kind == OutboxMessage.Kind.REMINDER and recipient.pk not in readers:
        return Reminder.SkipReason.LOST_ACCESS, _("받는 사람이 더 이상 사업을 열람할 권한이 없어 보내지 않았습니다.")
    preference = getattr(recipient, "notification_preference", None)
    if preference is not None and not preference.accepts(message.kind):
        return Reminder.SkipReason.OPTED_OUT, _("받는 사람이 이 알림을 꺼서 보내지 않았습니다.")
    return "", ""


def _prepare(batch: list[OutboxMessage], *, result: DispatchResult) -> list[OutboxMessage]:
    """Drop what must not go (recipient declined since), then write the reminder e-mails from what still applies:
    a milestone closed or moved since it was queued drops out, and an e-mail left with nothing is cancelled."""
    readers = set(portfolio_readers().filter(pk__in={m.recipient_id for m in batch}).values_list("pk", flat=True))
    for message in batch:
        reason, explanation = _declined_because(message, readers=readers)
        if reason and _held(message).update(
            status=OutboxMessage.Status.CANCELLED, claim_token=None, lease_expires_at=None, last_error=explanation
        ):
            Reminder.objects.filter(message=message, status=Reminder.Status.PENDING).update(
                status=Reminder.Status.SKIPPED, skip_reason=reason
            )
            result.cancelled += 1
            result.skipped[reason] += 1
    reminders = {m.pk for m in batch if m.kind == OutboxMessage.Kind.REMINDER}
    if reminders:
        result.cancelled += messages_render(message_ids=reminders, status=OutboxMessage.Status.SENDING)
    return _claimed(batch[0].claim_token)


def _deliver(message: OutboxMessage, *, connection, result: DispatchResult) -> bool:
    """Send one claimed e-mail; False when the SMTP server could not be reached (stop the batch)."""
    if not _held(message).update(smtp_started_at=timezone.now()):
        return True  # the claim was lost (lease expired and recovered elsewhere): do not send
    try:
        connection.open()  # no-op while the connection of this dispatch is open
        build_email(message, connection=connection).send()
    except Exception as error:  # noqa: BLE001 - classify() re-raises what is not an e-mail error
        failure = classify(error)
        _record_failure(message, failure, result=result)
        connection.close()
        return not isinstance(error, UNREACHABLE)
    # One commit for the row and its reminders: the commits, not the SMTP conversation, are what a busy
    # database makes slow.
    with transaction.atomic():
        finished = _held(message).update(
            status=OutboxMessage.Status.SENT,
            sent_at=timezone.now(),
            claim_token=None,
            lease_expires_at=None,
            last_error="",
        )
        if finished:
            Reminder.objects.filter(Reminder.still_applies_q(), message=message, status=Reminder.Status.PENDING).update(
                status=Reminder.Status.SENT
            )
    if finished:
        result.sent += 1
    return True


def _renew(token: uuid.UUID) -> None:
    """Extend the lease of every row this sender still holds: a sender that is working never loses its claim."""
    OutboxMessage.objects.filter(status=OutboxMessage.Status.SENDING, claim_token=token).update(
        lease_expires_at=timezone.now() + lease()
    )


def _gives_up(message: OutboxMessage) -> bool:
    """Whether a temporary failure ends this message: only a digest retried for a week. A reminder e-mail never
    fails for an outage; when its day ends, its reminders move to the next working day's e-mail."""
    return message.kind == OutboxMessage.Kind.DIGEST and message.created_at < timezone.now() - DIGEST_RETRY_FOR


def _record_failure(message: OutboxMessage, failure: Exception, *, result: DispatchResult) -> None:
    attempts = OutboxMessage.objects.values_list("attempts", flat=True).get(pk=message.pk)
    if isinstance(failure, TemporaryFailure) and not _gives_up(message):
        _held(message).update(
            status=OutboxMessage.Status.PENDING,
            claim_token=None,
            lease_expires_at=None,
            smtp_started_at=None,
            not_before=timezone.now() + backoff(attempts),
            last_error=str(failure)[:2000],
        )
        result.retried += 1
        logger.info("outbox: %s will be retried (%s)", message.key, failure)
    else:
        _held(message).update(
            status=OutboxMessage.Status.FAILED,
            claim_token=None,
            lease_expires_at=None,
            smtp_started_at=None,
            last_error=str(failure)[:2000],
        )
        result.failed += 1
        logger.error("outbox: %s failed: %s", message.key, failure)


def _release(messages: list[OutboxMessage]) -> None:
    """Hand claimed rows that were not tried back to the queue, as if never claimed."""
    if messages:
        OutboxMessage.objects.filter(
            pk__in=[m.pk for m in messages],
            status=OutboxMessage.Status.SENDING,
            claim_token=messages[0].claim_token,
            smtp_started_at=None,
        ).update(
            status=OutboxMessage.Status.PENDING, claim_token=None, lease_expires_at=None, attempts=F("attempts") - 1
        )


def outbox_dispatch(
    *, limit: int | None = 500, now: dt.datetime | None = None, budget: float | None = None
) -> DispatchResult:
    """Send what is due in small claimed batches over one SMTP connection: at most ``limit`` rows, and no new
    batch after ``budget`` seconds (None: no bound). ``result.more`` says it stopped with due rows left."""
    result = DispatchResult()
    result.recovered, result.flagged = outbox_recover_expired_leases(now=timezone.now())
    connection = get_connection(fail_silently=False)
    left = limit if limit is not None else float("inf")
    started = time.monotonic()
    ready: list[OutboxMessage] = []
    tried = 0
    try:
        while left > 0:
            size = int(min(claim_batch_size(), left))
            batch = _claim_batch(now=now or timezone.now(), size=size)
            if not batch:
                break
            left -= len(batch)
            result.more = left <= 0 and len(batch) == size
            ready, tried = _prepare(batch, result=result), 0
            renewed = time.monotonic()
            for message in ready:
                tried += 1
                if not _deliver(message, connection=connection, result=result):
                    # The server is unreachable: the rest of the batch waits for the next tick, not a timeout each.
                    result.more = False
                    return result
                if time.monotonic() - renewed > settings.OUTBOX_LEASE_SECONDS / 3 and tried < len(ready):
                    _renew(message.claim_token)
                    renewed = time.monotonic()
            ready = []
            if budget is not None and time.monotonic() - started > budget and left > 0 and len(batch) == size:
                result.more = True  # the time is up, not the work: a fresh task continues
                break
    finally:
        # Whatever ended the run (the server unreachable, a time limit, the database gone), rows claimed and not
        # tried go back now rather than after the lease.
        with contextlib.suppress(Exception):
            _release(ready[tried:])
        connection.close()
    return result


@transaction.atomic
def outbox_resend(*, message_ids: list[int]) -> int:
    """An admin's deliberate resend of failed or cancelled messages (same Message-ID)."""
    return OutboxMessage.objects.filter(
        pk__in=message_ids, status__in=[OutboxMessage.Status.FAILED, OutboxMessage.Status.CANCELLED]
    ).update(
        status=OutboxMessage.Status.PENDING,
        not_before=timezone.now(),
        needs_attention=False,
        attempts=0,
        claim_token=None,
        smtp_started_at=None,
        send_by=None,  # a person asked for it: it goes whatever its day was
    )

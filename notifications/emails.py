"""The one place that turns a context into an e-mail: subject, text and HTML from three templates."""

from __future__ import annotations

from dataclasses import dataclass
from email.header import Header
from email.message import Message
from email.utils import format_datetime
from urllib.parse import urlsplit
from uuid import uuid4

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import timezone, translation

from notifications import links
from notifications.models import OutboxMessage
from tracker.dates import SEOUL

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass
class RenderedEmail:
    subject: str
    text: str
    html: str


def render_email(template: str, context: dict, *, language: str) -> RenderedEmail:
    """Render notifications/email/<template>_subject.txt, .txt and .html in the recipient's language."""
    with translation.override(language):
        subject = render_to_string(f"notifications/email/{template}_subject.txt", context)
        text = render_to_string(f"notifications/email/{template}.txt", context)
        html = render_to_string(f"notifications/email/{template}.html", context)
    # A subject is one line: collapsing whitespace also removes any CR/LF a title could smuggle in.
    return RenderedEmail(subject=" ".join(subject.split())[:300], text=text.strip() + "\n", html=html)


def new_message_id(kind: str) -> str:
    domain = urlsplit(settings.SITE_URL).hostname or "localhost"
    return f"<{kind}.{uuid4().hex}@{domain}>"


def absolute_url(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def outbox_message_fill(
    message: OutboxMessage, *, template: str, unsubscribe_kind: str, context: dict, language: str
) -> None:
    """Write an outbox row's subject, text and HTML for its recipient, with the one-click unsubscribe headers.

    Reminders and digests alike: the context gets the recipient and their preferences and unsubscribe links.
    """
    unsubscribe_url = absolute_url(links.unsubscribe_path(user_id=message.recipient_id, kind=unsubscribe_kind))
    rendered = render_email(
        template,
        {
            **context,
            "recipient": message.recipient,
            "preferences_url": absolute_url(links.preferences_path(user_id=message.recipient_id)),
            "unsubscribe_url": unsubscribe_url,
        },
        language=language,
    )
    message.subject, message.body_text, message.body_html = rendered.subject, rendered.text, rendered.html
    message.headers = {
        "List-Unsubscribe": f"<{unsubscribe_url}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


class TrackerEmail(EmailMultiAlternatives):
    """Django's message with a Korean subject folded the way mail programs read it back.

    Django (5.2) encodes a non-ASCII subject without counting "Subject: ", so the first encoded word does not
    fit on the header's first line and Python folds the whole value onto the next: every client then shows
    the subject with a leading space. Encoding it with the header's name counted keeps it on the first line.
    """

    def message(self, **kwargs):
        msg = super().message(**kwargs)
        if not self.subject.isascii():
            del msg["Subject"]
            # Message.__setitem__ directly: Django's own __setitem__ would encode it again, the old way.
            Message.__setitem__(msg, "Subject", Header(self.subject, "utf-8", header_name="Subject"))
        return msg


def build_email(message: OutboxMessage, *, connection=None) -> EmailMultiAlternatives:
    """The SMTP message for an outbox row, with its fixed Message-ID and the one-click unsubscribe headers, dated
    in Korean time (+0900) as the people reading it live it."""
    email = TrackerEmail(
        subject=message.subject,
        body=message.body_text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[message.to_email],
        headers={
            "Message-ID": message.message_id,
            "Date": format_datetime(timezone.now().astimezone(SEOUL)),
            **message.headers,
        },
        connection=connection,
    )
    if message.body_html:
        email.attach_alternative(message.body_html, "text/html")
    if message.attachment:
        email.attach(message.attachment_name, bytes(message.attachment), XLSX_MIMETYPE)
    if message.kind == OutboxMessage.Kind.DIGEST:  # only digests carry further files (the PDF report)
        for extra in message.attachments.all():
            email.attach(extra.filename, bytes(extra.content), extra.mimetype)
    return email

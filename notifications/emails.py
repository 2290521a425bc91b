"""The one place that turns a context into an e-mail: subject, text and HTML from three templates."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit
from uuid import uuid4

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import translation

from notifications import links
from notifications.models import OutboxMessage

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


def build_email(message: OutboxMessage, *, connection=None) -> EmailMultiAlternatives:
    """The SMTP message for an outbox row, with its fixed Message-ID and the one-click unsubscribe headers."""
    email = EmailMultiAlternatives(
        subject=message.subject,
        body=message.body_text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[message.to_email],
        headers={"Message-ID": message.message_id, **message.headers},
        connection=connection,
    )
    if message.body_html:
        email.attach_alternative(message.body_html, "text/html")
    if message.attachment:
        email.attach(message.attachment_name, bytes(message.attachment), XLSX_MIMETYPE)
    return email

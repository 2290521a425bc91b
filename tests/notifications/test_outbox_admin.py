"""The outbox in the admin: a queued reminder e-mail is written when it is sent, so the admin previews it."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest
from django.test import Client
from django.urls import reverse

from notifications.models import OutboxMessage
from projects.models import Milestone
from tests.factories import MilestoneFactory
from tests.notifications.helpers import dispatch_at, plan_twice, seoul

pytestmark = pytest.mark.django_db


def test_the_admin_previews_a_queued_reminder_email_as_it_would_be_sent_now(project, owner, superuser, mailoutbox):
    milestone = MilestoneFactory(project=project, owner=owner, title="국비 신청서 제출", due_date=dt.date(2026, 12, 2))
    plan_twice(seoul("2026-11-25", 10))
    message = OutboxMessage.objects.get()
    admin = Client()
    admin.force_login(superuser)
    page = admin.get(reverse("admin:notifications_outboxmessage_change", args=[message.pk])).content.decode()
    assert "미리보기" in page and "[D-7] 국비 신청서 제출" in page
    assert message.body_text == ""  # nothing is written into the row until it is sent

    Milestone.objects.filter(pk=milestone.pk).update(status=Milestone.Status.ACHIEVED, completed_on="2026-11-25")
    page = admin.get(reverse("admin:notifications_outboxmessage_change", args=[message.pk])).content.decode()
    assert "알릴 항목이 남지 않아 보내지 않습니다." in page
    dispatch_at(seoul("2026-11-25", 10, 5))
    assert mailoutbox == [] and OutboxMessage.objects.get().status == "cancelled"


def test_a_sent_emails_html_part_is_shown_rendered_in_a_sandboxed_frame_not_as_raw_tags(project, owner, superuser):
    MilestoneFactory(project=project, owner=owner, title="국비 신청서 제출", due_date=dt.date(2026, 12, 2))
    plan_twice(seoul("2026-11-25", 10))
    dispatch_at(seoul("2026-11-25", 10, 5))
    message = OutboxMessage.objects.get()
    assert message.status == "sent" and "<table" in message.body_html
    admin = Client()
    admin.force_login(superuser)
    page = admin.get(reverse("admin:notifications_outboxmessage_change", args=[message.pk])).content.decode()
    frame = re.search(r'<iframe class="email-preview" sandbox="" srcdoc="([^"]*)"', page)
    assert frame is not None
    assert html.unescape(frame.group(1)) == message.body_html  # the browser renders it; scripts cannot run
    assert "HTML 소스 보기" in page
    # No readonly field dumps the markup as text outside the frame and the source on request.
    assert page.count(html.escape(message.body_html[:40])) <= 2

"""Reminders follow access to the project (projects/permissions.py), and every e-mail says who it is from, when,
and what, the way a mail program shows it: the sender from the environment, a subject without a leading space,
the Date in Korean time."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from email.utils import parsedate_to_datetime

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import Group

from notifications.models import OutboxMessage, Reminder
from projects import roles
from tests.factories import MilestoneFactory, UserFactory
from tests.notifications.helpers import dispatch_at, plan_twice, seoul

pytestmark = pytest.mark.django_db

WEDNESDAY = seoul("2026-12-02", 10)


@pytest.fixture
def milestone(project, owner):
    return MilestoneFactory(project=project, owner=owner, title="국비 신청서 제출", due_date=dt.date(2026, 12, 9))


def test_an_owner_removed_from_the_project_gets_nothing_and_its_managers_get_the_reminder(
    project, owner, teammate, milestone, smtp_server
):
    plan_twice(WEDNESDAY)
    assert list(Reminder.objects.values_list("recipient__username", "status")) == [("owner", "pending")]
    project.managers.remove(owner)

    plan_twice(WEDNESDAY + dt.timedelta(minutes=5))
    dispatch_at(WEDNESDAY + dt.timedelta(minutes=5))

    assert sorted(Reminder.objects.values_list("recipient__username", "status")) == [
        ("owner", "cancelled"),
        ("teammate", "sent"),
    ]
    (email,) = smtp_server.delivered
    assert email.rcpt_tos == [teammate.email]
    assert "국비 신청서 제출" in email.text and "/submit/" in email.text
    assert OutboxMessage.objects.get(recipient=owner).status == "cancelled"


def test_an_owner_who_lost_the_role_before_the_email_went_gets_no_reminder_and_no_link(
    project, owner, teammate, milestone, smtp_server
):
    """Planned for the owner; the owner's role is taken away before the dispatcher runs (no planner tick in
    between): the owner's e-mail is cancelled at the last moment, and the next tick gives it to the managers."""
    plan_twice(WEDNESDAY)
    owner.groups.remove(Group.objects.get(name=roles.PROJECT_MANAGER))

    dispatch_at(WEDNESDAY + dt.timedelta(minutes=1))
    assert smtp_server.delivered == []
    plan_twice(WEDNESDAY + dt.timedelta(minutes=5))
    dispatch_at(WEDNESDAY + dt.timedelta(minutes=5))

    (email,) = smtp_server.delivered
    assert email.rcpt_tos == [teammate.email] and "/submit/" in email.text


def test_a_milestone_without_owner_goes_to_the_managers_who_may_change_the_project(project, owner, teammate):
    viewer = UserFactory(username="viewer", role=roles.VIEWER)
    project.managers.add(viewer)  # listed, but a viewer may change nothing
    MilestoneFactory(project=project, owner=None, due_date=dt.date(2026, 12, 9))
    MilestoneFactory(project=project, owner=viewer, due_date=dt.date(2026, 12, 9))
    plan_twice(WEDNESDAY)
    assert sorted(Reminder.objects.exclude(status="skipped").values_list("recipient__username", flat=True)) == [
        "owner",
        "owner",
        "teammate",
        "teammate",
    ]
    # The viewer owner is told nothing, and the reason is kept ("why didn't I get it?").
    assert list(Reminder.objects.filter(status="skipped").values_list("recipient__username", "skip_reason")) == [
        ("viewer", "lost_access")
    ]


def test_an_admin_owner_keeps_the_reminder_and_the_link(project, milestone, smtp_server):
    admin = UserFactory(username="admin", role=roles.ADMIN)
    milestone.owner = admin
    milestone.save()
    plan_twice(WEDNESDAY)
    dispatch_at(WEDNESDAY)
    (email,) = smtp_server.delivered
    assert email.rcpt_tos == [admin.email] and "/submit/" in email.text


# Mail identity ---------------------------------------------------------------------------------------------------


def test_the_subject_has_no_leading_space_and_the_date_is_korean_time(milestone, smtp_server):
    plan_twice(WEDNESDAY)
    dispatch_at(WEDNESDAY)
    (email,) = smtp_server.delivered
    assert email.subject.startswith("[부산 성장전략 TF]"), repr(email.subject)
    assert email.subject == OutboxMessage.objects.get().subject
    assert email.header("Date").endswith("+0900")
    assert parsedate_to_datetime(email.header("Date")) == WEDNESDAY
    assert email.header("From") == django_settings.DEFAULT_FROM_EMAIL


def test_the_sender_and_the_error_sender_come_from_the_environment():
    def read(**env) -> list[str]:
        code = (
            "import django; django.setup(); from django.conf import settings as s;"
            " print(s.DEFAULT_FROM_EMAIL); print(s.SERVER_EMAIL)"
        )
        environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "tracker.settings", "DEBUG": "true", **env}
        for name in ("DEFAULT_FROM_EMAIL", "SERVER_EMAIL"):
            if name not in env:
                environment.pop(name, None)
        output = subprocess.run(
            [sys.executable, "-c", code], env=environment, capture_output=True, text=True, check=True
        ).stdout
        return output.strip().splitlines()[-2:]

    assert read(DEFAULT_FROM_EMAIL="부산 성장전략 TF <tf@busan.go.kr>", SERVER_EMAIL="tracker-errors@busan.go.kr") == [
        "부산 성장전략 TF <tf@busan.go.kr>",
        "tracker-errors@busan.go.kr",
    ]
    assert read(DEFAULT_FROM_EMAIL="tf@busan.go.kr") == ["tf@busan.go.kr", "tf@busan.go.kr"]

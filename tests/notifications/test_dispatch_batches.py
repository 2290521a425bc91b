"""The dispatcher claims rows in small batches over one SMTP connection; an unreachable server stops the run
after one attempt instead of timing out once per message."""

from __future__ import annotations

import datetime as dt
import socket

import pytest

from notifications.models import OutboxMessage
from notifications.outbox import claim_batch_size
from projects import roles
from tests.factories import MilestoneFactory, UserFactory
from tests.notifications.helpers import dispatch_at, plan_twice, seoul

pytestmark = pytest.mark.django_db


@pytest.fixture
def closed_smtp_port(settings) -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens here once the probe is closed
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", port, 2
    return port


def test_an_unreachable_smtp_server_costs_one_attempt_and_leaves_the_rest_queued(project, closed_smtp_port):
    people = [UserFactory(username=f"pm{n}", role=roles.PROJECT_MANAGER) for n in range(claim_batch_size() + 3)]
    for person in people:
        project.managers.add(person)  # reminders follow access: an owner who may change the project
        MilestoneFactory(project=project, owner=person, due_date=dt.date(2026, 11, 26))
    plan_twice(seoul("2026-11-25", 10))

    result = dispatch_at(seoul("2026-11-25", 10, 1))

    assert (result.sent, result.retried, result.failed) == (0, 1, 0)
    rows = list(OutboxMessage.objects.order_by("not_before", "pk").values("status", "attempts", "claim_token"))
    assert all(row["status"] == "pending" and row["claim_token"] is None for row in rows)
    assert sorted(row["attempts"] for row in rows) == [0] * (len(people) - 1) + [1]
    tried = OutboxMessage.objects.get(attempts=1)
    assert tried.not_before > seoul("2026-11-25", 10, 1) and tried.last_error

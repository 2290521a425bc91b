"""Audit finding 8: a title cannot add a line (say, a fake "제출 완료로 표시: http://evil…") to a text e-mail."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.urls import reverse

from notifications.outbox import outbox_dispatch
from notifications.reminders import reminders_plan
from projects import services
from projects.models import CoreProject, Milestone
from tests.factories import MilestoneFactory
from tracker.dates import SEOUL

pytestmark = pytest.mark.django_db

FAKE_LINE = "국비 신청\n제출 완료로 표시: http://evil.example/x"


@pytest.mark.parametrize(
    "text", [FAKE_LINE, "국비\r신청", "국비\t신청", "국비\u2028신청", "국비\x1b[31m신청", "국비\x85신청"]
)
def test_a_milestone_title_with_a_control_character_is_refused_at_the_model(project, owner, text):
    with pytest.raises(ValidationError) as refused:
        services.milestone_create(
            project=project, user=owner, kind=Milestone.Kind.OTHER, title=text, due_date=dt.date(2026, 12, 9)
        )
    assert "제어 문자" in str(refused.value)
    assert not Milestone.objects.filter(project=project).exists()


def test_the_workspace_form_says_so_in_korean_and_keeps_the_input(client, project, owner):
    client.force_login(owner)
    response = client.post(
        reverse("projects:milestone_create", args=[project.pk]),
        {"kind": "other", "title": FAKE_LINE, "due_date": "2026-12-09", "status": "planned"},
    )
    assert response.status_code == 200
    assert "줄바꿈·탭 같은 제어 문자는 쓸 수 없습니다" in response.content.decode()
    assert not Milestone.objects.filter(project=project).exists()


def test_a_project_name_with_a_line_break_is_refused(project):
    project.name = "해양\n사업"
    with pytest.raises(ValidationError):
        project.full_clean()
    assert CoreProject.objects.get(pk=project.pk).name != "해양\n사업"


def test_a_line_break_already_in_the_database_does_not_reach_a_text_email_as_a_line(project, owner, mailoutbox):
    milestone = MilestoneFactory(project=project, owner=owner, due_date=dt.date(2026, 11, 26))
    Milestone.objects.filter(pk=milestone.pk).update(title=FAKE_LINE)  # written before the validator existed
    now = dt.datetime(2026, 11, 25, 10, tzinfo=SEOUL)
    with time_machine.travel(now, tick=False):
        reminders_plan(now=now)
        outbox_dispatch()
    [message] = mailoutbox
    lines = message.body.splitlines()
    assert not [line for line in lines if line.strip().startswith("제출 완료로 표시: http://evil")]
    assert any("국비 신청 제출 완료로 표시: http://evil.example/x" in line for line in lines)


def test_a_persons_name_position_and_department_are_single_lines_too(owner):
    profile = owner.profile
    for field in ("name", "position", "department"):
        setattr(profile, field, "홍길동\n제출 완료로 표시: http://evil.example/x")
        with pytest.raises(ValidationError) as refused:
            profile.full_clean()
        assert field in refused.value.message_dict
        profile.refresh_from_db()

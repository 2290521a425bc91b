"""The project managers' workspace: who may do what, the status rule, no lost edits, weekly notes, history,
sign-in hardening and the Korean-first language switch. (Query counts: test_workspace_pages.py.)"""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest
import time_machine
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import reverse

from projects import services
from projects.history import project_history
from projects.models import Milestone, ProgressUpdate
from tests.factories import MilestoneFactory
from tracker.dates import SEOUL

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 25, 10, tzinfo=SEOUL)  # Wednesday of 2026-W48 (Monday 11-23)
TODAY = NOW.date()


@pytest.fixture(autouse=True)
def frozen_clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def milestone(project, owner):
    return MilestoneFactory(project=project, owner=owner, due_date=TODAY + dt.timedelta(days=7), title="국비 신청서")


def login(client: Client, user) -> Client:
    client.force_login(user)
    return client


# The service refuses outsiders ------------------------------------------------------------------------------


def test_a_manager_changes_only_their_project_even_through_the_service(project, outsider, milestone):
    with pytest.raises(PermissionDenied, match="이 사업을 수정할 권한이 없습니다"):
        services.milestone_set_status(
            milestone_id=milestone.pk, user=outsider, expected_version=milestone.version, status="submitted"
        )


# The status rule --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "current, new, allowed",
    [
        ("planned", "in_progress", True),
        ("planned", "submitted", True),
        ("in_progress", "submitted", True),
        ("submitted", "achieved", True),
        ("submitted", "missed", True),
        ("planned", "cancelled", True),
        ("submitted", "in_progress", False),
        ("achieved", "in_progress", False),
        ("cancelled", "planned", False),
        ("missed", "achieved", False),
    ],
)
def test_the_status_rule(current, new, allowed):
    assert services.milestone_status_move_allowed(current, new) is allowed


def test_a_refused_move_re_displays_with_a_korean_message_and_changes_nothing(client, owner, milestone):
    Milestone.objects.filter(pk=milestone.pk).update(status="submitted")
    milestone.refresh_from_db()
    url = reverse("projects:milestone_action", args=[milestone.pk, "start"])
    response = login(client, owner).post(url, {"version": milestone.version})
    assert response.status_code == 302  # a one-click button: the refusal is shown in the milestone's row
    page = html.unescape(client.get(response["Location"]).content.decode())
    assert re.search(r'role="alert"[^>]*>\s*<p>\'제출 완료\'에서 \'진행 중\'\(으\)로 바꿀 수 없습니다.', page)
    assert Milestone.objects.get(pk=milestone.pk).status == "submitted"


def test_cancelling_needs_a_reason(client, owner, milestone):
    url = reverse("projects:milestone_action", args=[milestone.pk, "cancel"])
    response = login(client, owner).post(url, {"version": milestone.version, "reason": ""})
    assert response.status_code == 400
    assert re.search(r'id="id_reason_errors"[^>]*>.*취소 사유를 입력하세요', response.content.decode(), re.S)
    assert Milestone.objects.get(pk=milestone.pk).status == "planned"


def test_achieving_a_funding_milestone_records_date_and_amount_in_eok(client, owner, milestone):
    url = reverse("projects:milestone_action", args=[milestone.pk, "achieve"])
    response = login(client, owner).post(
        url, {"version": milestone.version, "completed_on": "2026-11-24", "amount_secured": "12.5"}
    )
    assert response.status_code == 302
    milestone.refresh_from_db()
    assert (milestone.status, milestone.completed_on, milestone.amount_secured) == (
        "achieved",
        dt.date(2026, 11, 24),
        1_250_000_000,
    )


def test_moving_a_date_keeps_the_reason_in_the_history_shown_on_the_page(client, owner, milestone):
    url = reverse("projects:milestone_action", args=[milestone.pk, "reschedule"])
    login(client, owner).post(url, {"version": milestone.version, "due_date": "2026-12-20", "reason": "부처 일정 연기"})
    [entry] = [entry for entry in project_history(project=milestone.project) if entry.reason]
    assert entry.reason == "부처 일정 연기" and entry.who == "김담당 (해양정책과)"
    assert [(c.label, c.before, c.after) for c in entry.changes] == [("기한", "2026-12-02", "2026-12-20")]
    page = client.get(reverse("projects:project", args=[milestone.project_id])).content.decode()
    assert "부처 일정 연기" in page and "2026-12-20" in page


def test_a_missing_title_is_refused_next_to_the_field(client, owner, project):
    url = reverse("projects:milestone_create", args=[project.pk])
    response = login(client, owner).post(url, {"kind": "other", "title": "", "due_date": "2026-12-01"})
    assert response.status_code == 200
    assert re.search(r'id="id_title_errors"[^>]*>.*필수 항목입니다', response.content.decode(), re.S)
    assert not Milestone.objects.filter(project=project).exists()


# No lost edits ----------------------------------------------------------------------------------------------


def test_a_second_save_does_not_overwrite_the_first_and_can_be_re_applied(owner, teammate, milestone):
    url = reverse("projects:milestone_edit", args=[milestone.pk])
    owner_client, teammate_client = login(Client(), owner), login(Client(), teammate)
    seen = owner_client.get(url).context["form"].initial["version"]
    base = {"kind": "national_funding", "owner": owner.pk, "version": seen}
    teammate_client.post(url, {**base, "title": "팀원이 고친 제목", "responsible_agency": "해양수산부"})
    response = owner_client.post(url, {**base, "title": "담당자가 고친 제목", "responsible_agency": "기획재정부"})
    assert response.status_code == 409
    conflict = {change.label: (change.before, change.after) for change in response.context["conflict"]}
    assert conflict == {"마일스톤": ("국비 신청서", "팀원이 고친 제목")}
    assert response.context["form"]["title"].value() == "담당자가 고친 제목"
    assert Milestone.objects.get(pk=milestone.pk).title == "팀원이 고친 제목"
    again = {**base, "title": "담당자가 고친 제목", "responsible_agency": "기획재정부"}
    again["version"] = response.context["form"]["version"].value()
    assert owner_client.post(url, again).status_code == 302
    saved = Milestone.objects.get(pk=milestone.pk)
    assert (saved.title, saved.responsible_agency) == ("담당자가 고친 제목", "기획재정부")


def test_a_stale_one_click_action_changes_nothing(client, owner, milestone):
    stale = milestone.version
    services.milestone_reschedule(
        milestone_id=milestone.pk, user=owner, expected_version=stale, due_date=dt.date(2026, 12, 3), reason="r"
    )
    url = reverse("projects:milestone_action", args=[milestone.pk, "submit"])
    response = login(client, owner).post(url, {"version": stale}, follow=True)
    assert "다른 사용자가 그사이" in response.content.decode()
    assert Milestone.objects.get(pk=milestone.pk).status == "planned"


# Weekly notes -----------------------------------------------------------------------------------------------


def test_the_weekly_note_is_one_per_week_and_sets_the_projects_status(client, owner, project):
    url = reverse("projects:progress_note", args=[project.pk])
    login(client, owner).post(url, {"summary": "협의", "blockers": "예산", "next_steps": "", "rag_status": "at_risk"})
    client.post(url, {"summary": "협의 (수정)", "blockers": "", "next_steps": "", "rag_status": "delayed"})
    note = ProgressUpdate.objects.get(project=project)
    assert (note.week_start, note.summary, note.rag_status) == (dt.date(2026, 11, 23), "협의 (수정)", "delayed")
    project.refresh_from_db()
    assert project.rag_status == "delayed"
    assert any(entry.reason == "주간 진행 보고" for entry in project_history(project=project))
    with time_machine.travel(NOW + dt.timedelta(days=6), tick=False):  # Tuesday of the next week
        client.post(url, {"summary": "다음 주", "blockers": "", "next_steps": "", "rag_status": "on_track"})
    assert ProgressUpdate.objects.filter(project=project).count() == 2


# Language ---------------------------------------------------------------------------------------------------


def test_korean_first_even_for_an_english_browser_and_english_on_request(client, owner, project):
    login(client, owner)
    html = client.get(reverse("projects:my_projects"), HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").content.decode()
    assert "내 사업" in html
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    english = client.get(reverse("projects:my_projects")).content.decode()
    if not (settings.BASE_DIR / "locale" / "en" / "LC_MESSAGES" / "django.mo").exists():
        pytest.skip("the English catalogue is not compiled yet")
    assert "My projects" in english or "My Projects" in english

"""Final statuses are deliberate and recoverable (issue 14): 미달성 and 취소 ask for a reason on a confirmation page;
a wrong final status is reopened with a reason — by the project's managers within 7 days, by admins any time —
through one service, recorded in the history, and the admin applies the same rule."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.urls import reverse

from projects import roles, services
from projects.history import project_history
from projects.models import Milestone
from tests.conftest import signed_in
from tests.factories import MilestoneFactory, user_with_role
from tracker.dates import SEOUL

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 25, 10, tzinfo=SEOUL)


@pytest.fixture(autouse=True)
def frozen_clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def milestone(project, owner):
    return MilestoneFactory(project=project, owner=owner, title="국비 신청서", due_date=dt.date(2026, 12, 2))


def page_text(response) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode())).split())


def close(milestone: Milestone, user, status: str = "missed", reason: str = "공모 탈락") -> Milestone:
    return services.milestone_set_status(
        milestone_id=milestone.pk, user=user, expected_version=milestone.version, status=status, reason=reason
    )


def reopen(milestone: Milestone, user, reason: str = "잘못 누름") -> Milestone:
    return services.milestone_reopen(
        milestone_id=milestone.pk, user=user, expected_version=milestone.version, reason=reason
    )


# The confirmation page --------------------------------------------------------------------------------------


@pytest.mark.parametrize("action, label", [("miss", "미달성"), ("cancel", "취소")])
def test_the_row_offers_missed_and_cancel_as_links_to_a_confirmation_page_not_one_click_buttons(
    milestone, owner, action, label
):
    page = signed_in(owner).get(reverse("projects:project", args=[milestone.project_id])).content.decode()
    url = reverse("projects:milestone_action", args=[milestone.pk, action])
    assert f'<a class="small button" href="{url}">{label}…</a>' in page
    assert f'action="{url}"' not in page  # no form on the project page posts it in one click
    confirmation = signed_in(owner).get(url)
    assert confirmation.status_code == 200
    assert "사유는 변경 이력에 남습니다" in page_text(confirmation)
    assert 'name="reason"' in confirmation.content.decode()
    assert Milestone.objects.get(pk=milestone.pk).status == "planned"  # opening the page changed nothing


def test_repro_one_click_missed_without_a_reason_is_refused_and_changes_nothing(milestone, owner):
    """Issue 14: "Pressing 미달성 on a milestone marks it missed at once, with no confirmation and no reason"."""
    url = reverse("projects:milestone_action", args=[milestone.pk, "miss"])
    response = signed_in(owner).post(url, {"version": milestone.version})
    assert response.status_code == 400
    assert "미달성 사유를 입력하세요." in page_text(response)
    assert Milestone.objects.get(pk=milestone.pk).status == "planned"


# Reopening --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("status, before", [("missed", "in_progress"), ("cancelled", "submitted"), ("achieved", "")])
def test_a_manager_reopens_a_wrong_final_status_within_7_days_back_to_where_it_was(milestone, owner, status, before):
    if before:
        milestone = services.milestone_set_status(
            milestone_id=milestone.pk, user=owner, expected_version=milestone.version, status=before
        )
    closed = services.milestone_set_status(
        milestone_id=milestone.pk,
        user=owner,
        expected_version=milestone.version,
        status=status,
        reason="사유",
        completed_on=dt.date(2026, 11, 24),
    )
    with time_machine.travel(NOW + dt.timedelta(days=6, hours=23), tick=False):
        reopened = reopen(closed, owner, reason="잘못 눌러 닫음")
    assert (reopened.status, reopened.completed_on, reopened.closed_at) == (before or "planned", None, None)
    [entry] = [e for e in project_history(project=milestone.project) if e.reason.startswith("다시 열기")]
    assert entry.reason == "다시 열기: 잘못 눌러 닫음"
    assert entry.who == "김담당 (해양정책과)"
    assert ("상태", Milestone.Status(status).label, Milestone.Status(before or "planned").label) in [
        (c.label, c.before, c.after) for c in entry.changes
    ]


def test_after_7_days_only_an_admin_reopens(milestone, owner, teammate):
    closed = close(milestone, owner)
    with time_machine.travel(NOW + dt.timedelta(days=7, minutes=1), tick=False):
        with pytest.raises(PermissionDenied, match="관리자만"):
            reopen(closed, teammate)
        page = signed_in(owner).get(reverse("projects:milestone_action", args=[closed.pk, "reopen"]))
        assert "관리자만 다시 열 수 있습니다" in page_text(page)
        assert 'name="reason"' not in page.content.decode()
        project_page = signed_in(owner).get(reverse("projects:project", args=[closed.project_id])).content.decode()
        assert "다시 열기" not in project_page
        admin = user_with_role(roles.ADMIN)
        assert "다시 열기…" in signed_in(admin).get(closed.project.get_absolute_url()).content.decode()
        assert reopen(closed, admin, reason="부처 재공모").status == "planned"


def test_reopening_needs_a_reason_and_the_current_version(milestone, owner):
    closed = close(milestone, owner)
    with pytest.raises(ValidationError) as refused:
        reopen(closed, owner, reason=" ")
    assert refused.value.message_dict == {"reason": ["다시 여는 사유를 입력하세요."]}
    with pytest.raises(services.MilestoneConflict):
        services.milestone_reopen(milestone_id=closed.pk, user=owner, expected_version=1, reason="r")
    assert Milestone.objects.get(pk=closed.pk).status == "missed"


def test_an_outsider_cannot_reopen(milestone, owner, outsider):
    closed = close(milestone, owner)
    with pytest.raises(PermissionDenied):
        reopen(closed, outsider)
    assert signed_in(outsider).get(reverse("projects:milestone_action", args=[closed.pk, "reopen"])).status_code == 403


def test_the_reopen_page_reopens_and_says_so_in_the_row(milestone, owner):
    closed = close(milestone, owner)
    client = signed_in(owner)
    url = reverse("projects:milestone_action", args=[closed.pk, "reopen"])
    assert "7일" in page_text(client.get(url)) or "2026-12-02 10:00" in page_text(client.get(url))
    response = client.post(url, {"version": closed.version, "reason": "잘못 누름"})
    assert response.status_code == 302
    assert response["Location"] == closed.get_absolute_url()
    shown = page_text(client.get(response["Location"]))
    assert "'국비 신청서'을(를) 다시 열었습니다 (예정)." in shown


def test_a_closed_milestone_does_not_offer_to_be_achieved(milestone, owner):
    closed = close(milestone, owner)
    page = signed_in(owner).get(reverse("projects:milestone_action", args=[closed.pk, "achieve"]))
    assert "달성으로 표시" not in re.sub(r"<title>.*?</title>|<h1>.*?</h1>", "", page.content.decode(), flags=re.S)
    assert "이미 '미달성' 상태인 마일스톤입니다" in page_text(page)


# The admin follows the same rule ---------------------------------------------------------------------------


def admin_change(client: Client, milestone: Milestone, **changes):
    milestone.refresh_from_db()
    data = {
        "project": milestone.project_id,
        "kind": milestone.kind,
        "title": milestone.title,
        "responsible_agency": milestone.responsible_agency,
        "due_date": milestone.due_date.isoformat(),
        "status": milestone.status,
        "completed_on": milestone.completed_on.isoformat() if milestone.completed_on else "",
        "amount_requested": "",
        "amount_secured": "",
        "owner": milestone.owner_id or "",
        "notes": milestone.notes,
        "reason": "",
        **changes,
    }
    return client.post(reverse("admin:projects_milestone_change", args=[milestone.pk]), data)


def test_the_admin_asks_a_reason_to_mark_missed_and_to_reopen_and_records_it(milestone, superuser):
    client = signed_in(superuser)
    refused = admin_change(client, milestone, status="missed")
    assert refused.status_code == 200
    assert "미달성 사유를 입력하세요." in page_text(refused)
    assert Milestone.objects.get(pk=milestone.pk).status == "planned"

    assert admin_change(client, milestone, status="missed", reason="공모 탈락").status_code == 302
    assert Milestone.objects.get(pk=milestone.pk).status == "missed"

    refused = admin_change(client, milestone, status="planned")
    assert "다시 여는 사유를 입력하세요." in page_text(refused)
    with time_machine.travel(NOW + dt.timedelta(days=8), tick=False):  # past the managers' 7 days
        response = admin_change(client, milestone, status="in_progress", reason="재공모")
        assert response.status_code == 302, re.findall(r"errorlist[^>]*>(.*?)</ul>", response.content.decode())
    reopened = Milestone.objects.get(pk=milestone.pk)
    assert (reopened.status, reopened.closed_at) == ("in_progress", None)
    reasons = [e.reason for e in project_history(project=milestone.project)]
    assert "다시 열기: 재공모" in reasons and "공모 탈락" in reasons


def test_a_project_manager_in_the_admin_cannot_reopen_after_7_days(milestone, owner):
    owner.is_staff = True
    owner.save(update_fields=["is_staff"])
    closed = close(milestone, owner)
    with time_machine.travel(NOW + dt.timedelta(days=8), tick=False):
        refused = admin_change(signed_in(owner), closed, status="planned", reason="뒤늦게")
    assert "관리자만 다시 열 수 있습니다" in page_text(refused)
    assert Milestone.objects.get(pk=closed.pk).status == "missed"

"""A milestone's life: the status rule, achieving with the amount secured, moving the due date with a reason,
creating and editing through the workspace, and no lost edits when two managers save the same milestone."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from projects import services
from projects.history import project_history
from projects.models import Milestone
from tests.conftest import signed_in
from tests.factories import MilestoneFactory
from tracker.dates import SEOUL

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 25, 10, tzinfo=SEOUL)  # Wednesday of 2026-W48 (Monday 11-23)
TODAY = NOW.date()
DUE = dt.date(2026, 12, 2)  # D-7

OPEN = ["planned", "in_progress", "submitted"]
CLOSED = ["achieved", "missed", "cancelled"]
LABELS = dict(Milestone.Status.choices)
ACTION_STATUS = {
    "start": "in_progress",
    "submit": "submitted",
    "achieve": "achieved",
    "miss": "missed",
    "cancel": "cancelled",
}
ACTION_DATA = {
    "start": {},
    "submit": {},
    "achieve": {"completed_on": "2026-11-24", "amount_secured": "3"},
    "miss": {"reason": "공모 탈락"},
    "cancel": {"reason": "사업 재편"},
}


@pytest.fixture(autouse=True)
def frozen_clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def milestone(project, owner):
    return MilestoneFactory(project=project, owner=owner, title="국비 신청서", due_date=DUE)


def in_status(milestone: Milestone, status: str) -> Milestone:
    """Move a planned milestone straight to ``status`` through the service, as its manager would."""
    if status != milestone.status:
        services.milestone_set_status(
            milestone_id=milestone.pk,
            user=milestone.owner,
            expected_version=milestone.version,
            status=status,
            completed_on=TODAY - dt.timedelta(days=1),
            reason="시험 준비",
        )
    milestone.refresh_from_db()
    return milestone


def row(milestone: Milestone) -> dict:
    return Milestone.objects.filter(pk=milestone.pk).values().get()


def text(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def field_errors(page: str, field: str) -> str:
    """The error shown right under a field of templates/_form.html ('' if none)."""
    found = re.search(rf'<div class="errors" id="id_{field}_errors">(.*?)</div>', page, re.S)
    return text(found.group(1)) if found else ""


def top_errors(page: str) -> str:
    """The errors shown at the top of the form ('' if none)."""
    found = re.search(r'<div class="errors" role="alert">(.*?)</div>', page, re.S)
    return text(found.group(1)) if found else ""


def messages_shown(page: str) -> str:
    found = re.search(r'<ul class="messages">(.*?)</ul>', page, re.S)
    return text(found.group(1)) if found else ""


def row_messages(page: str, milestone: Milestone) -> list[tuple[str, str]]:
    """(role, text) of each message shown inside the milestone's row of the project page."""
    start = page.index(f'id="milestone-{milestone.pk}"')
    ends = [page.find(marker, start + 1) for marker in ('id="milestone-', "</section>")]
    row_html = page[start : min(end for end in ends if end > 0)]
    return [
        (role, text(body))
        for role, body in re.findall(r'<div class="row-message[^"]*" role="(\w+)"[^>]*>(.*?)</div>', row_html, re.S)
    ]


def hidden_version(page: str) -> int:
    return int(re.search(r'<input type="hidden" name="version" value="(\d+)"', page).group(1))


def act(client: Client, milestone: Milestone, action: str, **data):
    url = reverse("projects:milestone_action", args=[milestone.pk, action])
    return client.post(url, {"version": milestone.version, **data})


# The status rule, in the service --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "current, new",
    [
        ("planned", "in_progress"),
        ("in_progress", "submitted"),
        ("submitted", "achieved"),
        ("planned", "submitted"),
        ("planned", "achieved"),
        ("in_progress", "achieved"),
        *[(status, "missed") for status in OPEN],
        *[(status, "cancelled") for status in OPEN],
    ],
)
def test_a_milestone_moves_forward_along_its_status_rule(milestone, owner, current, new):
    in_status(milestone, current)
    moved = services.milestone_set_status(
        milestone_id=milestone.pk, user=owner, expected_version=milestone.version, status=new, reason="사유"
    )
    assert (moved.status, moved.version) == (new, milestone.version + 1)
    assert moved.completed_on == (TODAY if new == "achieved" else None)


@pytest.mark.parametrize(
    "current, new",
    [
        ("submitted", "in_progress"),
        ("submitted", "planned"),
        ("in_progress", "planned"),
        *[(closed, new) for closed in CLOSED for new in [*OPEN, *CLOSED] if new != closed],
    ],
)
def test_a_milestone_never_moves_backwards_or_out_of_a_closed_state(milestone, owner, current, new):
    in_status(milestone, current)
    before = row(milestone)
    with pytest.raises(ValidationError) as refused:
        services.milestone_set_status(
            milestone_id=milestone.pk, user=owner, expected_version=milestone.version, status=new, reason="사유"
        )
    assert refused.value.message_dict == {
        "status": [f"'{LABELS[current]}'에서 '{LABELS[new]}'(으)로 바꿀 수 없습니다."]
    }
    assert row(milestone) == before


def test_the_service_refuses_to_cancel_without_a_reason(milestone, owner):
    with pytest.raises(ValidationError) as refused:
        services.milestone_set_status(
            milestone_id=milestone.pk, user=owner, expected_version=milestone.version, status="cancelled", reason="  "
        )
    assert refused.value.message_dict == {"reason": ["취소 사유를 입력하세요."]}
    assert row(milestone)["status"] == "planned"


# The status rule, through the one-click actions -----------------------------------------------------------


def test_a_manager_walks_a_milestone_from_planned_to_achieved(milestone, owner):
    client = signed_in(owner)
    for action, status in [("start", "in_progress"), ("submit", "submitted"), ("achieve", "achieved")]:
        response = act(client, milestone, action, **ACTION_DATA[action])
        assert response.status_code == 302
        assert response["Location"] == reverse("projects:project", args=[milestone.project_id]) + (
            f"#milestone-{milestone.pk}"
        )
        milestone.refresh_from_db()
        assert milestone.status == status
    assert milestone.completed_on == dt.date(2026, 11, 24)
    page = client.get(response["Location"]).content.decode()
    assert row_messages(page, milestone) == [
        ("status", "'국비 신청서'을(를) 진행 중으로 표시했습니다."),
        ("status", "'국비 신청서'을(를) 제출 완료로 표시했습니다."),
        ("status", "'국비 신청서'을(를) 달성으로 표시했습니다."),
    ]
    assert messages_shown(page) == ""  # not above the fold, where nobody looks
    assert "달성 (11.24)" in text(page)


@pytest.mark.parametrize(
    "current, action",
    [
        ("submitted", "start"),
        *[(closed, action) for closed in CLOSED for action in ACTION_STATUS if ACTION_STATUS[action] != closed],
    ],
)
def test_a_refused_move_is_explained_in_korean_and_changes_nothing(milestone, owner, current, action):
    """A form (달성, 미달성, 취소) shows the refusal at its top; a one-click button shows it in the row."""
    in_status(milestone, current)
    before, history_before = row(milestone), Milestone.history.count()
    client = signed_in(owner)
    response = act(client, milestone, action, **ACTION_DATA[action])
    new = ACTION_STATUS[action]
    refusal = f"'{LABELS[current]}'에서 '{LABELS[new]}'(으)로 바꿀 수 없습니다."
    if action in ("start", "submit"):
        assert response.status_code == 302
        page = client.get(response["Location"]).content.decode()
        assert row_messages(page, milestone) == [("alert", refusal)]
    else:
        assert response.status_code == 400
        assert top_errors(response.content.decode()) == refusal
    assert (row(milestone), Milestone.history.count()) == (before, history_before)


@pytest.mark.parametrize("closed, action", [("achieved", "achieve"), ("missed", "miss"), ("cancelled", "cancel")])
def test_a_closed_milestone_refuses_its_own_action_again(milestone, owner, closed, action):
    in_status(milestone, closed)
    before = row(milestone)
    response = act(signed_in(owner), milestone, action, completed_on="2026-11-25", amount_secured="99", reason="다시")
    assert response.status_code == 400
    assert row(milestone) == before


@pytest.mark.parametrize("current", OPEN)
def test_cancelling_an_open_milestone_needs_a_reason(milestone, owner, current):
    in_status(milestone, current)
    client = signed_in(owner)
    before = row(milestone)
    response = act(client, milestone, "cancel", reason="")
    assert response.status_code == 400
    assert field_errors(response.content.decode(), "reason") == "취소 사유를 입력하세요."
    assert row(milestone) == before

    assert act(client, milestone, "cancel", reason="사업 재편").status_code == 302
    assert row(milestone)["status"] == "cancelled"
    [entry] = [e for e in project_history(project=milestone.project) if e.reason == "사업 재편"]
    assert [(c.label, c.before, c.after) for c in entry.changes] == [("상태", LABELS[current], "취소")]


@pytest.mark.parametrize("current", OPEN)
def test_marking_an_open_milestone_missed_needs_a_reason_kept_in_the_history(milestone, owner, current):
    in_status(milestone, current)
    client = signed_in(owner)
    before = row(milestone)
    response = act(client, milestone, "miss", reason="  ")
    assert response.status_code == 400
    assert field_errors(response.content.decode(), "reason") == "미달성 사유를 입력하세요."
    assert row(milestone) == before

    assert act(client, milestone, "miss", reason="공모 탈락").status_code == 302
    assert (row(milestone)["status"], row(milestone)["completed_on"]) == ("missed", None)
    [entry] = [e for e in project_history(project=milestone.project) if e.reason == "공모 탈락"]
    assert [(c.label, c.before, c.after) for c in entry.changes] == [("상태", LABELS[current], "미달성")]


def test_the_service_refuses_to_mark_missed_without_a_reason(milestone, owner):
    with pytest.raises(ValidationError) as refused:
        services.milestone_set_status(
            milestone_id=milestone.pk, user=owner, expected_version=milestone.version, status="missed", reason=""
        )
    assert refused.value.message_dict == {"reason": ["미달성 사유를 입력하세요."]}


# Achieving a funding milestone ----------------------------------------------------------------------------


def test_achieving_a_funding_milestone_records_the_date_and_the_amount_typed_in_eok(milestone, owner):
    assert milestone.is_funding
    client = signed_in(owner)
    response = act(client, milestone, "achieve", completed_on="2026-11-24", amount_secured="12.5")
    assert response.status_code == 302
    saved = row(milestone)
    assert (saved["status"], saved["completed_on"], saved["amount_secured"]) == (
        "achieved",
        dt.date(2026, 11, 24),
        1_250_000_000,
    )
    page = text(client.get(reverse("projects:project", args=[milestone.project_id])).content.decode())
    assert "12.5억 원" in page


def test_the_achieve_form_suggests_today_in_seoul_even_when_it_is_still_yesterday_in_utc(milestone, owner):
    with time_machine.travel(dt.datetime(2026, 11, 25, 0, 30, tzinfo=SEOUL), tick=False):  # 11-24 15:30 UTC
        page = signed_in(owner).get(reverse("projects:milestone_action", args=[milestone.pk, "achieve"]))
    assert 'name="completed_on" value="2026-11-25"' in page.content.decode()


def test_an_amount_that_is_not_a_number_of_eok_is_refused_next_to_the_field(milestone, owner):
    before = row(milestone)
    response = act(signed_in(owner), milestone, "achieve", completed_on="2026-11-24", amount_secured="-1")
    assert response.status_code == 400
    assert field_errors(response.content.decode(), "amount_secured")
    assert row(milestone) == before


# Moving the due date --------------------------------------------------------------------------------------


def test_moving_the_due_date_needs_a_reason(milestone, owner):
    before = row(milestone)
    response = act(signed_in(owner), milestone, "reschedule", due_date="2026-12-20", reason="")
    assert response.status_code == 400
    assert field_errors(response.content.decode(), "reason") == "필수 항목입니다."
    assert row(milestone) == before
    with pytest.raises(ValidationError) as refused:
        services.milestone_reschedule(
            milestone_id=milestone.pk, user=owner, expected_version=milestone.version, due_date=DUE, reason=" "
        )
    assert refused.value.message_dict == {"reason": ["기한을 옮기는 사유를 입력하세요."]}


def test_the_reason_for_a_new_due_date_is_kept_in_the_history_and_shown_on_the_project_page(milestone, owner):
    client = signed_in(owner)
    response = act(client, milestone, "reschedule", due_date="2026-12-20", reason="부처 일정 연기")
    assert response.status_code == 302
    assert row(milestone)["due_date"] == dt.date(2026, 12, 20)

    [entry] = [e for e in project_history(project=milestone.project) if e.reason]
    assert (entry.who, entry.subject, entry.action, entry.reason) == (
        "김담당 (해양정책과)",
        "국비 신청서",
        "고침",
        "부처 일정 연기",
    )
    assert [(c.label, c.before, c.after) for c in entry.changes] == [("기한", "2026-12-02", "2026-12-20")]

    page = client.get(reverse("projects:project", args=[milestone.project_id])).content.decode()
    history = page[page.index('id="history"') :]
    assert "(사유: 부처 일정 연기)" in text(history)
    assert "<del>2026-12-02</del> → <ins>2026-12-20</ins>" in history


def test_a_closed_milestone_keeps_its_due_date(milestone, owner):
    in_status(milestone, "achieved")
    response = act(signed_in(owner), milestone, "reschedule", due_date="2026-12-20", reason="늦게 알림")
    assert response.status_code == 400
    assert (
        field_errors(response.content.decode(), "due_date") == "완료되거나 취소된 마일스톤의 기한은 옮길 수 없습니다."
    )
    assert row(milestone)["due_date"] == DUE


def test_moving_to_the_same_due_date_is_refused_next_to_the_field(milestone, owner):
    response = act(signed_in(owner), milestone, "reschedule", due_date=DUE.isoformat(), reason="그대로")
    assert response.status_code == 400
    assert field_errors(response.content.decode(), "due_date") == "지금과 같은 기한입니다."
    assert Milestone.history.filter(id=milestone.pk).count() == 1


# Creating and editing -------------------------------------------------------------------------------------


def milestone_form(owner, **changes) -> dict:
    return {
        "kind": "national_funding",
        "title": "2027년 국비 신청",
        "responsible_agency": "해양수산부",
        "due_date": "2027-01-15",
        "amount_requested": "3.5",
        "amount_secured": "",
        "owner": owner.pk,
        "notes": "",
        **changes,
    }


def test_a_manager_adds_a_milestone_with_the_amount_in_eok(project, owner):
    client = signed_in(owner)
    response = client.post(reverse("projects:milestone_create", args=[project.pk]), milestone_form(owner))
    assert response.status_code == 302
    created = Milestone.objects.get(project=project)
    assert response["Location"] == reverse("projects:project", args=[project.pk]) + f"#milestone-{created.pk}"
    assert (created.title, created.due_date, created.amount_requested, created.owner, created.status) == (
        "2027년 국비 신청",
        dt.date(2027, 1, 15),
        350_000_000,
        owner,
        "planned",
    )
    page = client.get(response["Location"]).content.decode()
    assert row_messages(page, created) == [("status", "마일스톤 '2027년 국비 신청'을(를) 추가했습니다.")]
    [entry] = [e for e in project_history(project=project) if e.subject == "2027년 국비 신청"]
    assert (entry.who, entry.action) == ("김담당 (해양정책과)", "만듦")
    assert ("신청액", "", "3.5억 원") in [(c.label, c.before, c.after) for c in entry.changes]


def test_a_milestone_without_a_title_is_refused_in_korean_next_to_the_title(project, owner):
    response = signed_in(owner).post(
        reverse("projects:milestone_create", args=[project.pk]), milestone_form(owner, title="")
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert field_errors(page, "title") == "필수 항목입니다."
    assert 'value="2027-01-15"' in page  # the rest of the input is kept
    assert not Milestone.objects.filter(project=project).exists()


def test_only_a_manager_of_the_project_can_be_made_the_milestones_owner(project, owner, outsider):
    data = {**milestone_form(owner), "owner": outsider.pk}
    response = signed_in(owner).post(reverse("projects:milestone_create", args=[project.pk]), data)
    assert response.status_code == 200
    assert field_errors(response.content.decode(), "owner")
    assert not Milestone.objects.filter(project=project).exists()


def edit_form(milestone: Milestone, **changes) -> dict:
    """The edit form as it opens (the milestone's current values and version), with ``changes`` typed in."""
    milestone.refresh_from_db()
    return {
        "kind": milestone.kind,
        "title": milestone.title,
        "responsible_agency": milestone.responsible_agency,
        "due_date": milestone.due_date.isoformat(),
        "amount_requested": "",
        "amount_secured": "",
        "owner": milestone.owner_id or "",
        "notes": milestone.notes,
        "version": milestone.version,
        **changes,
    }


def test_a_manager_edits_a_milestone_and_the_history_shows_before_and_after(milestone, owner):
    client = signed_in(owner)
    url = reverse("projects:milestone_edit", args=[milestone.pk])
    assert hidden_version(client.get(url).content.decode()) == milestone.version
    response = client.post(url, edit_form(milestone, title="국비 신청서 (수정)", amount_requested="120"))
    assert response.status_code == 302
    saved = row(milestone)
    assert (saved["title"], saved["amount_requested"], saved["version"]) == (
        "국비 신청서 (수정)",
        12_000_000_000,
        milestone.version + 1,
    )
    page = client.get(response["Location"]).content.decode()
    assert row_messages(page, milestone) == [("status", "마일스톤 '국비 신청서 (수정)'을(를) 저장했습니다.")]
    [entry] = [e for e in project_history(project=milestone.project) if e.who == "김담당 (해양정책과)"]
    assert entry.action == "고침"
    assert [(c.label, c.before, c.after) for c in entry.changes] == [
        ("마일스톤", "국비 신청서", "국비 신청서 (수정)"),
        ("신청액", "", "120억 원"),  # set for the first time: no struck-through "-"
    ]


def test_an_edit_without_a_title_is_refused_next_to_the_title(milestone, owner):
    url = reverse("projects:milestone_edit", args=[milestone.pk])
    response = signed_in(owner).post(url, edit_form(milestone, title=""))
    assert response.status_code == 200
    assert field_errors(response.content.decode(), "title") == "필수 항목입니다."
    assert row(milestone)["title"] == "국비 신청서"


def test_the_edit_form_cannot_move_a_due_date_without_a_reason(milestone, owner):
    url = reverse("projects:milestone_edit", args=[milestone.pk])
    signed_in(owner).post(url, edit_form(milestone, due_date="2026-12-20"))
    assert row(milestone)["due_date"] == DUE


# No lost edits --------------------------------------------------------------------------------------------


def test_a_teammates_save_is_not_overwritten_by_a_stale_form_and_the_owner_can_re_apply(milestone, owner, teammate):
    url = reverse("projects:milestone_edit", args=[milestone.pk])
    owner_client, teammate_client = signed_in(owner), signed_in(teammate)
    owner_opened = edit_form(milestone)  # the owner opens the form at version N
    seen = owner_opened["version"]
    assert hidden_version(owner_client.get(url).content.decode()) == seen

    assert teammate_client.get(url).status_code == 200
    teammate_saved = teammate_client.post(url, edit_form(milestone, responsible_agency="산업통상자원부"))
    assert teammate_saved.status_code == 302
    assert row(milestone)["version"] == seen + 1

    owner_input = {**owner_opened, "responsible_agency": "과학기술정보통신부", "notes": "담당자 메모"}
    response = owner_client.post(url, owner_input)
    assert response.status_code == 409
    page = response.content.decode()
    conflict = page[page.index('class="conflict"') : page.index("</section>")]
    assert "다른 사용자가 그사이 이 마일스톤을 저장했습니다" in conflict
    assert "<td>소관 부처</td><td><del>해양수산부</del></td><td><ins>산업통상자원부</ins></td>" in conflict
    assert conflict.count("<tr>") == 2  # the header and the one field the teammate changed
    form = page[page.index("<form") :]
    assert 'value="과학기술정보통신부"' in form  # the owner's input is still there
    assert "담당자 메모" in form
    assert "내 입력으로 다시 저장" in form
    assert hidden_version(form) == seen + 1
    assert (row(milestone)["responsible_agency"], row(milestone)["notes"]) == ("산업통상자원부", "")

    again = owner_client.post(url, {**owner_input, "version": hidden_version(form)})
    assert again.status_code == 302
    saved = row(milestone)
    assert (saved["responsible_agency"], saved["notes"], saved["version"]) == (
        "과학기술정보통신부",
        "담당자 메모",
        seen + 2,
    )


def test_a_stale_one_click_action_is_refused_with_a_message_and_changes_nothing(milestone, owner, teammate):
    owner_client = signed_in(owner)
    project_page = owner_client.get(reverse("projects:project", args=[milestone.project_id])).content.decode()
    seen = hidden_version(project_page[project_page.index(f'id="milestone-{milestone.pk}"') :])
    services.milestone_reschedule(
        milestone_id=milestone.pk, user=teammate, expected_version=seen, due_date=dt.date(2026, 12, 4), reason="r"
    )
    before = row(milestone)

    url = reverse("projects:milestone_action", args=[milestone.pk, "submit"])
    response = owner_client.post(url, {"version": seen})
    assert response.status_code == 302
    assert response["Location"].endswith(f"#milestone-{milestone.pk}")
    page = owner_client.get(response["Location"]).content.decode()
    [(role, shown)] = row_messages(page, milestone)
    # Next to the row, read out at once, with what the teammate changed and who they are.
    assert role == "alert"
    assert "다른 사용자가 그사이 이 마일스톤을 바꿨습니다" in shown
    assert "마지막 저장: 이동료 (투자유치과)" in shown
    assert "기한 2026-12-02 2026-12-04" in shown
    assert messages_shown(page) == ""
    assert row(milestone) == before

"""Who may read and change a project: every URL that reads or writes a project, a milestone, a weekly note or
their history, asked with GET and POST by every kind of user (projects/permissions.py is the rule)."""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Iterator
from typing import Any

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from projects import roles, services
from projects.models import CoreProject, Milestone, ProgressUpdate
from projects.views import MILESTONE_ACTIONS
from tests.conftest import shared_rows, signed_in
from tests.factories import CoreProjectFactory, MilestoneFactory, UserFactory, user_with_role
from tracker.dates import SEOUL

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 25, 10, tzinfo=SEOUL)  # Wednesday of 2026-W48 (Monday 11-23)

READ_PAGES = ["my_projects", "portfolio", "project", "project_history"]
WRITE_PAGES = [
    "milestone_create",
    "progress_note",
    "milestone_edit",
    *(f"milestone_action:{action}" for action in MILESTONE_ACTIONS),
]
ALL_PAGES = READ_PAGES + WRITE_PAGES
METHODS = ["GET", "POST"]
REFUSED = "이 사업을 수정할 권한이 없습니다."


@pytest.fixture(autouse=True)
def frozen_clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture(scope="module")
def _matrix_rows(django_db_setup, django_db_blocker) -> Iterator[tuple[dict[str, int], int, int]]:
    """The owner, teammate and outsider, the project the first two manage and its milestone, made once for the
    ~140 cases of this module (shared_rows: each case runs in a savepoint, so what a case writes is undone)."""
    with shared_rows(django_db_blocker), time_machine.travel(NOW, tick=False):
        owner = UserFactory(username="owner", role=roles.PROJECT_MANAGER)
        teammate = UserFactory(username="teammate", role=roles.PROJECT_MANAGER)
        outsider = UserFactory(username="outsider", role=roles.PROJECT_MANAGER)
        project = CoreProjectFactory(managers=[owner, teammate])
        milestone = MilestoneFactory(project=project, owner=owner, title="국비 신청서", due_date=dt.date(2026, 12, 2))
        yield {"owner": owner.pk, "teammate": teammate.pk, "outsider": outsider.pk}, project.pk, milestone.pk


# The shared rows, read afresh for each case (the same names as tests/conftest.py's fixtures).


@pytest.fixture
def owner(_matrix_rows, db):
    return get_user_model().objects.get(pk=_matrix_rows[0]["owner"])


@pytest.fixture
def teammate(_matrix_rows, db):
    return get_user_model().objects.get(pk=_matrix_rows[0]["teammate"])


@pytest.fixture
def outsider(_matrix_rows, db):
    return get_user_model().objects.get(pk=_matrix_rows[0]["outsider"])


@pytest.fixture
def project(_matrix_rows, db):
    return CoreProject.objects.get(pk=_matrix_rows[1])


@pytest.fixture
def milestone(request, _matrix_rows, db):
    """The open milestone; for the reopen page, closed as missed by its manager the day before."""
    milestone = Milestone.objects.get(pk=_matrix_rows[2])
    page = getattr(request.node, "callspec", None) and request.node.callspec.params.get("page")
    if page == "milestone_action:reopen":
        owner = get_user_model().objects.get(pk=_matrix_rows[0]["owner"])
        with time_machine.travel(NOW - dt.timedelta(days=1), tick=False):
            milestone = services.milestone_set_status(
                milestone_id=milestone.pk,
                user=owner,
                expected_version=milestone.version,
                status="missed",
                reason="공모 탈락",
            )
    return milestone


def url_of(page: str, project: CoreProject, milestone: Milestone) -> str:
    if page in ("my_projects", "portfolio"):
        return reverse(f"projects:{page}")
    if page in ("project", "project_history", "milestone_create", "progress_note"):
        return reverse(f"projects:{page}", args=[project.pk])
    if page == "milestone_edit":
        return reverse("projects:milestone_edit", args=[milestone.pk])
    _view, action = page.split(":")
    return reverse("projects:milestone_action", args=[milestone.pk, action])


def valid_post(page: str, milestone: Milestone) -> dict[str, Any]:
    """What a manager would submit on the page: accepted from them, so a missing check would show as a change."""
    edit = {
        "kind": "national_funding",
        "title": "고친 제목",
        "responsible_agency": "해양수산부",
        "due_date": milestone.due_date.isoformat(),
        "owner": milestone.owner_id,
        "notes": "",
        "version": milestone.version,
    }
    version = {"version": milestone.version}
    return {
        "milestone_create": {**edit, "title": "새 마일스톤", "due_date": "2027-01-15", "version": ""},
        "milestone_edit": edit,
        "progress_note": {"summary": "이번 주 협의", "blockers": "", "next_steps": "", "rag_status": "delayed"},
        "milestone_action:start": version,
        "milestone_action:submit": version,
        "milestone_action:achieve": {**version, "completed_on": "2026-11-24", "amount_secured": "12.5"},
        "milestone_action:miss": {**version, "reason": "공모 탈락"},
        "milestone_action:cancel": {**version, "reason": "사업 재편"},
        "milestone_action:reschedule": {**version, "due_date": "2026-12-20", "reason": "부처 일정 연기"},
        "milestone_action:reopen": {**version, "reason": "잘못 눌러 미달성으로 표시함"},
    }.get(page, {})


def request(client: Client, method: str, page: str, project: CoreProject, milestone: Milestone):
    url = url_of(page, project, milestone)
    if method == "GET":
        return client.get(url)
    return client.post(url, valid_post(page, milestone))


def database_state() -> dict[str, Any]:
    """Every row a page could write, and how many history records each model has."""
    return {
        "projects": list(CoreProject.objects.order_by("pk").values()),
        "managers": sorted(CoreProject.managers.through.objects.values_list("coreproject_id", "user_id")),
        "milestones": list(Milestone.objects.order_by("pk").values()),
        "notes": list(ProgressUpdate.objects.order_by("pk").values()),
        "history": (
            CoreProject.history.count(),
            Milestone.history.count(),
            ProgressUpdate.history.count(),
        ),
    }


# Anonymous visitors ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("page", ALL_PAGES)
def test_an_anonymous_visitor_is_sent_to_the_login_page_and_changes_nothing(project, milestone, page, method):
    before = database_state()
    response = request(Client(), method, page, project, milestone)
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={url_of(page, project, milestone)}"
    assert database_state() == before


# A project manager who does not manage this project -------------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("page", WRITE_PAGES)
def test_an_outsider_manager_gets_403_on_every_write_page_and_changes_nothing(
    project, milestone, outsider, page, method
):
    before = database_state()
    response = request(signed_in(outsider), method, page, project, milestone)
    assert response.status_code == 403
    assert REFUSED in html.unescape(response.content.decode())
    assert database_state() == before


@pytest.mark.parametrize("page", READ_PAGES)
def test_an_outsider_manager_reads_every_project_page(project, milestone, outsider, page):
    response = signed_in(outsider).get(url_of(page, project, milestone))
    assert response.status_code == 200


def test_the_project_page_offers_an_outsider_no_change_buttons(project, milestone, outsider):
    page = signed_in(outsider).get(url_of("project", project, milestone)).content.decode()
    assert "국비 신청서" in page
    assert reverse("projects:milestone_edit", args=[milestone.pk]) not in page
    assert reverse("projects:milestone_create", args=[project.pk]) not in page
    assert reverse("projects:progress_note", args=[project.pk]) not in page
    assert reverse("projects:milestone_action", args=[milestone.pk, "submit"]) not in page


# Viewers and TF heads read everything and change nothing -------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("page", WRITE_PAGES)
@pytest.mark.parametrize("role", [roles.VIEWER, roles.TF_HEAD], ids=["viewer", "tf_head"])
def test_viewers_and_tf_heads_get_403_on_every_write_page_and_change_nothing(project, milestone, role, page, method):
    before = database_state()
    response = request(signed_in(user_with_role(role)), method, page, project, milestone)
    assert response.status_code == 403
    assert database_state() == before


@pytest.mark.parametrize("page", READ_PAGES)
@pytest.mark.parametrize("role", [roles.VIEWER, roles.TF_HEAD], ids=["viewer", "tf_head"])
def test_viewers_and_tf_heads_read_every_project_page(project, milestone, role, page):
    assert signed_in(user_with_role(role)).get(url_of(page, project, milestone)).status_code == 200


# Managers of the project and admins -----------------------------------------------------------------------


@pytest.mark.parametrize("page", WRITE_PAGES)
def test_a_manager_of_the_project_opens_every_write_page(project, milestone, owner, page):
    before = database_state()
    response = signed_in(owner).get(url_of(page, project, milestone))
    assert response.status_code == 200
    assert '<form method="post"' in response.content.decode()
    assert database_state() == before  # opening a form changes nothing


@pytest.mark.parametrize("page", WRITE_PAGES)
def test_an_admin_who_manages_nothing_may_change_every_project(project, milestone, page):
    admin = user_with_role(roles.ADMIN)
    assert not admin.managed_projects.exists()
    client = signed_in(admin)
    assert client.get(url_of(page, project, milestone)).status_code == 200
    before = database_state()
    response = request(client, "POST", page, project, milestone)
    assert response.status_code == 302, html.unescape(response.content.decode())
    assert response["Location"].startswith(reverse("projects:project", args=[project.pk]))
    after = database_state()
    assert after != before
    assert sum(after["history"]) == sum(before["history"]) + (2 if page == "progress_note" else 1)


# No role, no reading --------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("page", ALL_PAGES)
def test_a_user_without_a_role_gets_403_everywhere(project, milestone, page, method):
    nobody = user_with_role(None)
    assert not nobody.groups.exists()
    before = database_state()
    response = request(signed_in(nobody), method, page, project, milestone)
    assert response.status_code == 403
    assert database_state() == before


# Lists show only what they should -------------------------------------------------------------------------


def test_my_projects_shows_an_outsider_only_the_projects_they_manage(project, milestone, outsider):
    theirs = CoreProjectFactory(code="OUT-0001", name="외부 담당 사업", managers=[outsider])
    page = signed_in(outsider).get(reverse("projects:my_projects")).content.decode()
    assert theirs.code in page and "외부 담당 사업" in page
    assert project.code not in page and project.name not in page
    assert reverse("projects:project", args=[project.pk]) not in page


def test_my_projects_shows_the_owner_only_their_projects(project, milestone, owner, outsider):
    CoreProjectFactory(code="OUT-0001", managers=[outsider])
    page = signed_in(owner).get(reverse("projects:my_projects")).content.decode()
    assert project.code in page
    assert "OUT-0001" not in page

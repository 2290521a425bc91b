"""Audit finding 1: a project manager with staff status works, in the admin too, on their own projects only."""

from __future__ import annotations

import pytest
from django.urls import reverse

from projects.models import CoreProject, Milestone, ProgressUpdate
from tests.factories import CoreProjectFactory, MilestoneFactory, ProgressUpdateFactory

pytestmark = pytest.mark.django_db


def admin_url(model, action: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{action}", args=args)


@pytest.fixture
def staff_owner(owner):
    owner.is_staff = True
    owner.save(update_fields=["is_staff"])
    return owner


@pytest.fixture
def other_project(outsider):
    return CoreProjectFactory(name="다른 팀의 사업", managers=[outsider])


@pytest.fixture
def staff_client(client, staff_owner):
    client.force_login(staff_owner)
    return client


def project_form(project: CoreProject, **changes) -> dict:
    data = {
        "task": project.task_id,
        "code": project.code,
        "name": project.name,
        "category": project.category,
        "rag_status": project.rag_status,
        "budget_total": "100",
        "budget_national": "50",
        "budget_city": "30",
        "budget_private": "20",
        "milestones-TOTAL_FORMS": "0",
        "milestones-INITIAL_FORMS": "0",
    }
    data.update(changes)
    return data


def test_it_cannot_open_or_rename_another_teams_project_nor_add_itself_as_manager(
    staff_client, staff_owner, other_project
):
    url = admin_url(CoreProject, "change", other_project.pk)
    assert staff_client.get(url).status_code in {302, 403, 404}
    staff_client.post(url, project_form(other_project, name="가로챈 사업", managers=[staff_owner.pk]))
    other_project.refresh_from_db()
    assert other_project.name == "다른 팀의 사업"
    assert not other_project.managers.filter(pk=staff_owner.pk).exists()
    assert staff_client.get(admin_url(CoreProject, "history", other_project.pk)).status_code in {302, 403, 404}


def test_its_lists_and_exports_hold_only_its_own_projects_rows(staff_client, project, other_project):
    own = MilestoneFactory(project=project, title="우리 마일스톤")
    MilestoneFactory(project=other_project, title="남의 마일스톤")
    ProgressUpdateFactory(project=other_project, summary="남의 보고")
    projects_page = staff_client.get(admin_url(CoreProject, "changelist")).content.decode()
    assert project.name in projects_page and "다른 팀의 사업" not in projects_page
    milestones_page = staff_client.get(admin_url(Milestone, "changelist")).content.decode()
    assert own.title in milestones_page and "남의 마일스톤" not in milestones_page
    assert "남의 보고" not in staff_client.get(admin_url(ProgressUpdate, "changelist")).content.decode()
    autocomplete = staff_client.get(
        reverse("admin:autocomplete"),
        {"app_label": "projects", "model_name": "milestone", "field_name": "project", "term": ""},
    ).json()
    assert [row["id"] for row in autocomplete["results"]] == [str(project.pk)]


def test_it_can_still_change_its_own_project_but_not_its_managers(staff_client, staff_owner, project, outsider):
    url = admin_url(CoreProject, "change", project.pk)
    assert staff_client.get(url).status_code == 200
    response = staff_client.post(url, project_form(project, name="고친 이름", managers=[outsider.pk]))
    assert response.status_code == 302, response.context["adminform"].form.errors
    project.refresh_from_db()
    assert project.name == "고친 이름"
    assert not project.managers.filter(pk=outsider.pk).exists()


def test_milestones_and_notes_of_another_team_are_closed_and_cannot_be_moved_there(
    staff_client, project, other_project, staff_owner
):
    theirs = MilestoneFactory(project=other_project, title="남의 마일스톤")
    note = ProgressUpdateFactory(project=other_project, author=staff_owner, summary="남의 보고")
    for model, obj in [(Milestone, theirs), (ProgressUpdate, note)]:
        assert staff_client.get(admin_url(model, "change", obj.pk)).status_code in {302, 403, 404}
        version = obj.history.first().history_id
        history_form = reverse(
            f"admin:{model._meta.app_label}_{model._meta.model_name}_simple_history", args=[obj.pk, version]
        )
        assert staff_client.get(history_form).status_code == 403
    ours = MilestoneFactory(project=project, title="우리 마일스톤")
    staff_client.post(
        admin_url(Milestone, "change", ours.pk),
        {
            "project": other_project.pk,
            "kind": ours.kind,
            "title": "옮겨 간 마일스톤",
            "due_date": "2026-12-15",
            "status": ours.status,
            "amount_requested": "0",
            "amount_secured": "0",
        },
    )
    ours.refresh_from_db()
    assert (ours.project_id, ours.title) == (project.pk, "우리 마일스톤")
    staff_client.post(
        admin_url(ProgressUpdate, "add"),
        {"project": other_project.pk, "week_start": "2026-11-23", "summary": "끼워 넣은 보고", "rag_status": "delayed"},
    )
    assert not ProgressUpdate.objects.filter(summary="끼워 넣은 보고").exists()


def test_a_portfolio_admin_still_sees_and_changes_everything(client, superuser, other_project):
    client.force_login(superuser)
    response = client.post(
        admin_url(CoreProject, "change", other_project.pk), project_form(other_project, name="새 이름")
    )
    assert response.status_code == 302
    other_project.refresh_from_db()
    assert other_project.name == "새 이름"

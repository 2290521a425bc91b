from __future__ import annotations

import datetime as dt

import pytest
from axes.models import AccessAttempt
from django.contrib import admin
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from notifications.feeds import calendar_feed_rotate
from notifications.models import CalendarFeed, DeliveryAlert, DigestPolicy, NotificationPreference
from notifications.runs import reminders_plan_recorded
from projects import roles
from projects.models import CoreProject, ImportJob, Milestone
from projects.money import eok_to_won
from tests.conftest import shared_rows
from tests.factories import (
    MilestoneFactory,
    OrganizationFactory,
    ProgressUpdateFactory,
    TaskFactory,
    UserFactory,
    user_with_role,
)
from tracker.dates import SEOUL

pytestmark = pytest.mark.django_db


@pytest.fixture
def one_of_everything(project, owner):
    # A successful and then a failed login give django-axes' admin pages a row each.
    client = Client()
    client.post(reverse("login"), {"username": "owner", "password": "correct-horse-battery"})
    client.post(reverse("login"), {"username": "owner", "password": "wrong"})
    MilestoneFactory(project=project, owner=owner, due_date=dt.date(2026, 12, 15))
    ProgressUpdateFactory(project=project, author=owner)
    OrganizationFactory()
    NotificationPreference.objects.create(user=owner)
    calendar_feed_rotate(user=owner)
    DigestPolicy.current()
    # A recorded planning pass the day before the deadline gives a run, a reminder and an outbox message.
    reminders_plan_recorded(now=dt.datetime(2026, 12, 14, 10, tzinfo=SEOUL))
    DeliveryAlert.objects.create(failing_since=dt.datetime(2026, 12, 14, 9, tzinfo=SEOUL))
    # A large import waiting in the background (관리 → 가져오기 작업).
    ImportJob.objects.create(
        kind=ImportJob.Kind.MILESTONES, plan=project.plan, file_name="큰 파일.xlsx", rows_total=9000
    )


def admin_url(model, action: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{action}", args=args)


def test_every_changelist_add_change_and_history_page_answers_200_for_a_superuser(
    admin_client, superuser, one_of_everything, rf
):
    request = rf.get("/")
    request.user = superuser
    for model, model_admin in admin.site._registry.items():
        assert admin_client.get(admin_url(model, "changelist")).status_code == 200, model
        if model_admin.has_add_permission(request):
            assert admin_client.get(admin_url(model, "add")).status_code == 200, model
        obj = model.objects.first()
        assert obj is not None, f"no {model.__name__} to open"
        assert admin_client.get(admin_url(model, "change", obj.pk)).status_code == 200, model
        assert admin_client.get(admin_url(model, "history", obj.pk)).status_code == 200, model


def test_the_admin_role_sees_every_registered_admin_page_meant_for_it(client, one_of_everything, rf):
    """관리자 (not a superuser) opens every registered model's list, add and change pages: the digest policy, the
    calendar feeds and the login-lockout pages included (issue 14: they answered 403)."""
    manager_of_admin = user_with_role(roles.ADMIN, is_staff=True)
    client.force_login(manager_of_admin)
    request = rf.get("/")
    request.user = manager_of_admin
    assert client.get(reverse("admin:index")).status_code == 200
    for model, model_admin in admin.site._registry.items():
        assert model_admin.has_view_permission(request), model
        assert client.get(admin_url(model, "changelist")).status_code == 200, model
        if model_admin.has_add_permission(request):
            assert client.get(admin_url(model, "add")).status_code == 200, model
        obj = model.objects.first()
        assert obj is not None, f"no {model.__name__} to open"
        assert client.get(admin_url(model, "change", obj.pk)).status_code == 200, model
    # What they are there for: unlock a colleague, change the digest's hour, revoke a leaked calendar address.
    for model in (AccessAttempt, DigestPolicy, CalendarFeed):
        assert admin.site._registry[model].has_change_permission(request) or admin.site._registry[
            model
        ].has_delete_permission(request), model


def test_milestone_changelist_filters_answer_200(admin_client, one_of_everything):
    url = admin_url(Milestone, "changelist")
    for query in ["due=overdue", "due=30", "status=planned", "kind=agreement", "source=sample", "q=마일스톤"]:
        assert admin_client.get(f"{url}?{query}").status_code == 200, query


def test_autocomplete_finds_users_and_organizations(admin_client, owner):
    OrganizationFactory(name="부산항만공사")
    url = reverse("admin:autocomplete")
    common = {"app_label": "projects", "model_name": "coreproject"}
    users = admin_client.get(url, {**common, "field_name": "managers", "term": "own"}).json()
    assert [row["text"] for row in users["results"]] == ["김담당 (해양정책과)"]
    organizations = admin_client.get(url, {**common, "field_name": "partners", "term": "항만"}).json()
    assert [row["text"] for row in organizations["results"]] == ["부산항만공사"]


def test_project_amounts_are_typed_in_eok_and_stored_in_won(admin_client):
    task = TaskFactory()
    response = admin_client.post(
        admin_url(CoreProject, "add"),
        {
            "task": task.pk,
            "code": "S1-09",
            "name": "해양 데이터 센터",
            "category": "new",
            "rag_status": "on_track",
            "budget_total": "1927.5",
            "budget_national": "1000",
            "budget_city": "0.5",
            "budget_private": "0",
            "support_needs": ["finance", "siting"],
            "milestones-TOTAL_FORMS": "0",
            "milestones-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    project = CoreProject.objects.get(code="S1-09")
    assert project.budget_total == eok_to_won("1927.5") == 192_750_000_000
    assert project.budget_city == 50_000_000
    assert project.plan == task.strategy.plan
    assert project.support_needs == ["finance", "siting"]
    assert project.history.get().history_user.username == "root"


def test_a_duplicate_project_code_is_an_error_on_the_form_not_a_crash(admin_client, project):
    response = admin_client.post(
        admin_url(CoreProject, "add"),
        {
            "task": project.task.pk,
            "code": project.code,
            "name": "중복 코드 사업",
            "category": "new",
            "rag_status": "on_track",
            "budget_national": "0",
            "budget_city": "0",
            "budget_private": "0",
            "milestones-TOTAL_FORMS": "0",
            "milestones-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors
    assert CoreProject.objects.filter(code=project.code).count() == 1


def test_a_budget_split_over_the_total_is_refused_with_a_korean_message(admin_client, project):
    response = admin_client.post(
        admin_url(CoreProject, "add"),
        {
            "task": project.task.pk,
            "code": "S9-01",
            "name": "초과 사업",
            "category": "new",
            "rag_status": "on_track",
            "budget_total": "10",
            "budget_national": "20",
            "budget_city": "0",
            "budget_private": "0",
            "milestones-TOTAL_FORMS": "0",
            "milestones-INITIAL_FORMS": "0",
        },
    )
    assert "국비·시비·민자의 합은 총사업비를 넘을 수 없습니다." in response.content.decode()
    assert not CoreProject.objects.filter(code="S9-01").exists()


CHANGELISTS_AT_TWO_SIZES = [Milestone, CoreProject]


@pytest.fixture(scope="module")
def changelist_queries_at_two_sizes(django_db_setup, django_db_blocker) -> dict[type, tuple[int, int]]:
    """How many queries each changelist takes with 3 milestones (each in its own project), then with 63: the rows
    are made once for both changelists and rolled back before any test reads the numbers (shared_rows)."""
    with shared_rows(django_db_blocker):
        client = Client()
        client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True, role=roles.ADMIN))

        def count_queries(model) -> int:
            with CaptureQueriesContext(connection) as queries:
                assert client.get(admin_url(model, "changelist")).status_code == 200
            return len(queries)

        MilestoneFactory.create_batch(3)
        small = [count_queries(model) for model in CHANGELISTS_AT_TWO_SIZES]
        MilestoneFactory.create_batch(60)
        large = [count_queries(model) for model in CHANGELISTS_AT_TWO_SIZES]
    return dict(zip(CHANGELISTS_AT_TWO_SIZES, zip(small, large, strict=True), strict=True))


@pytest.mark.parametrize("model", CHANGELISTS_AT_TWO_SIZES)
def test_changelist_query_count_does_not_grow_with_rows(changelist_queries_at_two_sizes, model):
    small, large = changelist_queries_at_two_sizes[model]
    assert large == small

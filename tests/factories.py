"""Factories for every model; tests build their data here and nowhere else."""

from __future__ import annotations

import datetime as dt

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from people.models import Profile
from projects import roles
from projects.models import (
    CoreProject,
    Department,
    Milestone,
    Organization,
    Plan,
    ProgressUpdate,
    Strategy,
    Task,
)
from projects.money import eok_to_won


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.com")
    password = factory.django.Password("correct-horse-battery")

    @factory.post_generation
    def role(self, create, extracted, **kwargs):
        if create and extracted:
            self.groups.add(Group.objects.get(name=extracted))

    @factory.post_generation
    def profile(self, create, extracted, **kwargs):
        """Every user has 성명, 직위, 부서 (``profile=False`` for one who has none, ``profile__name=...`` to pick)."""
        if not create or extracted is False or Profile.objects.filter(user=self).exists():
            return
        Profile.objects.create(
            user=self,
            name=kwargs.get("name", f"{self.username}님"),
            position=kwargs.get("position", "주무관"),
            department=kwargs.get("department", "시험과"),
        )


class PlanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Plan
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"plan-{n}")
    name = factory.Sequence(lambda n: f"시험 계획 {n}")
    adopted_on = dt.date(2025, 11, 10)


class StrategyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Strategy

    plan = factory.SubFactory(PlanFactory)
    code = factory.Sequence(lambda n: f"S{n}")
    order = factory.Sequence(lambda n: n)
    name = factory.Sequence(lambda n: f"전략 {n}")
    announced_project_count = 5
    announced_budget = eok_to_won(1000)


class TaskFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Task

    strategy = factory.SubFactory(StrategyFactory)
    code = factory.Sequence(lambda n: f"T{n:02d}")
    order = factory.Sequence(lambda n: n)
    name = factory.Sequence(lambda n: f"추진과제 {n}")


class DepartmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Department
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"부서 {n}")


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"협력기관 {n}")
    kind = Organization.Kind.COMPANY


class CoreProjectFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CoreProject
        skip_postgeneration_save = True

    task = factory.SubFactory(TaskFactory)
    code = factory.Sequence(lambda n: f"P-{n:04d}")
    name = factory.Sequence(lambda n: f"핵심사업 {n}")
    category = CoreProject.Category.NEW
    lead_department = factory.SubFactory(DepartmentFactory)
    budget_total = eok_to_won(100)
    budget_national = eok_to_won(50)
    budget_city = eok_to_won(30)
    budget_private = eok_to_won(20)
    start_year = 2026
    end_year = 2028

    @factory.post_generation
    def managers(self, create, extracted, **kwargs):
        if create and extracted:
            self.managers.set(extracted)


class MilestoneFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Milestone

    project = factory.SubFactory(CoreProjectFactory)
    kind = Milestone.Kind.NATIONAL_FUNDING
    title = factory.Sequence(lambda n: f"마일스톤 {n}")
    responsible_agency = "해양수산부"
    due_date = dt.date(2026, 12, 15)
    status = Milestone.Status.PLANNED


class ProgressUpdateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProgressUpdate

    project = factory.SubFactory(CoreProjectFactory)
    week_start = dt.date(2026, 11, 23)
    author = factory.SubFactory(UserFactory)
    summary = "관계 부처 협의"
    rag_status = CoreProject.RagStatus.ON_TRACK


def user_with_role(role: str = roles.PROJECT_MANAGER, **kwargs):
    return UserFactory(role=role, **kwargs)


def funding_milestone(project, kind, title, due, status="planned", requested=None, secured=None):
    """A milestone with amounts in 억원 (None: no amount); an achieved one was completed on its due date."""
    return MilestoneFactory(
        project=project,
        kind=kind,
        title=title,
        due_date=due,
        status=status,
        completed_on=due if status == "achieved" else None,
        amount_requested=eok_to_won(requested) if requested is not None else None,
        amount_secured=eok_to_won(secured) if secured is not None else None,
    )

"""Who may read and change what: the one place every view, form, action and service asks.

Everyone with a role reads the whole portfolio. Admins change everything; a project manager changes only
the projects that list them as managers (and those projects' milestones and notes); TF heads and viewers
change nothing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, Permission
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from projects import roles
from projects.models import CoreProject

User = AbstractBaseUser | AnonymousUser


def can_read_portfolio(user: User) -> bool:
    return user.is_active and user.has_perm("projects.view_coreproject")


def portfolio_readers() -> QuerySet:
    """Users who may read the portfolio, as a query (can_read_portfolio for many people at once; activity apart)."""
    view = Q(codename="view_coreproject", content_type__app_label="projects")
    return get_user_model().objects.filter(
        Q(is_superuser=True)
        | Q(groups__permissions__in=Permission.objects.filter(view))
        | Q(user_permissions__in=Permission.objects.filter(view))
    )


def is_portfolio_admin(user: User) -> bool:
    return user.is_active and (user.is_superuser or roles.has_role(user, roles.ADMIN))


def managed_project_ids(user: User) -> set[int]:
    """Ids of the projects this user may change (every project for an admin is not listed here)."""
    if not user.is_authenticated or not user.has_perm("projects.change_milestone"):
        return set()
    return set(CoreProject.managers.through.objects.filter(user_id=user.pk).values_list("coreproject_id", flat=True))


def changeable_projects(user: User) -> QuerySet[CoreProject]:
    """The projects this user may change, as a queryset: every one for an admin, a manager's own, else none."""
    if not user.is_authenticated or not user.is_active:
        return CoreProject.objects.none()
    if is_portfolio_admin(user):
        return CoreProject.objects.all()
    if not user.has_perm("projects.change_milestone"):
        return CoreProject.objects.none()
    return CoreProject.objects.filter(managers=user)


def can_change_project(user: User, project: CoreProject) -> bool:
    """May this user change this project, its milestones and its weekly notes?"""
    if not user.is_authenticated or not user.is_active:
        return False
    if is_portfolio_admin(user):
        return True
    return user.has_perm("projects.change_milestone") and project.managers.filter(pk=user.pk).exists()


@dataclass
class ProjectChangers:
    """``can_change_project`` for many projects and people at once (reminders ask it for thousands of rows)."""

    admins: set[int]  # may change every project
    managers: dict[int, set[int]]  # project id → its managers who hold the change permission

    def may_change(self, user_id: int | None, project_id: int) -> bool:
        return user_id is not None and (user_id in self.admins or user_id in self.managers.get(project_id, ()))


def project_changers(project_ids: Iterable[int] | QuerySet) -> ProjectChangers:
    """Who may change each of these projects, by the rule of ``can_change_project``; three queries. ``project_ids``
    may be a subquery (``….values("project_id")``): the reminder planner asks for thousands of projects."""
    users = get_user_model().objects.filter(is_active=True)
    admins = set(users.filter(Q(is_superuser=True) | Q(groups__name=roles.ADMIN)).values_list("pk", flat=True))
    permission = Permission.objects.filter(content_type__app_label="projects", codename="change_milestone")
    holders = users.filter(
        Q(is_superuser=True) | Q(user_permissions__in=permission) | Q(groups__permissions__in=permission)
    ).values("pk")
    managers: dict[int, set[int]] = defaultdict(set)
    for project_id, user_id in CoreProject.managers.through.objects.filter(
        coreproject_id__in=project_ids if isinstance(project_ids, QuerySet) else list(project_ids), user_id__in=holders
    ).values_list("coreproject_id", "user_id"):
        managers[project_id].add(user_id)
    return ProjectChangers(admins=admins, managers=managers)


def ensure_can_change_project(user: User, project: CoreProject) -> None:
    if not can_change_project(user, project):
        raise PermissionDenied(_("이 사업을 수정할 권한이 없습니다."))


def ensure_can_read_portfolio(user: User) -> None:
    if not can_read_portfolio(user):
        raise PermissionDenied(_("사업을 열람할 권한이 없습니다."))

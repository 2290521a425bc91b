"""The four roles are groups that migrations create with their permissions; nobody has to set them up by hand."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

from projects import roles
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

DOMAIN_MODELS = ["plan", "strategy", "task", "department", "organization", "coreproject", "milestone", "progressupdate"]


def permissions_of(role: str) -> set[str]:
    """'app_label.codename' of every permission the role's group holds."""
    group = Group.objects.get(name=role)
    return {
        f"{app_label}.{codename}"
        for app_label, codename in group.permissions.values_list("content_type__app_label", "codename")
    }


def test_the_four_role_groups_exist_after_migrating():
    assert set(Group.objects.values_list("name", flat=True)) >= set(roles.ALL_ROLES)
    assert len(roles.ALL_ROLES) == 4


def test_viewers_and_tf_heads_may_only_view_the_plan_and_its_projects():
    view_all = {f"projects.view_{model}" for model in DOMAIN_MODELS}
    assert permissions_of(roles.VIEWER) == view_all
    assert permissions_of(roles.TF_HEAD) == view_all


def test_a_project_manager_may_change_milestones_but_not_delete_projects():
    granted = permissions_of(roles.PROJECT_MANAGER)
    assert {
        "projects.change_coreproject",
        "projects.add_milestone",
        "projects.change_milestone",
        "projects.add_progressupdate",
        "projects.change_progressupdate",
    } <= granted
    assert not {perm for perm in granted if perm.split(".")[1].startswith("delete_")}
    assert "projects.add_coreproject" not in granted
    assert not {perm for perm in granted if perm.startswith("auth.")}


def test_an_admin_may_manage_projects_and_users_but_not_delete_users():
    granted = permissions_of(roles.ADMIN)
    every_action = {f"projects.{action}_{model}" for model in DOMAIN_MODELS for action in ("add", "change", "delete")}
    assert every_action <= granted
    assert {"auth.add_user", "auth.change_user", "auth.view_user", "auth.change_group"} <= granted
    assert "auth.delete_user" not in granted  # deactivated instead: weekly notes protect their author


def test_a_user_gets_the_permissions_of_their_role():
    viewer = UserFactory(role=roles.VIEWER)
    admin = UserFactory(role=roles.ADMIN)
    assert viewer.has_perm("projects.view_milestone") and not viewer.has_perm("projects.change_milestone")
    assert admin.has_perm("projects.add_coreproject") and admin.has_perm("auth.change_user")


def test_an_admin_may_edit_milestone_templates():
    granted = permissions_of(roles.ADMIN)
    assert {
        f"projects.{action}_{model}"
        for model in ("milestonetemplate", "milestonetemplatestep")
        for action in ("add", "change", "delete", "view")
    } <= granted

"""The Django admin asks projects.permissions too: a non-admin with staff status works on their own projects only.

A project manager given staff status sees, in the admin, only the projects they may change (and those
projects' milestones and weekly notes); every other row is absent from lists, searches, autocompletes and
exports, and opening one by its id is refused. Reading the whole portfolio is the workspace's job.
"""

from __future__ import annotations

from django.db.models import Model, QuerySet
from django.http import HttpRequest

from projects.models import CoreProject
from projects.permissions import changeable_projects, ensure_can_change_project, is_portfolio_admin


class ProjectScopedAdminMixin:
    """For a ModelAdmin of a project-owned model; ``project_field`` leads from a row to its project."""

    project_field = "project"  # "" for CoreProject itself
    # Who manages a project is the admins' decision: the managers of a project also decide who may change it.
    admin_only_fields: tuple[str, ...] = ()

    def _project_of(self, obj: Model) -> CoreProject | None:
        if not self.project_field:
            return obj
        return getattr(obj, self.project_field, None)

    def _scoped(self, request: HttpRequest) -> bool:
        return not is_portfolio_admin(request.user)

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        queryset = super().get_queryset(request)
        if not self._scoped(request):
            return queryset
        lookup = f"{self.project_field}__in" if self.project_field else "pk__in"
        return queryset.filter(**{lookup: changeable_projects(request.user).values("pk")})

    def _may_touch(self, request: HttpRequest, obj: Model | None) -> bool:
        if obj is None or not self._scoped(request):
            return True
        project = self._project_of(obj)
        return project is not None and changeable_projects(request.user).filter(pk=project.pk).exists()

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return super().has_view_permission(request, obj) and self._may_touch(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return super().has_change_permission(request, obj) and self._may_touch(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return super().has_delete_permission(request, obj) and self._may_touch(request, obj)

    def get_readonly_fields(self, request: HttpRequest, obj: Model | None = None):
        readonly = list(super().get_readonly_fields(request, obj))
        if self._scoped(request):
            readonly += [name for name in self.admin_only_fields if name not in readonly]
        return readonly

    def formfield_for_foreignkey(self, db_field, request: HttpRequest, **kwargs):
        if db_field.related_model is CoreProject and self._scoped(request):
            kwargs["queryset"] = changeable_projects(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request: HttpRequest, obj: Model, form, change: bool) -> None:
        # The last line of defence: whatever the form allowed, the row's (new) project must be the user's own.
        project = self._project_of(obj)
        if project is not None and (change or self.project_field):
            ensure_can_change_project(request.user, project)
        super().save_model(request, obj, form, change)


class ProjectScopedInlineMixin:
    """An inline of project-owned rows inside a project's page: it follows the parent's scope."""

    def _may_touch(self, request: HttpRequest, obj: Model | None) -> bool:
        if obj is None or is_portfolio_admin(request.user):
            return True
        project = obj if isinstance(obj, CoreProject) else getattr(obj, "project", None)
        return project is not None and changeable_projects(request.user).filter(pk=project.pk).exists()

    def has_view_permission(self, request, obj=None) -> bool:
        return super().has_view_permission(request, obj) and self._may_touch(request, obj)

    def has_change_permission(self, request, obj=None) -> bool:
        return super().has_change_permission(request, obj) and self._may_touch(request, obj)

    def has_add_permission(self, request, obj=None) -> bool:
        return super().has_add_permission(request, obj) and self._may_touch(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return super().has_delete_permission(request, obj) and self._may_touch(request, obj)

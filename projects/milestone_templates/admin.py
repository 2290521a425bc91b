"""Milestone templates in the admin: edited here, applied to selected projects (services.milestone_template_apply)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext as _

from projects import services
from projects.milestone_templates.forms import MilestoneTemplateApplyForm, TemplateChoiceForm
from projects.models import CoreProject, MilestoneTemplateStep


class MilestoneTemplateActionMixin:
    """An action on the project list: apply a milestone template to the selected projects."""

    def get_actions(self, request):
        actions = super().get_actions(request)
        if request.user.has_perm("projects.add_milestone"):
            actions["apply_milestone_template"] = (
                type(self).apply_milestone_template,
                "apply_milestone_template",
                _("선택한 사업에 마일스톤 템플릿 적용"),
            )
        return actions

    def apply_milestone_template(self, request, queryset):
        ids = ",".join(str(pk) for pk in queryset.values_list("pk", flat=True))
        return redirect(f"{reverse('admin:projects_coreproject_apply_template')}?ids={ids}")

    def get_urls(self):
        return [
            path(
                "apply-template/",
                self.admin_site.admin_view(self.apply_template_view),
                name="projects_coreproject_apply_template",
            ),
            *super().get_urls(),
        ]

    def apply_template_view(self, request: HttpRequest) -> HttpResponse:
        ids = [int(pk) for pk in request.GET.get("ids", "").split(",") if pk.isdigit()]
        projects = list(CoreProject.objects.filter(pk__in=ids).order_by("code"))
        changelist = reverse("admin:projects_coreproject_changelist")
        if not projects:
            messages.warning(request, _("사업을 먼저 고르세요."))
            return redirect(changelist)
        choice = TemplateChoiceForm(request.GET if "template" in request.GET else None)
        template = choice.cleaned_data["template"] if choice.is_bound and choice.is_valid() else None
        form = None
        if template is not None:
            form = MilestoneTemplateApplyForm(request.POST or None, template=template, project=projects[0])
            if request.method == "POST" and form.is_valid():
                created = existing = 0
                try:
                    with transaction.atomic():
                        for project in projects:
                            result = services.milestone_template_apply(
                                project=project, template=template, user=request.user, **form.service_arguments()
                            )
                            created += len(result.created)
                            existing += len(result.already_there)
                except ValidationError as error:
                    for key, errors in error.message_dict.items():
                        form.add_error(key if key in form.fields else None, errors)
                else:
                    messages.success(
                        request,
                        _(
                            "'%(template)s'을(를) 사업 %(projects)d개에 적용했습니다: "
                            "새로 만듦 %(created)d, 이미 있음 %(existing)d."
                        )
                        % {
                            "template": template.name,
                            "projects": len(projects),
                            "created": created,
                            "existing": existing,
                        },
                    )
                    return redirect(changelist)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("마일스톤 템플릿 적용"),
            "projects": projects,
            "ids": ",".join(str(project.pk) for project in projects),
            "choice": choice if choice.is_bound else TemplateChoiceForm(),
            "template": template,
            "form": form,
        }
        return TemplateResponse(request, "admin/projects/apply_milestone_template.html", context)


class MilestoneTemplateStepInline(admin.TabularInline):
    model = MilestoneTemplateStep
    extra = 0
    fields = [
        "order",
        "title",
        "kind",
        "responsible_agency",
        "date_rule",
        "year_offset",
        "month",
        "day",
        "date_label",
        "date_required",
        "days_after_previous",
        "feasibility_study_only",
        "notes",
    ]


class MilestoneTemplateAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "basis", "is_active", "order"]
    list_editable = ["is_active", "order"]
    search_fields = ["name", "code"]
    inlines = [MilestoneTemplateStepInline]

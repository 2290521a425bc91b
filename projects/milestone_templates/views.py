"""Milestone templates applied from a project's page: choose a template, fill in its dates, preview, create.

Only someone who may change the project gets here (projects.permissions); the writing is
services.milestone_template_apply, the same service the admin calls.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from projects import services
from projects.milestone_templates.forms import MilestoneTemplateApplyForm
from projects.milestone_templates.rules import milestone_key, template_plan
from projects.models import CoreProject, MilestoneTemplate
from projects.permissions import ensure_can_change_project
from projects.views import portfolio_reader


@portfolio_reader
@require_http_methods(["GET"])
def milestone_template_choose(request: HttpRequest, pk: int) -> HttpResponse:
    project = get_object_or_404(CoreProject, pk=pk)
    ensure_can_change_project(request.user, project)
    templates = MilestoneTemplate.objects.filter(is_active=True).prefetch_related("steps")
    return render(request, "projects/milestone_template_choose.html", {"project": project, "templates": templates})


@portfolio_reader
@require_http_methods(["GET", "POST"])
def milestone_template_apply(request: HttpRequest, pk: int, template_pk: int) -> HttpResponse:
    """GET: the template's form; POST 'preview': the dated milestones it would create; POST 'apply': create them."""
    project = get_object_or_404(CoreProject, pk=pk)
    ensure_can_change_project(request.user, project)
    template = get_object_or_404(MilestoneTemplate.objects.prefetch_related("steps"), pk=template_pk, is_active=True)
    form = MilestoneTemplateApplyForm(request.POST or None, template=template, project=project)
    preview = None
    if request.method == "POST" and form.is_valid():
        arguments = form.service_arguments()
        try:
            if "apply" in request.POST:
                result = services.milestone_template_apply(
                    project=project, template=template, user=request.user, **arguments
                )
                messages.success(
                    request,
                    _(
                        "'%(template)s': 마일스톤 %(created)d개를 만들었습니다. "
                        "이미 있던 %(existing)d개는 그대로 두었습니다."
                    )
                    % {
                        "template": template.name,
                        "created": len(result.created),
                        "existing": len(result.already_there),
                    },
                )
                return redirect(project.get_absolute_url() + "#milestones")
            existing = {milestone_key(milestone.kind, milestone.title) for milestone in project.milestones.all()}
            preview = [
                (item, milestone_key(item.kind, item.title) in existing)
                for item in template_plan(template=template, **arguments)
            ]
        except ValidationError as error:
            for field, messages_ in error.message_dict.items():
                form.add_error(field if field in form.fields else None, messages_)
    return render(
        request,
        "projects/milestone_template_apply.html",
        {"project": project, "template": template, "form": form, "preview": preview},
        status=400 if form.is_bound and form.errors else 200,
    )

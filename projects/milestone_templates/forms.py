"""The form that applies a milestone template: built from the template's steps (used by the web app and the admin)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from projects.milestone_templates.rules import template_has_feasibility_steps, template_needs_name
from projects.models import CoreProject, Milestone, MilestoneTemplate
from tracker.dates import seoul_today


class TemplateChoiceForm(forms.Form):
    template = forms.ModelChoiceField(
        label=_("템플릿"), queryset=MilestoneTemplate.objects.filter(is_active=True), empty_label=None
    )


class MilestoneTemplateApplyForm(forms.Form):
    """Fiscal year, line ministry and feasibility study for the budget calendar; a name and dates for a contest."""

    def __init__(self, *args, template: MilestoneTemplate, project: CoreProject | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.template = template
        steps = list(template.steps.all())
        if template.basis == MilestoneTemplate.Basis.FISCAL_YEAR:
            self.fields["fiscal_year"] = forms.IntegerField(
                label=_("회계연도"),
                min_value=2000,
                max_value=2100,
                initial=seoul_today().year + 1,
                help_text=_("이 회계연도의 국비를 받기 위한 일정입니다 (단계는 전년도에 있습니다)."),
            )
        if template_needs_name(template):
            self.fields["name"] = forms.CharField(
                label=_("이름 (예: 공모명)"), max_length=150, help_text=_("마일스톤 이름에 들어갑니다.")
            )
        self.fields["agency"] = forms.CharField(
            label=_("소관 부처"),
            max_length=100,
            required=False,
            initial=_latest_agency(project) if project else "",
            help_text=_("예: 해양수산부. 단계에 부처가 정해져 있지 않으면 이 부처를 씁니다."),
        )
        if template_has_feasibility_steps(template):
            self.fields["needs_feasibility_study"] = forms.BooleanField(
                label=_("예비타당성조사가 필요한 사업"), required=False
            )
        for step in steps:
            if step.date_rule != step.DateRule.ENTERED:
                continue
            help_text = ""
            if not step.date_required and step.days_after_previous is not None:
                help_text = _("비우면 앞 단계 %(days)d일 뒤로 잡습니다.") % {"days": step.days_after_previous}
            self.fields[f"step_{step.pk}"] = forms.DateField(
                label=step.date_label or step.title_for_people,
                required=step.date_required,
                widget=forms.DateInput(attrs={"type": "date"}),
                input_formats=["%Y-%m-%d"],
                help_text=help_text,
            )

    def service_arguments(self) -> dict:
        """The keyword arguments of services.milestone_template_apply (less project, template and user)."""
        data = self.cleaned_data
        return {
            "fiscal_year": data.get("fiscal_year"),
            "agency": data.get("agency", ""),
            "name": data.get("name", ""),
            "needs_feasibility_study": data.get("needs_feasibility_study", False),
            "dates": {int(key.removeprefix("step_")): value for key, value in data.items() if key.startswith("step_")},
        }


def _latest_agency(project: CoreProject) -> str:
    """The line ministry of the project's latest funding milestone, as a sensible default."""
    agency = (
        project.milestones.filter(kind__in=Milestone.FUNDING_KINDS)
        .exclude(responsible_agency__in=["", "기획재정부", "국회"])
        .order_by("-due_date")
        .values_list("responsible_agency", flat=True)
        .first()
    )
    return agency or ""

"""Form fields shared by the admin and the web app."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from projects.form_fields import EokField
from projects.models import CoreProject, Milestone, ProgressUpdate


class VersionedForm(forms.Form):
    """Carries the version of the milestone the person was looking at, to catch a concurrent edit."""

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)


class MilestoneForm(forms.ModelForm):
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = Milestone
        fields = Milestone.EDITABLE_FIELDS
        widgets = {"due_date": forms.DateInput(attrs={"type": "date"}), "notes": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, project, **kwargs):
        super().__init__(*args, **kwargs)
        owners = project.managers.all()
        if self.instance.owner_id:
            owners = owners | type(self.instance.owner).objects.filter(pk=self.instance.owner_id)
        self.fields["owner"].queryset = owners.distinct()
        self.fields["due_date"].input_formats = ["%Y-%m-%d"]
        if self.instance.pk:
            self.fields["due_date"].disabled = True
            self.fields["due_date"].help_text = _("기한은 '기한 변경'에서 사유와 함께 바꿉니다.")
        if self.instance.pk and not self.is_bound:
            self.initial["version"] = self.instance.version

    def changes(self) -> dict:
        """The fields a person may set here (a disabled field, such as an existing due date, is not one)."""
        return {name: self.cleaned_data[name] for name in self._meta.fields if not self.fields[name].disabled}


class AchieveForm(VersionedForm):
    completed_on = forms.DateField(label=_("달성일"), widget=forms.DateInput(attrs={"type": "date"}))
    amount_secured = EokField(label=_("확보액 (억원)"), required=False)


class ReasonForm(VersionedForm):
    reason = forms.CharField(label=_("사유"), max_length=300, required=False)


class CancelForm(VersionedForm):
    reason = forms.CharField(label=_("취소 사유"), max_length=300)


class RescheduleForm(VersionedForm):
    due_date = forms.DateField(label=_("새 기한"), widget=forms.DateInput(attrs={"type": "date"}))
    reason = forms.CharField(label=_("변경 사유"), max_length=300)


class ProgressUpdateForm(forms.ModelForm):
    class Meta:
        model = ProgressUpdate
        fields = ["summary", "blockers", "next_steps", "rag_status"]
        widgets = {
            "summary": forms.Textarea(attrs={"rows": 4}),
            "blockers": forms.Textarea(attrs={"rows": 2}),
            "next_steps": forms.Textarea(attrs={"rows": 2}),
            "rag_status": forms.RadioSelect,
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # A required radio group offers the statuses only, not an empty "---------" choice.
        self.fields["rag_status"].choices = CoreProject.RagStatus.choices

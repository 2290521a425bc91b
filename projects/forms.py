"""Form fields shared by the admin and the web app."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from projects.form_fields import EokField
from projects.models import NOTE_MAX_LENGTH, CoreProject, Milestone, ProgressUpdate


class VersionedForm(forms.Form):
    """Carries the version of the milestone the person was looking at, to catch a concurrent edit."""

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)


class MilestoneForm(forms.ModelForm):
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = Milestone
        fields = Milestone.EDITABLE_FIELDS
        widgets = {
            "due_date": forms.DateInput(attrs={"type": "date"}),
            "notes": forms.Textarea(attrs={"rows": 3, "maxlength": NOTE_MAX_LENGTH}),
        }

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


class MissForm(VersionedForm):
    reason = forms.CharField(
        label=_("미달성 사유"),
        max_length=300,
        help_text=_("예: 공모 탈락, 예산 미반영. 변경 이력에 남습니다."),
        error_messages={"required": _("미달성 사유를 입력하세요.")},
    )


class CancelForm(VersionedForm):
    reason = forms.CharField(
        label=_("취소 사유"),
        max_length=300,
        help_text=_("예: 사업 재편으로 불필요. 변경 이력에 남습니다."),
        error_messages={"required": _("취소 사유를 입력하세요.")},
    )


class ReopenForm(VersionedForm):
    reason = forms.CharField(
        label=_("다시 여는 사유"),
        max_length=300,
        help_text=_("예: 잘못 눌러 미달성으로 표시함. 변경 이력에 남습니다."),
        error_messages={"required": _("다시 여는 사유를 입력하세요.")},
    )


class RescheduleForm(VersionedForm):
    due_date = forms.DateField(
        label=_("새 기한"), widget=forms.DateInput(attrs={"type": "date"}), input_formats=["%Y-%m-%d"]
    )
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

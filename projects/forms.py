"""Form fields shared by the admin and the web app."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from projects.models import NOTE_MAX_LENGTH, CoreProject, Milestone, ProgressUpdate
from projects.money import eok_to_won, won_to_eok

MAX_EOK = Decimal("90000000")  # 900조 원: more than any budget; keeps the amount inside a 64-bit integer of won


class EokField(forms.DecimalField):
    """An amount typed in 억원 (e.g. 19270 or 0.5) and stored in whole won; label, help and errors say 억원."""

    def __init__(self, **kwargs):
        for key in ("max_value", "min_value", "max_digits", "decimal_places", "step_size"):
            kwargs.pop(key, None)
        if not kwargs.get("help_text"):
            kwargs["help_text"] = _("억원 단위로 입력합니다 (예: 1,927억 원이면 1927, 5천만 원이면 0.5).")
            if not kwargs.get("required", True):
                kwargs["help_text"] = _(
                    "억원 단위로 입력합니다 (예: 1,927억 원이면 1927, 5천만 원이면 0.5). 비워 두면 미정입니다."
                )
        label = kwargs.get("label")
        if label and "억원" not in str(label):
            kwargs["label"] = format_lazy("{} ({})", label, _("억원"))
        super().__init__(min_value=0, max_value=MAX_EOK, decimal_places=2, **kwargs)
        self.error_messages["max_value"] = _(
            "억원 단위로 %(limit_value)s 이하로 입력하세요. 원 단위 금액이라면 1억(100000000)으로 나눈 값입니다 "
            "(예: 52750000000원 → 527.5)."
        )
        self.error_messages["max_decimal_places"] = _(
            "억원 단위로 소수 둘째 자리까지 입력하세요 (0.01억 원 = 100만 원)."
        )
        self.widget.attrs.setdefault("step", "0.01")

    def prepare_value(self, value):
        if isinstance(value, int):
            return won_to_eok(value).normalize()
        return value

    def clean(self, value):
        eok = super().clean(value)
        return None if eok is None else eok_to_won(eok)

    def has_changed(self, initial, data) -> bool:
        try:
            return self.clean(data) != initial
        except forms.ValidationError:
            return True


class SupportNeedsField(forms.TypedMultipleChoiceField):
    """The support package a project asks for, as check boxes."""

    def __init__(self, **kwargs):
        kwargs.pop("encoder", None)
        kwargs.pop("decoder", None)
        kwargs.pop("max_length", None)
        kwargs.update(choices=CoreProject.Support.choices, widget=forms.CheckboxSelectMultiple, required=False)
        super().__init__(**kwargs)


class VersionedForm(forms.Form):
    """Carries the version of the milestone the person was looking at, to catch a concurrent edit."""

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)


class MilestoneForm(forms.ModelForm):
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = Milestone
        fields = [
            "kind",
            "title",
            "responsible_agency",
            "due_date",
            "amount_requested",
            "amount_secured",
            "owner",
            "notes",
        ]
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

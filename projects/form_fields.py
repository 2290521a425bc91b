"""Form fields that model fields hand out (money in 억원, the support package): imported by models and forms alike."""

from __future__ import annotations

from django import forms
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from projects.money import MAX_EOK, eok_to_won, won_to_eok


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
        kwargs.update(widget=forms.CheckboxSelectMultiple, required=False)
        super().__init__(**kwargs)

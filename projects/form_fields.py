"""Form fields that model fields hand out (money in 억원, the support package): imported by models and forms alike."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from projects.money import MAX_EOK, eok_to_won, won_to_eok


class EokField(forms.DecimalField):
    """An amount typed in 억원 (e.g. 19270 or 0.5) and stored in whole won."""

    def __init__(self, **kwargs):
        for key in ("max_value", "min_value", "max_digits", "decimal_places", "step_size"):
            kwargs.pop(key, None)
        kwargs.setdefault("help_text", _("억원 단위 (예: 1,927억 원이면 1927, 5천만 원이면 0.5)"))
        super().__init__(min_value=0, max_value=MAX_EOK, decimal_places=2, **kwargs)
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

"""Validators shared by the models."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

# C0 and C1 control characters (line feed, carriage return, tab, escape…) and Unicode's line separators.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def validate_single_line(value: str) -> None:
    """A name or title is one line of text: a line break in it could add a line to a plain-text e-mail."""
    if isinstance(value, str) and CONTROL_CHARACTERS.search(value):
        raise ValidationError(
            _("줄바꿈·탭 같은 제어 문자는 쓸 수 없습니다. 한 줄로 적어 주세요."), code="control_characters"
        )


def one_line(value: object) -> str:
    """Text for one line of a plain-text e-mail: every run of control characters becomes one space."""
    return CONTROL_CHARACTERS.sub(" ", str(value)) if value is not None else ""

"""HTML text written in Python, as Django's templates write it, for the pages that write many cells."""

from __future__ import annotations

import html

from django.utils.functional import Promise
from django.utils.safestring import SafeString


def escaped(value) -> str:
    """``conditional_escape(value)``, without its lazy-argument wrapper and SafeString copy: markup (anything with
    ``__html__``) as it is, everything else as text with &, <, >, " and ' escaped. The caller marks the whole
    result safe."""
    if isinstance(value, Promise):
        value = str(value)
    markup = getattr(value, "__html__", None)
    if markup is not None:
        return markup()
    return html.escape(str(value))


def attributes(attrs: dict) -> str:
    """``name="value"`` pairs as django-tables2's ``AttributeDict.as_html`` writes them (None left out)."""
    return " ".join(f'{escaped(name)}="{escaped(value)}"' for name, value in attrs.items() if value is not None)


def html_format(template: str, *values) -> SafeString:
    """``format_html(template, *values)`` for markup written once per cell: each value escaped as ``conditional_escape``
    escapes it, without its lazy-argument wrapper and a SafeString per value."""
    return SafeString(template.format(*map(escaped, values)))

"""Filters for plain-text e-mails: a value from the database never adds a line of its own."""

from __future__ import annotations

from django import template

from projects.validators import one_line as _one_line

register = template.Library()


@register.filter
def one_line(value) -> str:
    return _one_line(value)

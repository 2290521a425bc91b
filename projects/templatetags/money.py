from __future__ import annotations

from django import template

from projects.money import format_eok

register = template.Library()


@register.filter
def eok(won: int | None) -> str:
    """Won shown in 억원, the way Korean public documents do ('1조 9,270억 원')."""
    return format_eok(won)

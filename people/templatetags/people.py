from __future__ import annotations

from django import template

from people.names import person_label, person_name

register = template.Library()


@register.filter
def person(user) -> str:
    """'홍길동 (해양정책과)'."""
    return person_label(user)


@register.filter
def given_name(user) -> str:
    """'홍길동' (for a greeting)."""
    return person_name(user)

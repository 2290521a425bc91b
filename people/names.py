"""The one way the tracker names a person: "홍길동 (해양정책과)" — in tables, history, e-mails and exports."""

from __future__ import annotations

from django.core.exceptions import ObjectDoesNotExist
from django.utils.translation import gettext as _


def person_label(user) -> str:
    """'성명 (부서)' from the profile; for a user without one, the full name or e-mail — never the login name."""
    if user is None:
        return "-"
    try:
        profile = user.profile
    except (ObjectDoesNotExist, AttributeError):
        profile = None
    if profile is not None and profile.name:
        return profile.label
    full_name = user.get_full_name() if hasattr(user, "get_full_name") else ""
    if full_name:
        return full_name
    if getattr(user, "email", ""):
        return user.email
    return _("이름 미등록 사용자 #%(id)s") % {"id": user.pk}


def person_name(user) -> str:
    """Just the 성명 (for a greeting: "홍길동님")."""
    try:
        if user.profile.name:
            return user.profile.name
    except (ObjectDoesNotExist, AttributeError):
        pass
    return person_label(user)

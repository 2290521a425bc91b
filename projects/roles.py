"""The four roles, kept as Django groups. Their permissions are set by migrations (projects/migrations)."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

ADMIN = "관리자"
TF_HEAD = "TF 단장"
PROJECT_MANAGER = "사업 담당자"
VIEWER = "열람자"

ALL_ROLES = (ADMIN, TF_HEAD, PROJECT_MANAGER, VIEWER)


def has_role(user: AbstractBaseUser | AnonymousUser, role: str) -> bool:
    return user.is_authenticated and user.groups.filter(name=role).exists()

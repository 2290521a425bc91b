"""Writes about people: their profile (성명, 직위, 부서)."""

from __future__ import annotations

from django.db import transaction

from people.models import Profile


@transaction.atomic
def profile_save(*, user, name: str, position: str, department: str) -> Profile:
    """Create or update the user's profile; every field is required and stripped."""
    profile = Profile.objects.filter(user=user).first() or Profile(user=user)
    profile.name, profile.position, profile.department = name.strip(), position.strip(), department.strip()
    profile.full_clean()
    profile.save()
    return profile

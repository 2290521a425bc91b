"""Who a user is to colleagues: 성명, 직위, 부서. Login names are for logging in, never for showing."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from projects.validators import validate_single_line


class Profile(models.Model):
    """One per user, created with the user (the admin's inline, ``people.services.profile_save``, seed_demo)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile", verbose_name=_("사용자")
    )
    name = models.CharField(_("성명"), max_length=50, validators=[validate_single_line])
    position = models.CharField(
        _("직위"), max_length=50, help_text=_("예: 주무관, 사무관, 과장"), validators=[validate_single_line]
    )
    department = models.CharField(
        _("부서"), max_length=100, help_text=_("예: 해양정책과"), validators=[validate_single_line]
    )

    class Meta:
        verbose_name = _("인적 사항")
        verbose_name_plural = _("인적 사항")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        """'홍길동 (해양정책과)': how the tracker names a person everywhere."""
        return f"{self.name} ({self.department})" if self.department else self.name

"""Users in the admin carry their 성명, 직위 and 부서 (one inline, required)."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.utils.translation import gettext_lazy as _

from people.models import Profile

User = get_user_model()


class ProfileInline(admin.StackedInline):
    model = Profile
    can_delete = False
    min_num = 1
    max_num = 1
    extra = 0
    validate_min = True
    verbose_name = _("인적 사항")
    verbose_name_plural = _("인적 사항 (성명·직위·부서)")


admin.site.unregister(User)


@admin.register(User)
class PersonUserAdmin(UserAdmin):
    inlines = [ProfileInline]
    list_display = ["username", "person_name", "person_position", "person_department", "email", "is_active"]
    list_select_related = ["profile"]
    search_fields = ["username", "email", "profile__name", "profile__department", "first_name", "last_name"]

    @admin.display(description=_("성명"), ordering="profile__name")
    def person_name(self, user) -> str:
        return getattr(getattr(user, "profile", None), "name", "") or "-"

    @admin.display(description=_("직위"), ordering="profile__position")
    def person_position(self, user) -> str:
        return getattr(getattr(user, "profile", None), "position", "") or "-"

    @admin.display(description=_("부서"), ordering="profile__department")
    def person_department(self, user) -> str:
        return getattr(getattr(user, "profile", None), "department", "") or "-"

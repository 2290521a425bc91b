from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PeopleConfig(AppConfig):
    name = "people"
    verbose_name = _("사람")

    def ready(self) -> None:
        from django.contrib.auth import get_user_model

        from people.names import person_label

        # Wherever Django shows a user (admin pickers, history, form choices), it shows "성명 (부서)", never the
        # login name.
        get_user_model().__str__ = person_label

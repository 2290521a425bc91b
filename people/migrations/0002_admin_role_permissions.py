"""관리자 sees every admin page meant for it: people's profiles, the digest policy, calendar feeds (to revoke a
leaked address) and the login-lockout pages (to unlock a colleague). Grants by data migration, like every role
change (projects/0002_role_groups)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

ADMIN_PERMISSIONS = [
    ("people", "view_profile"),
    ("people", "add_profile"),
    ("people", "change_profile"),
    ("notifications", "view_digestpolicy"),
    ("notifications", "change_digestpolicy"),
    ("notifications", "view_calendarfeed"),
    ("notifications", "change_calendarfeed"),
    ("notifications", "delete_calendarfeed"),
    ("axes", "view_accessattempt"),
    ("axes", "delete_accessattempt"),
    ("axes", "view_accesslog"),
    ("axes", "view_accessfailurelog"),
]


def _permissions(apps):
    Permission = apps.get_model("auth", "Permission")
    return [
        Permission.objects.get(content_type__app_label=app_label, codename=codename)
        for app_label, codename in ADMIN_PERMISSIONS
    ]


def grant(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    admin_group, _ = Group.objects.get_or_create(name="관리자")
    admin_group.permissions.add(*_permissions(apps))


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    for group in Group.objects.filter(name="관리자"):
        group.permissions.remove(*_permissions(apps))


class Migration(migrations.Migration):
    dependencies = [
        ("people", "0001_profile"),
        ("notifications", "0004_digest"),
        ("projects", "0002_role_groups"),
        ("axes", "0010_accessattemptexpiration"),
    ]

    operations = [migrations.RunPython(grant, revoke)]

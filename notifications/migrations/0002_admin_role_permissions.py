"""Admins (관리자) manage the reminder policy, people's notification settings and the outbox."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

ADMIN_PERMISSIONS = [
    "view_reminderpolicy",
    "change_reminderpolicy",
    "view_notificationpreference",
    "add_notificationpreference",
    "change_notificationpreference",
    "view_reminder",
    "view_outboxmessage",
    "change_outboxmessage",
]


def grant(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    admin_group, _ = Group.objects.get_or_create(name="관리자")
    admin_group.permissions.add(
        *Permission.objects.filter(content_type__app_label="notifications", codename__in=ADMIN_PERMISSIONS)
    )


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for group in Group.objects.filter(name="관리자"):
        group.permissions.remove(
            *Permission.objects.filter(content_type__app_label="notifications", codename__in=ADMIN_PERMISSIONS)
        )


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0001_initial"),
        ("projects", "0002_role_groups"),
    ]

    operations = [migrations.RunPython(grant, revoke)]

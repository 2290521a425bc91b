"""Admins (관리자) edit the milestone templates in the admin, as they edit the rest of the plan."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

MODELS = ("milestonetemplate", "milestonetemplatestep")
ADMIN_PERMISSIONS = [f"{action}_{model}" for model in MODELS for action in ("add", "change", "delete", "view")]


def _permissions(apps):
    Permission = apps.get_model("auth", "Permission")
    return Permission.objects.filter(content_type__app_label="projects", codename__in=ADMIN_PERMISSIONS)


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
        ("auth", "0012_alter_user_first_name_max_length"),
        ("projects", "0005_seed_milestone_templates"),
    ]

    operations = [migrations.RunPython(grant, revoke)]

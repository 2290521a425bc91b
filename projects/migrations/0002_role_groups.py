"""Create the four role groups with their model permissions.

The permission lists are frozen here: a later change to a role is a new migration, not an edit of this one.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

DOMAIN_MODELS = [
    "plan",
    "strategy",
    "task",
    "department",
    "organization",
    "coreproject",
    "milestone",
    "progressupdate",
]
VIEW_ALL = [("projects", f"view_{model}") for model in DOMAIN_MODELS]

ROLE_PERMISSIONS = {
    "관리자": [
        *[
            ("projects", f"{action}_{model}")
            for model in DOMAIN_MODELS
            for action in ("add", "change", "delete", "view")
        ],
        *[("auth", f"{action}_{model}") for model in ("user", "group") for action in ("add", "change", "view")],
    ],
    "TF 단장": VIEW_ALL,
    "사업 담당자": [
        *VIEW_ALL,
        ("projects", "change_coreproject"),
        ("projects", "add_milestone"),
        ("projects", "change_milestone"),
        ("projects", "add_progressupdate"),
        ("projects", "change_progressupdate"),
    ],
    "열람자": VIEW_ALL,
}


def create_role_groups(apps, schema_editor):
    # Permissions are normally created after all migrations (post_migrate); make them exist now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, codes in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        permissions = [
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
            for app_label, codename in codes
        ]
        group.permissions.set(permissions)


def remove_role_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLE_PERMISSIONS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("projects", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_role_groups, remove_role_groups)]

"""성명, 직위 and 부서 are single lines, like the domain's names (projects.validators); existing control characters
become spaces."""

import re

import projects.validators
from django.db import migrations, models


CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
FIELDS = ["name", "position", "department"]


def one_line_existing_values(apps, schema_editor):
    Profile = apps.get_model("people", "Profile")
    for profile in Profile.objects.all().iterator():
        values = {field: CONTROL_CHARACTERS.sub(" ", getattr(profile, field)).strip() for field in FIELDS}
        if any(values[field] != getattr(profile, field) for field in FIELDS):
            Profile.objects.filter(pk=profile.pk).update(**values)


class Migration(migrations.Migration):
    dependencies = [
        ("people", "0002_admin_role_permissions"),
    ]

    operations = [
        migrations.RunPython(one_line_existing_values, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="profile",
            name="department",
            field=models.CharField(
                help_text="예: 해양정책과",
                max_length=100,
                validators=[projects.validators.validate_single_line],
                verbose_name="부서",
            ),
        ),
        migrations.AlterField(
            model_name="profile",
            name="name",
            field=models.CharField(
                max_length=50, validators=[projects.validators.validate_single_line], verbose_name="성명"
            ),
        ),
        migrations.AlterField(
            model_name="profile",
            name="position",
            field=models.CharField(
                help_text="예: 주무관, 사무관, 과장",
                max_length=50,
                validators=[projects.validators.validate_single_line],
                verbose_name="직위",
            ),
        ),
    ]

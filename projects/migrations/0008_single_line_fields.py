"""Names and titles are single lines: a validator on every free-text CharField; existing values that hold a
line break or another control character get a space in its place (nothing else changes)."""

import re

import projects.validators
from django.db import migrations, models

CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
SINGLE_LINE_FIELDS = {
    "plan": ["name", "name_en"],
    "strategy": ["code", "name", "name_en"],
    "task": ["code", "name", "name_en"],
    "department": ["name", "name_en"],
    "organization": ["name", "name_en"],
    "coreproject": ["code", "name", "name_en", "government_programme"],
    "milestone": ["title", "responsible_agency"],
    "milestonetemplate": ["name"],
    "milestonetemplatestep": ["title", "responsible_agency", "date_label"],
}


def one_line_existing_values(apps, schema_editor):
    for model_name, fields in SINGLE_LINE_FIELDS.items():
        model = apps.get_model("projects", model_name)
        query = models.Q()
        for field in fields:
            query |= models.Q(**{f"{field}__regex": CONTROL_CHARACTERS.pattern})
        for row in model.objects.filter(query):
            for field in fields:
                setattr(row, field, CONTROL_CHARACTERS.sub(" ", getattr(row, field)).strip())
            row.save(update_fields=fields)


class Migration(migrations.Migration):
    dependencies = [
        ("projects", "0007_milestone_closed_at_notes_limit"),
    ]

    operations = [
        migrations.RunPython(one_line_existing_values, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="coreproject",
            name="code",
            field=models.CharField(
                max_length=30, validators=[projects.validators.validate_single_line], verbose_name="사업코드"
            ),
        ),
        migrations.AlterField(
            model_name="coreproject",
            name="government_programme",
            field=models.CharField(
                blank=True,
                max_length=300,
                validators=[projects.validators.validate_single_line],
                verbose_name="연계 정부사업",
            ),
        ),
        migrations.AlterField(
            model_name="coreproject",
            name="name",
            field=models.CharField(
                max_length=300, validators=[projects.validators.validate_single_line], verbose_name="사업명"
            ),
        ),
        migrations.AlterField(
            model_name="coreproject",
            name="name_en",
            field=models.CharField(
                blank=True,
                max_length=300,
                validators=[projects.validators.validate_single_line],
                verbose_name="사업명(영문)",
            ),
        ),
        migrations.AlterField(
            model_name="department",
            name="name",
            field=models.CharField(
                max_length=100,
                unique=True,
                validators=[projects.validators.validate_single_line],
                verbose_name="부서명",
            ),
        ),
        migrations.AlterField(
            model_name="department",
            name="name_en",
            field=models.CharField(
                blank=True,
                max_length=100,
                validators=[projects.validators.validate_single_line],
                verbose_name="부서명(영문)",
            ),
        ),
        migrations.AlterField(
            model_name="historicalcoreproject",
            name="code",
            field=models.CharField(
                max_length=30, validators=[projects.validators.validate_single_line], verbose_name="사업코드"
            ),
        ),
        migrations.AlterField(
            model_name="historicalcoreproject",
            name="government_programme",
            field=models.CharField(
                blank=True,
                max_length=300,
                validators=[projects.validators.validate_single_line],
                verbose_name="연계 정부사업",
            ),
        ),
        migrations.AlterField(
            model_name="historicalcoreproject",
            name="name",
            field=models.CharField(
                max_length=300, validators=[projects.validators.validate_single_line], verbose_name="사업명"
            ),
        ),
        migrations.AlterField(
            model_name="historicalcoreproject",
            name="name_en",
            field=models.CharField(
                blank=True,
                max_length=300,
                validators=[projects.validators.validate_single_line],
                verbose_name="사업명(영문)",
            ),
        ),
        migrations.AlterField(
            model_name="historicalmilestone",
            name="responsible_agency",
            field=models.CharField(
                blank=True,
                max_length=100,
                validators=[projects.validators.validate_single_line],
                verbose_name="소관 부처",
            ),
        ),
        migrations.AlterField(
            model_name="historicalmilestone",
            name="title",
            field=models.CharField(
                max_length=300, validators=[projects.validators.validate_single_line], verbose_name="마일스톤"
            ),
        ),
        migrations.AlterField(
            model_name="milestone",
            name="responsible_agency",
            field=models.CharField(
                blank=True,
                max_length=100,
                validators=[projects.validators.validate_single_line],
                verbose_name="소관 부처",
            ),
        ),
        migrations.AlterField(
            model_name="milestone",
            name="title",
            field=models.CharField(
                max_length=300, validators=[projects.validators.validate_single_line], verbose_name="마일스톤"
            ),
        ),
        migrations.AlterField(
            model_name="milestonetemplate",
            name="name",
            field=models.CharField(
                max_length=200, validators=[projects.validators.validate_single_line], verbose_name="템플릿명"
            ),
        ),
        migrations.AlterField(
            model_name="milestonetemplatestep",
            name="date_label",
            field=models.CharField(
                blank=True,
                help_text="예: 공고일",
                max_length=100,
                validators=[projects.validators.validate_single_line],
                verbose_name="입력 칸 이름",
            ),
        ),
        migrations.AlterField(
            model_name="milestonetemplatestep",
            name="responsible_agency",
            field=models.CharField(
                blank=True,
                help_text="비우면 적용할 때 입력한 소관 부처를 씁니다.",
                max_length=100,
                validators=[projects.validators.validate_single_line],
                verbose_name="소관 부처",
            ),
        ),
        migrations.AlterField(
            model_name="milestonetemplatestep",
            name="title",
            field=models.CharField(
                help_text="{year}는 회계연도, {name}은 적용할 때 입력하는 이름(예: 공모명)으로 바뀝니다.",
                max_length=300,
                validators=[projects.validators.validate_single_line],
                verbose_name="마일스톤 이름",
            ),
        ),
        migrations.AlterField(
            model_name="organization",
            name="name",
            field=models.CharField(
                max_length=200,
                unique=True,
                validators=[projects.validators.validate_single_line],
                verbose_name="기관명",
            ),
        ),
        migrations.AlterField(
            model_name="organization",
            name="name_en",
            field=models.CharField(
                blank=True,
                max_length=200,
                validators=[projects.validators.validate_single_line],
                verbose_name="기관명(영문)",
            ),
        ),
        migrations.AlterField(
            model_name="plan",
            name="name",
            field=models.CharField(
                max_length=200, validators=[projects.validators.validate_single_line], verbose_name="계획명"
            ),
        ),
        migrations.AlterField(
            model_name="plan",
            name="name_en",
            field=models.CharField(
                blank=True,
                max_length=200,
                validators=[projects.validators.validate_single_line],
                verbose_name="계획명(영문)",
            ),
        ),
        migrations.AlterField(
            model_name="strategy",
            name="code",
            field=models.CharField(
                max_length=20, validators=[projects.validators.validate_single_line], verbose_name="코드"
            ),
        ),
        migrations.AlterField(
            model_name="strategy",
            name="name",
            field=models.CharField(
                max_length=200, validators=[projects.validators.validate_single_line], verbose_name="전략명"
            ),
        ),
        migrations.AlterField(
            model_name="strategy",
            name="name_en",
            field=models.CharField(
                blank=True,
                max_length=200,
                validators=[projects.validators.validate_single_line],
                verbose_name="전략명(영문)",
            ),
        ),
        migrations.AlterField(
            model_name="task",
            name="code",
            field=models.CharField(
                max_length=20, validators=[projects.validators.validate_single_line], verbose_name="코드"
            ),
        ),
        migrations.AlterField(
            model_name="task",
            name="name",
            field=models.CharField(
                max_length=200, validators=[projects.validators.validate_single_line], verbose_name="추진과제명"
            ),
        ),
        migrations.AlterField(
            model_name="task",
            name="name_en",
            field=models.CharField(
                blank=True,
                max_length=200,
                validators=[projects.validators.validate_single_line],
                verbose_name="추진과제명(영문)",
            ),
        ),
    ]

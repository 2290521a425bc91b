"""The two standard templates: national funding for a fiscal year, and a public-contest bid.

Frozen here as the city's starting point; admins edit them in the admin afterwards. Running this migration
again (or over templates already edited) changes nothing: a template whose code exists is left alone.
"""

from django.db import migrations

NATIONAL_FUNDING_STEPS = [
    # (title, kind, agency, month, day, feasibility study only, notes) — all in the year before the fiscal year
    (
        "{year}년 국비: 예비타당성조사 대상사업 선정 신청",
        "feasibility_study",
        "기획재정부",
        1,
        31,
        True,
        "대규모 사업은 예비타당성조사를 거쳐야 예산에 반영됩니다. "
        "조사에 1년 안팎이 걸리므로 중기사업계획서(1월 31일)와 함께 준비합니다.",
    ),
    (
        "{year}년 국비: 시 → 소관 부처 국비 신청",
        "national_funding",
        "",
        4,
        15,
        False,
        "소관 부처가 5월 31일까지 기획재정부에 예산을 요구하므로, 부처 검토 시간을 두고 4월 중순까지 신청합니다.",
    ),
    (
        "{year}년 국비: 소관 부처 예산 요구 (기획재정부 제출)",
        "budget_reflection",
        "",
        5,
        31,
        False,
        "국가재정법: 각 부처의 예산요구서는 5월 31일까지 기획재정부에 제출됩니다.",
    ),
    (
        "{year}년 국비: 정부 예산안 반영 (국회 제출)",
        "budget_reflection",
        "기획재정부",
        9,
        3,
        False,
        "국가재정법: 정부 예산안은 회계연도 시작 120일 전(9월 3일)까지 국회에 제출됩니다.",
    ),
    (
        "{year}년 국비: 국회 예산안 의결 (국비 확정)",
        "budget_reflection",
        "국회",
        12,
        2,
        False,
        "헌법: 국회는 회계연도 시작 30일 전(12월 2일)까지 예산안을 의결합니다.",
    ),
]

PUBLIC_CONTEST_STEPS = [
    # (title, kind, date label, required, days after the previous step when not entered)
    ("{name}: 공모 공고", "public_contest", "공고일", True, None),
    ("{name}: 신청 마감 (사업계획서 제출)", "public_contest", "신청 마감일", True, None),
    ("{name}: 서면평가", "public_contest", "서면평가일", False, 14),
    ("{name}: 발표·현장평가", "public_contest", "발표·현장평가일", False, 14),
    ("{name}: 선정 발표", "public_contest", "선정 발표일", False, 14),
    ("{name}: 협약 체결", "agreement", "협약일", False, 30),
]


def seed(apps, schema_editor):
    MilestoneTemplate = apps.get_model("projects", "MilestoneTemplate")
    MilestoneTemplateStep = apps.get_model("projects", "MilestoneTemplateStep")

    if not MilestoneTemplate.objects.filter(code="national-funding").exists():
        template = MilestoneTemplate.objects.create(
            code="national-funding",
            name="국비 확보 (회계연도 예산 일정)",
            basis="fiscal_year",
            order=1,
            description=(
                "회계연도 Y의 국비를 받기 위한 표준 일정입니다. 국가재정법의 예산 일정에 따라 모든 단계가 "
                "Y-1년에 있습니다. 주말·공휴일이면 앞 근무일로 당깁니다."
            ),
        )
        for order, (title, kind, agency, month, day, feasibility_only, notes) in enumerate(NATIONAL_FUNDING_STEPS, 1):
            MilestoneTemplateStep.objects.create(
                template=template,
                order=order,
                title=title,
                kind=kind,
                responsible_agency=agency,
                date_rule="calendar",
                year_offset=-1,
                month=month,
                day=day,
                feasibility_study_only=feasibility_only,
                notes=notes,
            )

    if not MilestoneTemplate.objects.filter(code="public-contest").exists():
        template = MilestoneTemplate.objects.create(
            code="public-contest",
            name="정부 공모 응모",
            basis="entered_dates",
            order=2,
            description=(
                "공고 → 신청 마감 → 서면평가 → 발표·현장평가 → 선정 → 협약. 공고일과 신청 마감일은 꼭 입력하고, "
                "나머지는 아는 날짜만 입력하면 앞 단계에서 정해진 날 수만큼 뒤로 잡습니다. 주말·공휴일이면 앞 "
                "근무일로 당깁니다."
            ),
        )
        for order, (title, kind, label, required, days_after) in enumerate(PUBLIC_CONTEST_STEPS, 1):
            MilestoneTemplateStep.objects.create(
                template=template,
                order=order,
                title=title,
                kind=kind,
                date_rule="entered",
                date_label=label,
                date_required=required,
                days_after_previous=days_after,
            )


class Migration(migrations.Migration):
    dependencies = [("projects", "0004_milestone_templates")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]

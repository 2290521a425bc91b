"""Milestone templates: dates from the national budget calendar and from a contest's schedule, moved off weekends
and Korean public holidays; applying twice adds nothing; only people who may change the project apply them."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from projects import services
from projects.milestone_templates.rules import template_plan
from projects.models import Milestone, MilestoneTemplate, MilestoneTemplateStep
from tests.factories import CoreProjectFactory, MilestoneFactory
from tracker.dates import SEOUL

pytestmark = pytest.mark.django_db

FEASIBILITY = "2026년 국비: 예비타당성조사 대상사업 선정 신청"


@pytest.fixture(autouse=True)
def frozen_clock():
    with time_machine.travel(dt.datetime(2026, 11, 25, 10, tzinfo=SEOUL), tick=False):
        yield


@pytest.fixture
def national_funding() -> MilestoneTemplate:
    return MilestoneTemplate.objects.get(code="national-funding")


@pytest.fixture
def public_contest() -> MilestoneTemplate:
    return MilestoneTemplate.objects.get(code="public-contest")


def contest_steps(template: MilestoneTemplate) -> dict[str, int]:
    return {step.date_label: step.pk for step in template.steps.all()}


def planned(template, **inputs) -> list[tuple[dt.date, str, str, str]]:
    return [
        (item.due_date, item.kind, item.title, item.responsible_agency)
        for item in template_plan(template=template, **inputs)
    ]


# The national budget calendar ------------------------------------------------------------------------------


def test_fiscal_2026_follows_the_budget_calendar_of_2025(national_funding):
    # 2025: 31 Jan is a Friday, 15 Apr a Tuesday, 31 May a Saturday (→ Fri 30 May), 3 Sep a Wednesday,
    # 2 Dec a Tuesday.
    assert planned(national_funding, fiscal_year=2026, agency="해양수산부", needs_feasibility_study=True) == [
        (dt.date(2025, 1, 31), "feasibility_study", FEASIBILITY, "기획재정부"),
        (dt.date(2025, 4, 15), "national_funding", "2026년 국비: 시 → 소관 부처 국비 신청", "해양수산부"),
        (dt.date(2025, 5, 30), "budget_reflection", "2026년 국비: 소관 부처 예산 요구 (기획재정부 제출)", "해양수산부"),
        (dt.date(2025, 9, 3), "budget_reflection", "2026년 국비: 정부 예산안 반영 (국회 제출)", "기획재정부"),
        (dt.date(2025, 12, 2), "budget_reflection", "2026년 국비: 국회 예산안 의결 (국비 확정)", "국회"),
    ]


def test_fiscal_2027_moves_weekend_deadlines_to_the_friday_before(national_funding):
    # 2026: 31 Jan is a Saturday (→ Fri 30 Jan), 15 Apr a Wednesday, 31 May a Sunday (→ Fri 29 May),
    # 3 Sep a Thursday, 2 Dec a Wednesday.
    dates = [item[0] for item in planned(national_funding, fiscal_year=2027, needs_feasibility_study=True)]
    assert dates == [
        dt.date(2026, 1, 30),
        dt.date(2026, 4, 15),
        dt.date(2026, 5, 29),
        dt.date(2026, 9, 3),
        dt.date(2026, 12, 2),
    ]
    assert all(item.due_date.year == 2026 for item in template_plan(template=national_funding, fiscal_year=2027))


def test_a_step_on_a_public_holiday_moves_to_the_previous_working_day(national_funding):
    # Edited in the admin: a step on 3 June (2026 local election day, a Wednesday) and one on 5 October
    # (2026: the Monday substitute holiday for National Foundation Day).
    MilestoneTemplateStep.objects.create(
        template=national_funding, order=10, title="{year}년 선거일 점검", kind="other", date_rule="calendar",
        month=6, day=3,
    )  # fmt: skip
    MilestoneTemplateStep.objects.create(
        template=national_funding, order=11, title="{year}년 국정감사 대응", kind="other", date_rule="calendar",
        month=10, day=5,
    )  # fmt: skip

    items = {item.title: item for item in template_plan(template=national_funding, fiscal_year=2027)}

    assert items["2027년 선거일 점검"].due_date == dt.date(2026, 6, 2)
    assert items["2027년 국정감사 대응"].due_date == dt.date(2026, 10, 2)
    assert items["2027년 국정감사 대응"].nominal_date == dt.date(2026, 10, 5)


def test_the_feasibility_step_is_only_for_projects_that_need_one(national_funding):
    without = [item[2] for item in planned(national_funding, fiscal_year=2026)]
    assert FEASIBILITY not in without and len(without) == 4


def test_a_fiscal_year_is_required_and_sane(national_funding):
    with pytest.raises(ValidationError) as missing:
        template_plan(template=national_funding)
    assert missing.value.message_dict == {"fiscal_year": ["회계연도를 입력하세요."]}
    with pytest.raises(ValidationError):
        template_plan(template=national_funding, fiscal_year=3026)


# The public-contest sequence -------------------------------------------------------------------------------


def test_a_contest_takes_the_entered_dates_and_fills_the_rest(public_contest):
    steps = contest_steps(public_contest)
    dates = {
        steps["공고일"]: dt.date(2026, 3, 1),  # a Sunday and a holiday → Fri 27 Feb
        steps["신청 마감일"]: dt.date(2026, 4, 30),
        steps["발표·현장평가일"]: dt.date(2026, 5, 25),  # substitute holiday for Buddha's Birthday → Fri 22 May
        steps["협약일"]: dt.date(2026, 8, 14),
    }

    result = planned(public_contest, name="AX 공모", agency="과학기술정보통신부", dates=dates)

    ministry = "과학기술정보통신부"
    assert result == [
        (dt.date(2026, 2, 27), "public_contest", "AX 공모: 공모 공고", ministry),
        (dt.date(2026, 4, 30), "public_contest", "AX 공모: 신청 마감 (사업계획서 제출)", ministry),
        (dt.date(2026, 5, 14), "public_contest", "AX 공모: 서면평가", ministry),
        (dt.date(2026, 5, 22), "public_contest", "AX 공모: 발표·현장평가", ministry),
        (dt.date(2026, 6, 5), "public_contest", "AX 공모: 선정 발표", ministry),
        (dt.date(2026, 8, 14), "agreement", "AX 공모: 협약 체결", ministry),
    ]


def test_a_contest_needs_its_name_announcement_and_deadline_in_order(public_contest):
    steps = contest_steps(public_contest)
    with pytest.raises(ValidationError) as no_name:
        template_plan(template=public_contest, dates={})
    assert set(no_name.value.message_dict) == {"name"}

    with pytest.raises(ValidationError) as errors:
        template_plan(
            template=public_contest,
            name="공모",
            dates={steps["공고일"]: dt.date(2026, 5, 1), steps["서면평가일"]: dt.date(2026, 4, 1)},
        )
    messages = errors.value.message_dict
    assert messages[f"step_{steps['신청 마감일']}"] == ["신청 마감일을(를) 입력하세요."]
    assert "앞 단계" in messages[f"step_{steps['서면평가일']}"][0]


# Applying --------------------------------------------------------------------------------------------------


def test_applying_twice_does_not_duplicate_milestones(project, owner, national_funding):
    MilestoneFactory(project=project, kind="national_funding", title="2027년 국비: 시 → 소관 부처 국비 신청")

    first = services.milestone_template_apply(
        project=project, template=national_funding, user=owner, fiscal_year=2027, agency="해양수산부"
    )
    second = services.milestone_template_apply(
        project=project, template=national_funding, user=owner, fiscal_year=2027, agency="해양수산부"
    )

    assert (len(first.created), len(first.already_there)) == (3, 1)
    assert (len(second.created), len(second.already_there)) == (0, 4)
    assert project.milestones.count() == 4
    created = project.milestones.get(title="2027년 국비: 국회 예산안 의결 (국비 확정)")
    assert (created.due_date, created.responsible_agency, created.status) == (dt.date(2026, 12, 2), "국회", "planned")
    history = created.history.get()
    assert (history.history_user, history.history_change_reason) == (
        owner,
        "템플릿 적용: 국비 확보 (회계연도 예산 일정)",
    )


def test_another_fiscal_year_is_another_set(project, owner, national_funding):
    for year in (2027, 2028):
        services.milestone_template_apply(project=project, template=national_funding, user=owner, fiscal_year=year)
    assert project.milestones.count() == 8


def test_the_service_refuses_someone_who_may_not_change_the_project(project, outsider, national_funding):
    with pytest.raises(PermissionDenied):
        services.milestone_template_apply(project=project, template=national_funding, user=outsider, fiscal_year=2027)
    assert not project.milestones.exists()


# The project page ------------------------------------------------------------------------------------------


def test_the_project_page_offers_templates_to_its_managers_only(client, project, owner, outsider):
    url = reverse("projects:milestone_template_choose", args=[project.pk])
    client.force_login(owner)
    assert url in client.get(reverse("projects:project", args=[project.pk])).content.decode()
    client.force_login(outsider)
    assert url not in client.get(reverse("projects:project", args=[project.pk])).content.decode()


def test_an_outsider_gets_403_and_nothing_is_created(client, project, outsider, national_funding):
    client.force_login(outsider)
    apply_url = reverse("projects:milestone_template_apply", args=[project.pk, national_funding.pk])

    assert client.get(reverse("projects:milestone_template_choose", args=[project.pk])).status_code == 403
    assert client.get(apply_url).status_code == 403
    assert client.post(apply_url, {"fiscal_year": "2027", "apply": "1"}).status_code == 403
    assert not project.milestones.exists()


def test_a_manager_previews_then_applies_from_the_project_page(client, project, owner, public_contest):
    steps = contest_steps(public_contest)
    client.force_login(owner)
    url = reverse("projects:milestone_template_apply", args=[project.pk, public_contest.pk])
    form = {
        "name": "K-콘텐츠 공모",
        "agency": "문화체육관광부",
        f"step_{steps['공고일']}": "2026-03-01",
        f"step_{steps['신청 마감일']}": "2026-04-30",
    }

    page = client.get(url)
    assert page.status_code == 200
    preview = client.post(url, {**form, "preview": "1"})
    assert preview.status_code == 200
    assert "2026-02-27" in preview.content.decode() and "새로 만듦" in preview.content.decode()
    assert not project.milestones.exists()

    done = client.post(url, {**form, "apply": "1"})
    assert done.status_code == 302
    assert project.milestones.count() == 6
    client.post(url, {**form, "apply": "1"})
    assert project.milestones.count() == 6


def test_missing_dates_come_back_as_form_errors(client, project, owner, public_contest):
    client.force_login(owner)
    url = reverse("projects:milestone_template_apply", args=[project.pk, public_contest.pk])

    response = client.post(url, {"name": "공모", "apply": "1"})

    assert response.status_code == 400
    assert "필수 항목" in response.content.decode()
    assert not project.milestones.exists()


# The admin -------------------------------------------------------------------------------------------------


def test_templates_are_seeded_and_editable_in_the_admin(client, superuser, national_funding):
    client.force_login(superuser)
    page = client.get(reverse("admin:projects_milestonetemplate_change", args=[national_funding.pk]))
    assert page.status_code == 200
    assert "국가재정법" in page.content.decode()
    assert list(MilestoneTemplate.objects.values_list("code", flat=True)) == ["national-funding", "public-contest"]


def test_the_admin_action_applies_a_template_to_selected_projects(client, superuser, national_funding):
    projects = [CoreProjectFactory(), CoreProjectFactory()]
    client.force_login(superuser)
    ids = [project.pk for project in projects]

    chosen = client.post(
        reverse("admin:projects_coreproject_changelist"),
        {"action": "apply_milestone_template", "_selected_action": ids},
    )
    assert chosen.status_code == 302
    url = f"{chosen['Location']}&template={national_funding.pk}"
    assert "회계연도" in client.get(url).content.decode()
    done = client.post(url, {"fiscal_year": "2027", "agency": "산업통상자원부", "needs_feasibility_study": "on"})

    assert done.status_code == 302
    for project in projects:
        assert project.milestones.count() == 5
    assert Milestone.objects.filter(responsible_agency="산업통상자원부").count() == 4

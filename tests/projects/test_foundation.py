"""The foundation: the database refuses wrong rows, the plan loads once, sample data fills it out to 71."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from decimal import Decimal

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from django.db import IntegrityError, transaction
from django.db.models import Count, Sum
from django.test import RequestFactory

from projects import roles
from projects.models import CoreProject, Milestone, Plan, Strategy, Task
from projects.money import eok_to_won, format_eok, won_to_eok
from tests.factories import (
    CoreProjectFactory,
    MilestoneFactory,
    ProgressUpdateFactory,
    StrategyFactory,
    TaskFactory,
)
from tracker.dates import SEOUL, seoul_today

pytestmark = pytest.mark.django_db


def refused(callable_) -> bool:
    try:
        with transaction.atomic():
            callable_()
    except IntegrityError:
        return True
    return False


# The database refuses what is wrong ------------------------------------------------------------------------


def test_codes_are_unique_within_their_parent():
    strategy = StrategyFactory(code="S1")
    assert refused(lambda: StrategyFactory(plan=strategy.plan, code="S1"))
    StrategyFactory(code="S1")  # another plan may use the code
    task = TaskFactory(strategy=strategy, code="T01")
    assert refused(lambda: TaskFactory(strategy=strategy, code="T01"))
    CoreProjectFactory(task=task, code="P-1")
    other_task_same_plan = TaskFactory(strategy=strategy, code="T02")
    assert refused(lambda: CoreProjectFactory(task=other_task_same_plan, code="P-1"))


def test_it_refuses_negative_money_and_a_split_over_the_total(project):
    assert refused(lambda: CoreProject.objects.filter(pk=project.pk).update(budget_national=-1))
    assert refused(lambda: CoreProject.objects.filter(pk=project.pk).update(budget_national=eok_to_won(500)))
    milestone = MilestoneFactory(project=project)
    assert refused(lambda: Milestone.objects.filter(pk=milestone.pk).update(amount_requested=-1))


def test_it_refuses_an_end_year_before_the_start_year(project):
    assert refused(lambda: CoreProject.objects.filter(pk=project.pk).update(start_year=2030, end_year=2026))


def test_a_completion_date_belongs_to_achieved_milestones_only(project):
    milestone = MilestoneFactory(project=project)
    assert refused(lambda: Milestone.objects.filter(pk=milestone.pk).update(completed_on=dt.date(2026, 1, 5)))
    assert refused(lambda: Milestone.objects.filter(pk=milestone.pk).update(status="achieved"))
    Milestone.objects.filter(pk=milestone.pk).update(status="achieved", completed_on=dt.date(2026, 1, 5))


def test_weekly_notes_start_on_a_monday_and_come_once_a_week(project, owner):
    ProgressUpdateFactory(project=project, author=owner, week_start=dt.date(2026, 11, 23))
    assert refused(lambda: ProgressUpdateFactory(project=project, author=owner, week_start=dt.date(2026, 11, 23)))
    assert refused(lambda: ProgressUpdateFactory(project=project, author=owner, week_start=dt.date(2026, 11, 24)))


def test_sample_data_cannot_pass_for_plan_data(project):
    assert refused(lambda: CoreProject.objects.filter(pk=project.pk).update(name="[예시] 가짜"))
    assert refused(lambda: CoreProject.objects.filter(pk=project.pk).update(is_sample=True))


def test_a_project_takes_its_plan_from_its_task_and_keeps_history(owner):
    task = TaskFactory()
    project = CoreProjectFactory(task=task)
    assert project.plan == task.strategy.plan
    project._history_user = owner
    project.name = "새 이름"
    project.save()
    assert project.history.count() == 2
    assert project.history.first().history_user == owner


# The plan as announced --------------------------------------------------------------------------------------


def test_the_seeded_plan_is_the_announced_one(capsys):
    call_command("load_seeds")
    plan = Plan.objects.get(code="busan-2025")
    strategies = list(plan.strategies.order_by("order"))
    assert [s.code for s in strategies] == ["S1", "S2", "S3", "S4"]
    assert [s.announced_project_count for s in strategies] == [21, 16, 18, 16]
    assert sum(s.announced_budget for s in strategies) == eok_to_won(48_882)
    assert format_eok(strategies[0].announced_budget) == "1조 9,270억 원"
    assert Task.objects.filter(strategy__plan=plan).count() == 10
    assert not Task.objects.filter(strategy__plan=plan, is_inferred=False).exists()
    assert CoreProject.objects.filter(plan=plan, is_flagship=True, is_sample=False).count() == 4
    assert (plan.announced_new_count, plan.announced_upgraded_count, plan.announced_expanded_count) == (53, 15, 3)


def test_loading_the_seeds_twice_changes_nothing(capsys):
    call_command("load_seeds")
    rows = (Plan.objects.count(), Strategy.objects.count(), Task.objects.count(), CoreProject.objects.count())
    histories = CoreProject.history.count()
    capsys.readouterr()
    call_command("load_seeds")
    assert "새로 만듦 0, 고침 0" in capsys.readouterr().out
    assert (Plan.objects.count(), Strategy.objects.count(), Task.objects.count(), CoreProject.objects.count()) == rows
    assert CoreProject.history.count() == histories


def test_seed_demo_fills_the_plan_out_to_its_announced_shape(capsys):
    with time_machine.travel(dt.datetime(2026, 11, 25, 9, tzinfo=SEOUL), tick=False):
        call_command("load_seeds")
        call_command("seed_demo")
        today = seoul_today()
    output = capsys.readouterr().out
    plan = Plan.objects.get(code="busan-2025")
    projects = CoreProject.objects.filter(plan=plan)
    assert projects.count() == 71
    categories = dict(projects.values_list("category").annotate(n=Count("id")))
    assert categories == {"new": 53, "upgraded": 15, "expanded": 3}
    for strategy in plan.strategies.all():
        mine = projects.filter(task__strategy=strategy)
        assert mine.count() == strategy.announced_project_count
        assert mine.aggregate(total=Sum("budget_total"))["total"] == strategy.announced_budget
    assert set(Milestone.objects.values_list("kind", flat=True)) == set(Milestone.Kind.values)
    open_statuses = Milestone.OPEN_STATUSES
    assert Milestone.objects.filter(status__in=open_statuses, due_date__lt=today).exists()
    assert Milestone.objects.filter(status="achieved").exists()
    assert Milestone.objects.filter(due_date__gt=today + dt.timedelta(days=300)).exists()
    samples = projects.filter(is_sample=True)
    assert samples.count() == 67
    assert all(name.startswith("[예시]") for name in samples.values_list("name", flat=True))
    assert not projects.filter(is_sample=False, name__startswith="[예시]").exists()
    # one sample user per role, with a generated password printed once that works
    for username, role, _name in [
        ("demo_admin", roles.ADMIN, ""),
        ("demo_tf_head", roles.TF_HEAD, ""),
        ("demo_pm", roles.PROJECT_MANAGER, ""),
        ("demo_viewer", roles.VIEWER, ""),
    ]:
        line = next(line for line in output.splitlines() if line.strip().startswith(username))
        password = line.split()[-1]
        request = RequestFactory().post("/accounts/login/")
        user = authenticate(request, username=username, password=password)
        assert user is not None and user.groups.filter(name=role).exists()
    capsys.readouterr()
    call_command("seed_demo")
    again = capsys.readouterr().out
    assert "demo_pm" not in again
    assert CoreProject.objects.count() == 71


def test_seed_demo_needs_the_plan_first():
    with pytest.raises(CommandError, match="load_seeds"):
        call_command("seed_demo")


def test_create_admin_prints_a_password_once(capsys):
    call_command("create_admin")
    first = capsys.readouterr().out
    password = first.rsplit("/", 1)[1].strip()
    assert authenticate(RequestFactory().post("/"), username="admin", password=password).is_superuser
    call_command("create_admin")
    assert password not in capsys.readouterr().out


def test_the_four_roles_exist_with_their_permissions():
    def codes(role: str) -> set[str]:
        return set(Group.objects.get(name=role).permissions.values_list("codename", flat=True))

    assert all(code.startswith("view_") for code in codes(roles.VIEWER))
    assert codes(roles.TF_HEAD) == codes(roles.VIEWER)
    assert {"change_milestone", "add_progressupdate"} <= codes(roles.PROJECT_MANAGER)
    assert "delete_coreproject" not in codes(roles.PROJECT_MANAGER)
    assert {"add_coreproject", "change_user", "change_reminderpolicy"} <= codes(roles.ADMIN)


def test_money_reads_the_way_korean_documents_write_it():
    assert format_eok(1_927_000_000_000) == "1조 9,270억 원"
    assert format_eok(1_927_000_000_000, with_jo=False) == "19,270억 원"
    assert format_eok(782_400_000_000) == "7,824억 원"
    assert format_eok(150_000_000) == "1.5억 원"
    assert format_eok(10**12) == "1조 원"
    assert format_eok(None) == "미정"
    assert won_to_eok(eok_to_won("12.34")) == Decimal("12.34")
    assert eok_to_won("0.5") == 50_000_000


# Settings ---------------------------------------------------------------------------------------------------


def _settings_subprocess(tmp_path, code: str, **env) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG", "DATABASE_URL", "REDIS_URL"}}
    environment.update(VAR_DIR=str(tmp_path), **env)
    return subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); from django.conf import settings; {code}"],
        cwd=settings.BASE_DIR,
        env={**environment, "DJANGO_SETTINGS_MODULE": "tracker.settings"},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_settings_refuse_to_start_without_a_secret_key_when_debug_is_off(tmp_path):
    result = _settings_subprocess(tmp_path, "print('started')", DEBUG="false")
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_in_debug_a_secret_key_is_generated_once_into_var(tmp_path):
    first = _settings_subprocess(tmp_path, "print(settings.SECRET_KEY)", DEBUG="true")
    second = _settings_subprocess(tmp_path, "print(settings.SECRET_KEY)", DEBUG="true")
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == second.stdout.strip() == (tmp_path / "secret_key").read_text().strip()


def test_services_come_from_the_environment(tmp_path):
    code = "print(settings.DATABASES['default']['ENGINE'], settings.CELERY_BROKER_URL, settings.EMAIL_BACKEND)"
    default = _settings_subprocess(tmp_path, code, DEBUG="true").stdout.split()
    assert default == [
        "django.db.backends.sqlite3",
        "filesystem://",
        "django.core.mail.backends.filebased.EmailBackend",
    ]
    production = _settings_subprocess(
        tmp_path,
        code,
        DEBUG="false",
        SECRET_KEY="x" * 60,
        DATABASE_URL="postgres://u:p@db:5432/tracker",
        REDIS_URL="redis://cache:6379/0",
        EMAIL_URL="smtp://mail:1025",
    ).stdout.split()
    assert production == [
        "django.db.backends.postgresql",
        "redis://cache:6379/0",
        "django.core.mail.backends.smtp.EmailBackend",
    ]
    assert settings.TIME_ZONE == "Asia/Seoul" and settings.USE_TZ and settings.LANGUAGE_CODE == "ko"


def test_today_is_the_seoul_date_even_when_utc_is_still_on_yesterday():
    with time_machine.travel(dt.datetime(2026, 11, 24, 16, 30, tzinfo=dt.UTC), tick=False):
        assert seoul_today() == dt.date(2026, 11, 25)

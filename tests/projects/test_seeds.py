"""The plan as announced (load_seeds), the sample portfolio around it (seed_demo) and the first admin account."""

from __future__ import annotations

import datetime as dt
import io
from collections import Counter

import pytest
import time_machine
from django.contrib.auth import authenticate, get_user_model
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from django.db import transaction
from django.db.models import Count, Sum
from django.test import RequestFactory

from notifications.digest import Scope, digest_build
from projects import roles
from projects.models import SAMPLE_PREFIX, CoreProject, Milestone, Plan, ProgressUpdate, Strategy, Task
from projects.money import eok_to_won
from projects.trends import figures_by_week, figures_total, week_end_moment
from tracker.dates import SEOUL, week_start

WEEK = dt.timedelta(days=7)

pytestmark = pytest.mark.django_db

PLAN_CODE = "busan-2025"
# 2026-11-25 09:00 in Seoul: the demo spreads its milestones around this day.
NOW = dt.datetime(2026, 11, 25, 9, tzinfo=SEOUL)
TODAY = NOW.date()


def run(command: str, capsys) -> str:
    capsys.readouterr()
    call_command(command)
    return capsys.readouterr().out


def signs_in(username: str, password: str):
    # django-axes needs the request that carries the attempt.
    return authenticate(RequestFactory().post("/accounts/login/"), username=username, password=password)


def plan_rows() -> dict[str, list[tuple]]:
    plan_projects = CoreProject.objects.filter(is_sample=False)
    return {
        "plans": list(Plan.objects.order_by("pk").values_list()),
        "strategies": list(Strategy.objects.order_by("pk").values_list()),
        "tasks": list(Task.objects.order_by("pk").values_list()),
        "projects": list(plan_projects.order_by("pk").values_list()),
    }


def demo_rows() -> dict[str, int]:
    return {
        "projects": CoreProject.objects.count(),
        "milestones": Milestone.objects.count(),
        "notes": ProgressUpdate.objects.count(),
        "users": get_user_model().objects.count(),
        "project history": CoreProject.history.count(),
        "milestone history": Milestone.history.count(),
    }


@pytest.fixture
def plan(capsys) -> Plan:
    run("load_seeds", capsys)
    return Plan.objects.get(code=PLAN_CODE)


@pytest.fixture(scope="class")
def demo_output(django_db_setup, django_db_blocker) -> str:
    """The plan and its sample portfolio, made once on 2026-11-25 in Seoul for the tests of one class.

    seed_demo takes seconds, so the class shares one run inside a transaction that is rolled back after its
    last test; each test still runs in its own savepoint (pytest-django's ``db``).
    """
    with django_db_blocker.unblock(), transaction.atomic():
        call_command("load_seeds", stdout=io.StringIO())
        output = io.StringIO()
        with time_machine.travel(NOW, tick=False):
            call_command("seed_demo", stdout=output)
        yield output.getvalue()
        transaction.set_rollback(True)


# load_seeds ------------------------------------------------------------------------------------------------


def test_the_seeded_plan_has_the_announced_strategies_tasks_and_flagships(plan):
    strategies = list(plan.strategies.order_by("order"))
    assert [strategy.code for strategy in strategies] == ["S1", "S2", "S3", "S4"]
    tasks = Task.objects.filter(strategy__plan=plan)
    assert tasks.count() == 10
    assert tasks.filter(is_inferred=True).count() == 10  # the announcement lists no tasks: all are inferred
    flagships = CoreProject.objects.filter(plan=plan, is_flagship=True)
    assert sorted(flagships.values_list("task__strategy__code", flat=True)) == ["S1", "S2", "S3", "S4"]
    assert not flagships.filter(is_sample=True).exists()


def test_the_seeded_plan_carries_the_announced_budgets_and_counts(plan):
    strategies = plan.strategies.order_by("order")
    assert sum(strategies.values_list("announced_budget", flat=True)) == eok_to_won(48_882)
    assert list(strategies.values_list("announced_project_count", flat=True)) == [21, 16, 18, 16]
    announced = (plan.announced_new_count, plan.announced_upgraded_count, plan.announced_expanded_count)
    assert announced == (53, 15, 3)


def test_loading_the_seeds_twice_changes_nothing(plan, capsys):
    before = plan_rows()
    history = CoreProject.history.count()
    output = run("load_seeds", capsys)
    assert "새로 만듦 0, 고침 0," in output
    assert plan_rows() == before
    assert CoreProject.history.count() == history


# seed_demo -------------------------------------------------------------------------------------------------


class TestTheDemoPortfolio:
    """Read the one portfolio seed_demo made (see ``demo_output``)."""

    def test_seed_demo_fills_the_plan_out_to_71_projects_in_the_announced_categories(self, demo_output):
        projects = CoreProject.objects.filter(plan__code=PLAN_CODE)
        assert projects.count() == 71
        assert dict(projects.values_list("category").annotate(n=Count("pk"))) == {
            CoreProject.Category.NEW: 53,
            CoreProject.Category.UPGRADED: 15,
            CoreProject.Category.EXPANDED: 3,
        }
        per_strategy = dict(projects.values_list("task__strategy__code").annotate(n=Count("pk")))
        assert per_strategy == {"S1": 21, "S2": 16, "S3": 18, "S4": 16}

    def test_seed_demo_spends_each_strategys_announced_budget_exactly(self, demo_output):
        for strategy in Strategy.objects.filter(plan__code=PLAN_CODE):
            spent = CoreProject.objects.filter(task__strategy=strategy).aggregate(total=Sum("budget_total"))["total"]
            assert spent == strategy.announced_budget, strategy.code

    def test_seed_demo_milestones_cover_every_kind_around_today(self, demo_output):
        assert set(Milestone.objects.values_list("kind", flat=True)) == set(Milestone.Kind.values)
        overdue = Milestone.objects.filter(status__in=Milestone.OPEN_STATUSES, due_date__lt=TODAY)
        assert overdue.exists()
        assert Milestone.objects.filter(status=Milestone.Status.ACHIEVED, completed_on__lte=TODAY).exists()
        assert Milestone.objects.filter(status__in=Milestone.OPEN_STATUSES, due_date__gte=TODAY).exists()

    def test_sample_projects_are_marked_and_the_plans_own_are_not(self, demo_output):
        samples = CoreProject.objects.filter(is_sample=True)
        assert samples.count() == 67
        assert all(name.startswith(SAMPLE_PREFIX) for name in samples.values_list("name", flat=True))
        plan_projects = CoreProject.objects.filter(is_sample=False)
        assert set(plan_projects) == set(CoreProject.objects.filter(is_flagship=True))
        assert len(plan_projects) == 4
        assert not any(name.startswith(SAMPLE_PREFIX) for name in plan_projects.values_list("name", flat=True))

    def test_seed_demo_makes_one_user_per_role_and_prints_each_password_once(self, demo_output):
        demo_users = get_user_model().objects.filter(username__startswith="demo_")
        for role in roles.ALL_ROLES:
            members = demo_users.filter(groups=Group.objects.get(name=role))
            assert members.count() == 1, role
            username = members.get().username
            [line] = [line for line in demo_output.splitlines() if line.split()[:1] == [username]]
            password = line.split()[-1]
            assert signs_in(username, password) == members.get()
        assert demo_users.count() == len(roles.ALL_ROLES)

    def test_running_seed_demo_again_creates_nothing_and_prints_no_password(self, demo_output, capsys):
        passwords = [line.split()[-1] for line in demo_output.splitlines() if line.strip().startswith("demo_")]
        assert len(passwords) == len(roles.ALL_ROLES)
        before = demo_rows()
        with time_machine.travel(NOW + dt.timedelta(days=1), tick=False):
            again = run("seed_demo", capsys)
        assert demo_rows() == before
        assert not any(password in again for password in passwords)
        assert "demo_" not in again
        assert "바꾼 것이 없습니다" in again

    def test_the_last_twelve_digests_tell_a_consistent_non_zero_story(self, demo_output):
        """Each past week, rebuilt from the backdated history, against a count in plain Python over the history."""
        plan = Plan.objects.get(code=PLAN_CODE)
        last = week_start(TODAY) - dt.timedelta(days=7)
        weeks = [last - dt.timedelta(weeks=n) for n in range(12)]
        by_week = figures_by_week(plan=plan, weeks=weeks)
        project_history = list(CoreProject.history.order_by("history_date", "history_id").values())
        milestone_history = list(Milestone.history.order_by("history_date", "history_id").values())
        for week in weeks:
            moment = week_end_moment(week)
            projects = _as_of_in_python(project_history, moment)
            milestones = [
                m for m in _as_of_in_python(milestone_history, moment).values() if m["project_id"] in projects
            ]
            figures = figures_total(by_week[week].values())
            assert figures.projects == len(projects) == 67, week  # the plan's own four were loaded today
            assert figures.rag == dict(Counter(p["rag_status"] for p in projects.values())), week
            requested, secured = _funding_in_python(milestones)
            overdue = [m for m in milestones if m["status"] in Milestone.OPEN_STATUSES and m["due_date"] < week + WEEK]
            assert (figures.secured, figures.requested, figures.overdue) == (secured, requested, len(overdue)), week
            assert 0 < secured < requested, week
            digest = digest_build(plan=plan, scope=Scope("plan"), week_start=week)
            noted = ProgressUpdate.objects.filter(week_start=week).count()
            assert 0 < len(digest.missing_notes) < 67 - 40 and noted + len(digest.missing_notes) == 67, week
            assert digest.flagged_notes and len(digest.flagged_notes) < noted, week
        assert sum(figures_total(by_week[w].values()).achieved_in_week for w in weeks) > 20
        assert len({tuple(sorted(figures_total(by_week[w].values()).rag.items())) for w in weeks}) > 3  # it moves
        assert Milestone.history.filter(history_change_reason="관계 부처 일정 조정").exists()  # slips with a reason
        assert ProgressUpdate.objects.filter(week_start__gte=week_start(TODAY)).count() == 0


def _funding_in_python(milestones: list[dict]) -> tuple[int, int]:
    """국비 신청 and 확보 by the rule in docs/decisions.md ("What 국비 신청 and 확보 count"), in plain Python: a
    project's budget-calendar milestones of one fiscal year count once (asked at the earliest stage, secured at the
    latest, cancelled ones left out); a 정부 공모 counts on its own."""

    def stage(m: dict) -> int:
        if m["kind"] == Milestone.Kind.NATIONAL_FUNDING:
            return 1
        title, month = m["title"], m["due_date"].month
        if "의결" in title:
            return 4
        if "정부 예산안" in title or "정부안" in title:
            return 3
        if "요구" in title:
            return 2
        return 2 if month <= 6 else 3 if month <= 10 else 4

    def year(m: dict) -> int:
        head = m["title"][:5]
        return int(head[:4]) if head[:4].isdigit() and head[4:] == "년" else m["due_date"].year + 1

    requested = secured = 0
    requests: dict[tuple[int, int], list[dict]] = {}
    for m in milestones:
        if m["kind"] == Milestone.Kind.PUBLIC_CONTEST:
            requested += (m["amount_requested"] or 0) if m["status"] != "cancelled" else 0
            secured += (m["amount_secured"] or 0) if m["status"] == "achieved" else 0
        elif m["kind"] in Milestone.FUNDING_KINDS and m["status"] != "cancelled":
            requests.setdefault((m["project_id"], year(m)), []).append(m)
    for steps in requests.values():
        first, last = min(map(stage, steps)), max(map(stage, steps))
        requested += sum(m["amount_requested"] or 0 for m in steps if stage(m) == first)
        secured += sum(m["amount_secured"] or 0 for m in steps if stage(m) == last and m["status"] == "achieved")
    return requested, secured


def _as_of_in_python(records: list[dict], moment: dt.datetime) -> dict[int, dict]:
    """Each row's newest history record by ``moment``, unless that record is its deletion."""
    state = {}
    for record in records:
        if record["history_date"] <= moment:
            state[record["id"]] = record
    return {pk: record for pk, record in state.items() if record["history_type"] != "-"}


def test_seed_demo_without_the_plan_asks_for_load_seeds():
    with pytest.raises(CommandError, match="load_seeds"):
        call_command("seed_demo")
    assert not CoreProject.objects.exists()


# create_admin ----------------------------------------------------------------------------------------------


def test_create_admin_makes_one_superuser_and_prints_its_password_once(capsys):
    first = run("create_admin", capsys)
    password = first.rsplit(" / ", 1)[1].strip()
    admin = signs_in("admin", password)
    assert admin is not None and admin.is_superuser
    assert admin.groups.filter(name=roles.ADMIN).exists()

    again = run("create_admin", capsys)
    assert password not in again
    assert get_user_model().objects.filter(is_superuser=True).count() == 1
    assert signs_in("admin", password) == admin

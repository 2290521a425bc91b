"""Portfolio generator for the benchmarks: Busan's plan at ×1 (71 projects), ×10 or ×100 (7,100 projects,
about 70,000 milestones, 500 users), written with bulk inserts into whatever database Django is pointed at.

Used by bench/portfolio.py (and by the other bench scripts); it is never part of the tests.
"""

from __future__ import annotations

import datetime as dt
import random

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group

from projects import roles
from projects.models import CoreProject, Department, Milestone, Plan, ProgressUpdate
from projects.money import WON_PER_EOK
from projects.services import plan_load_seed
from tracker.dates import SEOUL, week_start

MILESTONES_PER_PROJECT = 10


def portfolio_generate(*, scale: int, today: dt.date, seed: int = 7) -> Plan:
    """Load the plan, then ``71 × scale`` projects with ten milestones each and ``5 × scale`` users (≥ 10)."""
    rng = random.Random(seed)
    plan, _tally = plan_load_seed()
    User = get_user_model()
    password = make_password(None)
    users = User.objects.bulk_create(
        [
            User(username=f"bench{n}", email=f"bench{n}@example.com", password=password)
            for n in range(max(10, 5 * scale))
        ]
    )
    pm_group = Group.objects.get(name=roles.PROJECT_MANAGER)
    pm_group.user_set.add(*users)
    departments = Department.objects.bulk_create([Department(name=f"[예시] 벤치 부서 {n}") for n in range(30)])
    tasks = [task for strategy in plan.strategies.all() for task in strategy.tasks.all()]
    projects = []
    for n in range(71 * scale):
        task = tasks[n % len(tasks)]
        total = rng.randint(10, 5000) * WON_PER_EOK
        projects.append(
            CoreProject(
                plan=plan,
                task=task,
                code=f"DEMO-B{n:05d}",
                name=f"[예시] 벤치 사업 {n}",
                category=rng.choice(CoreProject.Category.values),
                lead_department=rng.choice(departments),
                budget_total=total,
                budget_national=total // 2,
                budget_city=total // 4,
                start_year=2026,
                end_year=2030,
                rag_status=rng.choice(CoreProject.RagStatus.values),
                is_sample=True,
            )
        )
    projects = CoreProject.objects.bulk_create(projects, batch_size=2000)
    CoreProject.managers.through.objects.bulk_create(
        [
            CoreProject.managers.through(coreproject_id=project.pk, user_id=users[i % len(users)].pk)
            for i, project in enumerate(projects)
        ],
        batch_size=5000,
    )
    milestones = []
    for project in projects:
        for index in range(MILESTONES_PER_PROJECT):
            due = today + dt.timedelta(days=rng.randint(-120, 365))
            status = rng.choice(Milestone.Status.values)
            milestones.append(
                Milestone(
                    project=project,
                    kind=rng.choice(Milestone.Kind.values),
                    # unique within the project: the import matches a milestone by (project, kind, title)
                    title=f"벤치 마일스톤 {rng.randint(1, 99999)}-{index + 1}",
                    responsible_agency=rng.choice(["해양수산부", "산업통상자원부", "과학기술정보통신부", "기획재정부"]),
                    due_date=due,
                    status=status,
                    # achieved by today at the latest (a completion date is never in the future)
                    completed_on=min(due, today) if status == Milestone.Status.ACHIEVED else None,
                    amount_requested=rng.randint(1, 500) * WON_PER_EOK,
                    amount_secured=rng.randint(1, 500) * WON_PER_EOK if status == Milestone.Status.ACHIEVED else None,
                    owner=users[rng.randrange(len(users))],
                )
            )
    Milestone.objects.bulk_create(milestones, batch_size=5000)
    ProgressUpdate.objects.bulk_create(
        [
            ProgressUpdate(
                project=project,
                week_start=week_start(today),
                author=users[0],
                summary="벤치 주간 보고",
                rag_status=project.rag_status,
            )
            for project in projects[::3]
        ],
        batch_size=5000,
    )
    _history_generate(rng, today=today, users=users)
    return plan


def _history_generate(rng: random.Random, *, today: dt.date, users: list) -> None:
    """History as the app would have written it: every row created 60 days ago, and last week 5% of the open
    milestones moved on (achieved, submitted or rescheduled) by their owners, so "as of" figures and the
    week's changes have something to read."""
    created = dt.datetime.combine(today - dt.timedelta(days=60), dt.time(9), tzinfo=SEOUL)
    bulk_loaded = CoreProject.objects.exclude(pk__in=CoreProject.history.values("id"))  # the seed wrote its own
    CoreProject.history.bulk_history_create(list(bulk_loaded), batch_size=5000, default_date=created)
    milestones = list(Milestone.objects.exclude(pk__in=Milestone.history.values("id")))
    Milestone.history.bulk_history_create(milestones, batch_size=5000, default_date=created)
    last_monday = week_start(today) - dt.timedelta(days=7)
    moved = [m for m in milestones if m.status in Milestone.OPEN_STATUSES and rng.random() < 0.05]
    for milestone in moved:
        change = rng.choice(("achieve", "submit", "reschedule"))
        if change == "achieve":
            milestone.status, milestone.completed_on = Milestone.Status.ACHIEVED, last_monday + dt.timedelta(days=2)
        elif change == "submit":
            milestone.status = Milestone.Status.SUBMITTED
        else:
            milestone.due_date += dt.timedelta(days=rng.choice((7, 14, 30)))
        milestone.version += 1
    Milestone.objects.bulk_update(moved, ["status", "completed_on", "due_date", "version"], batch_size=5000)
    changed_at = dt.datetime.combine(last_monday + dt.timedelta(days=2), dt.time(15), tzinfo=SEOUL)
    Milestone.history.bulk_history_create(
        moved, batch_size=5000, update=True, default_date=changed_at, default_user=users[0]
    )

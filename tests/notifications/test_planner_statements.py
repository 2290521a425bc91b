"""The planner's statements: as many for 3 people as for 300, and none binding more than a few dozen parameters.

At ×100 the planner bound 71,000 ids in one ``IN (…)``, 10,000 values in one INSERT and a 500-branch CASE in
one UPDATE; ids and rows now travel as one array (or JSON document) per column (tracker/sqlvalues.py).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection

from notifications.models import OutboxMessage, Reminder, ReminderPolicy
from notifications.reminders import reminders_plan
from projects import roles
from projects.models import CoreProject, Milestone
from tests.factories import CoreProjectFactory, StrategyFactory, TaskFactory, UserFactory
from tests.notifications.helpers import seoul

pytestmark = pytest.mark.django_db

D = dt.date.fromisoformat
DAY = seoul("2026-12-02", 10)  # a Wednesday: 12-09 is D-7, 11-18 is 14 days overdue (escalated)
# Parameters one planner statement may bind, whatever the size (the widest: the day's e-mails' constant columns).
PARAMETER_LIMIT = 40


@dataclass
class Statements:
    count: int = 0
    widest: int = 0
    widest_sql: str = ""

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        sets = params if many else [params]
        width = max(len(p or ()) for p in sets)
        if width > self.widest:
            self.widest, self.widest_sql = width, sql
        return execute(sql, params, many, context)


def _people(prefix: str, count: int) -> list:
    User = get_user_model()
    people = User.objects.bulk_create(
        [User(username=f"{prefix}{n}", email=f"{prefix}{n}@example.com") for n in range(count)]
    )
    Group.objects.get(name=roles.PROJECT_MANAGER).user_set.add(*people)
    return people


def portfolio(size: int) -> tuple[list, CoreProject]:
    """``size`` managers each owning a milestone due in a week and one 14 days overdue (escalated to the lead and a
    TF head), and ``size`` owners who may not change their project (its manager is told, their row is skipped)."""
    lead = UserFactory(username="lead", role=roles.TF_HEAD)
    UserFactory(username="head", role=roles.TF_HEAD)
    task = TaskFactory(strategy=StrategyFactory(lead=lead))
    people = _people("pm", size)
    outsiders = _people("out", size)
    ours = CoreProjectFactory(task=task, managers=people, code="OURS")
    theirs = CoreProjectFactory(task=task, managers=[UserFactory(username="manager", role=roles.PROJECT_MANAGER)])
    Milestone.objects.bulk_create(
        [
            Milestone(project=ours, owner=person, title=f"{person.username} {due}", due_date=D(due))
            for person in people
            for due in ("2026-12-09", "2026-11-18")
        ]
        + [
            Milestone(project=theirs, owner=person, title=person.username, due_date=D("2026-12-09"))
            for person in outsiders
        ]
    )
    return people, ours


def ticks(size: int) -> list[Statements]:
    """A first pass, a steady tick, a tick after due dates moved, milestones closed and a manager left, one after
    the dates moved back (re-arming), and one the next day (carry-over): the statements of each."""
    ReminderPolicy.current()
    people, ours = portfolio(size)
    seen = []

    def tick(now: dt.datetime = DAY) -> None:
        statements = Statements()
        with time_machine.travel(now, tick=False), connection.execute_wrapper(statements):
            reminders_plan(now=now)
        seen.append(statements)

    tick()
    assert Reminder.objects.filter(status=Reminder.Status.PENDING).count() == 5 * size
    assert Reminder.objects.filter(skip_reason=Reminder.SkipReason.LOST_ACCESS).count() == size
    tick()
    owned = Milestone.objects.filter(owner__in=people)
    owned.filter(due_date=D("2026-12-09")).update(due_date=D("2026-12-16"))  # now D-14: a new reminder each
    owned.filter(due_date=D("2026-11-18"), owner__in=people[: size // 2 + 1]).update(
        status=Milestone.Status.ACHIEVED, completed_on=D("2026-12-01")
    )
    ours.managers.remove(people[-1])  # the others are told instead
    tick()
    assert Reminder.objects.filter(status=Reminder.Status.CANCELLED).count() > size
    owned.filter(due_date=D("2026-12-16")).update(due_date=D("2026-12-09"))
    tick()
    assert Reminder.objects.filter(threshold=7, status=Reminder.Status.PENDING).count() >= size  # re-armed
    tick(seoul("2026-12-03", 10))  # the day's e-mails never went out (no dispatcher): carried over to the next day
    assert OutboxMessage.objects.filter(status=OutboxMessage.Status.CANCELLED).count() >= size
    assert not Reminder.objects.filter(status=Reminder.Status.PENDING, message__status="cancelled").exists()
    return seen


def test_the_planner_sends_as_many_statements_for_3_people_as_for_300():
    few = [statements.count for statements in ticks(3)]
    Reminder.objects.all().delete()
    Milestone.objects.all().delete()
    get_user_model().objects.all().delete()
    many = [statements.count for statements in ticks(300)]
    assert many == few


def test_no_planner_statement_binds_more_than_a_few_dozen_parameters():
    # 300 people: 1,500 reminders, 300 skipped, 303 e-mails; it was 10 values a row in one INSERT.
    for statements in ticks(300):
        assert statements.widest <= PARAMETER_LIMIT, statements.widest_sql

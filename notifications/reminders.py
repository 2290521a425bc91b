"""Reminder planning, level-triggered: each tick reads the database and records what is due and not yet recorded.

A tick that runs twice, a worker that dies, a night the scheduler was down: the next tick repairs it from the
database. Every query here is set-based, so a pass takes the same number of queries for 70 or 70,000 milestones.
"""

from __future__ import annotations

import datetime as dt
import functools
import gc
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import Exists, F, OuterRef, Value
from django.db.models.functions import Greatest
from django.utils import timezone

from notifications.emails import new_message_id
from notifications.inserts import insert_new_values
from notifications.models import NotificationPreference, OutboxMessage, Reminder, ReminderPolicy
from notifications.reminder_emails import messages_cancel_empty
from notifications.workdays import reminder_email_day, reminder_email_window, reminder_emails_carry_over
from projects import roles
from projects.models import CoreProject, Milestone
from projects.permissions import portfolio_readers, project_changers
from tracker.dates import SEOUL, previous_working_day
from tracker.sqlvalues import id_set, text_set, values_table

# Thresholds may move a reminder a few days earlier (a long holiday); look that much further ahead.
HOLIDAY_SLACK_DAYS = 14
# The columns a new reminder is written with (the rest take their defaults).
REMINDER_COLUMNS = ("recipient_id", "milestone_id", "threshold", "due_date", "send_on", "is_escalation")


@dataclass(frozen=True)
class Due:
    """The reminder a milestone is owed now: its threshold (days before due; negative once overdue)."""

    threshold: int
    send_on: dt.date


@dataclass
class PlanResult:
    recorded: int = 0
    cancelled: int = 0
    messages: int = 0
    planned: list[Reminder] = field(default_factory=list)
    # Reminders recorded as skipped in this run, by Reminder.SkipReason.
    skipped: Counter[str] = field(default_factory=Counter)


def reminder_due(*, due_date: dt.date, policy: ReminderPolicy, now: dt.datetime) -> Due | None:
    """The nearest threshold whose send moment has come, or None; older thresholds are never sent late."""
    seoul = now.astimezone(SEOUL)
    ready_by = seoul.date() if seoul.hour >= policy.send_hour else seoul.date() - dt.timedelta(days=1)
    return _due_by(due_date, ready_by, tuple(policy.thresholds), policy.overdue_every_days, policy.shift_to_working_day)


@functools.lru_cache(maxsize=4096)
def _due_by(
    due_date: dt.date, ready_by: dt.date, thresholds: tuple[int, ...], overdue_every_days: int, shift: bool
) -> Due | None:
    """``reminder_due`` from the only things its answer depends on, so each due date is worked out once a day in a
    worker (a tick asks for a few hundred dates every few minutes; they were 5 ms of a steady tick at ×100)."""

    def send_day(day: dt.date) -> dt.date:
        return previous_working_day(day) if shift else day

    schedule = [Due(t, send_day(due_date - dt.timedelta(days=t))) for t in thresholds]
    if overdue_every_days and due_date < ready_by:
        # A period whose day is a day off moves earlier, so the next period or two may already be owed.
        periods = (ready_by - due_date).days // overdue_every_days
        for period in range(max(periods, 1), periods + 1 + HOLIDAY_SLACK_DAYS // overdue_every_days + 1):
            days_over = period * overdue_every_days
            schedule.append(Due(-days_over, send_day(due_date + dt.timedelta(days=days_over))))
    ready = [item for item in schedule if item.send_on <= ready_by]
    if not ready:
        return None
    return max(ready, key=lambda item: (item.send_on, -item.threshold))


# An open milestone in reach, as the row it is read as (never a model object, nor a named tuple: 12,000 of them at
# ×100 were a few milliseconds of every tick): pk, due date, owner, project, the strategy's lead.
OpenMilestone = tuple[int, dt.date, int | None, int, int | None]


def _recipients(milestones: list[OpenMilestone]) -> tuple[dict[int, set[int]], set[int]]:
    """Who hears about each milestone, and the TF heads. Reminders follow access (projects/permissions.py): the
    owner while they may change the project; otherwise (no owner, or one who lost access) the project's managers
    who may change it. The managers of every project are read: most projects have a milestone in reach, and
    naming those projects (a subquery over the open milestones) cost more than the few rows it saved."""
    changers = project_changers(CoreProject.objects.values("pk"))
    tf_heads = set(get_user_model().objects.filter(groups__name=roles.TF_HEAD).values_list("pk", flat=True))
    recipients = {
        pk: {owner_id} if changers.may_change(owner_id, project_id) else set(changers.managers.get(project_id, ()))
        for pk, _due_date, owner_id, project_id, _lead_id in milestones
    }
    return recipients, tf_heads


def _excluded_users() -> dict[int, str]:
    """The people who get no reminder, each with the reason stored on the reminder they are skipped for."""
    User = get_user_model()
    readers = portfolio_readers()
    # Later entries win: a deactivated person is "inactive" whatever else is true of them.
    reasons: dict[int, str] = {}
    for user_id in NotificationPreference.objects.filter(reminders=False).values_list("user_id", flat=True):
        reasons[user_id] = Reminder.SkipReason.OPTED_OUT
    for user_id in User.objects.exclude(pk__in=readers.values("pk")).values_list("pk", flat=True):
        reasons[user_id] = Reminder.SkipReason.LOST_ACCESS
    for user_id in User.objects.filter(email="").values_list("pk", flat=True):
        reasons[user_id] = Reminder.SkipReason.NO_EMAIL
    for user_id in User.objects.filter(is_active=False).values_list("pk", flat=True):
        reasons[user_id] = Reminder.SkipReason.INACTIVE
    return reasons


@contextmanager
def _cycle_collector_paused() -> Iterator[None]:
    """Python's cycle collector waits while a pass builds its ~100,000 tuples and sets (none of them in a cycle):
    each full collection walks every object the process holds, which was a third of a steady tick at ×100."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def reminders_plan(*, now: dt.datetime, dry_run: bool = False) -> PlanResult:
    """Record the reminders owed at ``now``, cancel those that no longer apply, and put them in the outbox.

    Rows are read as tuples, and the threshold is worked out once per due date, not once per milestone: a tick
    over 70,000 milestones stays well under two seconds. E-mails are written when they are sent (outbox.py).
    """
    with _cycle_collector_paused():
        return _reminders_plan(now=now, dry_run=dry_run)


def _reminders_plan(*, now: dt.datetime, dry_run: bool) -> PlanResult:
    policy = ReminderPolicy.current()
    today = now.astimezone(SEOUL).date()
    horizon = today + dt.timedelta(days=max(policy.thresholds) + HOLIDAY_SLACK_DAYS)
    open_milestones = Milestone.objects.open().filter(due_date__lte=horizon)
    milestones: list[OpenMilestone] = list(
        open_milestones.values_list("pk", "due_date", "owner_id", "project_id", "project__task__strategy__lead_id")
    )
    recipients, tf_heads = _recipients(milestones)
    excluded = _excluded_users()
    due_on = {day: reminder_due(due_date=day, policy=policy, now=now) for day in {row[1] for row in milestones}}
    # (recipient, milestone, threshold, due date) → (send on, escalated)
    owed: dict[tuple[int, int, int, dt.date], tuple[dt.date, bool]] = {}
    # The same for the people who get nothing, with the reason (recorded as skipped: "why didn't I get it?").
    skipped: dict[tuple[int, int, int, dt.date], tuple[dt.date, bool, str]] = {}
    # Per due date, worked out once: the threshold owed, the (send on, escalated) values its rows share, and
    # whether it escalates (escalation belongs to the threshold, so it moves to the working day before with it).
    day_plans = {
        day: (
            due.threshold,
            (due.send_on, False),
            (due.send_on, True),
            bool(policy.escalate_after_days) and due.threshold <= -policy.escalate_after_days,
        )
        for day, due in due_on.items()
        if due is not None
    }
    lost_access = str(Reminder.SkipReason.LOST_ACCESS)
    # Tuples unpacked and rules looked up once per due date: this loop runs for every open milestone in reach.
    for pk, due_date, owner_id, _project_id, lead_id in milestones:
        day_plan = day_plans.get(due_date)
        if day_plan is None:
            continue
        threshold, told, escalated, escalates = day_plan
        hearing = recipients[pk]
        for user_id in hearing:
            key = (user_id, pk, threshold, due_date)
            if user_id in excluded:
                skipped[key] = (*told, excluded[user_id])
            else:
                owed[key] = told
        if owner_id and owner_id not in hearing:
            # The owner may no longer change the project: the managers were told instead; the owner's row says why.
            skipped[(owner_id, pk, threshold, due_date)] = (*told, excluded.get(owner_id, lost_access))
        if escalates:
            for user_id in tf_heads if lead_id is None else tf_heads | {lead_id}:
                if user_id in hearing:
                    continue
                key = (user_id, pk, threshold, due_date)
                if user_id in excluded:
                    skipped[key] = (*escalated, excluded[user_id])
                else:
                    owed[key] = escalated
    recorded = {
        (recipient_id, milestone_id, threshold, due_date): (pk, status)
        for pk, recipient_id, milestone_id, threshold, due_date, status in Reminder.objects.filter(
            Milestone.open_q("milestone__"), milestone__due_date__lte=horizon
        )
        .order_by()  # read into a dict: the model's ordering was a sort of every row (9 of 20 ms at ×100)
        .values_list("pk", "recipient_id", "milestone_id", "threshold", "due_date", "status")
    }
    # Rows as tuples in REMINDER_COLUMNS' order (building 18,000 model objects was most of a first pass), in the
    # milestones' order. The keys not recorded are found by a set difference, in C: on a steady tick, 28,000 keys
    # on each side and none left, so the rows are not even looked at.
    missing = owed.keys() - recorded.keys()
    new = [(*key, *value) for key, value in owed.items() if key in missing] if missing else []
    # Skipped rows carry their reason last; a key owed to the same person (an owner escalated to) is not skipped.
    missing_skipped = skipped.keys() - recorded.keys() - owed.keys()
    new_skipped = (
        [(*key, *value) for key, value in skipped.items() if key in missing_skipped] if missing_skipped else []
    )
    # A due date moved away and back again owes its old reminder again: the cancelled row is re-armed; so is a
    # skipped one once its person can be reached again.
    rearmable = (Reminder.Status.CANCELLED, Reminder.Status.SKIPPED)
    rearmable_values = {str(status) for status in rearmable}  # compared as plain strings: a loop over every row
    rearmed = [pk for key, (pk, status) in recorded.items() if status in rearmable_values and key in owed]
    result = PlanResult()
    if dry_run:
        unsaved = [Reminder(**dict(zip(REMINDER_COLUMNS, row, strict=True))) for row in new]
        result.planned = unsaved + list(Reminder.objects.filter(pk__in=id_set(rearmed)))
        return result
    reminder_emails_carry_over(now=now)
    created_at = timezone.now()
    inserted, emails = _insert_owed(new, now=now, policy=policy, created_at=created_at)
    written_skipped = insert_new_values(
        Reminder,
        (*REMINDER_COLUMNS, "skip_reason"),
        new_skipped,
        constants={"status": Reminder.Status.SKIPPED, "created_at": created_at},
        returning="skip_reason",
    )
    result.skipped = Counter(written_skipped)
    rearmed_count = (
        Reminder.objects.filter(pk__in=id_set(rearmed), status__in=rearmable).update(
            status=Reminder.Status.PENDING, message=None, skip_reason=""
        )
        if rearmed
        else 0
    )
    result.recorded = inserted + rearmed_count
    result.cancelled = _cancel_without_access(recorded, recipients, milestones, tf_heads) + reminders_cancel_stale()
    result.messages = len(emails | reminders_attach_to_outbox(now=now, policy=policy))
    return result


@transaction.atomic
def _insert_owed(rows: list[tuple], *, now: dt.datetime, policy: ReminderPolicy, created_at) -> tuple[int, set[int]]:
    """Write the new owed reminders (REMINDER_COLUMNS' order) already in their recipients' e-mails of the day: one
    INSERT, where writing them and then attaching them rewrote every row (a third of a first pass). The number
    written, and the e-mails they went into.

    The unique constraint, not the planner's check, is what stops a duplicate when two planners run at once; the
    count is of the rows this pass actually wrote. A row another planner wrote first is in the same e-mail (one per
    person and day, by its key), so no e-mail is left empty."""
    if not rows:
        return 0, set()
    email_of = _reminder_emails_of_the_day({row[0] for row in rows}, now=now, policy=policy)
    written = insert_new_values(
        Reminder,
        (*REMINDER_COLUMNS, "message_id"),
        [(*row, email_of[row[0]]) for row in rows],
        constants={"created_at": created_at},
    )
    return len(written), set(email_of.values())


def _cancel_without_access(recorded: dict, recipients: dict[int, set[int]], milestones, tf_heads: set[int]) -> int:
    """Cancel pending reminders whose recipient no longer hears about the milestone (lost access to the project,
    or the milestone changed owner); the planner has recorded them for whoever hears about it now."""
    leads = {pk: lead_id for pk, _due_date, _owner_id, _project_id, lead_id in milestones}
    pending = str(Reminder.Status.PENDING)  # looked up once, and compared as a plain string
    gone = [
        pk
        for (user_id, milestone_id, _threshold, _due), (pk, status) in recorded.items()
        if status == pending
        and milestone_id in recipients
        and user_id not in recipients[milestone_id]
        and user_id != leads[milestone_id]
        and user_id not in tf_heads
    ]
    if not gone:
        return 0
    ids = id_set(gone)
    return _cancel_pending(ids.sql, ids.params)


def _cancel_pending(ids_sql: str, params: list) -> int:
    """Cancel the pending reminders among the ids ``ids_sql`` selects, in one statement that also says which
    e-mails held them; those e-mails (unsent) left with nothing to say are cancelled too."""
    table = connection.ops.quote_name(Reminder._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET status = %s WHERE status = %s AND id IN ({ids_sql}) RETURNING message_id",
            [Reminder.Status.CANCELLED, Reminder.Status.PENDING, *params],
        )
        held = [message_id for (message_id,) in cursor.fetchall()]
    affected = {message_id for message_id in held if message_id is not None}
    if affected:
        messages_cancel_empty(message_ids=affected, status=OutboxMessage.Status.PENDING)
    return len(held)


def reminders_cancel_stale() -> int:
    """Cancel pending reminders of milestones that closed or whose due date moved (the new date re-arms), and
    those a nearer threshold has overtaken (an e-mail left waiting must not say D-2 on D-1); an unsent e-mail
    left with nothing to say is cancelled."""
    overtaken = Exists(
        Reminder.objects.filter(
            recipient_id=OuterRef("recipient_id"),
            milestone_id=OuterRef("milestone_id"),
            due_date=OuterRef("due_date"),
            threshold__lt=OuterRef("threshold"),
        )
    )
    pending = Reminder.objects.filter(status=Reminder.Status.PENDING).order_by().values("pk")
    # Two queries joined by UNION, not one with OR: alone, the nearer-threshold test is one hash semi-join instead
    # of an index probe for every pending reminder (at ×100, 83 ms instead of 104 for the whole).
    stale = pending.filter(~Reminder.still_applies_q()).union(pending.filter(overtaken))
    # The stale set is found once: the UPDATE cancels it and returns the e-mails that held it.
    sql, params = stale.query.sql_with_params()
    return _cancel_pending(sql, list(params))


@transaction.atomic
def reminders_attach_to_outbox(*, now: dt.datetime, policy: ReminderPolicy) -> set[int]:
    """Put unattached pending reminders (re-armed ones, and those carried over from an e-mail whose day ended
    undelivered) into each recipient's e-mail of the day; the e-mails they went into."""
    unattached = Reminder.objects.filter(status=Reminder.Status.PENDING, message=None)
    user_ids = set(unattached.select_for_update().values_list("recipient_id", flat=True))
    if not user_ids:
        return set()
    email_of = _reminder_emails_of_the_day(user_ids, now=now, policy=policy)
    _attach(list(email_of.items()))
    return set(email_of.values())


def _reminder_emails_of_the_day(user_ids: set[int], *, now: dt.datetime, policy: ReminderPolicy) -> dict[int, int]:
    """Each person's reminder e-mail that new reminders go into, created where needed: today's on a working day
    before it went out, otherwise the next working day's, from the send hour (workdays.py). Call it inside the
    transaction that writes the reminders into them."""
    # Locked: the dispatcher skips a row being added to, and a row it is sending reads as taken here.
    existing = {
        (recipient_id, not_before.astimezone(SEOUL).date()): status
        for recipient_id, not_before, status in OutboxMessage.objects.select_for_update()
        .filter(
            kind=OutboxMessage.Kind.REMINDER,
            recipient_id__in=id_set(user_ids),
            not_before__gte=now - dt.timedelta(days=1),
        )
        .values_list("recipient_id", "not_before", "status")
    }
    # A day whose e-mail went out (or may have) is served; a pending or cancelled-unsent one can still carry more.
    reusable = (OutboxMessage.Status.PENDING, OutboxMessage.Status.CANCELLED)
    served: dict[int, set[dt.date]] = defaultdict(set)
    for (recipient_id, day), status in existing.items():
        if status not in reusable:
            served[recipient_id].add(day)
    addresses = dict(get_user_model().objects.filter(pk__in=id_set(user_ids)).values_list("pk", "email"))
    key_of = {}
    wanted = []
    for user_id in user_ids:
        day = reminder_email_day(now=now, policy=policy, served=served[user_id])
        not_before, send_by = reminder_email_window(day=day, now=now, policy=policy)
        key_of[user_id] = f"reminders:{user_id}:{day.isoformat()}"
        wanted.append((key_of[user_id], user_id, addresses[user_id], new_message_id("reminders"), not_before, send_by))
    insert_new_values(
        OutboxMessage,
        ("key", "recipient_id", "to_email", "message_id", "not_before", "send_by"),
        wanted,
        constants={"kind": OutboxMessage.Kind.REMINDER},
    )
    message_of = dict(OutboxMessage.objects.filter(key__in=text_set(key_of.values())).values_list("key", "pk"))
    OutboxMessage.objects.filter(pk__in=id_set(message_of.values()), status=OutboxMessage.Status.CANCELLED).update(
        status=OutboxMessage.Status.PENDING, not_before=Greatest(F("not_before"), Value(now)), last_error=""
    )
    return {user_id: message_of[key] for user_id, key in key_of.items()}


def _attach(pairs: list[tuple[int, int]]) -> None:
    """Put each person's unattached pending reminders into their e-mail: one UPDATE … FROM joined on the person
    (it was 500 ``CASE WHEN recipient_id = …`` branches a statement)."""
    quote = connection.ops.quote_name
    table = quote(Reminder._meta.db_table)
    source, params = values_table([("recipient_id", "integer"), ("message_id", "integer")], pairs)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET message_id = v.message_id FROM {source}"
            f" WHERE {table}.recipient_id = v.recipient_id AND {table}.status = %s AND {table}.message_id IS NULL",
            [*params, Reminder.Status.PENDING],
        )

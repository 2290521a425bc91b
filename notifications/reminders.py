"""Reminder planning, level-triggered: each tick reads the database and records what is due and not yet recorded.

A tick that runs twice, a worker that dies, a night the scheduler was down: the next tick repairs it from the
database. Every query here is set-based, so a pass takes the same number of queries for 70 or 70,000 milestones.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Prefetch, Q
from django.urls import reverse
from django.utils.translation import gettext as _

from notifications import links
from notifications.emails import absolute_url, new_message_id, render_email
from notifications.models import NotificationPreference, OutboxMessage, Reminder, ReminderPolicy
from projects import roles
from projects.models import CoreProject, Milestone
from tracker.dates import SEOUL, dday_label, previous_working_day, seoul_datetime

# Thresholds may move a reminder a few days earlier (a long holiday); look that much further ahead.
HOLIDAY_SLACK_DAYS = 14


# A pending reminder still applies while its milestone is open and due on the date it was planned for.
STILL_APPLIES = Q(milestone__status__in=Milestone.OPEN_STATUSES) & Q(due_date=F("milestone__due_date"))


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


def _send_day(day: dt.date, policy: ReminderPolicy) -> dt.date:
    return previous_working_day(day) if policy.shift_to_working_day else day


def reminder_due(*, due_date: dt.date, policy: ReminderPolicy, now: dt.datetime) -> Due | None:
    """The nearest threshold whose send moment has come, or None; older thresholds are never sent late."""
    today = now.astimezone(SEOUL).date()
    ready_by = today if now.astimezone(SEOUL).hour >= policy.send_hour else today - dt.timedelta(days=1)
    schedule = [Due(t, _send_day(due_date - dt.timedelta(days=t), policy)) for t in policy.thresholds]
    if policy.overdue_every_days and due_date < ready_by:
        # A period whose day is a day off moves earlier, so the next period or two may already be owed.
        periods = (ready_by - due_date).days // policy.overdue_every_days
        for period in range(max(periods, 1), periods + 1 + HOLIDAY_SLACK_DAYS // policy.overdue_every_days + 1):
            days_over = period * policy.overdue_every_days
            schedule.append(Due(-days_over, _send_day(due_date + dt.timedelta(days=days_over), policy)))
    ready = [item for item in schedule if item.send_on <= ready_by]
    if not ready:
        return None
    return max(ready, key=lambda item: (item.send_on, -item.threshold))


def _recipients(milestones: list[Milestone]) -> tuple[dict[int, set[int]], set[int]]:
    """Who hears about each milestone (its owner, else the project's managers), and the TF heads."""
    project_ids = {m.project_id for m in milestones}
    managers: dict[int, set[int]] = defaultdict(set)
    for project_id, user_id in CoreProject.managers.through.objects.filter(coreproject_id__in=project_ids).values_list(
        "coreproject_id", "user_id"
    ):
        managers[project_id].add(user_id)
    tf_heads = set(get_user_model().objects.filter(groups__name=roles.TF_HEAD).values_list("pk", flat=True))
    recipients = {}
    for milestone in milestones:
        people = {milestone.owner_id} if milestone.owner_id else set(managers[milestone.project_id])
        recipients[milestone.pk] = people
    return recipients, tf_heads


def _excluded_users() -> set[int]:
    User = get_user_model()
    opted_out = set(NotificationPreference.objects.filter(reminders=False).values_list("user_id", flat=True))
    unreachable = set(User.objects.filter(Q(is_active=False) | Q(email="")).values_list("pk", flat=True))
    return opted_out | unreachable


def reminders_plan(*, now: dt.datetime, dry_run: bool = False) -> PlanResult:
    """Record the reminders owed at ``now``, cancel those that no longer apply, and put them in the outbox."""
    policy = ReminderPolicy.current()
    today = now.astimezone(SEOUL).date()
    horizon = today + dt.timedelta(days=max(policy.thresholds) + HOLIDAY_SLACK_DAYS)
    milestones = list(
        Milestone.objects.filter(status__in=Milestone.OPEN_STATUSES, due_date__lte=horizon)
        .select_related("project__task__strategy")
        .only("pk", "due_date", "owner_id", "project_id", "project__task__strategy__lead_id")
    )
    recipients, tf_heads = _recipients(milestones)
    excluded = _excluded_users()
    owed = []
    for milestone in milestones:
        due = reminder_due(due_date=milestone.due_date, policy=policy, now=now)
        if due is None:
            continue
        people = {(user_id, False) for user_id in recipients[milestone.pk]}
        # Escalation belongs to the threshold, so it moves to the working day before with its reminder.
        if policy.escalate_after_days and due.threshold <= -policy.escalate_after_days:
            leads = {milestone.project.task.strategy.lead_id} | tf_heads
            people |= {(user_id, True) for user_id in leads if user_id and user_id not in recipients[milestone.pk]}
        for user_id, escalated in people:
            if user_id not in excluded:
                owed.append(
                    Reminder(
                        recipient_id=user_id,
                        milestone_id=milestone.pk,
                        threshold=due.threshold,
                        due_date=milestone.due_date,
                        send_on=due.send_on,
                        is_escalation=escalated,
                    )
                )
    recorded = {
        (recipient_id, milestone_id, threshold, due_date): (pk, status)
        for pk, recipient_id, milestone_id, threshold, due_date, status in Reminder.objects.filter(
            milestone__status__in=Milestone.OPEN_STATUSES, milestone__due_date__lte=horizon
        ).values_list("pk", "recipient_id", "milestone_id", "threshold", "due_date", "status")
    }

    def key(reminder: Reminder) -> tuple:
        return (reminder.recipient_id, reminder.milestone_id, reminder.threshold, reminder.due_date)

    new = [r for r in owed if key(r) not in recorded]
    # A due date moved away and back again owes its old reminder again: the cancelled row is re-armed.
    rearmed = [r for r in owed if recorded.get(key(r), (None, None))[1] == Reminder.Status.CANCELLED]
    result = PlanResult(planned=new + rearmed)
    if dry_run:
        return result
    # The unique constraint, not this check, is what stops a duplicate when two planners run at once.
    Reminder.objects.bulk_create(new, ignore_conflicts=True, batch_size=1000)
    Reminder.objects.filter(pk__in=[recorded[key(r)][0] for r in rearmed], status=Reminder.Status.CANCELLED).update(
        status=Reminder.Status.PENDING, message=None
    )
    result.recorded = len(new) + len(rearmed)
    result.cancelled = reminders_cancel_stale()
    result.messages = reminders_attach_to_outbox(now=now, policy=policy)
    return result


def reminders_cancel_stale() -> int:
    """Cancel pending reminders of milestones that closed or whose due date moved (the new date re-arms), and
    those a nearer threshold has overtaken (an e-mail left waiting must not say D-2 on D-1)."""
    overtaken = Exists(
        Reminder.objects.filter(
            recipient_id=OuterRef("recipient_id"),
            milestone_id=OuterRef("milestone_id"),
            due_date=OuterRef("due_date"),
            threshold__lt=OuterRef("threshold"),
        )
    )
    stale = Reminder.objects.filter(status=Reminder.Status.PENDING).filter(~STILL_APPLIES | overtaken)
    affected_messages = set(stale.exclude(message=None).values_list("message_id", flat=True))
    cancelled = Reminder.objects.filter(pk__in=stale.values("pk")).update(status=Reminder.Status.CANCELLED)
    if affected_messages:
        messages_rerender(message_ids=affected_messages)
    return cancelled


def _message_day(now: dt.datetime, taken: set[tuple[int, dt.date]], user_id: int) -> dt.date:
    """Today's e-mail, unless today's already went out: then tomorrow's (one e-mail per person per day)."""
    day = now.astimezone(SEOUL).date()
    while (user_id, day) in taken:
        day += dt.timedelta(days=1)
    return day


@transaction.atomic
def reminders_attach_to_outbox(*, now: dt.datetime, policy: ReminderPolicy) -> int:
    """Put unattached pending reminders into each recipient's e-mail of the day, then (re)render those e-mails."""
    today = now.astimezone(SEOUL).date()
    unattached = list(
        Reminder.objects.select_for_update()
        .filter(status=Reminder.Status.PENDING, message=None)
        .select_related("recipient")
    )
    if not unattached:
        return 0
    user_ids = {r.recipient_id for r in unattached}
    existing = {
        (m.recipient_id, m.not_before.astimezone(SEOUL).date()): m
        # Locked: the dispatcher skips a row being added to, and a row it is sending reads as taken here.
        for m in OutboxMessage.objects.select_for_update().filter(
            kind=OutboxMessage.Kind.REMINDER, recipient_id__in=user_ids, not_before__gte=now - dt.timedelta(days=1)
        )
    }
    # A day whose e-mail went out (or may have) is served; a pending or cancelled-unsent one can still carry more.
    reusable = (OutboxMessage.Status.PENDING, OutboxMessage.Status.CANCELLED)
    taken = {key for key, message in existing.items() if message.status not in reusable}
    wanted: dict[str, OutboxMessage] = {}
    key_of: dict[int, str] = {}
    for reminder in unattached:
        day = _message_day(now, taken, reminder.recipient_id)
        key = f"reminders:{reminder.recipient_id}:{day.isoformat()}"
        if key not in wanted:
            wanted[key] = OutboxMessage(
                key=key,
                kind=OutboxMessage.Kind.REMINDER,
                recipient_id=reminder.recipient_id,
                to_email=reminder.recipient.email,
                message_id=new_message_id("reminders"),
                # Owed now (its send moment has passed); a day already served waits for the next send hour.
                not_before=now if day == today else seoul_datetime(day, policy.send_hour),
            )
        key_of[reminder.pk] = key
    OutboxMessage.objects.bulk_create(wanted.values(), ignore_conflicts=True)
    by_key = {m.key: m for m in OutboxMessage.objects.filter(key__in=wanted)}
    revived = [m.pk for m in by_key.values() if m.status == OutboxMessage.Status.CANCELLED]
    OutboxMessage.objects.filter(pk__in=revived, status=OutboxMessage.Status.CANCELLED).update(
        status=OutboxMessage.Status.PENDING, not_before=now, last_error=""
    )
    for reminder in unattached:
        reminder.message = by_key[key_of[reminder.pk]]
    Reminder.objects.bulk_update(unattached, ["message"], batch_size=1000)
    messages_rerender(message_ids={m.pk for m in by_key.values()})
    return len(by_key)


def messages_rerender(*, message_ids: set[int], status: str = OutboxMessage.Status.PENDING) -> None:
    """Render unsent reminder e-mails from their pending reminders; an e-mail left with none is cancelled."""
    messages = list(
        OutboxMessage.objects.filter(pk__in=message_ids, status=status)
        .select_related("recipient__notification_preference")
        .prefetch_related(
            Prefetch(
                "reminders",
                queryset=Reminder.objects.filter(STILL_APPLIES, status=Reminder.Status.PENDING).select_related(
                    "milestone__project__task__strategy"
                ),
                to_attr="pending_reminders",
            )
        )
    )
    empty = [m.pk for m in messages if not m.pending_reminders]
    if empty:
        OutboxMessage.objects.filter(pk__in=empty, status=status).update(
            status=OutboxMessage.Status.CANCELLED, last_error=_("알릴 항목이 모두 취소되었습니다.")
        )
    filled = [m for m in messages if m.pending_reminders]
    for message in filled:
        reminder_email_render(message, message.pending_reminders)
    OutboxMessage.objects.bulk_update(filled, ["subject", "body_text", "body_html", "headers"], batch_size=500)


def reminder_email_render(message: OutboxMessage, reminders: list[Reminder]) -> None:
    """Fill an outbox row with the day's e-mail for one person: all their due items, most urgent first."""
    day = message.not_before.astimezone(SEOUL).date()
    recipient = message.recipient
    preference = getattr(recipient, "notification_preference", None)
    language = preference.language if preference else "ko"
    # One item per milestone, even when two of its thresholds wait in the same e-mail.
    by_milestone: dict[int, list[Reminder]] = defaultdict(list)
    for reminder in reminders:
        by_milestone[reminder.milestone_id].append(reminder)
    items = []
    for group in sorted(by_milestone.values(), key=lambda g: (g[0].milestone.due_date, g[0].milestone.project.code)):
        reminder = min(group, key=lambda r: r.threshold)
        reminder.is_escalation = all(r.is_escalation for r in group)
        milestone = reminder.milestone
        items.append(
            {
                "label": dday_label(milestone.due_date, day),
                "overdue": milestone.due_date < day,
                "milestone": milestone,
                "project": milestone.project,
                "escalation": reminder.is_escalation,
                "project_url": absolute_url(
                    reverse("projects:project", args=[milestone.project_id]) + f"#milestone-{milestone.pk}"
                ),
                "submit_url": absolute_url(links.milestone_submit_path(user_id=recipient.pk, milestone=milestone))
                if milestone.status != Milestone.Status.SUBMITTED and not reminder.is_escalation
                else "",
            }
        )
    unsubscribe_url = absolute_url(links.unsubscribe_path(user_id=recipient.pk, kind="reminders"))
    rendered = render_email(
        "reminders",
        {
            "recipient": recipient,
            "day": day,
            "items": items,
            "overdue_count": sum(1 for item in items if item["overdue"]),
            "preferences_url": absolute_url(links.preferences_path(user_id=recipient.pk)),
            "unsubscribe_url": unsubscribe_url,
        },
        language=language,
    )
    message.subject, message.body_text, message.body_html = rendered.subject, rendered.text, rendered.html
    message.headers = {
        "List-Unsubscribe": f"<{unsubscribe_url}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }

"""Writing the reminder e-mails: one per person per day, from the reminders that still apply when it is sent.

The planner (reminders.py) records reminders and attaches them to a day's outbox row; the dispatcher (outbox.py)
calls ``messages_render`` just before sending, so an e-mail never lists a milestone closed meanwhile.
"""

from __future__ import annotations

from collections import defaultdict
from urllib.parse import urlencode

from django.db.models import Exists, OuterRef, Prefetch, QuerySet
from django.urls import reverse
from django.utils.translation import gettext as _

from notifications import links
from notifications.emails import absolute_url, outbox_message_fill
from notifications.models import OutboxMessage, Reminder
from projects.models import Milestone
from projects.permissions import ProjectChangers, project_changers
from tracker.dates import SEOUL, dday_label
from tracker.sqlvalues import id_set

# Items listed in one reminder e-mail; beyond them the e-mail counts the rest per strategy and links to the list.
# The TF head's escalation summary at ×100 listed 7,602 items in 8.1 MB; 30 items keep it a page or two.
EMAIL_ITEM_LIMIT = 30


def messages_cancel_empty(*, message_ids: set[int], status: str) -> int:
    """Cancel reminder e-mails (in ``status``) none of whose reminders still applies (releasing any claim)."""
    still_owed = Reminder.objects.filter(
        Reminder.still_applies_q(), message_id=OuterRef("pk"), status=Reminder.Status.PENDING
    )
    return (
        OutboxMessage.objects.filter(pk__in=id_set(message_ids), status=status, kind=OutboxMessage.Kind.REMINDER)
        .exclude(Exists(still_owed))
        .update(
            status=OutboxMessage.Status.CANCELLED,
            claim_token=None,
            lease_expires_at=None,
            last_error=_("알릴 항목이 모두 취소되었습니다."),
        )
    )


def _with_pending_reminders(messages: QuerySet[OutboxMessage]) -> QuerySet[OutboxMessage]:
    return messages.select_related("recipient__notification_preference", "recipient__profile").prefetch_related(
        Prefetch(
            "reminders",
            queryset=Reminder.objects.filter(Reminder.still_applies_q(), status=Reminder.Status.PENDING).select_related(
                "milestone__project__task__strategy"
            ),
            to_attr="pending_reminders",
        )
    )


def messages_render(*, message_ids: set[int], status: str) -> int:
    """Write reminder e-mails from the reminders that still apply; those left with none are cancelled (counted)."""
    messages = list(_with_pending_reminders(OutboxMessage.objects.filter(pk__in=message_ids, status=status)))
    changers = project_changers({r.milestone.project_id for m in messages for r in m.pending_reminders})
    _drop_without_access(messages, changers)
    filled = [m for m in messages if m.pending_reminders]
    for message in filled:
        reminder_email_render(message, message.pending_reminders, changers=changers)
    OutboxMessage.objects.bulk_update(filled, ["subject", "body_text", "body_html", "headers"], batch_size=500)
    empty = {m.pk for m in messages if not m.pending_reminders}
    return messages_cancel_empty(message_ids=empty, status=status) if empty else 0


def _drop_without_access(messages: list[OutboxMessage], changers: ProjectChangers) -> None:
    """Reminders follow access up to the last moment: an item for a project its recipient may no longer change is
    cancelled (escalations excepted: they go to people who read, not change); the planner's next tick gives it to
    the project's managers."""
    dropped = {
        reminder.pk
        for message in messages
        for reminder in message.pending_reminders
        if not reminder.is_escalation and not changers.may_change(message.recipient_id, reminder.milestone.project_id)
    }
    if not dropped:
        return
    Reminder.objects.filter(pk__in=dropped, status=Reminder.Status.PENDING).update(status=Reminder.Status.CANCELLED)
    for message in messages:
        message.pending_reminders = [r for r in message.pending_reminders if r.pk not in dropped]


def reminder_email_preview(message_id: int) -> OutboxMessage | None:
    """A queued reminder e-mail as it would be written now, not saved (None: nothing left to say)."""
    message = _with_pending_reminders(OutboxMessage.objects.filter(pk=message_id)).get()
    if not message.pending_reminders:
        return None
    changers = project_changers({r.milestone.project_id for r in message.pending_reminders})
    reminder_email_render(message, message.pending_reminders, changers=changers)
    return message


def reminder_email_render(message: OutboxMessage, reminders: list[Reminder], *, changers: ProjectChangers) -> None:
    """Fill an outbox row with the day's e-mail for one person: all their due items, most urgent first. The
    "submitted" link only for projects the person may change (``changers``, asked just before sending)."""
    day = message.not_before.astimezone(SEOUL).date()
    recipient = message.recipient
    preference = getattr(recipient, "notification_preference", None)
    language = preference.language if preference else "ko"
    # One item per milestone, even when two of its thresholds wait in the same e-mail.
    by_milestone: dict[int, list[Reminder]] = defaultdict(list)
    for reminder in reminders:
        by_milestone[reminder.milestone_id].append(reminder)
    # Most overdue first (the earliest due date), then by project.
    groups = sorted(by_milestone.values(), key=lambda g: (g[0].milestone.due_date, g[0].milestone.project.code))
    items = []
    for group in groups[:EMAIL_ITEM_LIMIT]:
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
                "project_url": absolute_url(milestone.get_absolute_url()),
                "submit_url": absolute_url(links.milestone_submit_path(user_id=recipient.pk, milestone=milestone))
                if milestone.status != Milestone.Status.SUBMITTED
                and not reminder.is_escalation
                and changers.may_change(recipient.pk, milestone.project_id)
                else "",
            }
        )
    outbox_message_fill(
        message,
        template="reminders",
        unsubscribe_kind="reminders",
        context={
            "day": day,
            "items": items,
            "item_count": len(groups),
            "overdue_count": sum(1 for group in groups if group[0].milestone.due_date < day),
            "more_count": len(groups) - len(items),
            **(_overflow(groups, day=day, recipient=recipient) if len(groups) > len(items) else {}),
        },
        language=language,
    )


def _overflow(groups: list[list[Reminder]], *, day, recipient) -> dict:
    """For an e-mail with more items than it lists: counts per strategy and links to the full filtered list."""
    milestones_url = reverse("projects:milestones")
    escalation_only = all(reminder.is_escalation for group in groups for reminder in group)
    # An escalation summary is about overdue milestones; a person's own list is about what they own.
    base = {"due": "overdue"} if escalation_only else {"owner": recipient.username}
    strategies: dict[int, dict] = {}
    for group in groups:
        milestone = group[0].milestone
        strategy = milestone.project.task.strategy
        row = strategies.setdefault(
            strategy.pk,
            {
                "strategy": strategy,
                "count": 0,
                "overdue": 0,
                "url": absolute_url(f"{milestones_url}?{urlencode({**base, 'strategy': strategy.pk})}"),
            },
        )
        row["count"] += 1
        row["overdue"] += milestone.due_date < day
    return {
        "by_strategy": sorted(strategies.values(), key=lambda row: row["strategy"].order),
        "full_list_url": absolute_url(f"{milestones_url}?{urlencode({**base, 'sort': 'due_date'})}"),
    }

"""Messages that belong to one row of the project page: shown inside that row, where the person is looking.

An action on a milestone redirects to ``#milestone-<id>``; a message queued with ``row_message`` is rendered in
that row (success as ``role="status"``, an error or a conflict as ``role="alert"``) instead of at the top of
the page, and a conflict lists what the other person changed. Messages without a row stay at the top.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from django.contrib import messages
from django.http import HttpRequest

from projects.history import FieldChange, milestone_changes_since, milestone_last_change
from projects.models import Milestone

ROW_TAG = re.compile(r"\brow-milestone-(\d+)\b")
NOTES_TAG = "section-notes"
SEEN_TAG = re.compile(r"\bseen-(\d+)\b")


@dataclass
class RowMessage:
    level: str  # "success", "error", "info", "warning"
    text: str
    changes: list[FieldChange] = field(default_factory=list)
    changed_by: str = ""
    changed_at: object = None

    @property
    def role(self) -> str:
        """Errors interrupt (alert); everything else waits its turn (status)."""
        return "alert" if self.level in {"error", "warning"} else "status"


def row_message(request: HttpRequest, milestone: Milestone, level: int, text: str, *, seen_version: int = 0) -> None:
    """Queue a message for the milestone's row; ``seen_version`` marks a conflict (show what changed since)."""
    tags = f"row-milestone-{milestone.pk}"
    if seen_version:
        tags += f" seen-{seen_version}"
    messages.add_message(request, level, text, extra_tags=tags)


def notes_message(request: HttpRequest, level: int, text: str) -> None:
    """Queue a message for the weekly notes section of the project page (where a saved note lands)."""
    messages.add_message(request, level, text, extra_tags=NOTES_TAG)


def split_row_messages(request: HttpRequest, milestones) -> tuple[list, dict]:
    """(messages for the top of the page, {milestone id or "notes": that place's messages}); a row not on the page
    gives its message back to the top."""
    by_id = {milestone.pk: milestone for milestone in milestones}
    page, rows = [], {}
    for message in messages.get_messages(request):
        if NOTES_TAG in (message.extra_tags or ""):
            rows.setdefault("notes", []).append(RowMessage(level=message.level_tag or "info", text=message.message))
            continue
        match = ROW_TAG.search(message.extra_tags or "")
        milestone = by_id.get(int(match.group(1))) if match else None
        if milestone is None:
            page.append(message)
            continue
        level = message.level_tag or "info"
        row = RowMessage(level=level, text=message.message)
        seen = SEEN_TAG.search(message.extra_tags)
        if seen:
            row.changes = milestone_changes_since(milestone=milestone, version=int(seen.group(1)))
            row.changed_by, row.changed_at = milestone_last_change(milestone=milestone)
        rows.setdefault(milestone.pk, []).append(row)
    return page, rows

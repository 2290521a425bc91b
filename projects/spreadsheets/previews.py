"""A preview's result, carried to its confirm so that the confirm does not do the preview's work again.

The admin's import previews a file (a dry run over every row) and then, on confirm, imports it. The preview
signs a certificate: the file's digest, the plan and sheet kind, a digest of the database state the check
depended on, and the spreadsheet rows that would create or change something. On confirm, if the same file
comes back and nothing the check read has changed, only those rows are imported (and checked again); the rows
the preview found unchanged are not read a second time. If anything changed, or the certificate is missing,
old or forged, the confirm checks the whole file again, as before: nothing is saved that the confirm itself
did not check.
"""

from __future__ import annotations

import hashlib

from django.contrib.auth import get_user_model
from django.core import signing
from django.db.models import Count, Max, Sum

from projects.models import CoreProject, Department, Milestone, Organization, Plan

SALT = "projects.spreadsheets.preview"
# A preview older than this is checked again on confirm.
MAX_AGE_SECONDS = 6 * 60 * 60


def file_digest(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def database_state(plan: Plan) -> str:
    """A digest of what an import's checks read: the plan's projects and milestones (count, versions, last
    change and history), departments, organizations, and every user's name, e-mail and active flag."""
    milestones = Milestone.objects.filter(project__plan=plan)
    projects = CoreProject.objects.filter(plan=plan)
    facts = [
        milestones.aggregate(n=Count("pk"), version=Sum("version"), at=Max("updated_at")),
        projects.aggregate(n=Count("pk"), at=Max("updated_at")),
        Milestone.history.filter(project__plan=plan).aggregate(n=Count("pk"), at=Max("history_date")),
        CoreProject.history.filter(plan=plan).aggregate(n=Count("pk"), at=Max("history_date")),
        Department.objects.aggregate(n=Count("pk"), last=Max("pk")),
        Organization.objects.aggregate(n=Count("pk"), last=Max("pk")),
        list(get_user_model().objects.order_by("pk").values_list("pk", "username", "email", "is_active")),
    ]
    return hashlib.sha256(repr(facts).encode()).hexdigest()


def certificate_issue(*, digest: str, kind: str, plan: Plan, rows: list[int], unchanged: int) -> str:
    """The signed result of a preview without problems: which spreadsheet rows create or change something."""
    payload = {
        "file": digest,
        "kind": kind,
        "plan": plan.pk,
        "state": database_state(plan),
        "rows": sorted(rows),
        "unchanged": unchanged,
    }
    return signing.dumps(payload, salt=SALT, compress=True)


def certificate_read(token: str, *, digest: str, kind: str, plan: Plan) -> tuple[set[int], int] | None:
    """The rows to import and the count left unchanged, if the certificate is genuine, recent, for this very
    file, plan and kind, and the database is as the preview saw it; otherwise None (check everything)."""
    if not token or not digest:
        return None
    try:
        payload = signing.loads(token, salt=SALT, max_age=MAX_AGE_SECONDS)
    except signing.BadSignature:
        return None
    if (payload.get("file"), payload.get("kind"), payload.get("plan")) != (digest, kind, plan.pk):
        return None
    if payload.get("state") != database_state(plan):
        return None
    return set(payload["rows"]), int(payload["unchanged"])

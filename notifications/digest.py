"""The weekly roll-up digest: built from the history, so any past week shows its numbers as they were.

A digest covers one ISO week (Monday–Sunday, Asia/Seoul) and looks two weeks ahead. Its figures are read as
of the end of that week (and of the week before, for the change) from django-simple-history's tables, so a
digest rebuilt later shows the same numbers. Building one takes a fixed number of queries.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import OuterRef, QuerySet, Subquery
from django.urls import reverse
from django.utils.translation import gettext as _

from notifications.emails import absolute_url, new_message_id, outbox_message_fill
from notifications.inserts import insert_new_rows
from notifications.models import DigestPolicy, NotificationPreference, OutboxAttachment, OutboxMessage
from people.names import person_label, person_name
from projects import roles
from projects.models import CoreProject, Milestone, Plan, ProgressUpdate, Strategy
from projects.selectors import projects_with_deadlines
from projects.table_exports import SafeTableExport
from projects.tables import PortfolioProjectTable
from projects.trends import (
    TREND_WEEKS,
    Figures,
    Trend,
    figures_by_week,
    figures_total,
    trends_build,
    week_end_moment,
    weeks_ending,
)
from tracker.dates import SEOUL, parse_iso_week, seoul_datetime
from tracker.pdf import PDF_MIMETYPE, PdfUnavailable, pdf_render

logger = logging.getLogger(__name__)

CHANGES_SHOWN = 60
# The printed report is read at a meeting: each list prints its first items and says how many more the page has
# (the reminder e-mails stop at 30 items the same way). Missing notes print a little more (one short line each).
PDF_ITEMS = 30
MISSING_NOTES_PRINTED = 50
DEPARTMENTS_SHOWN = 5


@dataclass(frozen=True)
class Scope:
    """Whose digest: the whole plan, one strategy, or one person's own projects."""

    kind: str  # "plan" | "strategy" | "mine"
    strategy_id: int | None = None
    user_id: int | None = None

    @property
    def key(self) -> str:
        return {"plan": "plan", "strategy": f"strategy-{self.strategy_id}", "mine": f"mine-{self.user_id}"}[self.kind]


@dataclass
class StrategyRow:
    strategy: Strategy
    figures: Figures

    @property
    def milestones_total(self) -> int:
        return self.figures.milestones_total

    @property
    def milestones_achieved(self) -> int:
        return self.figures.milestones_achieved

    @property
    def achieved_percent(self) -> int:
        return round(100 * self.milestones_achieved / self.milestones_total) if self.milestones_total else 0

    @property
    def secured_percent(self) -> int:
        budget = self.strategy.announced_budget
        return min(100, round(100 * self.figures.secured / budget)) if budget else 0


@dataclass
class Change:
    when: dt.datetime
    who: str
    project: CoreProject
    milestone_id: int
    title: str
    status_before: str
    status_after: str
    due_before: dt.date | None
    due_after: dt.date

    @property
    def url(self) -> str:
        return Milestone.url_for(project_id=self.project.pk, milestone_id=self.milestone_id)


@dataclass
class MissingNote:
    """A project that had no weekly note for the digest's week, as it stood at the week's end."""

    id: int
    code: str
    name: str
    strategy_code: str
    strategy_name: str
    department: str


@dataclass
class MissingGroup:
    strategy_code: str
    strategy_name: str
    count: int = 0
    departments: dict[str, int] = field(default_factory=dict)

    @property
    def department_rows(self) -> list[tuple[str, int]]:
        return sorted(self.departments.items(), key=lambda item: (-item[1], item[0]))

    @property
    def department_rows_shown(self) -> list[tuple[str, int]]:
        """The departments with the most missing notes; the rest are counted (``departments_more``)."""
        return self.department_rows[:DEPARTMENTS_SHOWN]

    @property
    def departments_more(self) -> tuple[int, int]:
        """(departments not shown, their projects)."""
        rest = self.department_rows[DEPARTMENTS_SHOWN:]
        return len(rest), sum(count for _name, count in rest)


@dataclass
class Digest:
    plan: Plan
    scope: Scope
    scope_label: str
    week_start: dt.date
    week_end: dt.date
    now: Figures
    before: Figures
    announced_budget: int
    strategies: list[StrategyRow]
    changes: list[Change]
    changes_more: int
    missing_notes: list[MissingNote]
    flagged_notes: list[ProgressUpdate]
    trends: list[Trend] = field(default_factory=list)
    written_on: dt.date | None = None
    change_counts: list[tuple[str, int]] = field(default_factory=list)  # the week's changes by what changed
    flagged_more: int = 0  # flagged notes not printed (the PDF's list is bounded)

    @property
    def missing_groups(self) -> list[MissingGroup]:
        """Missing notes by strategy, then department, with counts: the list a person reads first."""
        groups: dict[str, MissingGroup] = {}
        for note in self.missing_notes:
            group = groups.setdefault(note.strategy_code, MissingGroup(note.strategy_code, note.strategy_name))
            group.count += 1
            group.departments[note.department] = group.departments.get(note.department, 0) + 1
        return list(groups.values())

    @property
    def missing_notes_printed(self) -> list[MissingNote]:
        """The PDF prints the full list up to a few pages; past that it says how many more the page lists."""
        return self.missing_notes[:MISSING_NOTES_PRINTED]

    @property
    def missing_notes_not_printed(self) -> int:
        return max(0, len(self.missing_notes) - MISSING_NOTES_PRINTED)

    @property
    def as_of(self) -> dt.date:
        """The date the figures are as of: the week's Sunday (its end is the Monday 00:00 after it)."""
        return self.week_end

    @property
    def week_label(self) -> str:
        return f"{self.week_start:%G-W%V}"

    @property
    def is_quiet(self) -> bool:
        return not (self.changes or self.flagged_notes or self.now.achieved_in_week or self.now.overdue)

    @property
    def rag_rows(self) -> list[tuple[str, str, int, int, bool]]:
        """(status, label, count now, change since the week before, whether the change is for the worse)."""
        rows = []
        for status, label in CoreProject.RagStatus.choices:
            count, change = self.now.rag.get(status, 0), self.now.rag.get(status, 0) - self.before.rag.get(status, 0)
            worse = (
                change > 0 if status in (CoreProject.RagStatus.AT_RISK, CoreProject.RagStatus.DELAYED) else change < 0
            )
            rows.append((status, label, count, change, worse))
        return rows

    @property
    def url(self) -> str:
        return reverse("notifications:digest_week", args=[self.week_label]) + (
            f"?scope={self.scope.key}" if self.scope.kind != "plan" else ""
        )


def _as_of(model, moment: dt.datetime) -> QuerySet:
    """Each row of ``model`` as it was at ``moment``: its newest history record by then, unless deleted."""
    history = model.history.model
    newest = (
        history.objects.filter(id=OuterRef("id"), history_date__lte=moment)
        .order_by("-history_date", "-history_id")
        .values("history_id")[:1]
    )
    return history.objects.filter(history_date__lte=moment, history_id=Subquery(newest)).exclude(history_type="-")


def _scoped_projects(plan: Plan, scope: Scope, queryset: QuerySet, prefix: str = "") -> QuerySet:
    queryset = queryset.filter(**{f"{prefix}plan_id": plan.pk})
    if scope.kind == "strategy":
        return queryset.filter(**{f"{prefix}task__strategy_id": scope.strategy_id})
    if scope.kind == "mine":
        mine = CoreProject.managers.through.objects.filter(user_id=scope.user_id).values("coreproject_id")
        return queryset.filter(**{f"{prefix}id__in": mine})
    return queryset


def _changes(plan: Plan, scope: Scope, week_start: dt.date) -> tuple[list[Change], int, list[tuple[str, int]]]:
    """Milestones whose status or due date changed during the week, from the history, with who did it; the
    first CHANGES_SHOWN, how many more, and all of them counted by the status they reached (and 기한 변경)."""
    start = dt.datetime.combine(week_start, dt.time(0), tzinfo=SEOUL)
    end = start + dt.timedelta(days=7)
    history = Milestone.history.model
    previous = history.objects.filter(id=OuterRef("id"), history_id__lt=OuterRef("history_id")).order_by("-history_id")
    records = (
        history.objects.filter(history_date__gte=start, history_date__lt=end, history_type="~")
        .filter(project_id__in=_scoped_projects(plan, scope, CoreProject.objects.all()).values("pk"))
        .annotate(
            status_before=Subquery(previous.values("status")[:1]),
            due_before=Subquery(previous.values("due_date")[:1]),
        )
    )
    changed = [
        r
        for r in records.select_related("history_user__profile", "project").order_by("-history_date")
        if r.status != r.status_before or r.due_date != r.due_before
    ]
    labels = dict(Milestone.Status.choices)
    changes = [
        Change(
            when=r.history_date,
            who=person_label(r.history_user) if r.history_user else "-",
            project=r.project,
            milestone_id=r.id,
            title=r.title,
            status_before=str(labels.get(r.status_before, r.status_before or "")),
            status_after=str(labels.get(r.status, r.status)),
            due_before=r.due_before if r.due_before != r.due_date else None,
            due_after=r.due_date,
        )
        for r in changed
    ]
    counts: dict[str, int] = {}
    for change in changes:
        if change.status_before != change.status_after:
            counts[change.status_after] = counts.get(change.status_after, 0) + 1
        if change.due_before:
            rescheduled = _("기한 변경")
            counts[rescheduled] = counts.get(rescheduled, 0) + 1
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return changes[:CHANGES_SHOWN], max(0, len(changes) - CHANGES_SHOWN), ordered


def _missing_notes(plan: Plan, scope: Scope, week_start: dt.date, moment: dt.datetime) -> list[MissingNote]:
    """Projects of the scope as they stood at ``moment`` that had no note for the week by then; one query."""
    noted = _as_of(ProgressUpdate, moment).filter(week_start=week_start).values("project_id")
    projects = (
        _scoped_projects(plan, scope, _as_of(CoreProject, moment))
        .exclude(id__in=noted)
        .values_list("id", "code", "name", "task__strategy__code", "task__strategy__name", "lead_department__name")
        .order_by("task__strategy__order", "task__strategy__code", "code")
    )
    return [
        MissingNote(pk, code, name, strategy_code, strategy_name, department or "-")
        for pk, code, name, strategy_code, strategy_name, department in projects
    ]


def _flagged_notes(plan: Plan, scope: Scope, week_start: dt.date, moment: dt.datetime) -> list:
    """The week's 주의·지연 notes as they read at ``moment`` (a note edited later shows what it said then)."""
    in_scope = _scoped_projects(plan, scope, _as_of(CoreProject, moment)).values("id")
    return list(
        _as_of(ProgressUpdate, moment)
        .filter(
            project_id__in=in_scope,
            week_start=week_start,
            rag_status__in=[CoreProject.RagStatus.AT_RISK, CoreProject.RagStatus.DELAYED],
        )
        .select_related("project", "author__profile")
        .order_by("-rag_status", "project__code")
    )


def digest_build(*, plan: Plan, scope: Scope, week_start: dt.date) -> Digest:
    """Everything the digest of one week says, as of that week's end, with the twelve weeks up to it."""
    strategies = list(plan.strategies.order_by("order"))
    if scope.kind == "strategy":
        strategies = [s for s in strategies if s.pk == scope.strategy_id]
    wanted = {s.pk for s in strategies}
    weeks = weeks_ending(week_start, TREND_WEEKS)
    by_week = figures_by_week(plan=plan, weeks=weeks, manager_id=scope.user_id if scope.kind == "mine" else None)
    by_week = {week: {k: v for k, v in per.items() if k in wanted} for week, per in by_week.items()}
    now = by_week[week_start]
    before = by_week[week_start - dt.timedelta(days=7)]
    rows = [StrategyRow(s, now.get(s.pk, Figures())) for s in strategies if scope.kind != "mine" or s.pk in now]
    trends = trends_build(plan=plan, by_week=by_week)
    if scope.kind == "strategy":
        trends = [trend for trend in trends[1:] if trend.code in {s.code for s in strategies}]
    elif scope.kind == "mine":
        trends = trends[:1]
    changes, changes_more, change_counts = _changes(plan, scope, week_start)
    moment = week_end_moment(week_start)
    scope_label = plan.name
    if scope.kind == "strategy" and strategies:
        scope_label = str(strategies[0])
    elif scope.kind == "mine":
        user = get_user_model().objects.filter(pk=scope.user_id).first()
        scope_label = f"{person_name(user)} 담당 사업" if user else plan.name
    return Digest(
        plan=plan,
        scope=scope,
        scope_label=scope_label,
        week_start=week_start,
        week_end=week_start + dt.timedelta(days=6),
        now=figures_total(now.values()),
        before=figures_total(before.values()),
        announced_budget=sum(s.announced_budget for s in strategies),
        strategies=rows,
        changes=changes,
        changes_more=changes_more,
        change_counts=change_counts,
        missing_notes=_missing_notes(plan, scope, week_start, moment),
        flagged_notes=_flagged_notes(plan, scope, week_start, moment),
        trends=trends,
    )


def latest_complete_week(today: dt.date) -> dt.date:
    """The Monday of the last ISO week that has ended."""
    return today - dt.timedelta(days=today.isoweekday() - 1) - dt.timedelta(days=7)


# Delivery --------------------------------------------------------------------------------------------------


def digest_recipients(plan: Plan) -> list[tuple[object, Scope]]:
    """Who gets which digest: TF heads and subscribers the whole plan, strategy leads their strategy, managers
    who opted in their own projects. Anyone who turned digests off, is inactive or has no e-mail gets none."""
    User = get_user_model()
    preferences = {p.user_id: p for p in NotificationPreference.objects.all()}
    users = {u.pk: u for u in User.objects.filter(is_active=True).exclude(email="")}

    def wants(user_id: int) -> bool:
        preference = preferences.get(user_id)
        return user_id in users and (preference is None or preference.digest)

    wanted: dict[tuple[int, Scope], None] = {}
    for user_id in User.objects.filter(groups__name=roles.TF_HEAD).values_list("pk", flat=True):
        wanted[(user_id, Scope("plan"))] = None
    for user_id, preference in preferences.items():
        if preference.digest_whole_plan:
            wanted[(user_id, Scope("plan"))] = None
        if preference.digest_my_projects:
            wanted[(user_id, Scope("mine", user_id=user_id))] = None
    for strategy in plan.strategies.exclude(lead=None):
        wanted[(strategy.lead_id, Scope("strategy", strategy_id=strategy.pk))] = None
    return [(users[user_id], scope) for user_id, scope in wanted if wants(user_id)]


def digest_due_week(*, now: dt.datetime, policy: DigestPolicy) -> dt.date:
    """The week whose digest is due at ``now``: last week's once this week's send moment has come."""
    today = now.astimezone(SEOUL).date()
    last_week = latest_complete_week(today)
    send_at = seoul_datetime(last_week + dt.timedelta(days=7 + policy.weekday), policy.hour)
    return last_week if now >= send_at else last_week - dt.timedelta(days=7)


# After a scheduler outage, at most this many missed weeks are sent (oldest first); older ones are skipped.
CATCH_UP_WEEKS = 4


class WeekNotOver(ValueError):
    """A digest was asked for a week that has not ended: its figures would be a weekday's, not the week's."""


def digest_week_check(*, week_start: dt.date, now: dt.datetime) -> None:
    """Refuse a week that has not ended yet (the current week, or a future one) in Asia/Seoul."""
    ends = seoul_datetime(week_start + dt.timedelta(days=7), 0)
    if now < ends:
        raise WeekNotOver(
            _("%(week)s 주는 아직 끝나지 않았습니다 (%(end)s 일요일까지). 끝난 주의 주간 요약만 보낼 수 있습니다.")
            % {"week": f"{week_start:%G-W%V}", "end": f"{week_start + dt.timedelta(days=6):%Y-%m-%d}"}
        )


def _week_of_key(key: str) -> dt.date | None:
    try:
        return parse_iso_week(key.rsplit(":", 1)[-1])
    except ValueError:
        return None


def digest_weeks_due(*, now: dt.datetime, policy: DigestPolicy) -> tuple[list[dt.date], list[dt.date]]:
    """(weeks whose digest is owed now, oldest first; missed weeks too old to send). After the newest week any
    digest was written for, every week up to the due one was missed (the scheduler was down): the newest
    CATCH_UP_WEEKS of them are owed, older ones are skipped. With no digest ever written, only the due week."""
    due = digest_due_week(now=now, policy=policy)
    recent_keys = OutboxMessage.objects.filter(
        kind=OutboxMessage.Kind.DIGEST, created_at__gte=now - dt.timedelta(weeks=26)
    ).values_list("key", flat=True)
    written = {week for week in map(_week_of_key, recent_keys) if week is not None}
    last = max(written, default=None)
    if last is None or last >= due:
        return [due], []
    missed = [last + dt.timedelta(weeks=n) for n in range(1, (due - last).days // 7 + 1)]
    return missed[-CATCH_UP_WEEKS:], missed[:-CATCH_UP_WEEKS]


def _digests_skip(*, plan: Plan, recipients: list, weeks: list[dt.date], now: dt.datetime) -> int:
    """Record the digests of weeks too old to send as skipped (shown in the admin's outbox), and log them."""
    rows = [
        OutboxMessage(
            key=digest_key(user_id=user.pk, plan=plan, scope=scope, week_start=week),
            kind=OutboxMessage.Kind.DIGEST,
            recipient=user,
            to_email=user.email,
            message_id=new_message_id("digest"),
            status=OutboxMessage.Status.SKIPPED,
            not_before=now,
            subject=f"{week:%G-W%V}",
            last_error=_("발송 중단이 길어 %(limit)d주보다 오래된 주간 요약은 보내지 않았습니다.")
            % {"limit": CATCH_UP_WEEKS},
        )
        for week in weeks
        for user, scope in recipients
    ]
    written = insert_new_rows(rows)
    if written:
        logger.warning(
            "digest: %s skipped %d digest(s) of weeks older than the last %d: %s",
            plan.code,
            written,
            CATCH_UP_WEEKS,
            ", ".join(f"{week:%G-W%V}" for week in weeks),
        )
    return written


def digest_key(*, user_id: int, plan: Plan, scope: Scope, week_start: dt.date) -> str:
    """One digest per recipient, plan, scope and ISO week: the outbox's unique key makes a second impossible."""
    return f"digest:{user_id}:{plan.code}:{scope.key}:{week_start:%G-W%V}"


def portfolio_workbook(*, plan: Plan, scope: Scope, today: dt.date) -> bytes:
    """The portfolio as it stands when the digest is written (labelled "현재 기준" in the sheet's and the file's
    name and in the e-mail), in the columns of the project table's export."""
    projects = _scoped_projects(plan, scope, CoreProject.objects.all()).order_by("code")
    table = PortfolioProjectTable(projects_with_deadlines(projects, today=today))
    return SafeTableExport("xlsx", table, dataset_kwargs={"title": f"현재 기준 {today:%Y-%m-%d}"}).export()


def portfolio_workbook_name(today: dt.date) -> str:
    return f"portfolio-current-{today:%Y-%m-%d}.xlsx"


def digest_printed(digest: Digest) -> Digest:
    """The digest as the PDF prints it: the same figures, each list bounded (PDF_ITEMS, MISSING_NOTES_PRINTED) and
    followed by how many more the page in the app lists."""
    return dataclasses.replace(
        digest,
        changes=digest.changes[:PDF_ITEMS],
        changes_more=digest.changes_more + max(0, len(digest.changes) - PDF_ITEMS),
        flagged_notes=digest.flagged_notes[:PDF_ITEMS],
        flagged_more=max(0, len(digest.flagged_notes) - PDF_ITEMS),
    )


def digest_pdf(digest: Digest, *, language: str = "ko") -> bytes:
    """The digest as an A4 report: the page's content with bounded lists, the week and "as of" date on every page,
    trends as vectors."""
    from django.utils import translation

    from projects.charts import trend_svg_data_uri

    digest = digest_printed(digest)
    with translation.override(language):
        charts = [(trend, trend_svg_data_uri(trend, compact=index > 0)) for index, trend in enumerate(digest.trends)]
        return pdf_render(
            "notifications/digest_pdf.html",
            {
                "digest": digest,
                "charts": charts,
                "pdf": True,
                "site_url": settings.SITE_URL,
                "digest_url": absolute_url(digest.url),
            },
        )


def digest_pdf_name(digest: Digest) -> str:
    return f"digest-{digest.week_label}{'' if digest.scope.kind == 'plan' else '-' + digest.scope.key}.pdf"


def digests_plan(*, now: dt.datetime, week_start: dt.date | None = None, dry_run: bool = False) -> list[OutboxMessage]:
    """Write the due week's digest (after an outage: each missed week's, up to CATCH_UP_WEEKS, oldest first) for
    every recipient who has not had it; the dispatcher sends them in that order. A week asked for by name must
    have ended (WeekNotOver)."""
    policy = DigestPolicy.current()
    if week_start is None:
        if not policy.enabled:
            return []
        weeks, skipped = digest_weeks_due(now=now, policy=policy)
    else:
        digest_week_check(week_start=week_start, now=now)
        weeks, skipped = [week_start], []
    messages = []
    for plan in Plan.objects.all():
        recipients = digest_recipients(plan)
        if skipped and not dry_run:
            _digests_skip(plan=plan, recipients=recipients, weeks=skipped, now=now)
        for week in weeks:
            messages += _digests_of_week(plan=plan, recipients=recipients, week_start=week, now=now)
    if not dry_run:
        with transaction.atomic():
            OutboxMessage.objects.bulk_create(messages, ignore_conflicts=True)
            # A row another planner wrote first was skipped; only the rows written here (their Message-IDs) get files.
            written = dict(
                OutboxMessage.objects.filter(message_id__in=[m.message_id for m in messages]).values_list(
                    "message_id", "pk"
                )
            )
            OutboxAttachment.objects.bulk_create(
                [
                    OutboxAttachment(
                        message_id=written[m.message_id],
                        filename=m.report[0],
                        mimetype=PDF_MIMETYPE,
                        content=m.report[1],
                    )
                    for m in messages
                    if m.message_id in written and m.report[1]
                ]
            )
    return messages


def _digests_of_week(*, plan: Plan, recipients: list, week_start: dt.date, now: dt.datetime) -> list[OutboxMessage]:
    """One week's digest for each recipient who has not had it (not saved)."""
    today = now.astimezone(SEOUL).date()
    messages = []
    keys = {
        digest_key(user_id=user.pk, plan=plan, scope=scope, week_start=week_start): (user, scope)
        for user, scope in recipients
    }
    already = set(OutboxMessage.objects.filter(key__in=keys).values_list("key", flat=True))
    built: dict[Scope, tuple[Digest, bytes]] = {}
    reports: dict[tuple[Scope, str], bytes | None] = {}
    languages = dict(
        NotificationPreference.objects.filter(user__in=[u for u, _s in recipients]).values_list("user_id", "language")
    )
    for key, (user, scope) in keys.items():
        if key in already:
            continue
        if scope not in built:
            built[scope] = (
                digest_build(plan=plan, scope=scope, week_start=week_start),
                portfolio_workbook(plan=plan, scope=scope, today=today),
            )
        digest, workbook = built[scope]
        digest.written_on = today
        language = languages.get(user.pk, "ko")
        if (scope, language) not in reports:
            try:
                reports[scope, language] = digest_pdf(digest, language=language)
            except PdfUnavailable:
                logger.warning("digest %s goes out without its PDF: WeasyPrint cannot run here", digest.week_label)
                reports[scope, language] = None
        message = OutboxMessage(
            key=key,
            kind=OutboxMessage.Kind.DIGEST,
            recipient=user,
            to_email=user.email,
            message_id=new_message_id("digest"),
            not_before=now,
            attachment=workbook,
            attachment_name=portfolio_workbook_name(today),
        )
        digest_email_render(message, digest, language=language)
        message.report = (digest_pdf_name(digest), reports[scope, language])
        messages.append(message)
    return messages


def digest_email_render(message: OutboxMessage, digest: Digest, *, language: str) -> None:
    outbox_message_fill(
        message,
        template="digest",
        unsubscribe_kind="digest",
        context={
            "digest": digest,
            "site_url": settings.SITE_URL,
            "digest_url": absolute_url(digest.url),
            "email": True,
        },
        language=language,
    )

"""The portfolio week by week, rebuilt from the history: what the digest says about one week, and the trends
the dashboard and the digest draw over the last twelve.

A week's figures are read as of its end (Monday 00:00 Asia/Seoul of the next week) from django-simple-history's
tables. Any number of weeks costs two queries: each historical row gets the moment the next record of the same
row replaced it (``LEAD`` over the row's records), so "the row as it was at the end of week n" is a range join
against a short list of week ends. A past week's point never changes, so the dashboard caches it by week.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.core.cache import cache
from django.db import connection

from projects.funding import funding_rows, funding_totals_sql
from projects.models import CoreProject, Milestone, Plan, Task
from tracker.dates import SEOUL

LOOKAHEAD_DAYS = 14
TREND_WEEKS = 12
CACHE_SECONDS = 60 * 60 * 24 * 120


@dataclass
class Figures:
    """Headline numbers of a plan, a strategy or a person's projects as of one moment."""

    rag: dict[str, int] = field(default_factory=dict)
    projects: int = 0
    achieved_in_week: int = 0
    overdue: int = 0
    due_ahead: int = 0
    requested: int = 0
    secured: int = 0
    milestones_total: int = 0
    milestones_achieved: int = 0

    def add(self, other: Figures) -> None:
        self.projects += other.projects
        for status, count in other.rag.items():
            self.rag[status] = self.rag.get(status, 0) + count
        for name in SUMMED:
            setattr(self, name, getattr(self, name) + getattr(other, name))


SUMMED = (
    "achieved_in_week",
    "overdue",
    "due_ahead",
    "requested",
    "secured",
    "milestones_total",
    "milestones_achieved",
)


def figures_total(items: Iterable[Figures]) -> Figures:
    total = Figures()
    for item in items:
        total.add(item)
    return total


def week_end_moment(week_start: dt.date) -> dt.datetime:
    """The end of the ISO week that starts on ``week_start``: the next Monday 00:00 in Asia/Seoul."""
    return dt.datetime.combine(week_start + dt.timedelta(days=7), dt.time(0), tzinfo=SEOUL)


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def figures_by_week(
    *, plan: Plan, weeks: list[dt.date], manager_id: int | None = None
) -> dict[dt.date, dict[int, Figures]]:
    """For each week (its Monday), per strategy, the figures as of the week's end; two queries for any number of weeks.

    The same definitions as the digest: projects by RAG status; milestones achieved in the week, overdue (open and
    due before the week's end), due in the 14 days after it; national funding 신청 and 확보 by the rule of
    ``funding.funding_totals_sql`` (a project's request counts once per fiscal year, not once a stage), over the
    milestones as they stood. ``manager_id`` keeps only that person's projects (their digest).
    """
    result: dict[dt.date, dict[int, Figures]] = {week: {} for week in weeks}
    if not weeks:
        return result
    ops = connection.ops
    rows_sql, params = [], []
    for n, week in enumerate(weeks):
        end = week + dt.timedelta(days=7)
        rows_sql.append("(%s, %s, %s, %s, %s)")
        params += [
            n,
            ops.adapt_datetimefield_value(week_end_moment(week)),
            ops.adapt_datefield_value(week),
            ops.adapt_datefield_value(end),
            ops.adapt_datefield_value(end + dt.timedelta(days=LOOKAHEAD_DAYS)),
        ]
    latest_moment = max(week_end_moment(week) for week in weeks)
    latest = ops.adapt_datetimefield_value(latest_moment)
    managers = CoreProject.managers.through
    mine = f" AND p.id IN (SELECT coreproject_id FROM {_table(managers)} WHERE user_id = %s)" if manager_id else ""
    common = f"""
        WITH weeks (n, moment, week_start, week_end, ahead_end) AS (VALUES {", ".join(rows_sql)}),
        proj AS (
            SELECT h.id, h.plan_id, h.task_id, h.rag_status, h.history_type, h.history_date,
                   LEAD(h.history_date) OVER (PARTITION BY h.id ORDER BY h.history_date, h.history_id) AS valid_to
            FROM {_table(CoreProject.history.model)} h
            WHERE h.history_date <= %s
        ),
        proj_at AS (
            SELECT w.n, p.id, p.rag_status, t.strategy_id
            FROM weeks w
            JOIN proj p ON p.history_date <= w.moment AND (p.valid_to IS NULL OR p.valid_to > w.moment)
            JOIN {_table(Task)} t ON t.id = p.task_id
            WHERE p.history_type <> '-' AND p.plan_id = %s{mine}
        )"""
    common_params = [*params, latest, plan.pk, *([manager_id] if manager_id else [])]
    week_of = dict(enumerate(weeks))

    def figures(n: int, strategy_id: int) -> Figures:
        return result[week_of[n]].setdefault(strategy_id, Figures())

    with connection.cursor() as cursor:
        cursor.execute(
            common + " SELECT n, strategy_id, rag_status, COUNT(*) FROM proj_at GROUP BY n, strategy_id, rag_status",
            common_params,
        )
        for n, strategy_id, rag_status, count in cursor.fetchall():
            item = figures(n, strategy_id)
            item.rag[rag_status] = count
            item.projects += count

        open_statuses = ", ".join(f"'{status}'" for status in Milestone.OPEN_STATUSES)
        # Each historical funding row's stage and fiscal year; which rows count (the plan's, up to the last week's
        # end) is ms's filter alone: classified is only ever joined to ms.
        classified = (
            funding_rows(Milestone.history.model.objects.all())
            .values("history_id", "funding_rank", "funding_year")
            .order_by()
        )
        classified_sql, classified_params = classified.query.sql_with_params()
        cursor.execute(
            common
            + f""",
            ms AS (
                SELECT h.history_id, h.id, h.project_id, h.history_type, h.history_date, h.kind, h.status, h.due_date,
                       h.completed_on, h.amount_requested, h.amount_secured,
                       LEAD(h.history_date) OVER (PARTITION BY h.id ORDER BY h.history_date, h.history_id) AS valid_to
                FROM {_table(Milestone.history.model)} h
                WHERE h.history_date <= %s
                  AND h.project_id IN (SELECT id FROM {_table(CoreProject)} WHERE plan_id = %s)
            ),
            classified AS ({classified_sql}),
            funding_milestones AS (
                SELECT w.n, t.strategy_id, m.project_id, m.status, m.amount_requested, m.amount_secured,
                       c.funding_rank, c.funding_year
                FROM weeks w
                JOIN ms m ON m.history_date <= w.moment AND (m.valid_to IS NULL OR m.valid_to > w.moment)
                JOIN classified c ON c.history_id = m.history_id
                JOIN proj_at pa ON pa.n = w.n AND pa.id = m.project_id
                JOIN {_table(CoreProject)} cp ON cp.id = m.project_id
                JOIN {_table(Task)} t ON t.id = cp.task_id
                WHERE m.history_type <> '-'
            ),
            funding AS ({funding_totals_sql("funding_milestones", "n, strategy_id")}),
            counts AS (
                SELECT w.n, t.strategy_id,
                    SUM(CASE WHEN m.status <> 'cancelled' THEN 1 ELSE 0 END) AS total,
                    SUM(CASE WHEN m.status = 'achieved' THEN 1 ELSE 0 END) AS achieved,
                    SUM(CASE WHEN m.status = 'achieved' AND m.completed_on >= w.week_start
                             AND m.completed_on < w.week_end THEN 1 ELSE 0 END) AS in_week,
                    SUM(CASE WHEN m.status IN ({open_statuses}) AND m.due_date < w.week_end THEN 1 ELSE 0 END)
                        AS overdue,
                    SUM(CASE WHEN m.status IN ({open_statuses}) AND m.due_date >= w.week_end
                             AND m.due_date < w.ahead_end THEN 1 ELSE 0 END) AS ahead
                FROM weeks w
                JOIN ms m ON m.history_date <= w.moment AND (m.valid_to IS NULL OR m.valid_to > w.moment)
                JOIN proj_at pa ON pa.n = w.n AND pa.id = m.project_id
                JOIN {_table(CoreProject)} cp ON cp.id = m.project_id
                JOIN {_table(Task)} t ON t.id = cp.task_id
                WHERE m.history_type <> '-'
                GROUP BY w.n, t.strategy_id
            )
            SELECT c.n, c.strategy_id, c.total, c.achieved, c.in_week, c.overdue, c.ahead,
                   COALESCE(f.requested, 0), COALESCE(f.secured, 0)
            FROM counts c LEFT JOIN funding f ON f.n = c.n AND f.strategy_id = c.strategy_id""",
            [*common_params, latest, plan.pk, *classified_params],
        )
        for n, strategy_id, total, achieved, in_week, overdue, ahead, requested, secured in cursor.fetchall():
            item = figures(n, strategy_id)
            item.milestones_total, item.milestones_achieved = int(total), int(achieved)
            item.achieved_in_week, item.overdue, item.due_ahead = int(in_week), int(overdue), int(ahead)
            item.requested, item.secured = int(requested), int(secured)
    return result


# Trends -----------------------------------------------------------------------------------------------------


@dataclass
class TrendPoint:
    """One week of a trend: its Monday, and the figures of the plan (or one strategy) at its end."""

    week_start: dt.date
    figures: Figures
    is_current: bool = False

    @property
    def label(self) -> str:
        return f"W{self.week_start:%V}"


@dataclass
class Trend:
    """Twelve weeks of one scope (the plan, or one strategy), oldest first."""

    code: str
    name: str
    points: list[TrendPoint]

    @property
    def last(self) -> Figures:
        return self.points[-1].figures

    @property
    def first(self) -> Figures:
        return self.points[0].figures

    @property
    def bars(self) -> list[BarColumn]:
        return trend_bars(self)


def _cache_key(plan: Plan, week: dt.date, manager_id: int | None) -> str:
    # v2: national funding counts a request once (funding_totals_sql); points cached under v1 counted every stage.
    return f"trend-point:v2:{plan.pk}:{manager_id or 'plan'}:{week.isoformat()}"


def weeks_ending(last_week: dt.date, count: int = TREND_WEEKS) -> list[dt.date]:
    return [last_week - dt.timedelta(days=7 * n) for n in range(count - 1, -1, -1)]


def trend_points(
    *, plan: Plan, weeks: list[dt.date], now: dt.datetime, manager_id: int | None = None
) -> dict[dt.date, dict[int, Figures]]:
    """``figures_by_week`` with each ended week cached: a past week's point never changes."""
    keys = {week: _cache_key(plan, week, manager_id) for week in weeks}
    found = cache.get_many([key for week, key in keys.items() if week_end_moment(week) <= now])
    points = {week: found[key] for week, key in keys.items() if key in found}
    missing = [week for week in weeks if week not in points]
    if missing:
        computed = figures_by_week(plan=plan, weeks=missing, manager_id=manager_id)
        points.update(computed)
        cache.set_many(
            {keys[week]: value for week, value in computed.items() if week_end_moment(week) <= now},
            CACHE_SECONDS,
        )
    return points


def trends_build(
    *, plan: Plan, by_week: dict[dt.date, dict[int, Figures]], current_week: dt.date | None = None
) -> list[Trend]:
    """The plan's trend, then one per strategy, from per-week, per-strategy figures."""
    weeks = sorted(by_week)
    strategies = list(plan.strategies.order_by("order"))
    trends = [
        Trend(
            plan.code,
            plan.name,
            [TrendPoint(week, figures_total(by_week[week].values()), week == current_week) for week in weeks],
        )
    ]
    for strategy in strategies:
        trends.append(
            Trend(
                strategy.code,
                strategy.name,
                [TrendPoint(week, by_week[week].get(strategy.pk, Figures()), week == current_week) for week in weeks],
            )
        )
    return trends


def dashboard_trends(*, plan: Plan, now: dt.datetime, current: dict[int, Figures]) -> list[Trend]:
    """The eleven weeks before this one (from the history, cached) and this week as of now (``current``, per
    strategy: the dashboard's own live figures, so the picture ends where the table stands)."""
    today = now.astimezone(SEOUL).date()
    this_week = today - dt.timedelta(days=today.isoweekday() - 1)
    past = weeks_ending(this_week - dt.timedelta(days=7), TREND_WEEKS - 1)
    by_week = trend_points(plan=plan, weeks=past, now=now)
    by_week[this_week] = current
    return trends_build(plan=plan, by_week=by_week, current_week=this_week)


def figures_from_rollups(rows) -> dict[int, Figures]:
    """This week's point per strategy from the dashboard's live roll-up (``selectors.plan_dashboard``), which
    counts as of now: overdue is "due before today" there, "due before the week's end" in the history's points."""
    current = {}
    for row in rows:
        if row.level == "strategy":
            current[int(row.query["strategy"])] = Figures(
                rag=dict(row.rag),
                projects=row.projects,
                overdue=row.overdue,
                requested=row.requested,
                secured=row.secured,
                milestones_achieved=row.achieved,
            )
    return current


@dataclass
class BarColumn:
    """One week of a trend as HTML bars (e-mail): pixel heights, for mail clients that show no SVG."""

    label: str
    rag: list[tuple[str, int, int]]  # (status, count, pixels), stacked from the bottom
    achieved: tuple[int, int]  # (count, pixels)
    overdue: tuple[int, int]
    requested: tuple[int, int]  # (won, pixels)
    secured: tuple[int, int]


def trend_bars(trend: Trend, *, height: int = 44) -> list[BarColumn]:
    """The trend's twelve weeks scaled to ``height`` pixels: projects by status, milestones, funding."""
    points = trend.points
    most_projects = max([p.figures.projects for p in points] + [1])
    most_milestones = max([max(p.figures.milestones_achieved, p.figures.overdue) for p in points] + [1])
    most_money = max([max(p.figures.requested, p.figures.secured) for p in points] + [1])

    def px(value: int, most: int) -> int:
        return round(height * value / most) if value else 0

    return [
        BarColumn(
            label=point.label,
            rag=[
                (status, point.figures.rag.get(status, 0), px(point.figures.rag.get(status, 0), most_projects))
                for status in reversed(CoreProject.RagStatus.values)
            ],
            achieved=(point.figures.milestones_achieved, px(point.figures.milestones_achieved, most_milestones)),
            overdue=(point.figures.overdue, px(point.figures.overdue, most_milestones)),
            requested=(point.figures.requested, px(point.figures.requested, most_money)),
            secured=(point.figures.secured, px(point.figures.secured, most_money)),
        )
        for point in points
    ]

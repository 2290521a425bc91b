"""The national-funding pipeline of a fiscal year: how much was asked at each stage of the budget calendar, how
much passed to the next, and what is still open (docs/decisions.md, "National-funding pipeline").

Stages, in the order of the calendar (all in the year before the fiscal year):
부처 신청 (the city asks the line ministry) → 부처 요구 (the ministry asks MOEF, 31 May) → 정부안 (the government
bill, 3 Sep) → 국회 의결 (the Assembly's vote, 2 Dec). A milestone's stage and fiscal year are worked out in SQL
(``funding_annotate``) so that the page's numbers and the milestone table they link to use one rule.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import connection
from django.db.models import Case, Count, F, IntegerField, Q, QuerySet, Sum, Value, When
from django.db.models.functions import Cast, Coalesce, ExtractMonth, ExtractYear, Substr
from django.utils.translation import gettext_lazy as _

from projects.models import Milestone, Plan


class Stage:
    REQUEST = "request"
    MINISTRY = "ministry"
    GOVERNMENT = "government"
    ASSEMBLY = "assembly"


STAGES = [
    (Stage.REQUEST, _("부처 신청")),
    (Stage.MINISTRY, _("부처 요구")),
    (Stage.GOVERNMENT, _("정부안")),
    (Stage.ASSEMBLY, _("국회 의결")),
]
STAGE_KINDS = (Milestone.Kind.NATIONAL_FUNDING, Milestone.Kind.BUDGET_REFLECTION)


STAGE_RANKS = {key: rank for rank, (key, _label) in enumerate(STAGES, start=1)}


def _stage_case(stage_value: Callable[[str], Value], *before: When, output_field=None) -> Case:
    """The one rule for which stage of the budget calendar a milestone is at, written as ``stage_value`` says (the
    stage's key, or its rank): first match wins, the default is 국회 의결. ``before`` are conditions that come first
    (a 정부 공모, which is not in the calendar). Reads ``due_month`` (``_budget_calendar`` annotates it)."""
    rules = [
        (Q(kind=Milestone.Kind.NATIONAL_FUNDING), Stage.REQUEST),
        (Q(title__contains="의결"), Stage.ASSEMBLY),
        (Q(title__contains="정부 예산안") | Q(title__contains="정부안"), Stage.GOVERNMENT),
        (Q(title__contains="요구"), Stage.MINISTRY),
        (Q(due_month__lte=6), Stage.MINISTRY),
        (Q(due_month__lte=10), Stage.GOVERNMENT),
    ]
    return Case(
        *before,
        *(When(rule, then=stage_value(stage)) for rule, stage in rules),
        default=stage_value(Stage.ASSEMBLY),
        output_field=output_field,
    )


def _funding_year() -> Case:
    return Case(
        When(title__regex=r"^[0-9]{4}년", then=Cast(Substr("title", 1, 4), IntegerField())),
        default=ExtractYear("due_date") + 1,
        output_field=IntegerField(),
    )


def _budget_calendar(queryset: QuerySet[Milestone], kinds, **stage: Case) -> QuerySet[Milestone]:
    """``queryset``'s milestones of ``kinds``, with their stage (one ``_stage_case``, named) and ``funding_year``."""
    return (
        queryset.filter(kind__in=kinds)
        .annotate(due_month=ExtractMonth("due_date"))
        .annotate(**stage, funding_year=_funding_year())
    )


def funding_annotate(queryset: QuerySet[Milestone]) -> QuerySet[Milestone]:
    """Milestones that belong to the budget calendar, each with its ``funding_stage`` and ``funding_year``.

    Stage: 국비 신청 (national_funding) is 부처 신청. A 정부 예산 반영 (budget_reflection) milestone is 국회 의결 if its
    title says 의결, 정부안 if it says 정부 예산안 or 정부안, 부처 요구 if it says 요구; otherwise its due month
    decides (January–June 부처 요구, July–October 정부안, November–December 국회 의결). Fiscal year: the year a
    title starts with ("2027년 국비: …", as the templates write it), otherwise the year after the due date.
    Works on the history's rows too (same fields).
    """
    return _budget_calendar(queryset, STAGE_KINDS, funding_stage=_stage_case(Value))


def funding_rows(queryset: QuerySet[Milestone]) -> QuerySet[Milestone]:
    """Every funding milestone (국비 신청, 정부 공모, 정부 예산 반영) with ``funding_year`` and ``funding_rank``: its
    stage's place in the calendar (1 부처 신청 … 4 국회 의결), or NULL for a 정부 공모, which is not in the calendar.
    The input of ``funding_totals_sql``; works on the history's rows too."""
    rank = _stage_case(
        lambda stage: Value(STAGE_RANKS[stage]),
        When(kind=Milestone.Kind.PUBLIC_CONTEST, then=Value(None)),
        output_field=IntegerField(),
    )
    return _budget_calendar(queryset, Milestone.FUNDING_KINDS, funding_rank=rank)


def funding_totals_sql(rows: str, group: str) -> str:
    """국비 신청액 and 확보액 (the dashboard's, the digest's and the trends' "신청" and "확보"), as SQL over ``rows``.

    The rule (docs/decisions.md, "What 국비 신청 and 확보 count"): a project's budget-calendar milestones of one
    fiscal year are one request travelling through the stages, so they count once — 신청 is what was asked at the
    earliest stage it has (milestones not cancelled), 확보 what achieved milestones secured at the latest stage it
    has (nothing until that step is achieved; a missed step secures nothing). A 정부 공모 is a request of its own:
    asked unless cancelled, secured once achieved.

    ``rows`` is a relation with the columns of ``funding_rows`` (``funding_rank``, ``funding_year``, ``project_id``,
    ``status``, ``amount_requested``, ``amount_secured``) and ``group``, a comma-separated list of columns that
    partition it (e.g. the week and the strategy); the result has ``group``'s columns, ``requested``, ``secured``.
    """
    cancelled, achieved = Milestone.Status.CANCELLED.value, Milestone.Status.ACHIEVED.value
    return f"""
        SELECT {group},
            SUM(CASE WHEN status <> '{cancelled}' AND (funding_rank IS NULL OR funding_rank = first_rank)
                     THEN COALESCE(amount_requested, 0) ELSE 0 END) AS requested,
            SUM(CASE WHEN status = '{achieved}' AND (funding_rank IS NULL OR funding_rank = last_rank)
                     THEN COALESCE(amount_secured, 0) ELSE 0 END) AS secured
        FROM (
            SELECT r.*,
                MIN(CASE WHEN status <> '{cancelled}' THEN funding_rank END) OVER chain AS first_rank,
                MAX(CASE WHEN status <> '{cancelled}' THEN funding_rank END) OVER chain AS last_rank
            FROM {rows} r
            WINDOW chain AS (PARTITION BY {group}, project_id, funding_year)
        ) ranked
        GROUP BY {group}"""


def funding_totals(milestones: QuerySet[Milestone], *, by: str) -> dict[object, tuple[int, int]]:
    """{value of ``by``: (신청, 확보)} for ``milestones`` (e.g. a plan's, by ``project__task_id``), by the rule of
    ``funding_totals_sql``; one query."""
    rows = (
        funding_rows(milestones)
        .values(
            "project_id", "status", "amount_requested", "amount_secured", "funding_rank", "funding_year", scope=F(by)
        )
        .order_by()
    )
    sql, params = rows.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH funding_milestones AS ({sql}) {funding_totals_sql('funding_milestones', 'scope')}", params
        )
        return {scope: (int(requested), int(secured)) for scope, requested, secured in cursor.fetchall()}


@dataclass
class StageFigures:
    asked: int = 0  # amount requested, cancelled milestones left out
    passed: int = 0  # amount secured of achieved milestones: what went on to the next stage
    dropped: int = 0  # asked but not passed, of closed milestones (missed, or achieved with a cut)
    open: int = 0  # asked of milestones still open
    milestones: int = 0
    open_milestones: int = 0

    @property
    def passed_percent(self) -> int | None:
        closed = self.asked - self.open
        return round(100 * self.passed / closed) if closed else None


@dataclass
class PipelineRow:
    level: str  # "plan" | "strategy" | "project"
    code: str
    name: str
    query: dict[str, str]
    stages: dict[str, StageFigures] = field(default_factory=lambda: {key: StageFigures() for key, _ in STAGES})

    def add(self, other: PipelineRow) -> None:
        for key, figures in other.stages.items():
            mine = self.stages[key]
            for name in ("asked", "passed", "dropped", "open", "milestones", "open_milestones"):
                setattr(mine, name, getattr(mine, name) + getattr(figures, name))

    @property
    def cells(self) -> list[StageCell]:
        """Each stage in the calendar's order, with the change from the previous stage's asked amount."""
        result, previous = [], None
        for key, label in STAGES:
            figures = self.stages[key]
            change = figures.asked - previous.asked if previous is not None and previous.asked else None
            result.append(StageCell(key, str(label), figures, change))
            previous = figures
        return result


@dataclass
class StageCell:
    key: str
    label: str
    figures: StageFigures
    change: int | None  # asked here minus asked at the stage before (negative: money dropped out)

    @property
    def change_abs(self) -> int:
        return abs(self.change or 0)


@dataclass
class Pipeline:
    plan: Plan
    year: int
    years: list[int]
    rows: list[PipelineRow]


def funding_years(*, plan: Plan) -> list[int]:
    return sorted(
        set(
            funding_annotate(Milestone.objects.filter(project__plan=plan))
            .values_list("funding_year", flat=True)
            .distinct()
        )
    )


def funding_pipeline(*, plan: Plan, year: int) -> Pipeline:
    """The plan, each strategy and each of its projects with money in the pipeline; two queries."""
    years = funding_years(plan=plan)
    open_q = Milestone.open_q()
    not_cancelled = ~Q(status=Milestone.Status.CANCELLED)
    achieved = Q(status=Milestone.Status.ACHIEVED)
    closed = Q(status__in=(Milestone.Status.ACHIEVED, Milestone.Status.MISSED))
    records = (
        funding_annotate(Milestone.objects.filter(project__plan=plan))
        .filter(funding_year=year)
        .values(
            "funding_stage",
            "project_id",
            "project__code",
            "project__name",
            "project__task__strategy_id",
            "project__task__strategy__code",
            "project__task__strategy__name",
            "project__task__strategy__order",
        )
        .annotate(
            asked=Coalesce(Sum("amount_requested", filter=not_cancelled), 0),
            passed=Coalesce(Sum("amount_secured", filter=achieved), 0),
            closed_asked=Coalesce(Sum("amount_requested", filter=closed), 0),
            open_asked=Coalesce(Sum("amount_requested", filter=open_q), 0),
            milestones=Count("pk", filter=not_cancelled),
            open_milestones=Count("pk", filter=open_q),
        )
        .order_by()
    )
    plan_row = PipelineRow("plan", plan.code, plan.name, {})
    strategies: dict[int, tuple[int, PipelineRow, dict[int, PipelineRow]]] = {}
    for record in records:
        strategy_id = record["project__task__strategy_id"]
        order, strategy_row, projects = strategies.setdefault(
            strategy_id,
            (
                record["project__task__strategy__order"],
                PipelineRow(
                    "strategy",
                    record["project__task__strategy__code"],
                    record["project__task__strategy__name"],
                    {"strategy": str(strategy_id)},
                ),
                {},
            ),
        )
        project_row = projects.setdefault(
            record["project_id"],
            PipelineRow(
                "project", record["project__code"], record["project__name"], {"project": str(record["project_id"])}
            ),
        )
        figures = project_row.stages[record["funding_stage"]]
        figures.asked += record["asked"]
        figures.passed += record["passed"]
        figures.dropped += max(0, record["closed_asked"] - record["passed"])
        figures.open += record["open_asked"]
        figures.milestones += record["milestones"]
        figures.open_milestones += record["open_milestones"]
    rows = [plan_row]
    for _order, strategy_row, projects in sorted(strategies.values(), key=lambda item: (item[0], item[1].code)):
        project_rows = sorted(projects.values(), key=lambda row: row.code)
        for project_row in project_rows:
            strategy_row.add(project_row)
        plan_row.add(strategy_row)
        rows += [strategy_row, *project_rows]
    return Pipeline(plan=plan, year=year, years=years, rows=rows)

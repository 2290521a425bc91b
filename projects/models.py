"""The plan and what is tracked of it: Plan → Strategy → Task → CoreProject → Milestone.

Money is stored in whole won (원) everywhere; screens show 억원 through ``projects.money``.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from projects.form_fields import EokField, SupportNeedsField
from projects.validators import validate_single_line
from tracker.dates import seoul_today

SAMPLE_PREFIX = "[예시]"
NOTE_MAX_LENGTH = 2000  # a milestone's note: a few paragraphs, not a pasted report
# A plan's milestones fall between the year before it was adopted and five years after its last project ends.
PLAN_YEARS_BEFORE = 1
PLAN_YEARS_AFTER = 5


class MoneyField(models.PositiveBigIntegerField):
    """An amount in whole won; the database refuses a negative one."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("help_text", _("원 단위로 저장합니다 (화면에는 억원으로 표시)."))
        super().__init__(*args, **kwargs)

    def formfield(self, **kwargs):
        # The model's help text speaks of won (how it is stored); a form speaks of 억원 (how it is typed).
        return super().formfield(**{"form_class": EokField, **kwargs, "help_text": ""})


class SupportNeedsJSONField(models.JSONField):
    """A list of ``CoreProject.Support`` values, edited as check boxes."""

    def formfield(self, **kwargs):
        return models.Field.formfield(
            self, **{"form_class": SupportNeedsField, "choices": self.model.Support.choices, **kwargs}
        )


class Plan(models.Model):
    code = models.SlugField(_("코드"), max_length=40, unique=True)
    name = models.CharField(_("계획명"), max_length=200, validators=[validate_single_line])
    name_en = models.CharField(_("계획명(영문)"), max_length=200, blank=True, validators=[validate_single_line])
    goal = models.TextField(_("목표"), blank=True)
    goal_en = models.TextField(_("목표(영문)"), blank=True)
    adopted_on = models.DateField(_("수립일"), null=True, blank=True)
    source = models.TextField(_("출처"), blank=True)
    announced_new_count = models.PositiveSmallIntegerField(_("발표 신규 사업 수"), default=0)
    announced_upgraded_count = models.PositiveSmallIntegerField(_("발표 고도화 사업 수"), default=0)
    announced_expanded_count = models.PositiveSmallIntegerField(_("발표 확대 사업 수"), default=0)

    class Meta:
        verbose_name = _("계획")
        verbose_name_plural = _("계획")
        ordering = ["-adopted_on", "code"]

    def __str__(self) -> str:
        return self.name

    def date_window(self) -> tuple[dt.date, dt.date]:
        """The dates a milestone of this plan may carry: 1 Jan of the year before adoption to 31 Dec five years
        after the latest project end year (or the adoption year, if later)."""
        first_year = (self.adopted_on or seoul_today()).year
        last_end = self.projects.aggregate(last=models.Max("end_year"))["last"] if self.pk else None
        last_year = max(first_year, last_end or first_year)
        return dt.date(first_year - PLAN_YEARS_BEFORE, 1, 1), dt.date(last_year + PLAN_YEARS_AFTER, 12, 31)


class Strategy(models.Model):
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="strategies", verbose_name=_("계획"))
    code = models.CharField(_("코드"), max_length=20, validators=[validate_single_line])
    order = models.PositiveSmallIntegerField(_("순서"), default=0)
    name = models.CharField(_("전략명"), max_length=200, validators=[validate_single_line])
    name_en = models.CharField(_("전략명(영문)"), max_length=200, blank=True, validators=[validate_single_line])
    announced_project_count = models.PositiveSmallIntegerField(_("발표 핵심사업 수"), default=0)
    announced_budget = MoneyField(_("발표 사업비"), default=0)
    lead = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="led_strategies",
        verbose_name=_("전략 책임자"),
    )

    class Meta:
        verbose_name = _("전략")
        verbose_name_plural = _("전략")
        ordering = ["plan", "order", "code"]
        constraints = [models.UniqueConstraint(fields=["plan", "code"], name="strategy_code_unique_in_plan")]

    def __str__(self) -> str:
        return f"{self.code}. {self.name}"


class Task(models.Model):
    """추진과제: the middle level of the plan."""

    strategy = models.ForeignKey(Strategy, on_delete=models.PROTECT, related_name="tasks", verbose_name=_("전략"))
    code = models.CharField(_("코드"), max_length=20, validators=[validate_single_line])
    order = models.PositiveSmallIntegerField(_("순서"), default=0)
    name = models.CharField(_("추진과제명"), max_length=200, validators=[validate_single_line])
    name_en = models.CharField(_("추진과제명(영문)"), max_length=200, blank=True, validators=[validate_single_line])
    is_inferred = models.BooleanField(
        _("추정 과제"),
        default=False,
        help_text=_("발표문에 과제 목록이 없어 전략 설명에서 추정한 과제입니다. TF가 이름을 고칠 수 있습니다."),
    )

    class Meta:
        verbose_name = _("추진과제")
        verbose_name_plural = _("추진과제")
        ordering = ["strategy__order", "order", "code"]
        constraints = [models.UniqueConstraint(fields=["strategy", "code"], name="task_code_unique_in_strategy")]

    def __str__(self) -> str:
        return f"{self.code}. {self.name}"


class Department(models.Model):
    """주관부서: a department of the city that leads projects."""

    name = models.CharField(_("부서명"), max_length=100, unique=True, validators=[validate_single_line])
    name_en = models.CharField(_("부서명(영문)"), max_length=100, blank=True, validators=[validate_single_line])

    class Meta:
        verbose_name = _("주관부서")
        verbose_name_plural = _("주관부서")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Organization(models.Model):
    """A partner outside the city: anchor company, public agency, university, research institute."""

    class Kind(models.TextChoices):
        COMPANY = "company", _("기업")
        PUBLIC_AGENCY = "public_agency", _("공공기관")
        UNIVERSITY = "university", _("대학")
        RESEARCH = "research", _("연구기관")
        OTHER = "other", _("기타")

    name = models.CharField(_("기관명"), max_length=200, unique=True, validators=[validate_single_line])
    name_en = models.CharField(_("기관명(영문)"), max_length=200, blank=True, validators=[validate_single_line])
    kind = models.CharField(_("유형"), max_length=20, choices=Kind.choices, default=Kind.OTHER)

    class Meta:
        verbose_name = _("협력기관")
        verbose_name_plural = _("협력기관")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class CoreProject(models.Model):
    """핵심사업: one of the plan's core projects, the unit project managers own."""

    class Category(models.TextChoices):
        NEW = "new", _("신규")
        UPGRADED = "upgraded", _("고도화")
        EXPANDED = "expanded", _("확대")

    class RagStatus(models.TextChoices):
        ON_TRACK = "on_track", _("정상")
        AT_RISK = "at_risk", _("주의")
        DELAYED = "delayed", _("지연")
        DONE = "done", _("완료")
        ON_HOLD = "on_hold", _("보류")

    class Support(models.TextChoices):
        FINANCE = "finance", _("재정")
        TAX = "tax", _("세제")
        FINANCING = "financing", _("금융")
        WORKFORCE = "workforce", _("인력")
        REGULATION = "regulation", _("규제")
        SITING = "siting", _("입지")

    plan = models.ForeignKey(
        Plan,
        on_delete=models.PROTECT,
        related_name="projects",
        verbose_name=_("계획"),
        editable=False,
        help_text=_("추진과제의 계획에서 정해집니다."),
    )
    task = models.ForeignKey(Task, on_delete=models.PROTECT, related_name="projects", verbose_name=_("추진과제"))
    code = models.CharField(_("사업코드"), max_length=30, validators=[validate_single_line])
    name = models.CharField(_("사업명"), max_length=300, validators=[validate_single_line])
    name_en = models.CharField(_("사업명(영문)"), max_length=300, blank=True, validators=[validate_single_line])
    description = models.TextField(_("사업 개요"), blank=True)
    category = models.CharField(_("구분"), max_length=20, choices=Category.choices, default=Category.NEW)
    lead_department = models.ForeignKey(
        Department,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="projects",
        verbose_name=_("주관부서"),
    )
    managers = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="managed_projects", verbose_name=_("사업 담당자")
    )
    partners = models.ManyToManyField(Organization, blank=True, related_name="projects", verbose_name=_("협력기관"))
    budget_total = MoneyField(_("총사업비"), null=True, blank=True, help_text=_("원 단위. 비어 있으면 미정입니다."))
    budget_national = MoneyField(_("국비"), default=0)
    budget_city = MoneyField(_("시비"), default=0)
    budget_private = MoneyField(_("민자"), default=0)
    start_year = models.PositiveSmallIntegerField(_("시작 연도"), null=True, blank=True)
    end_year = models.PositiveSmallIntegerField(_("종료 연도"), null=True, blank=True)
    government_programme = models.CharField(
        _("연계 정부사업"), max_length=300, blank=True, validators=[validate_single_line]
    )
    support_needs = SupportNeedsJSONField(
        _("요청 지원 패키지"),
        default=list,
        blank=True,
        help_text=_("재정·세제·금융·인력·규제·입지 중 요청하는 항목"),
    )
    rag_status = models.CharField(_("추진 상태"), max_length=20, choices=RagStatus.choices, default=RagStatus.ON_TRACK)
    is_flagship = models.BooleanField(_("대표 사업"), default=False)
    is_sample = models.BooleanField(
        _("예시 데이터"),
        default=False,
        editable=False,
        help_text=_("seed_demo가 만든 예시 사업입니다. 계획에서 온 사업이 아닙니다."),
    )
    created_at = models.DateTimeField(_("등록 시각"), auto_now_add=True)
    updated_at = models.DateTimeField(_("수정 시각"), auto_now=True)

    history = HistoricalRecords(m2m_fields=[managers, partners], verbose_name=_("핵심사업 변경 이력"))

    class Meta:
        verbose_name = _("핵심사업")
        verbose_name_plural = _("핵심사업")
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "code"], name="project_code_unique_in_plan"),
            models.CheckConstraint(
                condition=Q(start_year__isnull=True) | Q(end_year__isnull=True) | Q(end_year__gte=F("start_year")),
                name="project_end_year_not_before_start",
                violation_error_message=_("종료 연도는 시작 연도보다 앞설 수 없습니다."),
            ),
            models.CheckConstraint(
                condition=Q(budget_total__isnull=True)
                | Q(budget_total__gte=F("budget_national") + F("budget_city") + F("budget_private")),
                name="project_budget_split_within_total",
                violation_error_message=_("국비·시비·민자의 합은 총사업비를 넘을 수 없습니다."),
            ),
            models.CheckConstraint(
                condition=Q(is_sample=True, name__startswith=SAMPLE_PREFIX)
                | (Q(is_sample=False) & ~Q(name__startswith=SAMPLE_PREFIX)),
                name="project_sample_iff_prefixed",
                violation_error_message=_("예시 사업만 이름이 [예시]로 시작합니다."),
            ),
        ]
        indexes = [
            models.Index(fields=["plan", "rag_status"], name="project_plan_rag_idx"),
            # The project table's sorts on its own columns, each ending in its default order (code, then id), and
            # the milestone table's sorts by project code and name (projects/tables.py): read in order, no sort.
            models.Index(fields=["code", "id"], name="project_code_sort_idx"),
            *(
                models.Index(fields=[column, "code", "id"], name=f"project_{name}_sort_idx")
                for column, name in (
                    ("name", "name"),
                    ("category", "category"),
                    ("rag_status", "rag"),
                    ("budget_total", "budget"),
                    ("budget_national", "national"),
                )
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    def save(self, *args, **kwargs):
        self._set_plan_from_task()
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("projects:project", args=[self.pk])

    def validate_constraints(self, exclude=None) -> None:
        # plan and is_sample are never on a form but always set on the row: check the constraints that use them.
        super().validate_constraints(exclude=set(exclude or ()) - {"plan", "is_sample"})

    def _set_plan_from_task(self) -> None:
        if self.task_id:
            self.plan_id = Task.objects.values_list("strategy__plan_id", flat=True).get(pk=self.task_id)

    def clean(self) -> None:
        self._set_plan_from_task()
        unknown = set(self.support_needs or []) - set(self.Support.values)
        if unknown:
            raise ValidationError({"support_needs": _("알 수 없는 지원 항목: %s") % ", ".join(sorted(unknown))})

    @property
    def strategy(self) -> Strategy:
        return self.task.strategy

    def period_display(self) -> str:
        """사업 기간 as people write it: '2026~2030년', '2026년부터', '2030년까지', or '미정'."""
        start, end = self.start_year, self.end_year
        if start and end:
            return (
                _("%(start)s~%(end)s년") % {"start": start, "end": end}
                if start != end
                else _("%(year)s년") % {"year": start}
            )
        if start:
            return _("%(year)s년부터 (종료 미정)") % {"year": start}
        if end:
            return _("%(year)s년까지 (시작 미정)") % {"year": end}
        return _("미정")

    def support_needs_display(self) -> list[str]:
        labels = dict(self.Support.choices)
        return [str(labels.get(value, value)) for value in self.support_needs]


class MilestoneQuerySet(models.QuerySet):
    """The business phrases about milestones, one definition each (also usable as Q on history rows)."""

    def open(self) -> MilestoneQuerySet:
        return self.filter(Milestone.open_q())

    def overdue(self, today: dt.date) -> MilestoneQuerySet:
        return self.filter(Milestone.overdue_q(today))

    def due_within(self, today: dt.date, days: int) -> MilestoneQuerySet:
        return self.filter(Milestone.due_within_q(today, days))


class Milestone(models.Model):
    """A dated step a project must hit: a funding application, a contest bid, an agreement…"""

    class Kind(models.TextChoices):
        NATIONAL_FUNDING = "national_funding", _("국비 신청")
        PUBLIC_CONTEST = "public_contest", _("정부 공모")
        BUDGET_REFLECTION = "budget_reflection", _("정부 예산 반영")
        FEASIBILITY_STUDY = "feasibility_study", _("예비타당성조사")
        AGREEMENT = "agreement", _("협약")
        LEGAL = "legal", _("법·제도")
        CONSTRUCTION = "construction", _("착공·공사")
        OTHER = "other", _("기타")

    class Status(models.TextChoices):
        PLANNED = "planned", _("예정")
        IN_PROGRESS = "in_progress", _("진행 중")
        SUBMITTED = "submitted", _("제출 완료")
        ACHIEVED = "achieved", _("달성")
        MISSED = "missed", _("미달성")
        CANCELLED = "cancelled", _("취소")

    OPEN_STATUSES = (Status.PLANNED, Status.IN_PROGRESS, Status.SUBMITTED)
    CLOSED_STATUSES = (Status.ACHIEVED, Status.MISSED, Status.CANCELLED)
    FUNDING_KINDS = (Kind.NATIONAL_FUNDING, Kind.PUBLIC_CONTEST, Kind.BUDGET_REFLECTION)
    # What a person types about a milestone (forms, the admin, the services); status has its own actions.
    EDITABLE_FIELDS = (
        "kind",
        "title",
        "responsible_agency",
        "due_date",
        "amount_requested",
        "amount_secured",
        "owner",
        "notes",
    )

    # A milestone's own columns in the order every table of them shows (the admin's inline, the spreadsheet, the
    # portfolio's milestone table), each followed by the owner.
    ROW_FIELDS = (
        "kind",
        "title",
        "responsible_agency",
        "due_date",
        "status",
        "completed_on",
        "amount_requested",
        "amount_secured",
    )

    project = models.ForeignKey(
        CoreProject, on_delete=models.CASCADE, related_name="milestones", verbose_name=_("핵심사업")
    )
    kind = models.CharField(_("유형"), max_length=30, choices=Kind.choices, default=Kind.OTHER)
    title = models.CharField(_("마일스톤"), max_length=300, validators=[validate_single_line])
    responsible_agency = models.CharField(_("소관 부처"), max_length=100, blank=True, validators=[validate_single_line])
    due_date = models.DateField(_("기한"))
    status = models.CharField(_("상태"), max_length=20, choices=Status.choices, default=Status.PLANNED)
    completed_on = models.DateField(_("달성일"), null=True, blank=True)
    amount_requested = MoneyField(_("신청액"), null=True, blank=True)
    amount_secured = MoneyField(_("확보액"), null=True, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="owned_milestones",
        verbose_name=_("담당자"),
    )
    notes = models.TextField(
        _("비고"),
        blank=True,
        max_length=NOTE_MAX_LENGTH,
        validators=[MaxLengthValidator(NOTE_MAX_LENGTH)],
    )
    closed_at = models.DateTimeField(
        _("종료 시각"),
        null=True,
        blank=True,
        editable=False,
        help_text=_("달성·미달성·취소로 바뀐 시각. 다시 열 수 있는 기한(7일)을 여기서 잽니다."),
    )
    version = models.PositiveIntegerField(
        _("버전"),
        default=1,
        editable=False,
        help_text=_("저장할 때마다 늘어나 동시 수정을 알아챕니다."),
    )
    created_at = models.DateTimeField(_("등록 시각"), auto_now_add=True)
    updated_at = models.DateTimeField(_("수정 시각"), auto_now=True)

    objects = MilestoneQuerySet.as_manager()
    history = HistoricalRecords(verbose_name=_("마일스톤 변경 이력"))

    class Meta:
        verbose_name = _("마일스톤")
        verbose_name_plural = _("마일스톤")
        ordering = ["due_date", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status="achieved", completed_on__isnull=False)
                | (~Q(status="achieved") & Q(completed_on__isnull=True)),
                name="milestone_completed_on_iff_achieved",
                violation_error_message=_("달성일은 달성한 마일스톤에만, 반드시 입력합니다."),
            ),
        ]
        indexes = [
            # "What is due when": open milestones by due date (reminders, dashboards, my projects).
            models.Index(
                fields=["due_date"],
                condition=Q(status__in=["planned", "in_progress", "submitted"]),
                name="milestone_open_due_idx",
            ),
            models.Index(fields=["project", "due_date"], name="milestone_project_due_idx"),
            models.Index(fields=["owner", "due_date"], name="milestone_owner_due_idx"),
            models.Index(fields=["status", "due_date"], name="milestone_status_due_idx"),
            # The milestone table's default order over every milestone, open or not: read in order, no sort.
            models.Index(fields=["due_date", "id"], name="milestone_due_id_idx"),
            # The milestone table's other sorts, each ending in its default order (projects/tables.py): the first
            # page is read from the index instead of sorting every milestone. Status and owner sorts use the
            # indexes above (the id only breaks ties within a day).
            *(
                models.Index(fields=[column, "due_date", "id"], name=f"milestone_{name}_sort_idx")
                for column, name in (
                    ("kind", "kind"),
                    ("title", "title"),
                    ("responsible_agency", "agency"),
                    ("amount_requested", "requested"),
                    ("amount_secured", "secured"),
                )
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def save(self, *args, **kwargs):
        """Every save of an existing milestone bumps its version, so a stale form cannot overwrite it."""
        self.before_save()
        if not self._state.adding and kwargs.get("update_fields") is not None:
            kwargs["update_fields"] = {*kwargs["update_fields"], "version", "updated_at", "closed_at"}
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return self.url_for(project_id=self.project_id, milestone_id=self.pk)

    def before_save(self) -> None:
        """What every write of a milestone does first, ``save`` or an import's bulk write: the closing time
        stamped or forgotten, the version of an existing milestone bumped."""
        self._stamp_closed_at()
        if not self._state.adding:
            self.version += 1

    def _stamp_closed_at(self) -> None:
        """Closing (from anywhere: workspace, admin, import) records when; reopening forgets it."""
        if self.status in self.CLOSED_STATUSES:
            if self.closed_at is None:
                self.closed_at = timezone.now()
        else:
            self.closed_at = None

    def clean(self) -> None:
        """Dates inside the plan's window (docs/decisions.md); a completion date is never in the future."""
        if not self.project_id:
            return
        # An import checking thousands of milestones of one plan reads the plan's window once and hands it over.
        window = getattr(self, "_plan_date_window", None)
        if window is None:
            plan = Plan.objects.filter(projects__pk=self.project_id).first()
            if plan is None:
                return
            window = plan.date_window()
        first, last = window
        errors = {}
        window = {"first": first.isoformat(), "last": last.isoformat()}
        if self.due_date and not first <= self.due_date <= last:
            errors["due_date"] = _("기한은 %(first)s부터 %(last)s 사이여야 합니다.") % window
        if self.completed_on:
            if self.completed_on > seoul_today():
                errors["completed_on"] = _("달성일은 오늘보다 늦을 수 없습니다.")
            elif self.completed_on < first:
                errors["completed_on"] = _("달성일은 %(first)s 이후여야 합니다.") % window
        if errors:
            raise ValidationError(errors)

    @staticmethod
    def url_for(*, project_id: int, milestone_id: int) -> str:
        """A milestone's row on its project page (also for a history row, which has the same ids)."""
        return reverse("projects:project", args=[project_id]) + f"#milestone-{milestone_id}"

    @classmethod
    def open_q(cls, prefix: str = "") -> Q:
        """Open: planned, in progress or submitted (not achieved, missed or cancelled)."""
        return Q(**{f"{prefix}status__in": cls.OPEN_STATUSES})

    @classmethod
    def overdue_q(cls, today: dt.date, prefix: str = "") -> Q:
        """Overdue: still open and due before ``today``."""
        return cls.open_q(prefix) & Q(**{f"{prefix}due_date__lt": today})

    @classmethod
    def due_within_q(cls, today: dt.date, days: int, prefix: str = "") -> Q:
        """Upcoming: still open and due from ``today`` to ``days`` days later, both included."""
        return cls.open_q(prefix) & Q(
            **{f"{prefix}due_date__gte": today, f"{prefix}due_date__lte": today + dt.timedelta(days=days)}
        )

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES

    @property
    def is_funding(self) -> bool:
        """Funding milestones record the amount secured when they are achieved."""
        return self.kind in self.FUNDING_KINDS


class ProgressUpdate(models.Model):
    """A project manager's weekly note: one per project per ISO week (Asia/Seoul)."""

    project = models.ForeignKey(
        CoreProject, on_delete=models.CASCADE, related_name="progress_updates", verbose_name=_("핵심사업")
    )
    week_start = models.DateField(_("주 시작일(월)"), help_text=_("ISO 주의 월요일 (Asia/Seoul)"))
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="progress_updates",
        verbose_name=_("작성자"),
    )
    summary = models.TextField(_("추진 내용"))
    blockers = models.TextField(_("애로 사항"), blank=True)
    next_steps = models.TextField(_("향후 계획"), blank=True)
    rag_status = models.CharField(_("추진 상태"), max_length=20, choices=CoreProject.RagStatus.choices)
    created_at = models.DateTimeField(_("작성 시각"), auto_now_add=True)
    updated_at = models.DateTimeField(_("수정 시각"), auto_now=True)

    history = HistoricalRecords(verbose_name=_("주간 진행 보고 변경 이력"))

    class Meta:
        verbose_name = _("주간 진행 보고")
        verbose_name_plural = _("주간 진행 보고")
        ordering = ["-week_start", "project"]
        constraints = [
            models.UniqueConstraint(fields=["project", "week_start"], name="one_progress_update_per_week"),
            models.CheckConstraint(
                condition=Q(week_start__iso_week_day=1),
                name="progress_week_starts_monday",
                violation_error_message=_("주 시작일은 월요일이어야 합니다."),
            ),
        ]
        indexes = [models.Index(fields=["week_start"], name="progress_week_idx")]

    def __str__(self) -> str:
        return f"{self.project.code} {self.week_start:%G-W%V}"


class MilestoneTemplate(models.Model):
    """A standard sequence of milestones (the national budget calendar, a public contest) applied to a project."""

    class Basis(models.TextChoices):
        FISCAL_YEAR = "fiscal_year", _("회계연도 (국가 예산 일정)")
        ENTERED_DATES = "entered_dates", _("적용할 때 입력하는 날짜 (공모 일정)")

    code = models.SlugField(_("코드"), max_length=40, unique=True)
    name = models.CharField(_("템플릿명"), max_length=200, validators=[validate_single_line])
    basis = models.CharField(_("날짜 기준"), max_length=20, choices=Basis.choices)
    description = models.TextField(_("설명"), blank=True)
    order = models.PositiveSmallIntegerField(_("순서"), default=0)
    is_active = models.BooleanField(_("사용"), default=True, help_text=_("끄면 사업 화면에서 고를 수 없습니다."))

    class Meta:
        verbose_name = _("마일스톤 템플릿")
        verbose_name_plural = _("마일스톤 템플릿")
        ordering = ["order", "name"]

    def __str__(self) -> str:
        return self.name


class MilestoneTemplateStep(models.Model):
    """One milestone a template creates: its title, kind and agency, and the rule that gives its date."""

    class DateRule(models.TextChoices):
        CALENDAR = "calendar", _("회계연도 기준 날짜 (월·일)")
        ENTERED = "entered", _("적용할 때 입력하는 날짜")

    template = models.ForeignKey(
        MilestoneTemplate, on_delete=models.CASCADE, related_name="steps", verbose_name=_("템플릿")
    )
    order = models.PositiveSmallIntegerField(_("순서"), default=0)
    title = models.CharField(
        _("마일스톤 이름"),
        max_length=300,
        help_text=_("{year}는 회계연도, {name}은 적용할 때 입력하는 이름(예: 공모명)으로 바뀝니다."),
        validators=[validate_single_line],
    )
    kind = models.CharField(_("유형"), max_length=30, choices=Milestone.Kind.choices)
    responsible_agency = models.CharField(
        _("소관 부처"),
        max_length=100,
        blank=True,
        help_text=_("비우면 적용할 때 입력한 소관 부처를 씁니다."),
        validators=[validate_single_line],
    )
    date_rule = models.CharField(_("날짜 정하는 법"), max_length=20, choices=DateRule.choices)
    year_offset = models.SmallIntegerField(
        _("연도 (회계연도 기준)"),
        default=-1,
        help_text=_("-1이면 회계연도의 전년도입니다 (예: 2027 회계연도 → 2026년)."),
    )
    month = models.PositiveSmallIntegerField(_("월"), null=True, blank=True)
    day = models.PositiveSmallIntegerField(_("일"), null=True, blank=True)
    date_label = models.CharField(
        _("입력 칸 이름"), max_length=100, blank=True, help_text=_("예: 공고일"), validators=[validate_single_line]
    )
    date_required = models.BooleanField(_("날짜 입력 필수"), default=False)
    days_after_previous = models.PositiveSmallIntegerField(
        _("입력하지 않으면 앞 단계 후 며칠"),
        null=True,
        blank=True,
        help_text=_("날짜를 입력하지 않았을 때 앞 단계 날짜에 더할 날 수. 비우면 그 단계는 만들지 않습니다."),
    )
    feasibility_study_only = models.BooleanField(
        _("예타 대상 사업만"), default=False, help_text=_("예비타당성조사가 필요한 사업에만 만듭니다.")
    )
    notes = models.TextField(_("비고"), blank=True, help_text=_("만든 마일스톤의 비고로 들어갑니다."))

    class Meta:
        verbose_name = _("템플릿 단계")
        verbose_name_plural = _("템플릿 단계")
        ordering = ["template", "order", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(date_rule="entered") | Q(month__gte=1, month__lte=12, day__gte=1, day__lte=31),
                name="template_step_calendar_has_month_day",
                violation_error_message=_("회계연도 기준 날짜에는 월(1~12)과 일(1~31)이 있어야 합니다."),
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def title_for_people(self) -> str:
        """The title with its placeholders spelled out ('○○○○년 국비 신청', '(공모명) 신청 마감')."""
        return self.title.replace("{year}", str(_("○○○○"))).replace("{name}", str(_("(공모명)")))

    def clean(self) -> None:
        if self.date_rule == self.DateRule.CALENDAR and self.month and self.day:
            try:
                dt.date(2023, self.month, self.day)  # a year without 29 February: the date must exist every year
            except ValueError:
                raise ValidationError({"day": _("해마다 있는 날짜가 아닙니다.")}) from None


class ImportJob(models.Model):
    """A large spreadsheet import run by a Celery worker: checked in chunks (progress shown in the admin), then,
    once the admin confirms, imported all or nothing (projects.spreadsheets.jobs)."""

    class Kind(models.TextChoices):
        PROJECTS = "projects", _("핵심사업")
        MILESTONES = "milestones", _("마일스톤")

    class Status(models.TextChoices):
        QUEUED = "queued", _("검사 대기")
        CHECKING = "checking", _("검사 중")
        CHECKED = "checked", _("확정 대기")
        CONFIRMED = "confirmed", _("가져오기 대기")
        IMPORTING = "importing", _("가져오는 중")
        SUCCEEDED = "succeeded", _("완료")
        REFUSED = "refused", _("거부")
        FAILED = "failed", _("실패")
        CANCELLED = "cancelled", _("취소")

    RUNNING_STATUSES = (Status.QUEUED, Status.CHECKING, Status.CONFIRMED, Status.IMPORTING)

    kind = models.CharField(_("종류"), max_length=20, choices=Kind.choices)
    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="import_jobs", verbose_name=_("계획"))
    file_name = models.CharField(_("파일 이름"), max_length=255)
    # The uploaded file, kept in the database (the one store the web and the workers share; no file system is
    # shared between containers) until the job ends, then emptied.
    content = models.BinaryField(_("파일 내용"), null=True, editable=False)
    status = models.CharField(_("상태"), max_length=20, choices=Status.choices, default=Status.QUEUED)
    rows_total = models.PositiveIntegerField(_("전체 행"), default=0)
    rows_done = models.PositiveIntegerField(_("처리한 행"), default=0)
    created_count = models.PositiveIntegerField(_("새로 만듦"), default=0)
    updated_count = models.PositiveIntegerField(_("고침"), default=0)
    unchanged_count = models.PositiveIntegerField(_("그대로"), default=0)
    problems = models.JSONField(_("거부 이유"), default=list, blank=True, editable=False)
    error = models.TextField(_("오류"), blank=True, editable=False)
    certificate = models.TextField(blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("올린 사람"),
    )
    created_at = models.DateTimeField(_("올린 시각"), auto_now_add=True)
    started_at = models.DateTimeField(_("시작 시각"), null=True, blank=True)
    finished_at = models.DateTimeField(_("끝난 시각"), null=True, blank=True)
    updated_at = models.DateTimeField(_("마지막 진행"), auto_now=True)

    class Meta:
        verbose_name = _("가져오기 작업")
        verbose_name_plural = _("가져오기 작업")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.get_kind_display()})"

    @property
    def is_running(self) -> bool:
        return self.status in self.RUNNING_STATUSES

    @property
    def percent(self) -> int:
        """How far the check has got, in whole percent."""
        if not self.rows_total:
            return 0
        return min(100, self.rows_done * 100 // self.rows_total)

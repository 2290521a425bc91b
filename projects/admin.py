"""The Django admin, for the city's admins (시 담당 주무관) who load and keep the portfolio.

Built to stay fast with tens of thousands of milestones: no full result counts, related rows joined in
the changelist query, autocomplete instead of long drop-downs, and filters with a handful of choices.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from projects.admin_scope import ProjectScopedAdminMixin, ProjectScopedInlineMixin
from projects.milestone_templates.admin import MilestoneTemplateActionMixin, MilestoneTemplateAdmin
from projects.models import (
    CoreProject,
    Department,
    ImportJob,
    Milestone,
    MilestoneTemplate,
    Organization,
    Plan,
    ProgressUpdate,
    Strategy,
    Task,
)
from projects.money import format_eok
from projects.permissions import is_portfolio_admin
from projects.services import milestone_validate_reason, milestone_validate_reopen, milestone_validate_status_move
from projects.spreadsheets.admin import PortfolioImportExportMixin
from projects.spreadsheets.columns import MILESTONES, CoreProjectResource, MilestoneResource
from projects.spreadsheets.jobs import import_job_cancel, import_job_confirm
from tracker.dates import seoul_today


class DueDateFilter(admin.SimpleListFilter):
    """Open milestones by how soon they are due, counted from today in Asia/Seoul."""

    title = _("기한")
    parameter_name = "due"

    def lookups(self, request, model_admin):
        return [
            ("overdue", _("기한 지남 (미완료)")),
            ("7", _("7일 이내")),
            ("30", _("30일 이내")),
            ("90", _("90일 이내")),
        ]

    def queryset(self, request, queryset: QuerySet[Milestone]):
        today = seoul_today()
        if self.value() == "overdue":
            return queryset.overdue(today)
        if self.value() in {"7", "30", "90"}:
            return queryset.due_within(today, int(self.value()))
        return queryset


class SampleDataFilter(admin.SimpleListFilter):
    title = _("데이터 출처")
    parameter_name = "source"
    field_path = "is_sample"

    def lookups(self, request, model_admin):
        return [("plan", _("계획·실데이터")), ("sample", _("예시 데이터"))]

    def queryset(self, request, queryset):
        if self.value() in {"plan", "sample"}:
            return queryset.filter(**{self.field_path: self.value() == "sample"})
        return queryset


class ProjectSampleDataFilter(SampleDataFilter):
    field_path = "project__is_sample"


class MilestoneAdminForm(forms.ModelForm):
    """The admin follows the workspace's rules: the status rule (services.milestone_validate_status_move), a
    reason for 미달성 and 취소, and reopening a final status only with a reason (services.milestone_validate_reopen)."""

    reason = forms.CharField(
        label=_("사유"),
        max_length=300,
        required=False,
        help_text=_("미달성·취소로 바꾸거나 닫힌 마일스톤을 다시 열 때 반드시 적습니다. 변경 이력에 남습니다."),
    )
    request_user = None  # set by MilestoneAdmin.get_form

    class Meta:
        model = Milestone
        fields = ["project", *Milestone.EDITABLE_FIELDS, "status", "completed_on"]

    def clean(self):
        cleaned = super().clean()
        if "status" not in self.fields or "status" not in cleaned:
            return cleaned
        status, reason = cleaned["status"], cleaned.get("reason", "")
        before = self.instance.status if self.instance.pk else Milestone.Status.PLANNED
        self.reopening = bool(self.instance.pk) and before in Milestone.CLOSED_STATUSES and status != before
        try:
            if self.reopening:
                if status not in Milestone.OPEN_STATUSES:
                    raise ValidationError(
                        {"status": _("닫힌 마일스톤은 먼저 다시 열어야(예정·진행 중·제출 완료) 합니다.")}
                    )
                milestone_validate_reopen(self.request_user, self.instance, reason)
            else:
                milestone_validate_status_move(before, status)
                if status != before or not self.instance.pk:
                    milestone_validate_reason(status, reason)
        except PermissionDenied as error:
            raise ValidationError(str(error)) from error
        except ValidationError as error:
            for field, errors in error.message_dict.items():
                self.add_error(field if field in self.fields else None, errors)
        return cleaned

    def change_reason(self) -> str:
        reason = self.cleaned_data.get("reason", "").strip()
        if getattr(self, "reopening", False):
            return str(_("다시 열기: %(reason)s")) % {"reason": reason}
        return reason


class TaskInline(admin.TabularInline):
    model = Task
    extra = 0
    fields = ["code", "order", "name", "name_en", "is_inferred"]


class StrategyInline(admin.TabularInline):
    model = Strategy
    extra = 0
    fields = ["code", "order", "name", "announced_project_count", "announced_budget", "lead"]
    autocomplete_fields = ["lead"]


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "adopted_on", "announced_budget_total"]
    search_fields = ["name", "name_en", "code"]
    inlines = [StrategyInline]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("strategies")

    @admin.display(description=_("발표 사업비 합계"))
    def announced_budget_total(self, plan: Plan) -> str:
        return format_eok(sum(strategy.announced_budget for strategy in plan.strategies.all()))


@admin.register(Strategy)
class StrategyAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "plan", "announced_project_count", "announced_budget_eok", "lead"]
    list_select_related = ["plan", "lead"]
    list_filter = ["plan"]
    search_fields = ["code", "name", "name_en"]
    autocomplete_fields = ["lead"]
    inlines = [TaskInline]

    @admin.display(description=_("발표 사업비"), ordering="announced_budget")
    def announced_budget_eok(self, strategy: Strategy) -> str:
        return format_eok(strategy.announced_budget)


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "strategy", "is_inferred"]
    list_select_related = ["strategy"]
    list_filter = ["strategy__plan", "strategy", "is_inferred"]
    search_fields = ["code", "name", "name_en", "strategy__name"]


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ["name", "name_en"]
    search_fields = ["name", "name_en"]


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "name_en"]
    list_filter = ["kind"]
    search_fields = ["name", "name_en"]


class MilestoneInline(ProjectScopedInlineMixin, admin.TabularInline):
    """Status and completion are changed on the milestone's own page, which asks for the reason they need."""

    model = Milestone
    form = MilestoneAdminForm
    extra = 0
    readonly_fields = ["status", "completed_on"]
    fields = [*Milestone.ROW_FIELDS, "owner"]
    autocomplete_fields = ["owner"]
    show_change_link = True


@admin.register(CoreProject)
class CoreProjectAdmin(
    ProjectScopedAdminMixin, PortfolioImportExportMixin, MilestoneTemplateActionMixin, SimpleHistoryAdmin
):
    project_field = ""
    admin_only_fields = ("managers", "task", "code")
    resource_classes = [CoreProjectResource]
    list_display = [
        "code",
        "name",
        "strategy_code",
        "task",
        "category",
        "lead_department",
        "rag_status",
        "budget_total_eok",
        "is_flagship",
        "is_sample",
    ]
    list_display_links = ["code", "name"]
    list_select_related = ["task__strategy", "lead_department"]
    list_filter = [
        "task__strategy",
        "category",
        "rag_status",
        "is_flagship",
        SampleDataFilter,
        "lead_department",
    ]
    search_fields = ["code", "name", "name_en", "government_programme"]
    autocomplete_fields = ["task", "lead_department", "managers", "partners"]
    readonly_fields = ["plan", "is_sample", "created_at", "updated_at"]
    show_full_result_count = False
    list_per_page = 50
    inlines = [MilestoneInline]
    fieldsets = [
        (None, {"fields": ["plan", "task", "code", "name", "name_en", "category", "is_flagship", "is_sample"]}),
        (_("추진 체계"), {"fields": ["lead_department", "managers", "partners", "rag_status"]}),
        (
            _("사업비와 기간"),
            {"fields": ["budget_total", "budget_national", "budget_city", "budget_private", "start_year", "end_year"]},
        ),
        (_("정부 연계"), {"fields": ["government_programme", "support_needs", "description"]}),
        (_("기록"), {"fields": ["created_at", "updated_at"]}),
    ]

    @admin.display(description=_("전략"), ordering="task__strategy__order")
    def strategy_code(self, project: CoreProject) -> str:
        return project.task.strategy.code

    @admin.display(description=_("총사업비"), ordering="budget_total")
    def budget_total_eok(self, project: CoreProject) -> str:
        return format_eok(project.budget_total)


@admin.register(Milestone)
class MilestoneAdmin(ProjectScopedAdminMixin, PortfolioImportExportMixin, SimpleHistoryAdmin):
    resource_classes = [MilestoneResource]
    portfolio_kind = MILESTONES
    form = MilestoneAdminForm
    list_display = [
        "title",
        "project_code",
        "kind",
        "responsible_agency",
        "due_date",
        "status",
        "amount_requested_eok",
        "amount_secured_eok",
        "owner",
    ]
    list_select_related = ["project", "owner__profile"]
    list_filter = [DueDateFilter, "status", "kind", "project__task__strategy", ProjectSampleDataFilter]
    search_fields = ["title", "responsible_agency", "project__code", "project__name", "owner__profile__name"]
    autocomplete_fields = ["project", "owner"]
    readonly_fields = ["closed_at", "created_at", "updated_at"]
    show_full_result_count = False
    list_per_page = 50
    ordering = ["due_date", "id"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        return type(form.__name__, (form,), {"request_user": request.user})

    def save_model(self, request, obj, form, change):
        obj._change_reason = form.change_reason()
        super().save_model(request, obj, form, change)

    @admin.display(description=_("사업코드"), ordering="project__code")
    def project_code(self, milestone: Milestone) -> str:
        return milestone.project.code

    @admin.display(description=_("신청액"), ordering="amount_requested")
    def amount_requested_eok(self, milestone: Milestone) -> str:
        return format_eok(milestone.amount_requested, undecided="-")

    @admin.display(description=_("확보액"), ordering="amount_secured")
    def amount_secured_eok(self, milestone: Milestone) -> str:
        return format_eok(milestone.amount_secured, undecided="-")


@admin.register(ProgressUpdate)
class ProgressUpdateAdmin(ProjectScopedAdminMixin, SimpleHistoryAdmin):
    list_display = ["project", "week_label", "rag_status", "author", "updated_at"]
    list_select_related = ["project", "author"]
    list_filter = ["rag_status", "week_start", "project__task__strategy"]
    search_fields = ["project__code", "project__name", "summary", "blockers"]
    autocomplete_fields = ["project", "author"]
    readonly_fields = ["created_at", "updated_at"]
    show_full_result_count = False

    @admin.display(description=_("주차"), ordering="week_start")
    def week_label(self, update: ProgressUpdate) -> str:
        return f"{update.week_start:%G-W%V} ({update.week_start:%m.%d}~)"


admin.site.register(MilestoneTemplate, MilestoneTemplateAdmin)


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    """Large imports run by a worker: the list to come back to, and each job's page with its progress bar."""

    list_display = ["file_name", "kind", "status", "progress", "created_by", "created_at", "finished_at"]
    list_filter = ["status", "kind"]
    list_select_related = ["created_by"]
    show_full_result_count = False

    def has_module_permission(self, request) -> bool:
        return is_portfolio_admin(request.user)

    def has_view_permission(self, request, obj=None) -> bool:
        return is_portfolio_admin(request.user)

    def has_add_permission(self, request) -> bool:
        return False  # a job is made by uploading a large file on the project or milestone import page

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return is_portfolio_admin(request.user) and (obj is None or not obj.is_running)

    def get_actions(self, request):
        # The bulk delete asks no job whether a worker is running it: a job is deleted from its own page.
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def get_queryset(self, request):
        return super().get_queryset(request).defer("content")

    @admin.display(description=_("진행"))
    def progress(self, job: ImportJob) -> str:
        return f"{job.rows_done:,} / {job.rows_total:,} ({job.percent}%)"

    def change_view(self, request, object_id, form_url="", extra_context=None):
        """The job's page: progress while it runs (the page reloads itself), then the result; confirm or cancel
        a checked job."""
        job = self.get_object(request, object_id)
        if job is None:
            raise Http404
        if not self.has_view_permission(request, job):
            raise PermissionDenied
        if request.method == "POST":
            action = request.POST.get("action")
            if action == "confirm" and import_job_confirm(job=job, user=request.user):
                messages.info(request, _("가져오기를 시작했습니다. 끝나면 이 화면에 결과가 나옵니다."))
            elif action == "cancel" and import_job_cancel(job=job):
                messages.info(request, _("가져오기를 취소했습니다. 아무것도 바뀌지 않았습니다."))
            else:
                messages.warning(request, _("이 작업은 지금 확정하거나 취소할 수 없습니다."))
            return redirect(request.path)
        import_url = "admin:projects_{}_import".format(
            "coreproject" if job.kind == ImportJob.Kind.PROJECTS else "milestone"
        )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": str(job),
            "job": job,
            "import_url": import_url,
            "refresh_seconds": 2 if job.is_running else None,
            **(extra_context or {}),
        }
        return TemplateResponse(request, "admin/projects/importjob/progress.html", context)

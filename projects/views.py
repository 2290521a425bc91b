"""The project managers' workspace and the pages everyone reads. Every rule is asked of permissions/services."""

from __future__ import annotations

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods
from django_tables2 import RequestConfig

from projects import history, selectors, services, table_exports
from projects.charts import trend_svg, trend_svg_data_uri
from projects.filters import MilestoneFilter, ProjectFilter
from projects.forms import (
    AchieveForm,
    CancelForm,
    MilestoneForm,
    MissForm,
    ProgressUpdateForm,
    ReopenForm,
    RescheduleForm,
    VersionedForm,
)
from projects.funding import STAGES, funding_years
from projects.funding import funding_pipeline as funding_pipeline_build
from projects.models import CoreProject, Milestone, Plan, ProgressUpdate
from projects.paging import table_configure
from projects.permissions import (
    can_change_project,
    ensure_can_change_project,
    ensure_can_read_portfolio,
    managed_project_ids,
)
from projects.row_messages import notes_message, row_message, split_row_messages
from projects.tables import MilestoneTable, PortfolioMilestoneTable, PortfolioProjectTable, ProjectDeadlineTable
from projects.timeline import timeline_build
from projects.trends import dashboard_trends, figures_from_rollups
from tracker.dates import seoul_now, seoul_today, week_start
from tracker.pdf import pdf_response


def portfolio_reader(view):
    """Signed in, and holding a role that reads the portfolio (403 otherwise)."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs):
        ensure_can_read_portfolio(request.user)
        return view(request, *args, **kwargs)

    return wrapper


@portfolio_reader
def home(request: HttpRequest) -> HttpResponse:
    """Project managers land on their own projects; everyone else on the portfolio's dashboard."""
    if managed_project_ids(request.user):
        return redirect("projects:my_projects")
    return redirect("projects:dashboard")


@portfolio_reader
def my_projects(request: HttpRequest) -> HttpResponse:
    table = ProjectDeadlineTable(selectors.my_projects(user=request.user, today=seoul_today()))
    table_configure(request, table)
    return render(request, "projects/my_projects.html", {"table": table})


EXPORT_FORMATS = ("csv", "xlsx")


def _table_response(request: HttpRequest, table, *, template: str, context: dict, export_name: str) -> HttpResponse:
    """Render a filtered table, or export all its filtered rows (?_export=csv|xlsx) with Korean headers."""
    export_format = request.GET.get("_export")
    if export_format in EXPORT_FORMATS:
        RequestConfig(request, paginate=False).configure(table)
        plan = table_exports.export_plan(table)
        filename = f"{export_name}-{seoul_today().isoformat()}.{export_format}"
        if export_format == "csv":
            return table_exports.csv_response(plan, filename=filename)
        return table_exports.xlsx_response(plan, filename=filename, title=export_name)
    table_configure(request, table)
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, template, {**context, "table": table, "query": query.urlencode()})


@portfolio_reader
def portfolio(request: HttpRequest) -> HttpResponse:
    """All core projects, filtered and sortable, exportable to CSV and XLSX."""
    queryset = selectors.projects_with_deadlines(
        CoreProject.objects.only(*PortfolioProjectTable.row_fields).order_by("code"), today=seoul_today()
    )
    filterset = ProjectFilter(request.GET or None, queryset=queryset)
    table = PortfolioProjectTable(filterset.qs)
    return _table_response(
        request, table, template="projects/portfolio.html", context={"filter": filterset}, export_name="projects"
    )


@portfolio_reader
def milestones(request: HttpRequest) -> HttpResponse:
    """All milestones across the portfolio, filtered and sortable, exportable to CSV and XLSX."""
    queryset = (
        Milestone.objects.select_related("project__task__strategy", "owner__profile")
        .only(*PortfolioMilestoneTable.row_fields)
        .order_by("due_date", "pk")
    )
    filterset = MilestoneFilter(request.GET or None, queryset=queryset)
    table = PortfolioMilestoneTable(filterset.qs)
    return _table_response(
        request, table, template="projects/milestones.html", context={"filter": filterset}, export_name="milestones"
    )


@portfolio_reader
def timeline(request: HttpRequest) -> HttpResponse:
    """Milestones of the next twelve months by strategy and project, with today marked and overdue in red."""
    queryset = Milestone.objects.exclude(status=Milestone.Status.CANCELLED)
    filterset = MilestoneFilter(request.GET or None, queryset=queryset)
    chart = timeline_build(milestones=filterset.qs, today=seoul_today(), page_number=request.GET.get("page", 1))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "projects/timeline.html", {"chart": chart, "filter": filterset, "query": query.urlencode()})


def _dashboard_context(request: HttpRequest, *, pdf: bool = False) -> dict:
    """The roll-up of a plan (the newest one unless ?plan=code) and its twelve-week trends, for page and PDF."""
    plans = Plan.objects.order_by("-adopted_on", "code")
    plan = plans.filter(code=request.GET["plan"]).first() if request.GET.get("plan") else plans.first()
    if plan is None:
        raise Http404(_("계획이 없습니다."))
    now = seoul_now()
    rows = selectors.plan_dashboard(plan=plan, today=now.date())
    trends = dashboard_trends(plan=plan, now=now, current=figures_from_rollups(rows))
    draw = trend_svg_data_uri if pdf else trend_svg
    # matplotlib's own SVG (or its data: URI), never user input
    charts = [(trend, mark_safe(draw(trend, compact=index > 0))) for index, trend in enumerate(trends)]
    return {"plan": plan, "rows": rows, "today": now.date(), "charts": charts, "pdf": pdf}


@portfolio_reader
def dashboard(request: HttpRequest) -> HttpResponse:
    """Roll-up of a plan: by strategy and task, every number a link, and the last twelve weeks as pictures."""
    return render(request, "projects/dashboard.html", _dashboard_context(request))


@portfolio_reader
def dashboard_pdf(request: HttpRequest) -> HttpResponse:
    """The dashboard as an A4 PDF, from the same table and pictures as the page."""
    context = _dashboard_context(request, pdf=True)
    return pdf_response(
        "projects/dashboard_pdf.html", context, f"dashboard-{context['plan'].code}-{context['today']:%Y-%m-%d}.pdf"
    )


@portfolio_reader
def project_detail(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        project = selectors.project_for_page(pk=pk)
    except CoreProject.DoesNotExist as error:
        raise Http404 from error
    can_change = can_change_project(request.user, project)
    milestone_rows = list(selectors.project_milestones(project=project))
    page_messages, row_messages = split_row_messages(request, milestone_rows)
    table = MilestoneTable(milestone_rows, can_change=can_change, row_messages=row_messages, user=request.user)
    RequestConfig(request, paginate=False).configure(table)
    this_week = week_start(seoul_today())
    notes = selectors.project_notes(project=project)
    return render(
        request,
        "projects/project_detail.html",
        {
            "project": project,
            "can_change": can_change,
            "milestones": table,
            "page_messages": page_messages,
            "notes_messages": row_messages.get("notes", []),
            "notes": notes,
            "this_week": this_week,
            "has_note_this_week": any(note.week_start == this_week for note in notes),
            "history": history.project_history(project=project, limit=15),
        },
    )


@portfolio_reader
def project_history(request: HttpRequest, pk: int) -> HttpResponse:
    project = get_object_or_404(CoreProject, pk=pk)
    entries = history.project_history(project=project, limit=200)
    return render(request, "projects/project_history.html", {"project": project, "history": entries})


@portfolio_reader
@require_http_methods(["GET", "POST"])
def milestone_create(request: HttpRequest, pk: int) -> HttpResponse:
    project = get_object_or_404(CoreProject, pk=pk)
    ensure_can_change_project(request.user, project)
    form = MilestoneForm(request.POST or None, project=project)
    if request.method == "POST" and form.is_valid():
        try:
            milestone = services.milestone_create(project=project, user=request.user, **form.changes())
        except ValidationError as error:
            form.add_error(None, error)
        else:
            row_message(
                request,
                milestone,
                messages.SUCCESS,
                _("마일스톤 '%(title)s'을(를) 추가했습니다.") % {"title": milestone.title},
            )
            return redirect(milestone.get_absolute_url())
    return render(request, "projects/milestone_form.html", {"form": form, "project": project})


@portfolio_reader
@require_http_methods(["GET", "POST"])
def milestone_edit(request: HttpRequest, pk: int) -> HttpResponse:
    milestone = get_object_or_404(Milestone.objects.select_related("project"), pk=pk)
    project = milestone.project
    ensure_can_change_project(request.user, project)
    form = MilestoneForm(request.POST or None, instance=milestone, project=project)
    conflict = None
    if request.method == "POST" and form.is_valid():
        seen_version = form.cleaned_data["version"] or milestone.version
        try:
            milestone = services.milestone_update(
                milestone_id=milestone.pk, user=request.user, expected_version=seen_version, changes=form.changes()
            )
        except services.MilestoneConflict as error:
            conflict = history.milestone_changes_since(milestone=error.current, version=seen_version)
            # Re-bind the person's own input to the current version: saving again re-applies it on purpose.
            data = request.POST.copy()
            data["version"] = str(error.current.version)
            form = MilestoneForm(data, instance=error.current, project=project)
            form.is_valid()
        except ValidationError as error:
            form.add_error(None, error)
        else:
            row_message(
                request,
                milestone,
                messages.SUCCESS,
                _("마일스톤 '%(title)s'을(를) 저장했습니다.") % {"title": milestone.title},
            )
            return redirect(milestone.get_absolute_url())
    return render(
        request,
        "projects/milestone_form.html",
        {"form": form, "project": project, "milestone": milestone, "conflict": conflict},
        status=409 if conflict is not None else 200,
    )


REOPEN = "reopen"
MILESTONE_ACTIONS = {
    # action: (its form, the status it moves to; None moves the due date, REOPEN undoes a final status)
    "start": (VersionedForm, Milestone.Status.IN_PROGRESS),
    "submit": (VersionedForm, Milestone.Status.SUBMITTED),
    "achieve": (AchieveForm, Milestone.Status.ACHIEVED),
    "miss": (MissForm, Milestone.Status.MISSED),
    "cancel": (CancelForm, Milestone.Status.CANCELLED),
    "reschedule": (RescheduleForm, None),
    REOPEN: (ReopenForm, REOPEN),
}
SUCCESS_MESSAGES = {
    "start": gettext_lazy("'%(title)s'을(를) 진행 중으로 표시했습니다."),
    "submit": gettext_lazy("'%(title)s'을(를) 제출 완료로 표시했습니다."),
    "achieve": gettext_lazy("'%(title)s'을(를) 달성으로 표시했습니다."),
    "miss": gettext_lazy(
        "'%(title)s'을(를) 미달성으로 표시했습니다. 잘못 표시했다면 7일 안에 '다시 열기'로 되돌릴 수 있습니다."
    ),
    "cancel": gettext_lazy(
        "'%(title)s'을(를) 취소했습니다. 잘못 취소했다면 7일 안에 '다시 열기'로 되돌릴 수 있습니다."
    ),
    "reschedule": gettext_lazy("'%(title)s'의 기한을 %(due)s(으)로 옮겼습니다."),
    REOPEN: gettext_lazy("'%(title)s'을(를) 다시 열었습니다 (%(status)s)."),
}


def _action_available(action: str, milestone: Milestone, user) -> str:
    """Why this action cannot be taken on this milestone now ('' when it can)."""
    if action == REOPEN:
        if milestone.is_open:
            return _("열려 있는 마일스톤입니다. 다시 열 필요가 없습니다.")
        if not services.milestone_can_reopen(user, milestone):
            return _("닫은 지 %(days)d일이 지나 관리자만 다시 열 수 있습니다. 관리자에게 요청하세요.") % {
                "days": services.MILESTONE_REOPEN_DAYS
            }
        return ""
    if not milestone.is_open:
        return _("이미 '%(status)s' 상태인 마일스톤입니다. 잘못 닫았다면 '다시 열기'를 쓰세요.") % {
            "status": milestone.get_status_display()
        }
    _form_class, status = MILESTONE_ACTIONS[action]
    if status not in (None, REOPEN) and not services.milestone_status_move_allowed(milestone.status, status):
        return _("'%(current)s'에서 '%(new)s'(으)로 바꿀 수 없습니다.") % {
            "current": milestone.get_status_display(),
            "new": Milestone.Status(status).label,
        }
    return ""


def _apply_action(action: str, milestone: Milestone, user, data: dict) -> Milestone:
    _form_class, status = MILESTONE_ACTIONS[action]
    common = {"milestone_id": milestone.pk, "user": user, "expected_version": data["version"]}
    if status is None:
        return services.milestone_reschedule(**common, due_date=data["due_date"], reason=data["reason"])
    if status == REOPEN:
        return services.milestone_reopen(**common, reason=data["reason"])
    return services.milestone_set_status(
        **common,
        status=status,
        completed_on=data.get("completed_on"),
        amount_secured=data.get("amount_secured"),
        reason=data.get("reason", ""),
    )


@portfolio_reader
@require_http_methods(["GET", "POST"])
def milestone_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """The milestone actions. GET shows the action's form on its own page (the confirmation that 미달성, 취소 and
    다시 열기 need, with their reason); POST acts, and the answer appears in the milestone's row."""
    if action not in MILESTONE_ACTIONS:
        raise Http404
    milestone = get_object_or_404(Milestone.objects.select_related("project"), pk=pk)
    ensure_can_change_project(request.user, milestone.project)
    form_class, _status = MILESTONE_ACTIONS[action]
    form = form_class(
        request.POST or None,
        initial={
            "version": milestone.version,
            "completed_on": seoul_today().isoformat(),
            "due_date": milestone.due_date.isoformat(),
        },
    )
    # GET explains up front why an action is not open to this milestone; POST leaves the verdict to the service.
    unavailable = "" if request.method == "POST" else _action_available(action, milestone, request.user)
    if request.method == "POST" and form.is_valid():
        try:
            updated = _apply_action(action, milestone, request.user, form.cleaned_data)
        except services.MilestoneConflict:
            row_message(
                request,
                milestone,
                messages.ERROR,
                _("다른 사용자가 그사이 이 마일스톤을 바꿨습니다. 아래 바뀐 내용을 확인한 뒤 다시 처리하세요."),
                seen_version=form.cleaned_data["version"],
            )
            return redirect(milestone.get_absolute_url())
        except PermissionDenied as error:
            form.add_error(None, str(error))
        except ValidationError as error:
            if not form.visible_fields():
                # A one-click button has no field to put the error next to: it goes in the row.
                row_message(request, milestone, messages.ERROR, " ".join(error.messages))
                return redirect(milestone.get_absolute_url())
            _add_errors(form, error)
        else:
            text = SUCCESS_MESSAGES[action] % {
                "title": updated.title,
                "due": updated.due_date.isoformat(),
                "status": updated.get_status_display(),
            }
            row_message(request, updated, messages.SUCCESS, text)
            return redirect(updated.get_absolute_url())
    return render(
        request,
        "projects/milestone_action.html",
        {
            "form": form,
            "milestone": milestone,
            "project": milestone.project,
            "action": action,
            "unavailable": unavailable,
            "reopen_deadline": services.milestone_reopen_deadline(milestone),
            "reopen_days": services.MILESTONE_REOPEN_DAYS,
        },
        status=400 if form.is_bound else 200,
    )


@portfolio_reader
@require_http_methods(["GET", "POST"])
def progress_note(request: HttpRequest, pk: int) -> HttpResponse:
    """This week's note for a project: written, or edited, during the week (Asia/Seoul)."""
    project = get_object_or_404(CoreProject, pk=pk)
    ensure_can_change_project(request.user, project)
    this_week = week_start(seoul_today())
    existing = ProgressUpdate.objects.filter(project=project, week_start=this_week).first()
    form = ProgressUpdateForm(
        request.POST or None, instance=existing, initial=None if existing else {"rag_status": project.rag_status}
    )
    if request.method == "POST" and form.is_valid():
        services.progress_update_save(project=project, user=request.user, **form.cleaned_data)
        notes_message(request, messages.SUCCESS, _("이번 주 진행 보고를 저장했습니다."))
        return redirect(project.get_absolute_url() + "#notes")
    return render(
        request,
        "projects/progress_note_form.html",
        {"form": form, "project": project, "this_week": this_week, "existing": existing},
    )


def _add_errors(form, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error)


@portfolio_reader
def funding_pipeline(request: HttpRequest) -> HttpResponse:
    """National funding of one fiscal year by stage of the budget calendar, per strategy and project."""
    plans = Plan.objects.order_by("-adopted_on", "code")
    plan = plans.filter(code=request.GET["plan"]).first() if request.GET.get("plan") else plans.first()
    if plan is None:
        raise Http404(_("계획이 없습니다."))
    years = funding_years(plan=plan)
    today = seoul_today()
    try:
        year = int(request.GET["year"])
    except (KeyError, ValueError):
        upcoming = [year for year in years if year > today.year]
        year = upcoming[0] if upcoming else (years[-1] if years else today.year + 1)
    pipeline = funding_pipeline_build(plan=plan, year=year)
    return render(
        request,
        "projects/funding_pipeline.html",
        {"pipeline": pipeline, "today": today, "stages": STAGES, "milestones_url": reverse("projects:milestones")},
    )

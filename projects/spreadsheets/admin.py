"""The portfolio spreadsheet in the admin, mixed into projects.admin.

Import: upload → preview (what will be created, changed, left alone, and every refused row) → confirm, through
django-import-export and the column sets in projects.spreadsheets.columns. Export: a button and an action, in exactly
the import's columns. A blank template file to download.
"""

from __future__ import annotations

from itertools import islice

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import BadRequest, PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from import_export.admin import ExportActionMixin, ImportMixin
from import_export.formats import base_formats
from import_export.forms import ConfirmImportForm, ExportForm, ImportForm
from import_export.signals import post_export

from projects.models import ImportJob, Plan
from projects.permissions import is_portfolio_admin
from projects.spreadsheets.columns import DEFAULT_PLAN_CODE, PROJECTS, kind_label
from projects.spreadsheets.files import (
    XLSX_CONTENT_TYPE,
    PortfolioFileError,
    PortfolioFileFormat,
    blank_template,
    one_read_per_file,
)
from projects.spreadsheets.jobs import import_job_create, sheet_rows
from projects.spreadsheets.safety import neutralise
from projects.spreadsheets.uploads import UploadHygieneMixin, too_large_message, upload_check
from projects.table_exports import csv_rows_response, xlsx_sheets_response
from tracker.dates import seoul_today

# The preview's table shows the first rows that create or change something (the counts above it are of all of them).
PREVIEW_ROWS = 1000


class PortfolioImportForm(ImportForm):
    plan = forms.ModelChoiceField(label=gettext_lazy("계획"), queryset=Plan.objects.all(), empty_label=None)
    field_order = ["resource", "import_file", "format", "plan"]

    def __init__(self, formats, resources, oversized: bool = False, **kwargs):
        super().__init__(formats, resources, **kwargs)
        self.oversized = oversized
        default = Plan.objects.filter(code=DEFAULT_PLAN_CODE).first()
        if default is not None:
            self.fields["plan"].initial = default.pk
        self.fields["import_file"].help_text = gettext_lazy(
            "XLSX, 또는 UTF-8·CP949로 저장한 CSV. 한 행이라도 잘못되면 파일 전체를 가져오지 않습니다."
        )

    def clean_import_file(self):
        upload = self.cleaned_data["import_file"]
        try:
            upload_check(upload)
        except PortfolioFileError as error:
            raise forms.ValidationError(str(error)) from error
        return upload

    def clean(self):
        cleaned = super().clean()
        if self.oversized:  # dropped while it arrived (UploadSizeLimitHandler): say why, not "required"
            self.errors.pop("import_file", None)
            self.add_error("import_file", too_large_message())
        return cleaned


class PortfolioConfirmImportForm(ConfirmImportForm):
    plan = forms.ModelChoiceField(queryset=Plan.objects.all(), widget=forms.HiddenInput)
    # The preview's signed result (projects.spreadsheets.previews): the confirm imports only the rows it names.
    certificate = forms.CharField(required=False, widget=forms.HiddenInput)


class PortfolioImportExportMixin(UploadHygieneMixin, ImportMixin, ExportActionMixin):
    """django-import-export for the portfolio: our file format, Korean problems, the plan, a blank template."""

    portfolio_kind = PROJECTS
    import_export_change_list_template = "admin/projects/portfolio_change_list.html"
    import_template_name = "admin/projects/portfolio_import.html"
    import_form_class = PortfolioImportForm
    confirm_form_class = PortfolioConfirmImportForm
    export_form_class = ExportForm  # the import's columns, all of them: no choosing
    show_change_form_export = False

    def get_import_formats(self):
        return [PortfolioFileFormat]

    def get_export_formats(self):
        return [base_formats.XLSX, base_formats.CSV]

    def has_import_permission(self, request: HttpRequest) -> bool:
        return is_portfolio_admin(request.user)

    def has_export_permission(self, request: HttpRequest) -> bool:
        return self.has_view_permission(request)

    def get_import_resource_kwargs(self, request, **kwargs):
        form = kwargs.get("form")
        cleaned = getattr(form, "cleaned_data", {}) if form is not None else {}
        return {"plan": cleaned.get("plan"), "certificate": cleaned.get("certificate") or ""}

    def import_action(self, request, **kwargs):
        """The preview; its certificate goes into the confirm form, so the confirm need not redo its work.
        A file of more than IMPORT_BACKGROUND_ROWS rows becomes a background job instead (jobs.py). The upload is
        read once: counting its rows and the preview share what was read (``one_read_per_file``)."""
        with one_read_per_file():
            if request.method == "POST" and self.has_import_permission(request):
                job = self._background_job(request)
                if job is not None:
                    messages.info(
                        request,
                        _(
                            "%(rows)s행짜리 파일이라 백그라운드에서 검사합니다. 이 화면을 떠났다가 돌아와도 진행 "
                            "상황을 볼 수 있습니다 (관리 → 가져오기 작업)."
                        )
                        % {"rows": f"{job.rows_total:,}"},
                    )
                    return redirect(reverse("admin:projects_importjob_change", args=[job.pk]))
            response = super().import_action(request, **kwargs)
        context = getattr(response, "context_data", None) or {}
        result, confirm_form = context.get("result"), context.get("confirm_form")
        if result is not None and not result.has_errors():
            changing = (row for row in result.valid_rows() if row.import_type in ("new", "update"))
            context["preview_rows"] = list(islice(changing, PREVIEW_ROWS))
            context["preview_rows_cut"] = result.created + result.updated > PREVIEW_ROWS
        if confirm_form is not None and getattr(result, "certificate", ""):
            confirm_form.initial["certificate"] = result.certificate
        return response

    def _background_job(self, request: HttpRequest) -> ImportJob | None:
        """A job for a valid upload of more rows than the request should check; None for anything else."""
        form = self.create_import_form(request)
        if not form.is_valid():
            return None
        upload = form.cleaned_data["import_file"]
        upload.seek(0)
        content = upload.read()
        upload.seek(0)
        rows = sheet_rows(content=content, kind=self.portfolio_kind)
        if rows <= settings.IMPORT_BACKGROUND_ROWS:
            return None
        return import_job_create(
            content=content,
            file_name=upload.name or "",
            kind=self.portfolio_kind,
            plan=form.cleaned_data["plan"],
            user=request.user,
            rows=rows,
        )

    def get_export_resource_kwargs(self, request, **kwargs):
        return {}

    def get_confirm_form_initial(self, request, import_form):
        initial = super().get_confirm_form_initial(request, import_form)
        if import_form is not None:
            initial["plan"] = import_form.cleaned_data["plan"].pk
        return initial

    def add_data_read_fail_error_to_form(self, form, e):
        if isinstance(e, PortfolioFileError):
            form.add_error("import_file", str(e))
        else:
            form.add_error(
                "import_file",
                _("파일을 읽을 수 없습니다 (%(error)s). XLSX나 CSV 파일인지 확인해 주세요.")
                % {"error": type(e).__name__},
            )

    def get_import_context_data(self, **kwargs):
        context = super().get_import_context_data(**kwargs)
        context["portfolio_kind_label"] = kind_label(self.portfolio_kind)
        return context

    def process_result(self, result, request):
        """The confirm step re-checks everything; if the data changed since the preview, nothing is saved."""
        if result.has_errors():
            messages.error(
                request,
                _("가져오기를 거부했습니다. 아무것도 바뀌지 않았습니다. %(problems)s")
                % {"problems": " / ".join(str(problem) for problem in result.problems[:10])},
            )
            return redirect(
                reverse("admin:{}_{}_import".format(*self.get_model_info()), current_app=self.admin_site.name)
            )
        return super().process_result(result, request)

    def add_success_message(self, result, request):
        messages.success(
            request,
            _("%(kind)s 가져오기를 마쳤습니다: 새로 만듦 %(created)d, 고침 %(updated)d, 그대로 %(unchanged)d.")
            % {
                "kind": kind_label(self.portfolio_kind),
                "created": result.created,
                "updated": result.updated,
                "unchanged": result.unchanged,
            },
        )

    def get_export_queryset(self, request):
        """The changelist's filters; unknown query parameters are a bad request, not a server error."""
        try:
            return super().get_export_queryset(request)
        except IncorrectLookupParameters as error:
            raise BadRequest(_("목록 조건이 올바르지 않습니다.")) from error

    def _do_file_export(self, file_format, request, queryset, export_form=None):
        """The export, streamed so that no size of portfolio waits on one response: each row is written as the
        import's column set dehydrates it (CSV straight to the client, XLSX row by row into a temporary file).
        Dates and amounts go into an XLSX file as dates and numbers, into a CSV file as formula-safe text.
        (django-import-export builds the whole file in memory first: 21 s for 71,000 milestones.)"""
        if not self.has_export_permission(request):
            raise PermissionDenied
        resource_class = self.choose_export_resource_class(export_form, request)
        resource = resource_class(**self.get_export_resource_kwargs(request))
        native = file_format.is_binary()
        queryset = resource.filter_export(queryset)
        headers = resource.get_export_headers()
        rows = (
            resource.export_resource(instance, force_native_type=native)
            for instance in resource.iter_queryset(queryset)
        )
        filename = self.get_export_filename(request, queryset, file_format)
        if native:
            sheet = (kind_label(resource.sheet_kind), headers, rows)
            response = xlsx_sheets_response([sheet], filename=filename, formatted=True)
        else:
            safe_rows = ([neutralise(value) for value in row] for row in rows)
            response = csv_rows_response([neutralise(header) for header in headers], safe_rows, filename=filename)
        post_export.send(sender=None, model=self.model)
        return response

    def get_export_filename(self, request, queryset, file_format):
        return f"{self.portfolio_kind}-{seoul_today().isoformat()}.{file_format.get_extension()}"

    def get_urls(self):
        info = self.get_model_info()
        return [
            path(
                "import-template/",
                self.admin_site.admin_view(self.import_template_view),
                name="{}_{}_import_template".format(*info),
            ),
            *super().get_urls(),
        ]

    def import_template_view(self, request: HttpRequest) -> HttpResponse:
        """The blank file to fill in: the import's headers (and, in XLSX, a sheet explaining every column)."""
        if not self.has_import_permission(request):
            raise PermissionDenied
        file_format = "csv" if request.GET.get("format") == "csv" else "xlsx"
        content = blank_template(kind=self.portfolio_kind, file_format=file_format)
        content_type = "text/csv; charset=utf-8" if file_format == "csv" else XLSX_CONTENT_TYPE
        response = HttpResponse(content, content_type=content_type)
        response["Content-Disposition"] = content_disposition_header(
            True, f"{self.portfolio_kind}-template.{file_format}"
        )
        return response

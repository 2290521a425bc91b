"""django-filter FilterSets of the portfolio tables. The dashboard links into them with the same parameters."""

from __future__ import annotations

import django_filters
from django import forms
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from projects.funding import STAGES, funding_annotate
from projects.models import CoreProject, Department, Milestone, ProgressUpdate, Strategy, Task
from projects.selectors import UPCOMING_DAYS
from tracker.dates import seoul_today, week_start
from tracker.form_renderer import WidgetRenderer
from tracker.html import escaped


class FilterForm(forms.Form):
    """The filter forms are drawn on every table page: their widgets, and the rows that hold them, are written
    without the template engine."""

    default_renderer = WidgetRenderer()

    @property
    def fields_html(self) -> str:
        """The fields of projects/_filter_form.html, each in its row: the label, the widget and any errors, as the
        template's loop wrote them (the newlines and indents included)."""
        rows = []
        for field in self:
            errors = field.errors
            state = " has-error" if errors else ""
            shown = f'<div class="errors">{escaped(errors)}</div>' if errors else ""
            label = f'<label for="{escaped(field.id_for_label)}">{escaped(field.label)}</label>'
            rows.append(f'\n      <div class="field{state}">{label}{escaped(field)}{shown}</div>\n    ')
        return mark_safe("".join(rows))  # noqa: S308 (labels and ids escaped, widgets and errors are markup)


class _ListedChoices(django_filters.fields.ModelChoiceIterator):
    """A short list of choices read in one statement. Django reads them with ``iterator()``, which on PostgreSQL is a
    server-side cursor: DECLARE, FETCH, FETCH and CLOSE, four round trips for a few dozen rows."""

    def __iter__(self):
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        if self.field.null_label is not None:
            yield (self.field.null_value, self.field.null_label)
        for obj in self.queryset.all():
            yield self.choice(obj)


class _ListedChoiceField(django_filters.fields.ModelChoiceField):
    iterator = _ListedChoices


class ModelChoiceFilter(django_filters.ModelChoiceFilter):
    """A choice of strategy, task or department (a few dozen rows at most)."""

    field_class = _ListedChoiceField


def _people(field: str, value: str) -> Q:
    """A person typed as a user name, e-mail or (part of a) name: a text box, not a list of every user."""
    value = value.strip()
    return (
        Q(**{f"{field}__username__iexact": value})
        | Q(**{f"{field}__email__iexact": value})
        | Q(**{f"{field}__first_name__icontains": value})
        | Q(**{f"{field}__last_name__icontains": value})
    )


class PortfolioFilterSet(django_filters.FilterSet):
    """Filters both tables share; ``prefix`` is the path from the filtered model to the project."""

    prefix = ""

    # The lists read only what their options show ("S1. 이름", "S1-1. 이름", the department's name).
    strategy = ModelChoiceFilter(
        label=_("전략"), queryset=Strategy.objects.only("code", "name"), method="filter_strategy"
    )
    task = ModelChoiceFilter(label=_("추진과제"), queryset=Task.objects.only("code", "name"), method="filter_task")
    category = django_filters.ChoiceFilter(
        label=_("구분"), choices=CoreProject.Category.choices, method="filter_category"
    )
    department = ModelChoiceFilter(
        label=_("주관부서"), queryset=Department.objects.only("name"), method="filter_department"
    )
    rag_status = django_filters.ChoiceFilter(
        label=_("추진 상태"), choices=CoreProject.RagStatus.choices, method="filter_rag_status"
    )
    manager = django_filters.CharFilter(label=_("사업 담당자 (아이디·이메일·이름)"), method="filter_manager")

    def _project(self, queryset: QuerySet, lookup: str, value) -> QuerySet:
        if value in (None, ""):
            return queryset
        return queryset.filter(**{f"{self.prefix}{lookup}": value})

    def filter_strategy(self, queryset, name, value):
        return self._project(queryset, "task__strategy", value)

    def filter_task(self, queryset, name, value):
        return self._project(queryset, "task", value)

    def filter_category(self, queryset, name, value):
        return self._project(queryset, "category", value)

    def filter_department(self, queryset, name, value):
        return self._project(queryset, "lead_department", value)

    def filter_rag_status(self, queryset, name, value):
        return self._project(queryset, "rag_status", value)

    def filter_manager(self, queryset, name, value):
        if not value.strip():
            return queryset
        managed = CoreProject.objects.filter(_people("managers", value)).values("pk")
        return queryset.filter(**{f"{self.prefix}pk__in": managed})


class ProjectFilter(PortfolioFilterSet):
    q = django_filters.CharFilter(label=_("검색"), method="filter_text")
    note_this_week = django_filters.ChoiceFilter(
        label=_("이번 주 보고"),
        choices=[("yes", _("있음")), ("no", _("없음"))],
        method="filter_note_this_week",
    )
    is_sample = django_filters.BooleanFilter(label=_("예시 데이터"), widget=forms.NullBooleanSelect)

    class Meta:
        model = CoreProject
        form = FilterForm
        fields = ["strategy", "task", "category", "department", "rag_status", "manager", "is_sample"]

    def filter_text(self, queryset, name, value):
        words = value.split()
        for word in words:
            queryset = queryset.filter(
                Q(code__icontains=word) | Q(name__icontains=word) | Q(government_programme__icontains=word)
            )
        return queryset

    def filter_note_this_week(self, queryset, name, value):
        has_note = Exists(ProgressUpdate.objects.filter(project=OuterRef("pk"), week_start=week_start(seoul_today())))
        return queryset.filter(has_note if value == "yes" else ~has_note)


class MilestoneFilter(PortfolioFilterSet):
    prefix = "project__"

    q = django_filters.CharFilter(label=_("검색"), method="filter_text")
    kind = django_filters.MultipleChoiceFilter(
        label=_("유형"), choices=Milestone.Kind.choices, widget=forms.CheckboxSelectMultiple
    )
    status = django_filters.MultipleChoiceFilter(
        label=_("상태"), choices=Milestone.Status.choices, widget=forms.CheckboxSelectMultiple
    )
    due = django_filters.ChoiceFilter(
        label=_("기한"),
        choices=[("overdue", _("기한 지남 (미완료)")), ("upcoming", _("30일 이내 (미완료)"))],
        method="filter_due",
    )
    due_date = django_filters.DateFromToRangeFilter(
        label=_("기한 범위"), widget=django_filters.widgets.DateRangeWidget(attrs={"type": "date"})
    )
    responsible_agency = django_filters.CharFilter(label=_("소관 부처"), lookup_expr="icontains")
    owner = django_filters.CharFilter(label=_("마일스톤 담당자 (아이디·이메일·이름)"), method="filter_owner")
    # The funding pipeline's links (projects/funding.py): one fiscal year, one stage of the budget calendar.
    funding_year = django_filters.NumberFilter(label=_("국비 회계연도"), method="filter_in_queryset")
    funding_stage = django_filters.ChoiceFilter(label=_("국비 단계"), choices=STAGES, method="filter_in_queryset")
    project = django_filters.NumberFilter(field_name="project_id", widget=forms.HiddenInput)

    class Meta:
        model = Milestone
        form = FilterForm
        fields = ["strategy", "task", "category", "department", "rag_status", "manager", "kind", "status"]

    def filter_text(self, queryset, name, value):
        for word in value.split():
            queryset = queryset.filter(
                Q(title__icontains=word) | Q(project__code__icontains=word) | Q(project__name__icontains=word)
            )
        return queryset

    def filter_in_queryset(self, queryset, name, value):
        return queryset  # applied together in filter_queryset: both read the same annotation

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        year = self.form.cleaned_data.get("funding_year")
        stage = self.form.cleaned_data.get("funding_stage")
        if year or stage:
            staged = funding_annotate(Milestone.objects.all())
            if year:
                staged = staged.filter(funding_year=year)
            if stage:
                staged = staged.filter(funding_stage=stage)
            queryset = queryset.filter(pk__in=staged.values("pk"))
        return queryset

    def filter_owner(self, queryset, name, value):
        return queryset.filter(_people("owner", value)) if value.strip() else queryset

    def filter_due(self, queryset, name, value):
        today = seoul_today()
        if value == "overdue":
            return queryset.overdue(today)
        if value == "upcoming":
            return queryset.due_within(today, UPCOMING_DAYS)
        return queryset

"""The table pages' filter forms: widgets written in Python (tracker.form_renderer) are exactly what Django's widget
templates write, and the short lists of choices are read in one statement each."""

from __future__ import annotations

from unittest import mock

import pytest
from django.db import connection
from django.forms.renderers import DjangoTemplates
from django.template import Context, Template
from django.utils import translation

from projects.filters import MilestoneFilter, ProjectFilter
from projects.funding import STAGES
from projects.models import CoreProject, Department, Milestone
from tests.factories import CoreProjectFactory, StrategyFactory, TaskFactory

pytestmark = pytest.mark.django_db

DATA = [
    None,
    {},
    {"sort": "-due_date", "page": "3"},
    {
        "q": 'x" onmouseover="alert(1)',
        "strategy": "chosen",
        "task": "chosen",
        "category": CoreProject.Category.NEW,
        "department": "chosen",
        "rag_status": CoreProject.RagStatus.AT_RISK,
        "manager": "<b>홍길동</b>",
        "note_this_week": "no",
        "is_sample": "true",
        "kind": [Milestone.Kind.NATIONAL_FUNDING, Milestone.Kind.PUBLIC_CONTEST],
        "status": [Milestone.Status.PLANNED],
        "due": "overdue",
        "due_date_after": "2026-01-01",
        "due_date_before": "2026-12-31",
        "responsible_agency": "과학기술정보통신부 & 해양수산부",
        "owner": "kim@example.com",
        "funding_year": "2027",
        "funding_stage": STAGES[1][0],
        "project": "7",
    },
    # Values no form accepts: the errors are shown beside the same widgets.
    {"strategy": "999", "kind": ["nonsense"], "due_date_after": "tomorrow", "funding_year": "soon", "is_sample": "x"},
]


@pytest.fixture
def choices(db) -> dict[str, str]:
    """A strategy, task and department with names to escape; the ids that the filled-in form chooses."""
    strategy = StrategyFactory(code="S<1>", name='전략 "하나" & 둘')
    StrategyFactory()
    task = TaskFactory(strategy=strategy, code="T1", name="<i>과제</i>")
    department = Department.objects.create(name="해양 & 수산과 <본청>")
    CoreProjectFactory(task=task, lead_department=department)
    return {"strategy": str(strategy.pk), "task": str(task.pk), "department": str(department.pk)}


@pytest.mark.parametrize("filter_class", [ProjectFilter, MilestoneFilter])
@pytest.mark.parametrize("data", DATA, ids=range(len(DATA)))
@pytest.mark.parametrize("language", ["ko", "en"])
def test_filter_widgets_are_what_djangos_templates_write(choices, filter_class, data, language):
    stock = DjangoTemplates()
    if data:
        data = {key: choices[key] if value == "chosen" else value for key, value in data.items()}
    with translation.override(language):
        form = filter_class(data, queryset=filter_class._meta.model.objects.all()).form
        form.is_valid()
        for field in form:
            ours = str(field)
            form.renderer = stock
            theirs = str(field)
            form.renderer = filter_class._meta.form.default_renderer
            assert ours == theirs, field.name


def test_the_filter_choices_are_read_without_a_server_side_cursor(choices, django_assert_num_queries):
    """Strategies, tasks and departments: one SELECT each, not iterator()'s DECLARE, FETCH, FETCH and CLOSE."""
    form = MilestoneFilter({"sort": "owner"}, queryset=Milestone.objects.all()).form
    with (
        mock.patch.object(connection, "chunked_cursor", side_effect=AssertionError("server-side cursor")),
        django_assert_num_queries(3),
    ):
        html = "".join(str(field) for field in form)
    assert "해양 &amp; 수산과 &lt;본청&gt;" in html


# The loop projects/_filter_form.html held before FilterForm.fields_html wrote it.
FIELDS_LOOP = """{% for field in form %}
      <div class="field{% if field.errors %} has-error{% endif %}"><label for="{{ field.id_for_label }}">{{ field.label }}</label>{{ field }}{% if field.errors %}<div class="errors">{{ field.errors }}</div>{% endif %}</div>
    {% endfor %}"""  # noqa: E501 (the template's line as it was)


@pytest.mark.parametrize("filter_class", [ProjectFilter, MilestoneFilter])
@pytest.mark.parametrize("data", DATA, ids=range(len(DATA)))
@pytest.mark.parametrize("language", ["ko", "en"])
def test_the_filter_rows_are_what_the_template_loop_wrote(choices, filter_class, data, language):
    """Labels, widgets and errors, row by row, character for character."""
    if data:
        data = {key: choices[key] if value == "chosen" else value for key, value in data.items()}
    with translation.override(language):
        form = filter_class(data, queryset=filter_class._meta.model.objects.all()).form
        form.is_valid()
        ours = form.fields_html
        assert ours == Template(FIELDS_LOOP).render(Context({"form": form}))
    assert ("has-error" in ours) == bool(data and "nonsense" in str(data))

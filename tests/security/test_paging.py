"""Audit finding 4: bad paging values answer 200 with the nearest valid page, never a 500 or every row."""

from __future__ import annotations

import pytest
from django.urls import reverse

from projects.models import CoreProject, Milestone
from tests.factories import CoreProjectFactory, MilestoneFactory

pytestmark = pytest.mark.django_db

PAGES = ["projects:portfolio", "projects:milestones", "projects:my_projects", "projects:timeline"]


@pytest.fixture
def many_rows(owner):
    """230 projects managed by the owner and 230 milestones, written in bulk."""
    first = CoreProjectFactory(managers=[owner])
    more = CoreProject.objects.bulk_create(
        CoreProject(
            task=first.task,
            plan=first.plan,
            code=f"B-{n:04d}",
            name=f"사업 {n}",
            lead_department_id=first.lead_department_id,
        )
        for n in range(229)
    )
    CoreProject.managers.through.objects.bulk_create(
        CoreProject.managers.through(coreproject_id=project.pk, user_id=owner.pk) for project in more
    )
    template = MilestoneFactory.build(project=first)
    Milestone.objects.bulk_create(
        Milestone(project=first, kind=template.kind, title=f"마일스톤 {n}", due_date=template.due_date)
        for n in range(230)
    )


@pytest.fixture
def owner_client(client, owner):
    client.force_login(owner)
    return client


BAD_QUERIES = [
    "per_page=-1",
    "per_page=0",
    "per_page=100000",
    "per_page=abc",
    "per_page=1e3",
    "page=-1",
    "page=0",
    "page=999999",
    "page=abc",
    "page=99999999999999999999999",
    "sort=nonexistent",
]


@pytest.mark.parametrize("page", PAGES)
def test_bad_paging_values_answer_200(owner_client, many_rows, page):
    for query in BAD_QUERIES:
        response = owner_client.get(f"{reverse(page)}?{query}")
        assert response.status_code == 200, query
        table = response.context.get("table")
        if table is not None:
            assert 1 <= len(table.page.object_list) <= 200, query


@pytest.mark.parametrize("page", ["projects:portfolio", "projects:milestones"])
def test_per_page_is_capped_at_200_and_held_at_10_and_the_nearest_page_is_shown(owner_client, many_rows, page):
    def shown(query: str):
        table = owner_client.get(f"{reverse(page)}?{query}").context["table"]
        return table.page.number, len(table.page.object_list)

    assert shown("per_page=100000") == (1, 200)
    assert shown("per_page=-1") == (1, 10)
    assert shown("per_page=0") == (1, 10)
    assert shown("per_page=100000&page=999") == (2, 30)
    assert shown("page=-3") == (1, 25)

"""tests/seeded.py writes back exactly the rows load_seeds and seed_demo wrote, and the app goes on from there."""

from __future__ import annotations

import pytest
from django.db import transaction

from projects.models import CoreProject, Milestone
from tests import seeded
from tests.factories import MilestoneFactory, UserFactory


@pytest.mark.django_db
def test_the_replayed_rows_are_the_rows_the_commands_wrote_and_new_rows_get_new_ids():
    with transaction.atomic():
        seeded.plan_and_demo_load()  # the commands (the first time in this process) or the replay
        transaction.set_rollback(True)
    copy, before = seeded._copy, seeded._rows()
    assert copy is not None and sum(len(rows) for rows in copy.added.values()) > 1000

    seeded.plan_and_demo_load()  # the same day, the same rows to start from: the replay

    assert seeded._copy is copy
    assert seeded._rows() == {model: {**rows, **copy.added[model]} for model, rows in before.items()}
    assert CoreProject.objects.filter(is_sample=True).count() > 40
    newest = max(copy.added[Milestone])
    assert MilestoneFactory(project=CoreProject.objects.first(), owner=UserFactory()).pk > newest

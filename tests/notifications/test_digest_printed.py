"""The printed digest is bounded: each list prints its first items and says how many more the page in the app
has, with its address; the missing-notes summary names the departments with the most and counts the rest."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from notifications.digest import DEPARTMENTS_SHOWN, PDF_ITEMS, Scope, digest_build, digest_pdf, digest_printed
from projects import services
from projects.models import Department
from tests.factories import CoreProjectFactory, TaskFactory
from tests.notifications import test_digest as hand_counted
from tests.notifications.test_digest_report import pdf_pages

pytestmark = pytest.mark.django_db

W47, at = hand_counted.W47, hand_counted.at
week = hand_counted.week  # and tf_head, from tests/conftest.py


@pytest.fixture
def crowded_week(week, owner):
    """The hand-counted week plus 40 projects of S2 whose week-47 notes say 주의, and 7 departments with projects
    that wrote no note (one, two, … seven projects each)."""
    s2 = week.strategies.get(code="S2")
    with time_machine.travel(at(dt.date(2026, 11, 10)), tick=False):
        task = TaskFactory(strategy=s2)
        flagged = [CoreProjectFactory(task=task, code=f"F-{n:02d}", managers=[owner]) for n in range(40)]
        for n in range(7):
            department = Department.objects.create(name=f"인쇄 시험 부서 {n + 1}")
            for m in range(n + 1):
                CoreProjectFactory(task=task, code=f"M-{n}-{m}", lead_department=department)
    with time_machine.travel(at(dt.date(2026, 11, 19)), tick=False):
        for project in flagged:
            services.progress_update_save(
                project=project, user=owner, summary="공정 지연 우려", blockers="", next_steps="", rag_status="at_risk"
            )
    return week


def test_the_printed_lists_stop_at_their_limit_and_count_the_rest(crowded_week):
    with time_machine.travel(at(dt.date(2026, 11, 25)), tick=False):
        digest = digest_build(plan=crowded_week, scope=Scope("plan"), week_start=W47)
        printed = digest_printed(digest)
        text = "\n".join(pdf_pages(digest_pdf(digest)))
    flagged = len(digest.flagged_notes)
    assert flagged == 41  # the 40 above and 베타's
    assert (len(printed.flagged_notes), printed.flagged_more) == (PDF_ITEMS, flagged - PDF_ITEMS)
    assert printed.now == digest.now and printed.missing_notes == digest.missing_notes  # figures untouched
    assert f"외 {flagged - PDF_ITEMS}건" in text and "/n/digest/2026-W47/" in text
    assert text.count("공정 지연 우려") == PDF_ITEMS - 1  # 베타's note says something else


def test_the_missing_notes_summary_names_the_departments_with_the_most(crowded_week):
    with time_machine.travel(at(dt.date(2026, 11, 25)), tick=False):
        digest = digest_build(plan=crowded_week, scope=Scope("plan"), week_start=W47)
    [group] = [group for group in digest.missing_groups if group.strategy_code == "S2"]
    assert [name for name, _count in group.department_rows_shown][:3] == [f"인쇄 시험 부서 {n}" for n in (7, 6, 5)]
    assert len(group.department_rows_shown) == DEPARTMENTS_SHOWN
    shown = sum(count for _name, count in group.department_rows_shown)
    assert group.departments_more == (len(group.departments) - DEPARTMENTS_SHOWN, group.count - shown)


def test_the_weeks_changes_are_counted_by_what_changed_before_they_are_listed(week):
    with time_machine.travel(at(dt.date(2026, 11, 25)), tick=False):
        digest = digest_build(plan=week, scope=Scope("plan"), week_start=W47)
    # By hand (tests/notifications/digest_week.py): 국비 신청 achieved, 공모 제출 rescheduled.
    assert digest.change_counts == [("기한 변경", 1), ("달성", 1)]
    html = hand_counted_html(digest)
    assert "기한 변경 <strong>1</strong> · 달성 <strong>1</strong>" in html


def hand_counted_html(digest) -> str:
    from django.template.loader import render_to_string

    return render_to_string("notifications/_digest_content.html", {"digest": digest, "email": True})

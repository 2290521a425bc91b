"""The pages a project manager works in (my projects, a project, this week's note), what they cost in queries,
and signing in: the landing page, login throttling, password reset and the production settings check."""

from __future__ import annotations

import datetime as dt
import html
import os
import re
import secrets
import subprocess
import sys

import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from projects import roles, services
from projects.history import project_history
from projects.models import CoreProject, Milestone, ProgressUpdate
from projects.money import eok_to_won
from tests.conftest import signed_in
from tests.factories import (
    CoreProjectFactory,
    MilestoneFactory,
    OrganizationFactory,
    ProgressUpdateFactory,
    user_with_role,
)
from tracker.dates import SEOUL

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 25, 10, tzinfo=SEOUL)  # Wednesday of 2026-W48 (Monday 11-23)
TODAY = NOW.date()
MONDAY = dt.date(2026, 11, 23)
PASSWORD = "correct-horse-battery"  # tests.factories.UserFactory


@pytest.fixture(autouse=True)
def frozen_clock():
    with time_machine.travel(NOW, tick=False):
        yield


def text(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def table_row(page: str, code: str) -> list[str]:
    """The cells (as text) of the table row that holds the project ``code``."""
    for found in re.finditer(r"<tr\b[^>]*>(.*?)</tr>", page, re.S):
        cells = [text(cell) for cell in re.findall(r"<td\b[^>]*>(.*?)</td>", found.group(1), re.S)]
        if cells and cells[0] == code:
            return cells
    raise AssertionError(f"no row for {code}")


def section(page: str, anchor: str) -> str:
    start = page.index(f'id="{anchor}"')
    return page[start : page.index("</section>", start)]


# My projects ----------------------------------------------------------------------------------------------


def test_my_projects_shows_each_projects_status_next_deadline_counts_and_last_note(owner, outsider):
    soon = CoreProjectFactory(code="P-SOON", managers=[owner], rag_status=CoreProject.RagStatus.AT_RISK)
    MilestoneFactory(project=soon, title="예타 신청", due_date=TODAY + dt.timedelta(days=7))
    MilestoneFactory(project=soon, due_date=TODAY + dt.timedelta(days=20))
    MilestoneFactory(project=soon, due_date=TODAY + dt.timedelta(days=45))  # beyond the 30 days
    MilestoneFactory(project=soon, due_date=TODAY - dt.timedelta(days=9), status="cancelled")  # closed: no count
    ProgressUpdateFactory(project=soon, author=owner, week_start=MONDAY - dt.timedelta(weeks=2))
    ProgressUpdateFactory(project=soon, author=owner, week_start=MONDAY - dt.timedelta(weeks=1))

    today = CoreProjectFactory(code="P-TODAY", managers=[owner])
    MilestoneFactory(project=today, title="협약 체결", due_date=TODAY)

    late = CoreProjectFactory(code="P-LATE", managers=[owner], rag_status=CoreProject.RagStatus.DELAYED)
    MilestoneFactory(project=late, title="공모 신청", due_date=TODAY - dt.timedelta(days=3))
    MilestoneFactory(project=late, due_date=TODAY - dt.timedelta(days=1), status="submitted")
    MilestoneFactory(project=late, due_date=TODAY - dt.timedelta(days=30), status="achieved", completed_on=TODAY)
    ProgressUpdateFactory(project=late, author=owner, week_start=MONDAY)

    CoreProjectFactory(code="P-OTHER", managers=[outsider])

    response = signed_in(owner).get(reverse("projects:my_projects"))
    assert response.status_code == 200
    page = response.content.decode()
    # code, name, strategy, status, next milestone, overdue, within 30 days, last weekly note
    assert table_row(page, "P-SOON")[3:] == ["주의", "D-7 예타 신청", "0", "2", "2026-W47"]
    assert table_row(page, "P-TODAY")[3:] == ["정상", "D-day 협약 체결", "0", "1", "—"]
    assert table_row(page, "P-LATE")[3:] == ["지연", "D+3 공모 신청", "2", "0", "2026-W48"]
    assert '<span class="dday dday-overdue">D+3</span>' in page
    assert '<span class="count-alert">2</span>' in page
    assert "P-OTHER" not in page


def test_a_manager_without_projects_sees_an_empty_list(outsider):
    page = signed_in(outsider).get(reverse("projects:my_projects")).content.decode()
    assert "담당 사업이 없습니다." in page


# Landing page ---------------------------------------------------------------------------------------------


def test_a_manager_with_projects_lands_on_my_projects(owner, project):
    response = signed_in(owner).get("/")
    assert (response.status_code, response["Location"]) == (302, reverse("projects:my_projects"))


@pytest.mark.parametrize(
    "role", [roles.VIEWER, roles.TF_HEAD, roles.ADMIN, roles.PROJECT_MANAGER], ids=["viewer", "tf_head", "admin", "pm"]
)
def test_everyone_else_lands_on_the_portfolio_dashboard(project, role):
    """docs/decisions.md "Landing": TF heads, viewers, admins (and managers of nothing) land on the dashboard."""
    client = signed_in(user_with_role(role))
    response = client.get("/")
    assert (response.status_code, response["Location"]) == (302, reverse("projects:dashboard"))
    assert client.get(response["Location"]).status_code == 200


def test_the_landing_page_asks_an_anonymous_visitor_to_log_in():
    response = Client().get("/")
    assert (response.status_code, response["Location"]) == (302, "/accounts/login/?next=/")


# A project's page -----------------------------------------------------------------------------------------


def test_the_project_page_shows_the_summary_milestones_notes_and_history(owner, teammate):
    project = CoreProjectFactory(
        name="해양 모빌리티 실증",
        managers=[owner, teammate],
        budget_total=eok_to_won(1927),
        budget_national=eok_to_won(964),
        budget_city=eok_to_won(463),
        budget_private=eok_to_won("499.5"),
    )
    milestone = MilestoneFactory(
        project=project, owner=owner, title="국비 신청서", due_date=TODAY + dt.timedelta(days=7)
    )
    services.milestone_reschedule(
        milestone_id=milestone.pk,
        user=teammate,
        expected_version=milestone.version,
        due_date=TODAY + dt.timedelta(days=10),
        reason="부처 일정 연기",
    )
    ProgressUpdateFactory(project=project, author=owner, week_start=MONDAY - dt.timedelta(weeks=1), summary="협의 1")
    ProgressUpdateFactory(project=project, author=teammate, week_start=MONDAY, summary="협의 2", blockers="예산")

    page = signed_in(owner).get(reverse("projects:project", args=[project.pk])).content.decode()
    budget = page[page.index('<table class="budget">') : page.index("</table>", page.index('<table class="budget">'))]
    assert text(budget).endswith("1,927억 원 964억 원 463억 원 499.5억 원")
    summary = text(page[page.index('class="card summary"') :])
    assert "사업 담당자 김담당 (해양정책과), 이동료 (투자유치과)" in summary  # by 성명 (부서), in 성명 order

    milestones = section(page, "milestones")
    assert "국비 신청서" in milestones and "D-10" in milestones

    notes = text(section(page, "notes"))
    assert notes.index("2026-W48") < notes.index("협의 2") < notes.index("2026-W47") < notes.index("협의 1")
    assert "애로 사항 예산" in notes

    history = section(page, "history")
    assert "<del>2026-12-02</del> → <ins>2026-12-05</ins>" in history
    assert "이동료 (투자유치과) · 국비 신청서 고침 (사유: 부처 일정 연기)" in text(history)


# This week's note -----------------------------------------------------------------------------------------


def note_form(**changes) -> dict:
    return {"summary": "관계 부처 협의", "blockers": "예비타당성조사 지연", "next_steps": "기재부 면담", **changes}


def test_a_manager_writes_this_weeks_note_and_it_sets_the_projects_status(project, owner):
    client = signed_in(owner)
    url = reverse("projects:progress_note", args=[project.pk])
    assert "2026-W48 (11.23~)" in text(client.get(url).content.decode())

    response = client.post(url, note_form(rag_status="at_risk"))
    assert response.status_code == 302
    assert response["Location"] == reverse("projects:project", args=[project.pk]) + "#notes"

    note = ProgressUpdate.objects.get(project=project)
    assert (note.week_start, note.author, note.summary, note.blockers, note.next_steps, note.rag_status) == (
        MONDAY,
        owner,
        "관계 부처 협의",
        "예비타당성조사 지연",
        "기재부 면담",
        "at_risk",
    )
    project.refresh_from_db()
    assert project.rag_status == "at_risk"

    [entry] = [e for e in project_history(project=project) if e.reason == "주간 진행 보고"]
    assert (entry.who, entry.subject) == ("김담당 (해양정책과)", "사업 정보")
    assert [(c.label, c.before, c.after) for c in entry.changes] == [("추진 상태", "정상", "주의")]
    page = client.get(response["Location"]).content.decode()
    # The answer is in the notes section the page opens at, not above the fold.
    assert "이번 주 진행 보고를 저장했습니다." in section(page, "notes")
    assert 'class="messages"' not in page
    assert "<del>정상</del> → <ins>주의</ins>" in section(page, "history")


def test_a_second_note_in_the_same_week_edits_the_first(project, owner, teammate):
    url = reverse("projects:progress_note", args=[project.pk])
    signed_in(owner).post(url, note_form(rag_status="at_risk"))
    with time_machine.travel(dt.datetime(2026, 11, 29, 23, 30, tzinfo=SEOUL), tick=False):  # Sunday night
        teammate_client = signed_in(teammate)
        assert "이번 주 보고를 고칩니다." in teammate_client.get(url).content.decode()
        teammate_client.post(url, note_form(summary="협의 결과 반영", rag_status="delayed"))
    note = ProgressUpdate.objects.get(project=project)
    assert (note.week_start, note.summary, note.rag_status) == (MONDAY, "협의 결과 반영", "delayed")
    assert CoreProject.objects.get(pk=project.pk).rag_status == "delayed"


def test_the_next_seoul_week_starts_a_new_note_even_while_it_is_still_sunday_in_utc(project, owner):
    url = reverse("projects:progress_note", args=[project.pk])
    client = signed_in(owner)
    client.post(url, note_form(rag_status="at_risk"))
    with time_machine.travel(dt.datetime(2026, 11, 30, 0, 30, tzinfo=SEOUL), tick=False):  # 11-29 15:30 UTC
        assert "이번 주 보고를 씁니다." in client.get(url).content.decode()
        client.post(url, note_form(summary="다음 주 보고", rag_status="on_track"))
    weeks = list(
        ProgressUpdate.objects.filter(project=project).order_by("week_start").values_list("week_start", "summary")
    )
    assert weeks == [(MONDAY, "관계 부처 협의"), (dt.date(2026, 11, 30), "다음 주 보고")]


def test_a_note_without_a_summary_is_refused_next_to_the_field(project, owner):
    response = signed_in(owner).post(
        reverse("projects:progress_note", args=[project.pk]), note_form(summary="", rag_status="delayed")
    )
    assert response.status_code == 200
    assert "필수 항목입니다." in text(
        re.search(r'id="id_summary_errors">(.*?)</div>', response.content.decode()).group(1)
    )
    assert not ProgressUpdate.objects.exists()
    assert CoreProject.objects.get(pk=project.pk).rag_status == "on_track"


# Query counts ---------------------------------------------------------------------------------------------


def grow(project: CoreProject, people: list, size: int) -> None:
    """``size`` more milestones (each moved once, every third achieved) and weekly notes (each edited once), a
    partner, and a status change: more rows of every kind the pages show, by more than one person."""
    first = Milestone.objects.filter(project=project).count()
    written = ProgressUpdate.objects.filter(project=project).count()
    for n in range(first, first + size):
        person = people[n % len(people)]
        milestone = MilestoneFactory(project=project, owner=person, due_date=TODAY + dt.timedelta(days=n - 5))
        milestone = services.milestone_reschedule(
            milestone_id=milestone.pk,
            user=person,
            expected_version=milestone.version,
            due_date=milestone.due_date + dt.timedelta(days=1),
            reason=f"사유 {n}",
        )
        if n % 3 == 0:
            services.milestone_set_status(
                milestone_id=milestone.pk, user=person, expected_version=milestone.version, status="achieved"
            )
    for week in range(written, written + size):
        note = ProgressUpdateFactory(
            project=project,
            author=people[week % len(people)],
            week_start=MONDAY - dt.timedelta(weeks=week + 1),
            rag_status="at_risk" if week % 2 else "on_track",
        )
        note.summary += " (보완)"
        note._history_user = people[-1]
        note.save()
    project.partners.add(OrganizationFactory())
    project.rag_status = "at_risk" if project.rag_status != "at_risk" else "delayed"
    project._history_user = people[0]
    project.save()


def queries_for(client: Client, url: str) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return [query["sql"] for query in captured.captured_queries]


def test_the_project_page_needs_the_same_queries_whatever_its_size(project, owner, teammate):
    client = signed_in(owner)
    url = reverse("projects:project", args=[project.pk])
    grow(project, [owner, teammate], 2)
    small = queries_for(client, url)
    grow(project, [owner, teammate], 28)
    large = queries_for(client, url)
    # 25 on SQLite and on PostgreSQL, at both sizes: session, user, the user's permissions (2); the project with
    # its task, strategy, plan and department, then its managers and partners (2); is the user an admin, a
    # manager of it (2); the notes with their authors; the history: the project's newest records and the
    # records before them, each set with its managers and partners snapshots and their users and organizations
    # (2 × 5); the milestones' and the notes' newest records and the records before them (2 × 2); the milestones
    # with their owners.
    assert len(large) == len(small), "\n".join(large)
    assert project.milestones.count() == project.progress_updates.count() == 30


def test_my_projects_needs_the_same_queries_whatever_the_number_of_projects(project, owner, teammate):
    client = signed_in(owner)
    url = reverse("projects:my_projects")
    grow(project, [owner, teammate], 2)
    small = queries_for(client, url)
    for n in range(29):
        other = CoreProjectFactory(managers=[owner, teammate])
        MilestoneFactory(project=other, due_date=TODAY + dt.timedelta(days=n - 10))
        ProgressUpdateFactory(project=other, author=teammate, week_start=MONDAY - dt.timedelta(weeks=n % 3))
    grow(project, [owner, teammate], 28)
    large = queries_for(client, url)
    # 6 on SQLite and on PostgreSQL: session, user and the user's permissions (2); the table's row count for
    # its pages; the projects with their strategy and every figure (next milestone, overdue and upcoming
    # counts, last note week) as subqueries of the same query.
    assert len(large) == len(small), "\n".join(large)
    assert CoreProject.objects.filter(managers=owner).count() == 30


# Production settings --------------------------------------------------------------------------------------


def test_the_deploy_check_finds_nothing_to_warn_about_with_production_settings(tmp_path):
    environment = {name: value for name, value in os.environ.items() if name not in {"DEBUG", "SECRET_KEY"}}
    environment.update(
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(45),  # 60 characters
        ALLOWED_HOSTS="tracker.example.go.kr",
        VAR_DIR=str(tmp_path),
    )
    assert len(environment["SECRET_KEY"]) == 60
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=settings.BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "WARNINGS" not in output
    assert "System check identified no issues" in output


# Signing in -----------------------------------------------------------------------------------------------


def log_in(client: Client, username: str, password: str):
    return client.post(reverse("login"), {"username": username, "password": password})


def test_five_wrong_passwords_lock_the_account_until_the_cool_off_has_passed(owner):
    client = Client()
    for attempt in range(4):
        response = log_in(client, "owner", "wrong-password")
        assert response.status_code == 200, attempt  # the form again, with an error
    assert log_in(client, "owner", "wrong-password").status_code == 429  # the fifth failure locks

    locked = log_in(client, "owner", PASSWORD)
    assert locked.status_code == 429
    assert "로그인 시도가 너무 많습니다" in locked.content.decode()
    assert "_auth_user_id" not in client.session

    with time_machine.travel(NOW + dt.timedelta(minutes=16), tick=False):
        response = log_in(client, "owner", PASSWORD)
        assert (response.status_code, response["Location"]) == (302, reverse("projects:home"))
        assert client.session["_auth_user_id"] == str(owner.pk)


def test_another_user_can_still_log_in_while_one_is_locked_out(owner, teammate):
    client = Client()
    for _ in range(5):
        log_in(client, "owner", "wrong-password")
    assert log_in(client, "teammate", PASSWORD).status_code == 302


def test_a_forgotten_password_is_reset_through_a_link_sent_by_email(
    owner, celery_eager, django_capture_on_commit_callbacks
):
    client = Client()
    with django_capture_on_commit_callbacks(execute=True):  # the e-mail is written by a queued task
        response = client.post(reverse("password_reset"), {"email": owner.email})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [owner.email]
    link = re.search(re.escape(settings.SITE_URL) + r"(/accounts/reset/\S+/)", message.body).group(1)

    form_page = client.get(link, follow=True)
    assert form_page.status_code == 200
    set_password_url = form_page.redirect_chain[-1][0]
    assert set_password_url.endswith("/set-password/")
    done = client.post(set_password_url, {"new_password1": "Haeundae-2026!", "new_password2": "Haeundae-2026!"})
    assert done["Location"] == reverse("password_reset_complete")

    assert log_in(Client(), "owner", "Haeundae-2026!").status_code == 302
    assert log_in(Client(), "owner", PASSWORD).status_code == 200  # the old password no longer works
    assert client.get(link, follow=True).context["validlink"] is False  # and the link works only once


def test_a_reset_for_an_unknown_address_sends_nothing_and_says_the_same(
    owner, celery_eager, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = Client().post(reverse("password_reset"), {"email": "nobody@example.com"})
    assert (response.status_code, response["Location"]) == (302, reverse("password_reset_done"))
    assert mail.outbox == []

"""People by name (issue 14): every person has 성명, 직위 and 부서, and the tracker shows "홍길동 (해양정책과)" in
tables, history, e-mails and exports — never a login name. The admin, seed_demo and create_admin set them; 내 설정 from
the menu holds a person's e-mail preferences, calendar address and language."""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import re

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import translation

from notifications.models import CalendarFeed, NotificationPreference
from people.models import Profile
from people.names import person_label
from projects import services
from projects.models import Plan
from tests.conftest import signed_in
from tests.factories import MilestoneFactory, UserFactory
from tracker.dates import SEOUL

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 25, 10, tzinfo=SEOUL)


@pytest.fixture(autouse=True)
def frozen_clock():
    # Korean, whatever language a request of an earlier test left active in this thread.
    with time_machine.travel(NOW, tick=False), translation.override("ko"):
        yield


def text(content: bytes) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", content.decode())).split())


def test_a_person_is_named_by_name_and_department_and_never_by_login_name(owner):
    assert person_label(owner) == "김담당 (해양정책과)"
    assert str(owner) == "김담당 (해양정책과)"  # admin pickers, form choices, history
    nameless = UserFactory(username="hong_gd", email="gildong@busan.example", profile=False)
    assert person_label(nameless) == "gildong@busan.example"
    bare = UserFactory(username="ghost", email="", profile=False)
    assert "ghost" not in person_label(bare)


def test_repro_tables_history_and_exports_show_names_not_demo_pm(project, owner):
    """Issue 14: "People are shown by login name ('demo_pm') in tables, history and e-mails"."""
    milestone = MilestoneFactory(project=project, owner=owner, title="국비 신청서")
    services.milestone_set_status(
        milestone_id=milestone.pk, user=owner, expected_version=1, status="submitted", reason=""
    )
    client = signed_in(owner)
    page = client.get(project.get_absolute_url()).content.decode()
    assert "김담당 (해양정책과)" in text(page.encode())
    assert ">owner<" not in page and "owner ·" not in text(page.encode())
    response = client.get(reverse("projects:milestones") + "?_export=csv")
    exported = b"".join(response.streaming_content).decode("utf-8-sig")  # streamed
    rows = list(csv.reader(io.StringIO(exported)))
    assert rows[1][rows[0].index("담당자")] == "김담당 (해양정책과)"


def test_the_reminder_e_mail_greets_the_person_by_name(project, owner, mailoutbox, settings):
    from notifications.outbox import outbox_dispatch
    from notifications.reminders import reminders_plan

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    MilestoneFactory(project=project, owner=owner, due_date=dt.date(2026, 11, 26))
    reminders_plan(now=NOW)
    outbox_dispatch(now=NOW)
    [mail] = [m for m in mailoutbox if m.to == [owner.email]]
    assert mail.body.startswith("김담당님,")
    assert "owner님" not in mail.body


def test_the_admin_keeps_name_position_and_department_on_the_user(superuser):
    client = signed_in(superuser)
    data = {
        "username": "hong",
        "password1": "Haeundae-2026!x",
        "password2": "Haeundae-2026!x",
        "usable_password": "true",
        "profile-TOTAL_FORMS": "1",
        "profile-INITIAL_FORMS": "0",
        "profile-MIN_NUM_FORMS": "1",
        "profile-MAX_NUM_FORMS": "1",
        "profile-0-name": "",
        "profile-0-position": "주무관",
        "profile-0-department": "해양정책과",
    }
    refused = client.post(reverse("admin:auth_user_add"), data)
    assert refused.status_code == 200
    assert not get_user_model().objects.filter(username="hong").exists()
    response = client.post(reverse("admin:auth_user_add"), {**data, "profile-0-name": "홍길동"})
    assert response.status_code == 302, text(response.content)[:500]
    hong = get_user_model().objects.get(username="hong")
    assert (hong.profile.name, hong.profile.position, hong.profile.department) == ("홍길동", "주무관", "해양정책과")
    assert "홍길동" in text(client.get(reverse("admin:auth_user_changelist")).content)


def test_seed_demo_and_create_admin_give_every_user_a_profile(db):
    call_command("load_seeds")
    call_command("seed_demo", stdout=io.StringIO())
    call_command("create_admin", stdout=io.StringIO())
    assert not get_user_model().objects.filter(profile__isnull=True).exists()
    demo_pm = Profile.objects.get(user__username="demo_pm")
    assert demo_pm.label == "예시 사업 담당자 ([예시] 해양정책과)"
    assert Plan.objects.exists()


# 내 설정 --------------------------------------------------------------------------------------------------------


def test_my_settings_is_in_the_menu_and_shows_who_i_am_and_my_calendar_address(owner, project, settings):
    settings.SITE_URL = "http://127.0.0.1:8201"
    client = signed_in(owner)
    home = client.get(reverse("projects:my_projects")).content.decode()
    assert f'href="{reverse("notifications:settings")}"' in home
    page = client.get(reverse("notifications:settings"))
    shown = text(page.content)
    assert "성명 김담당" in shown and "부서 해양정책과" in shown
    token = CalendarFeed.objects.get(user=owner).token
    assert f"http://127.0.0.1:8201/n/feeds/{token}/my.ics" in page.content.decode()


def test_my_settings_saves_e_mail_preferences_and_switches_the_language(owner):
    client = signed_in(owner)
    data = {"reminders": "", "digest": "on", "digest_my_projects": "on", "language": "en"}
    response = client.post(reverse("notifications:settings"), data)
    assert response.status_code == 302
    preference = NotificationPreference.objects.get(user=owner)
    assert (preference.reminders, preference.digest, preference.digest_my_projects, preference.language) == (
        False,
        True,
        True,
        "en",
    )
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"
    assert "Settings saved." in text(client.get(response["Location"]).content)  # the page now speaks English


# The people import -----------------------------------------------------------------------------------------


def people_csv(*rows: str) -> bytes:
    return "\n".join(["아이디,이메일,성명,직위,부서,역할", *rows]).encode("utf-8-sig")


def test_the_people_import_creates_users_with_name_position_department_and_role(owner):
    from people.importer import people_import

    content = people_csv(
        "hong,gildong@busan.example,홍길동,주무관,해양정책과,사업 담당자",
        "owner,owner@example.com,김담당,사무관,해양정책과,",
    )
    report = people_import(content=content)
    assert not report.refused, report.problems
    assert (report.created, report.updated, report.unchanged) == (1, 1, 0)
    hong = get_user_model().objects.get(username="hong")
    assert (str(hong), hong.has_usable_password(), list(hong.groups.values_list("name", flat=True))) == (
        "홍길동 (해양정책과)",
        False,
        ["사업 담당자"],
    )
    assert Profile.objects.get(user=owner).position == "사무관"
    again = people_import(content=content)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)


def test_a_bad_row_refuses_the_whole_people_file_with_its_row_number(owner):
    from people.importer import people_import

    content = people_csv("hong,gildong@busan.example,홍길동,주무관,해양정책과,", "kim,,,주무관,투자유치과,단장")
    report = people_import(content=content)
    assert report.problems == ["3행: 비어 있는 칸: 성명"]
    assert not get_user_model().objects.filter(username="hong").exists()
    report = people_import(content=people_csv("kim,,김철수,주무관,투자유치과,단장"))
    assert report.problems == ["2행: 역할은 관리자, TF 단장, 사업 담당자, 열람자 중 하나여야 합니다: 단장"]
    report = people_import(content="아이디,성명,직위,부서,전화\nkim,김,주무관,과,010".encode())
    assert report.problems == ["알 수 없는 열: 전화"]


def test_the_import_people_command_reports_what_it_did(tmp_path, db):
    path = tmp_path / "people.csv"
    path.write_bytes(people_csv("hong,gildong@busan.example,홍길동,주무관,해양정책과,열람자"))
    out = io.StringIO()
    call_command("import_people", str(path), "--dry-run", stdout=out)
    assert "새 사용자 1명" in out.getvalue()
    assert not get_user_model().objects.filter(username="hong").exists()
    call_command("import_people", str(path), stdout=out)
    assert get_user_model().objects.get(username="hong").profile.name == "홍길동"


def test_the_password_reset_e_mail_greets_by_name_not_login_name(
    owner, mailoutbox, settings, celery_eager, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    with django_capture_on_commit_callbacks(execute=True):  # the e-mail is written by a queued task
        Client().post(reverse("password_reset"), {"email": owner.email})
    [mail] = mailoutbox
    assert mail.body.startswith("김담당님,")

"""The digest as the TF head reads it: as of the week's end in every part, trends, grouped missing notes, and the
A4 PDF (attached to the e-mail and at /n/digest/<week>.pdf) whose text is checked page by page."""

from __future__ import annotations

import datetime as dt
import io

import pytest
import time_machine
from django.core import mail
from django.urls import reverse
from pypdf import PdfReader

from notifications.digest import Scope, digest_build, digests_plan
from notifications.models import OutboxAttachment
from notifications.outbox import outbox_dispatch
from projects import services
from projects.models import Department
from tests.factories import CoreProjectFactory, TaskFactory, UserFactory
from tests.notifications import test_digest as hand_counted

pytestmark = pytest.mark.django_db

# The hand-counted week of test_digest.py and its fixture (tf_head: tests/conftest.py).
W47, at = hand_counted.W47, hand_counted.at
week = hand_counted.week


def pdf_pages(content: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(content)).pages]


def test_lists_are_as_of_the_weeks_end_not_today(week, owner):
    """Repro (issue 16): a project added after the week ended was listed as missing its note for that week, and a
    note edited later was shown as it reads today."""
    with time_machine.travel(at(dt.date(2026, 11, 24)), tick=False):
        CoreProjectFactory(task=week.strategies.first().tasks.first(), code="NEW-1", name="나중에 생긴 사업")
        beta_note = week.projects.get(code="A-2").progress_updates.get()
        beta_note.summary = "다음 주에 고친 내용"
        beta_note.save()
        digest = digest_build(plan=week, scope=Scope("plan"), week_start=W47)
    assert [project.code for project in digest.missing_notes] == ["B-1"]
    assert [note.summary for note in digest.flagged_notes] == ["공고가 늦어짐"]


def test_missing_notes_come_grouped_by_strategy_and_department_with_counts(week):
    with time_machine.travel(at(dt.date(2026, 11, 10)), tick=False):
        task = week.strategies.get(code="S2").tasks.first()
        department = Department.objects.create(name="해양항만과")
        for n in range(3):
            CoreProjectFactory(task=task, code=f"B-{n + 2}", lead_department=department)
    with time_machine.travel(at(dt.date(2026, 11, 25)), tick=False):
        digest = digest_build(plan=week, scope=Scope("plan"), week_start=W47)
    [group] = digest.missing_groups
    assert (group.strategy_code, group.count) == ("S2", 4)
    assert group.department_rows[0] == ("해양항만과", 3)


def test_the_digest_shows_twelve_weeks_of_trends(week):
    with time_machine.travel(at(dt.date(2026, 11, 25)), tick=False):
        digest = digest_build(plan=week, scope=Scope("plan"), week_start=W47)
    plan_trend = digest.trends[0]
    assert len(plan_trend.points) == 12 and plan_trend.points[-1].week_start == W47
    assert [p.figures.projects for p in plan_trend.points][-3:] == [0, 3, 3]
    assert plan_trend.last.secured == digest.now.secured
    assert [trend.code for trend in digest.trends] == [week.code, "S1", "S2"]


def test_the_email_carries_html_bars_and_a_pdf_whose_every_page_says_the_week_and_as_of(week, tf_head):
    with time_machine.travel(at(dt.date(2026, 11, 10)), tick=False):
        task = TaskFactory(strategy=week.strategies.get(code="S2"))
        for n in range(90):  # enough missing notes for the full list to run over pages
            CoreProjectFactory(task=task, code=f"Z-{n:03d}", name=f"긴 목록 사업 {n}")
    monday = at(dt.date(2026, 11, 23), 9)
    with time_machine.travel(monday, tick=False):
        digests_plan(now=monday)
        outbox_dispatch()
    [sent] = [m for m in mail.outbox if m.to == [tf_head.email]]
    html = sent.alternatives[0][0]
    assert "<svg" not in html and "최근 12주 추이" in html and "height:" in html  # bars every mail client shows
    assert "전체 목록 보기" in html and "full=1#missing-notes" in html
    assert "Z-042" not in html  # the e-mail lists counts, the page the names
    assert "현재 기준" in sent.body
    names = [name for name, _content, _type in sent.attachments]
    assert names == ["portfolio-current-2026-11-23.xlsx", "digest-2026-W47.pdf"]
    pdf = next(content for name, content, _type in sent.attachments if name.endswith(".pdf"))
    pages = pdf_pages(pdf)
    assert len(pages) >= 2
    for number, text in enumerate(pages, 1):
        assert "주간 요약 2026-W47" in text and "2026-11-22 24:00 기준" in text
        assert f"{number} / {len(pages)}" in text
    whole = "\n".join(pages)
    assert "Z-042" in whole and "한눈에 보기" in whole and "최근 12주 추이" in whole
    continued = [text for text in pages[1:] if "긴 목록 사업" in text]
    assert continued and all("사업코드" in text for text in continued)  # the table's header repeats
    fonts = PdfReader(io.BytesIO(pdf)).pages[0]["/Resources"]["/Font"].values()
    assert any(
        "/FontFile2" in font.get_object()["/DescendantFonts"][0].get_object()["/FontDescriptor"] for font in fonts
    )
    assert OutboxAttachment.objects.filter(message__to_email=tf_head.email, filename="digest-2026-W47.pdf").count() == 1


def test_the_digest_pdf_download_follows_the_pages_access_rules(client, week, tf_head):
    url = reverse("notifications:digest_pdf", args=["2026-W47"])
    with time_machine.travel(at(dt.date(2026, 11, 25)), tick=False):
        assert client.get(url).status_code == 302  # to the login page
        client.force_login(UserFactory(username="nobody"))
        assert client.get(url).status_code == 403
        client.force_login(tf_head)
        response = client.get(url)
        assert client.get(reverse("notifications:digest_pdf", args=["2026-W48"])).status_code == 404
        page = client.get(reverse("notifications:digest_week", args=["2026-W47"]), {"full": "1"}).content.decode()
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert "주간 요약 2026-W47" in pdf_pages(response.content)[0]
    assert url in page and '<details class="full-list" open>' in page and "<svg" in page


def test_a_note_edited_after_its_week_reads_as_it_did_at_the_weeks_end(week, owner):
    alpha = week.projects.get(code="A-1")
    with time_machine.travel(at(dt.date(2026, 11, 22), 23), tick=False):  # Sunday night: still week 47
        services.progress_update_save(
            project=alpha, user=owner, summary="일요일 수정", blockers="", next_steps="", rag_status="at_risk"
        )
    with time_machine.travel(at(dt.date(2026, 11, 24)), tick=False):  # an admin corrects it afterwards
        note = alpha.progress_updates.get(week_start=W47)
        note.rag_status, note.summary = "delayed", "화요일 정정"
        note.save()
        digest = digest_build(plan=week, scope=Scope("plan"), week_start=W47)
    assert [(n.summary, n.rag_status) for n in digest.flagged_notes if n.project_id == alpha.pk] == [
        ("일요일 수정", "at_risk")
    ]

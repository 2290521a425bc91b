"""The TF head's Monday in a real browser: the dashboard with its trends, the funding pipeline, the digest page,
the digest e-mail and the pages of its A4 PDF, each saved as a screenshot in test-artifacts/.

The portfolio is the demo's (load_seeds + seed_demo, twelve weeks of history up to today), so the pictures show
what a fresh install shows. PDF pages are rasterised with pypdfium2 for the screenshots.
"""

from __future__ import annotations

import pypdfium2

from notifications.digest import Scope, digest_build, digest_email_render, digest_pdf, latest_complete_week
from notifications.models import OutboxMessage
from projects.models import Plan
from tests.e2e.conftest import PHONE, screenshot
from tests.seeded import plan_and_demo_load
from tracker.dates import seoul_today


def _sign_in(page, username: str) -> None:
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.get(username=username)
    user.set_password("correct-horse-battery")
    user.save()
    page.goto("/accounts/login/")
    page.get_by_label("사용자 이름").fill(username)
    page.get_by_label("비밀번호").fill("correct-horse-battery")
    page.get_by_role("button", name="로그인").click()


def test_the_tf_heads_dashboard_digest_and_printed_report(browser_page, artifacts):
    plan_and_demo_load()
    page = browser_page
    _sign_in(page, "demo_tf_head")
    page.wait_for_url("**/dashboard/")
    charts = page.locator("figure.chart svg")
    assert charts.count() == 5  # the plan and its four strategies
    assert charts.first.bounding_box()["width"] > 600
    assert "최근 12주 추이" in page.inner_text("main")
    screenshot(page, artifacts / "20-dashboard-trends.png", full_page=True)

    page.get_by_role("link", name="국비 단계별 현황").click()
    page.wait_for_url("**/funding/")
    assert "국회 의결" in page.inner_text("main")
    screenshot(page, artifacts / "21-funding-pipeline.png", full_page=True)

    page.goto("/n/digest/")
    assert page.locator("figure.chart svg").count() == 5
    page.get_by_text("전체 목록 보기").click()
    assert page.locator("details.full-list li").count() > 0
    screenshot(page, artifacts / "22-digest-page.png", full_page=True)
    page.set_viewport_size(PHONE)
    screenshot(page, artifacts / "23-digest-page-phone.png", full_page=True)

    plan = Plan.objects.get(code="busan-2025")
    digest = digest_build(plan=plan, scope=Scope("plan"), week_start=latest_complete_week(seoul_today()))
    digest.written_on = seoul_today()
    from django.contrib.auth import get_user_model

    message = OutboxMessage(recipient=get_user_model().objects.get(username="demo_tf_head"), key="shot")
    digest_email_render(message, digest, language="ko")
    mail_page = page.context.new_page()
    for name, viewport in (("desktop", {"width": 1024, "height": 900}), ("phone", PHONE)):
        mail_page.set_viewport_size(viewport)
        mail_page.set_content(message.body_html)
        assert "최근 12주 추이" in mail_page.inner_text("body")
        screenshot(mail_page, artifacts / f"24-digest-email-{name}.png", full_page=True)
    assert mail_page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"] + 10

    pdf = pypdfium2.PdfDocument(digest_pdf(digest))
    assert len(pdf) >= 2
    for number in range(len(pdf)):
        pdf[number].render(scale=1.4).to_pil().save(artifacts / f"25-digest-pdf-page-{number + 1}.png")
    assert (artifacts / "25-digest-pdf-page-1.png").stat().st_size > 20_000

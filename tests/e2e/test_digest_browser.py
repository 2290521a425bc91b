"""The weekly digest's HTML part rendered in real Chromium (the browser these tests share, tests/e2e/conftest.py),
at desktop and phone widths and as an A4 PDF, with screenshots in test-artifacts/ for people to look at."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from notifications.digest import digests_plan
from tests.e2e.conftest import PHONE, screenshot
from tests.notifications.digest_week import at, hand_counted_week


@pytest.fixture
def week(owner, teammate, tf_head):
    return hand_counted_week(owner, teammate)


def test_the_html_part_renders_in_chromium(browser, artifacts, week, tf_head):
    """Saves test-artifacts/digest-desktop.png and digest-phone.png for people to look at."""
    monday = at(dt.date(2026, 11, 23), 9)
    with time_machine.travel(monday, tick=False):
        [message] = [m for m in digests_plan(now=monday) if m.recipient == tf_head]
    page_file = artifacts / "digest.html"
    page_file.write_text(message.body_html, encoding="utf-8")
    for name, viewport in (("desktop", {"width": 1024, "height": 900}), ("phone", PHONE)):
        page = browser.new_page(viewport=viewport)
        page.goto(page_file.as_uri())
        assert "한눈에 보기" in page.inner_text("body")
        screenshot(page, str(artifacts / f"digest-{name}.png"), full_page=True)
        # Nothing wider than the phone's screen: the digest reads without sideways scrolling.
        if name == "phone":
            assert page.evaluate("document.documentElement.scrollWidth") <= 400
        page.close()
    pdf_page = browser.new_page()
    pdf_page.goto(page_file.as_uri())
    pdf_page.pdf(path=str(artifacts / "digest-a4.pdf"), format="A4")
    pdf_page.close()
    assert (artifacts / "digest-phone.png").stat().st_size > 10_000

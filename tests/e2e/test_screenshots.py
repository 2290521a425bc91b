"""The screenshot helper: a picture Chromium cannot take yet is tried again; any other failure still fails."""

from __future__ import annotations

import pytest

playwright = pytest.importorskip("playwright.sync_api")

from tests.e2e.conftest import screenshot  # noqa: E402 (after the skip)


class FakePage:
    """Answers ``screenshot`` with the given errors, in order, then succeeds; counts the waits between tries."""

    def __init__(self, *errors: str):
        self.errors = list(errors)
        self.calls, self.waits = 0, []

    def screenshot(self, **options):
        self.calls += 1
        if self.errors:
            raise playwright.Error(self.errors.pop(0))
        self.options = options

    def wait_for_timeout(self, ms):
        self.waits.append(ms)


BUSY = "Page.screenshot: Protocol error (Page.captureScreenshot): Unable to capture screenshot"


def test_a_screenshot_chromium_cannot_take_yet_is_taken_on_a_later_try():
    page = FakePage(BUSY, BUSY)
    screenshot(page, "x.jpg", full_page=True)
    assert (page.calls, page.waits, page.options) == (3, [250, 500], {"path": "x.jpg", "full_page": True})


def test_a_third_refusal_or_any_other_error_still_fails():
    with pytest.raises(playwright.Error, match="Unable to capture"):
        screenshot(FakePage(BUSY, BUSY, BUSY), "x.jpg")
    other = FakePage("Target page, context or browser has been closed")
    with pytest.raises(playwright.Error, match="closed"):
        screenshot(other, "x.jpg")
    assert other.calls == 1

"""Real headless Chromium (Debian's package, installed by scripts/install-browser.sh) driven by Playwright.

Playwright cannot download a browser here, so it is pointed at /usr/bin/chromium. Without the browser or
Playwright the tests skip with a reason on a laptop, and fail under CI (tests/conftest.py: require_service).
Screenshots go to test-artifacts/ at the repository root.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connections

from tests.conftest import require_service

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
# How long a click or a page load may take: Playwright's own default. The pages answer in about a second even
# cold (the first chart drawn imports matplotlib), but CI runs two test workers, each with a browser and a live
# server, on two cores: a 15-second limit once timed out on a cold dashboard there.
PAGE_TIMEOUT_MS = 30_000


def open_context(browser, live_server, *, viewport: dict = DESKTOP):
    """A fresh browser context (Korean) whose relative URLs go to the live server, with the suite's time limit."""
    context = browser.new_context(viewport=viewport, locale="ko-KR", base_url=live_server.url)
    context.set_default_timeout(PAGE_TIMEOUT_MS)
    return context


def screenshot(page, path, **options) -> None:
    """Saves a screenshot for people to look at, trying again when Chromium has no frame to give yet.

    Right after a viewport change on a busy machine (CI: two workers and two browsers on two cores) Chromium
    sometimes answers "Unable to capture screenshot" although the page is fine; the picture is an artifact,
    not a check, so a later frame is as good.
    """
    from playwright.sync_api import Error

    for attempt in range(3):
        try:
            page.screenshot(path=path, **options)
            return
        except Error as error:
            if "Unable to capture screenshot" not in str(error) or attempt == 2:
                raise
            page.wait_for_timeout(250 * (attempt + 1))


# One browser for all the browser tests. Package scope rather than session scope: Playwright's sync API keeps
# an asyncio loop running on this thread for as long as the browser lives, so the browser must be closed
# before the rest of the suite runs, or every later test would run "inside" an event loop.
@pytest.fixture(scope="package")
def browser() -> Iterator:
    require_service(importlib.util.find_spec("playwright") is not None, "Playwright is not installed (pip)")
    require_service(os.access(CHROMIUM, os.X_OK), f"{CHROMIUM} is not installed (scripts/install-browser.sh)")
    from playwright.sync_api import sync_playwright

    sync_connections = {alias: connections[alias] for alias in connections}
    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        # While an event loop runs, Django would hand this thread new database connections (asgiref's Local
        # switches to context variables), and refuse ORM calls. The tests' ORM calls are plain synchronous
        # calls: keep the test database connections (whose serialized contents restore the rows that
        # migrations create) and allow them.
        for alias, connection in sync_connections.items():
            connections[alias] = connection
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def browser_page(browser, live_server, transactional_db, django_db_serialized_rollback) -> Iterator:
    """A fresh browser tab (desktop size, Korean) whose relative URLs go to the live server.

    The live server needs committed rows, hence a transactional database; its flush after each test would
    also drop the role groups that the migrations create, so the serialized rollback puts them back.
    """
    context = open_context(browser, live_server)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def page(browser_page):
    """The older name of ``browser_page``."""
    return browser_page


@pytest.fixture
def artifacts() -> Path:
    """test-artifacts/ at the repository root (ignored by git): screenshots to look at after a run."""
    folder = Path(settings.BASE_DIR) / "test-artifacts"
    folder.mkdir(exist_ok=True)
    return folder

"""Every main page, as each role, at 1440 and 390 px: axe-core finds no critical or serious violation, nothing
scrolls sideways on a phone, Hangul never breaks inside a word, and a screenshot of each lands in
test-artifacts/screens/<role>/<page>-<width>.jpg (the whole page; JPEG takes Chromium half the time of PNG).

The data is the real plan (load_seeds) with the sample portfolio (seed_demo) and its sample users, as a
newcomer sees it after `make run`. One browser context per role: one sign-in, then every page, loaded once and
checked wide, then again after the window narrows to a phone's width (the pages lay themselves out with CSS alone,
so a second load would show the same page). The roles are checked in three tests, which parallel test workers
share out (tests/conftest.py: pytest_xdist_make_scheduler).
"""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from projects.models import CoreProject, Milestone
from tests.e2e.axe import axe_describe, axe_install, axe_serious_violations
from tests.e2e.conftest import PHONE, open_context, screenshot
from tests.seeded import plan_and_demo_load

WIDE = {"width": 1440, "height": 900}
PASSWORD = "sample-password-for-the-browser"

# Elements that stick out of the viewport, and boxes that scroll sideways, on the page as it is now.
SIDEWAYS = """(checkBoxes) => {
  const name = e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
    + (typeof e.className === 'string' && e.className.trim() ? '.' + e.className.trim().split(/\\s+/).join('.') : '');
  const shown = e => {
    if (!e.getClientRects().length || e.closest('details:not([open]) > :not(summary)')) return false;
    for (let box = e; box; box = box.parentElement) {  // inside a visually hidden box (1 px, clipped)
      const style = getComputedStyle(box);
      if (style.position === 'absolute' && style.overflow === 'hidden' && box.clientWidth <= 1) return false;
    }
    return true;
  };
  const visible = [...document.querySelectorAll('body *')].filter(shown);
  const out = visible.filter(e => e.getBoundingClientRect().right > window.innerWidth + 1);
  const boxes = checkBoxes ? visible.filter(e => e.clientWidth > 0 && e.scrollWidth > e.clientWidth + 1
    && ['auto', 'scroll'].includes(getComputedStyle(e).overflowX)) : [];
  return {page: document.documentElement.scrollWidth, viewport: window.innerWidth,
          out: out.slice(0, 5).map(name), boxes: boxes.slice(0, 5).map(name)};
}"""

# Hangul words (two syllables or more) whose letters are laid out on more than one line: "플랫/폼".
BROKEN_WORDS = """() => {
  const broken = [];
  const main = document.querySelector('main') || document.body;
  const walker = document.createTreeWalker(main, NodeFilter.SHOW_TEXT);
  const range = document.createRange();
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const parent = node.parentElement;
    if (!parent || parent.closest('svg, details:not([open]) > :not(summary)')) continue;
    if (!parent.getClientRects().length) continue;
    for (const match of node.data.matchAll(/[가-힣]{2,}/g)) {
      range.setStart(node, match.index);
      range.setEnd(node, match.index + match[0].length);
      const lines = new Set([...range.getClientRects()].filter(r => r.width > 0).map(r => Math.round(r.bottom)));
      if (lines.size > 1) broken.push(match[0]);
    }
  }
  return broken;
}"""

READERS = ("demo_tf_head", "demo_viewer")
# Three groups with about as many pages each; None is the anonymous visitor (the sign-in page).
ROLE_GROUPS = {
    "anonymous-and-manager": [None, "demo_pm"],
    "readers": list(READERS),
    "admin": ["demo_admin"],
}


@pytest.fixture
def sample_portfolio(live_server, transactional_db, django_db_serialized_rollback) -> dict:
    """The plan and the sample portfolio (tests/seeded.py), with known passwords for the sample users."""
    plan_and_demo_load()
    for user in get_user_model().objects.filter(username__startswith="demo_"):
        user.set_password(PASSWORD)
        user.save(update_fields=["password"])
    project = CoreProject.objects.filter(managers__username="demo_pm").order_by("code").first()
    milestone = Milestone.objects.filter(project=project).order_by("due_date").first()
    return {"project": project, "milestone": milestone}


def _pages(role: str | None, project: CoreProject, milestone: Milestone) -> list[tuple[str, str]]:
    pages = [
        ("dashboard", "/dashboard/"),
        ("projects", "/projects/"),
        ("milestones", "/milestones/"),
        ("timeline", "/timeline/"),
        ("calendar", "/n/calendar/"),
        ("digest", "/n/digest/"),
        ("project", f"/projects/{project.pk}/"),
        ("project-history", f"/projects/{project.pk}/history/"),
    ]
    if role == "demo_pm":
        pages += [
            ("my-projects", "/my/"),
            ("milestone-edit", f"/milestones/{milestone.pk}/edit/"),
            ("milestone-new", f"/projects/{project.pk}/milestones/new/"),
            ("weekly-note", f"/projects/{project.pk}/note/"),
            ("templates", f"/projects/{project.pk}/templates/"),
        ]
    if role == "demo_admin":
        pages += [
            ("admin", "/admin/"),
            ("admin-projects", "/admin/projects/coreproject/"),
            ("admin-project", f"/admin/projects/coreproject/{project.pk}/change/"),
            ("admin-plan", f"/admin/projects/plan/{project.plan_id}/change/"),
            ("admin-milestones", "/admin/projects/milestone/"),
            ("admin-milestone", f"/admin/projects/milestone/{milestone.pk}/change/"),
            ("admin-users", "/admin/auth/user/"),
            ("admin-user", f"/admin/auth/user/{project.managers.get(username='demo_pm').pk}/change/"),
            ("admin-reminder-policy", "/admin/notifications/reminderpolicy/"),
            ("admin-outbox", "/admin/notifications/outboxmessage/"),
        ]
    return pages


def _check(page, *, where: str, admin: bool, run_axe: bool) -> list[str]:
    """Everything wrong with the page as it is now, one line each."""
    problems = [axe_describe(where, axe_serious_violations(page))] if run_axe else []
    width = page.viewport_size["width"]
    # Django's own admin keeps a wide change list scrolling inside its box on a phone; our pages never do.
    layout = page.evaluate(SIDEWAYS, not admin)
    if layout["page"] > width:
        problems.append(f"{where}: the page is {layout['page']} px wide")
    if layout["out"] and not admin:
        problems.append(f"{where}: sticks out of the screen: {', '.join(layout['out'])}")
    if layout["boxes"]:
        problems.append(f"{where}: scrolls sideways inside {', '.join(layout['boxes'])}")
    if broken := page.evaluate(BROKEN_WORDS):
        problems.append(f"{where}: Hangul broken inside a word: {', '.join(sorted(set(broken))[:8])}")
    return [problem for problem in problems if problem]


def _sign_in(page, username: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("사용자 이름").fill(username)
    page.get_by_label("비밀번호").fill(PASSWORD)
    page.get_by_role("button", name="로그인").click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


@pytest.mark.parametrize("roles", ROLE_GROUPS.values(), ids=ROLE_GROUPS.keys())
def test_every_main_page_works_on_a_phone_and_passes_axe_for_every_role(
    browser, live_server, sample_portfolio, artifacts, roles
):
    """One sign-in per role, every page at both widths; all problems are listed together at the end."""
    project, milestone = sample_portfolio["project"], sample_portfolio["milestone"]
    problems = []
    for role in roles:
        folder = artifacts / "screens" / (role or "anonymous")
        folder.mkdir(parents=True, exist_ok=True)
        context = open_context(browser, live_server, viewport=WIDE)
        axe_install(context)
        page = context.new_page()
        try:
            if role:
                _sign_in(page, role)
            pages = _pages(role, project, milestone) if role else [("login", "/accounts/login/")]
            for name, url in pages:
                page.set_viewport_size(WIDE)
                response = page.goto(url)
                assert response.status == 200, f"{role or 'anonymous'} {url}: HTTP {response.status}"
                for viewport in (WIDE, PHONE):
                    page.set_viewport_size(viewport)
                    where = f"{role or 'anonymous'} {url} @{viewport['width']}"
                    screenshot(page, folder / f"{name}-{viewport['width']}.jpg", full_page=True, quality=80)
                    # TF heads and viewers see the pages the others see, with fewer buttons: axe once, wide.
                    run_axe = role not in READERS or viewport is WIDE
                    problems += _check(page, where=where, admin=url.startswith("/admin/"), run_axe=run_axe)
                    dashboard_cell = page.locator('table.dashboard td[data-label="기한 지남"]')
                    if name == "dashboard" and not dashboard_cell.first.is_visible():
                        problems.append(f"{where}: the dashboard shows only the name column")
        finally:
            context.close()
    assert not problems, "\n".join(problems)


def test_keyboard_users_skip_to_the_content_and_see_where_they_are(browser, live_server, sample_portfolio, artifacts):
    project = sample_portfolio["project"]
    context = open_context(browser, live_server, viewport=PHONE)
    page = context.new_page()
    try:
        _sign_in(page, "demo_pm")
        page.goto(f"/projects/{project.pk}/")
        # The first Tab lands on the skip link, shown on screen with a visible focus ring; Enter moves to the content.
        page.keyboard.press("Tab")
        skip = page.get_by_role("link", name="본문 바로가기")
        assert skip.evaluate("link => link === document.activeElement")
        assert skip.is_visible() and skip.bounding_box()["y"] >= 0
        assert skip.evaluate("link => getComputedStyle(link).outlineStyle") != "none"
        page.keyboard.press("Enter")
        assert page.evaluate("document.activeElement.id") == "content"
        # Every later stop shows the ring too: the next few controls after the content starts.
        for _ in range(4):
            page.keyboard.press("Tab")
            style = page.evaluate("getComputedStyle(document.activeElement)")
            assert style["outlineStyle"] != "none" and style["outlineWidth"] != "0px", page.evaluate(
                "document.activeElement.outerHTML"
            )
        screenshot(page, artifacts / "screens" / "keyboard-focus-390.png")

        # On a phone a milestone's actions are buttons in its card, in view, and big enough for a thumb.
        open_milestone = project.milestones.filter(status__in=Milestone.OPEN_STATUSES).order_by("due_date").first()
        card = page.locator(f"#milestone-{open_milestone.pk}")
        button = card.get_by_role("button", name="제출 완료")
        button.scroll_into_view_if_needed()
        box = button.bounding_box()
        assert box["height"] >= 24 and box["width"] >= 24
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
        assert card.locator('td[data-label="마일스톤"]').inner_text() == open_milestone.title
    finally:
        context.close()

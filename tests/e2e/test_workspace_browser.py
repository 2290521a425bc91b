"""A project manager's week in a real browser, with a screenshot of every step in test-artifacts/.

Logs in through the login form, lands on "내 사업", marks one milestone submitted, moves another one's due
date with a reason, writes the weekly note, and finds both changes in the project's history. The live server
runs on the real clock, so every date is relative to today in Asia/Seoul.
"""

from __future__ import annotations

import datetime as dt

from playwright.sync_api import expect

from projects.models import CoreProject, Milestone, ProgressUpdate
from tests.e2e.conftest import PHONE, screenshot
from tests.factories import MilestoneFactory
from tracker.dates import seoul_today, week_start


def test_a_project_manager_submits_reschedules_and_reports_the_week(browser_page, artifacts, owner, project):
    page = browser_page
    today = seoul_today()
    to_submit = MilestoneFactory(
        project=project, owner=owner, title="2027년 국비 신청서 제출", due_date=today + dt.timedelta(days=7)
    )
    to_move = MilestoneFactory(
        project=project,
        owner=owner,
        kind=Milestone.Kind.PUBLIC_CONTEST,
        title="공모 사업계획서 제출",
        due_date=today + dt.timedelta(days=20),
    )
    new_due = today + dt.timedelta(days=34)
    reason = "공모 공고가 3주 늦어짐"

    # Signing in from the home page: the login form, then back home, which sends a manager to "내 사업".
    page.goto("/")
    page.get_by_label("비밀번호").wait_for()
    screenshot(page, artifacts / "01-login.png", full_page=True)
    page.get_by_label("사용자 이름").fill("owner")
    page.get_by_label("비밀번호").fill("correct-horse-battery")
    page.get_by_role("button", name="로그인").click()
    page.wait_for_url("**/my/")
    assert page.locator("h1").inner_text() == "내 사업"
    my_row = page.locator("table tbody tr", has_text=project.name)
    assert "D-7" in my_row.inner_text()
    assert to_submit.title in my_row.inner_text()
    screenshot(page, artifacts / "02-my-projects.png", full_page=True)

    my_row.get_by_role("link", name=project.name).click()
    page.wait_for_url(f"**/projects/{project.pk}/")
    assert project.name in page.locator("h1").inner_text()
    assert "예정" in page.locator(f"#milestone-{to_submit.pk} .status").inner_text()
    screenshot(page, artifacts / "03-project.png", full_page=True)

    # One click: "제출 완료".
    page.locator(f"#milestone-{to_submit.pk}").get_by_role("button", name="제출 완료").click()
    page.wait_for_url(f"**/projects/{project.pk}/#milestone-{to_submit.pk}")
    # The answer is in the row acted on, focused so that a screen reader reads it out.
    answer = page.locator(f"#milestone-{to_submit.pk} [data-row-message]")
    assert f"'{to_submit.title}'을(를) 제출 완료로 표시했습니다." in answer.inner_text()
    assert answer.get_attribute("role") == "status"
    expect(answer).to_be_focused()
    assert page.locator(f"#milestone-{to_submit.pk} .status").inner_text() == "제출 완료"
    screenshot(page, artifacts / "04-submitted.png", full_page=True)

    # "기한 변경" opens a popover with the new date and the reason.
    row = page.locator(f"#milestone-{to_move.pk}")
    row.locator("summary", has_text="기한 변경").click()
    popover = row.locator("form.popover", has=page.locator("input[name=due_date]"))
    popover.get_by_label("새 기한").fill(new_due.isoformat())
    popover.get_by_label("변경 사유").fill(reason)
    popover.get_by_role("button", name="기한 변경").click()
    page.wait_for_url(f"**/projects/{project.pk}/#milestone-{to_move.pk}")
    assert (
        f"'{to_move.title}'의 기한을 {new_due.isoformat()}(으)로 옮겼습니다."
        in page.locator(f"#milestone-{to_move.pk} [data-row-message]").inner_text()
    )
    assert page.locator(f"#milestone-{to_move.pk} td").first.inner_text().startswith(new_due.isoformat())
    screenshot(page, artifacts / "05-rescheduled.png", full_page=True)

    page.get_by_role("link", name="이번 주 보고 쓰기").click()
    page.wait_for_url(f"**/projects/{project.pk}/note/")
    page.get_by_label("추진 내용").fill("해양수산부와 국비 신청 실무 협의를 마쳤습니다.")
    page.get_by_label("애로 사항").fill("정부 공모 공고가 늦어지고 있습니다.")
    page.get_by_label("향후 계획").fill("공모 사업계획서 보완, 협력기관 확약서 수령")
    page.get_by_label("주의", exact=True).check()
    screenshot(page, artifacts / "06-note-form.png", full_page=True)
    page.get_by_role("button", name="보고 저장").click()
    page.wait_for_url(f"**/projects/{project.pk}/#notes")
    saved = page.locator("#notes [data-row-message]")
    assert "이번 주 진행 보고를 저장했습니다." in saved.inner_text()
    expect(saved).to_be_focused()
    assert page.locator(".title-row h1 .badge").first.inner_text() == "주의"
    assert "해양수산부와 국비 신청 실무 협의를 마쳤습니다." in page.locator("#notes").inner_text()
    assert page.get_by_role("link", name="이번 주 보고 고치기").is_visible()

    entries = page.locator("#history ol.history > li")
    submitted = entries.filter(has_text=to_submit.title).filter(has_text="예정 → 제출 완료")
    assert submitted.count() == 1
    assert "김담당 (해양정책과)" in submitted.inner_text()  # by name and department, not the login name
    moved = entries.filter(has_text=to_move.title).filter(has_text=f"(사유: {reason})")
    assert moved.count() == 1
    assert f"{to_move.due_date.isoformat()} → {new_due.isoformat()}" in moved.inner_text()
    screenshot(page, artifacts / "07-history.png", full_page=True)

    # On a phone nothing scrolls sideways: neither the page nor the milestone table with its actions.
    page.set_viewport_size(PHONE)
    page.goto(f"/projects/{project.pk}/")
    screenshot(page, artifacts / "08-project-phone.png", full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    table = page.locator("#milestones .table-wrap")
    assert table.evaluate("wrap => wrap.scrollWidth <= wrap.clientWidth")
    assert page.locator(f"#milestone-{to_move.pk}").get_by_role("button", name="제출 완료").is_visible()

    to_submit.refresh_from_db()
    assert to_submit.status == Milestone.Status.SUBMITTED
    to_move.refresh_from_db()
    assert to_move.due_date == new_due
    assert to_move.history.latest().history_change_reason == reason
    note = ProgressUpdate.objects.get(project=project)
    assert (note.week_start, note.author, note.rag_status) == (week_start(today), owner, CoreProject.RagStatus.AT_RISK)
    project.refresh_from_db()
    assert project.rag_status == CoreProject.RagStatus.AT_RISK

"""A project manager's week in a real browser: log in, mark a milestone submitted, move another one's date
with a reason, post the weekly note, and see both changes in the history. Screenshots of every step."""

from __future__ import annotations

import datetime as dt

import pytest

from projects.models import CoreProject, Milestone, ProgressUpdate
from tests.factories import CoreProjectFactory, MilestoneFactory
from tracker.dates import seoul_today

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_project_manager_updates_milestones_and_posts_the_weekly_note(live_server, page, artifacts, owner):
    today = seoul_today()
    project = CoreProjectFactory(code="S1-07", name="해양 데이터 플랫폼", managers=[owner])
    submit_me = MilestoneFactory(
        project=project, owner=owner, title="2027년 국비 신청서 제출", due_date=today + dt.timedelta(days=7)
    )
    move_me = MilestoneFactory(
        project=project,
        owner=owner,
        kind="public_contest",
        title="공모 사업계획서 제출",
        due_date=today + dt.timedelta(days=20),
    )
    new_due = today + dt.timedelta(days=34)

    page.goto(f"{live_server.url}/accounts/login/")
    page.screenshot(path=str(artifacts / "01-login.png"))
    page.fill("#id_username", "owner")
    page.fill("#id_password", "correct-horse-battery")
    page.click("button.primary")
    page.wait_for_url("**/my/")
    assert "내 사업" in page.inner_text("h1")
    assert "D-7" in page.inner_text("table")
    page.screenshot(path=str(artifacts / "02-my-projects.png"), full_page=True)

    page.click(f"text={project.name}")
    page.wait_for_url(f"**/projects/{project.pk}/")
    page.screenshot(path=str(artifacts / "03-project.png"), full_page=True)

    row = page.locator(f"#milestone-{submit_me.pk}")
    row.get_by_role("button", name="제출 완료").click()
    page.wait_for_load_state()
    assert "처리했습니다" in page.inner_text(".messages")
    assert "제출 완료" in page.locator(f"#milestone-{submit_me.pk} .status").inner_text()
    page.screenshot(path=str(artifacts / "04-submitted.png"), full_page=True)

    row = page.locator(f"#milestone-{move_me.pk}")
    row.locator("summary", has_text="기한 변경").click()
    popover = row.locator("details", has_text="기한 변경")
    popover.locator("input[name=due_date]").fill(new_due.isoformat())
    popover.get_by_label("변경 사유").fill("공고 일정 연기")
    popover.get_by_role("button", name="기한 변경").click()
    page.wait_for_load_state()
    assert new_due.isoformat() in page.locator(f"#milestone-{move_me.pk}").inner_text()
    page.screenshot(path=str(artifacts / "05-rescheduled.png"), full_page=True)

    page.click("text=이번 주 보고 쓰기")
    page.fill("#id_summary", "관계 부처와 실무 협의를 마쳤습니다.")
    page.fill("#id_blockers", "공모 공고가 늦어지고 있습니다.")
    page.fill("#id_next_steps", "사업계획서 보완")
    page.check("input[name=rag_status][value=at_risk]")
    page.screenshot(path=str(artifacts / "06-note-form.png"), full_page=True)
    page.click("button.primary")
    page.wait_for_url(f"**/projects/{project.pk}/#notes")

    history = page.inner_text("#history")
    assert "예정 → 제출 완료" in history.replace("\n", " ") or ("예정" in history and "제출 완료" in history)
    assert "공고 일정 연기" in history
    assert new_due.isoformat() in history
    assert "주의" in page.inner_text(".title-row")
    assert "관계 부처와 실무 협의를 마쳤습니다." in page.inner_text("#notes")
    page.locator("#history").screenshot(path=str(artifacts / "07-history.png"))

    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(artifacts / "08-project-phone.png"), full_page=False)
    assert page.evaluate("document.documentElement.scrollWidth") <= 400  # no sideways scrolling on a phone

    assert Milestone.objects.get(pk=submit_me.pk).status == "submitted"
    assert Milestone.objects.get(pk=move_me.pk).due_date == new_due
    assert ProgressUpdate.objects.get(project=project).rag_status == "at_risk"
    assert CoreProject.objects.get(pk=project.pk).rag_status == "at_risk"

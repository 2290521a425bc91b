"""A reminder e-mail with hundreds of items stays readable: the most overdue listed first up to a cap, the rest
counted per strategy with links to the full filtered list, and a size that does not grow with the portfolio."""

from __future__ import annotations

import datetime as dt

import pytest

from notifications.reminder_emails import EMAIL_ITEM_LIMIT
from projects import roles
from tests.factories import CoreProjectFactory, MilestoneFactory, StrategyFactory, TaskFactory, UserFactory
from tests.notifications.helpers import dispatch_at, plan_twice, seoul

pytestmark = pytest.mark.django_db

D = dt.date.fromisoformat
NOW = seoul("2026-11-24", 10)


def _overdue_portfolio(owner, *, per_strategy: int) -> list:
    """Two strategies, each with ``per_strategy`` milestones between 14 and 200 days overdue (escalated)."""
    strategies = []
    for order, code in enumerate(("S1", "S2"), start=1):
        strategy = StrategyFactory(code=code, order=order)
        project = CoreProjectFactory(task=TaskFactory(strategy=strategy), managers=[owner], code=f"P-{code}")
        for n in range(per_strategy):
            # Every 7th day overdue is a reminder day; 14, 21, … 14 + 7k days over are all owed on NOW.
            MilestoneFactory(
                project=project,
                owner=owner,
                title=f"{code}-{n:03d}",
                due_date=D("2026-11-10") - dt.timedelta(days=7 * n),
            )
        strategies.append(strategy)
    return strategies


def _email_to(mailoutbox, address):
    [message] = [m for m in mailoutbox if m.to == [address]]
    return message, message.alternatives[0][0]


def test_the_tf_heads_escalation_summary_lists_the_most_overdue_and_counts_the_rest(owner, mailoutbox):
    head = UserFactory(username="head", role=roles.TF_HEAD)
    strategies = _overdue_portfolio(owner, per_strategy=60)
    plan_twice(NOW)
    dispatch_at(NOW)
    message, html = _email_to(mailoutbox, head.email)
    # 120 items: the subject says so, the body lists the 30 most overdue and counts the other 90.
    assert "마일스톤 120건" in message.subject and "기한 지난 마일스톤 120건" in message.subject
    listed = [line for line in message.body.splitlines() if line.startswith("[D+")]
    assert len(listed) == EMAIL_ITEM_LIMIT
    assert listed[0].startswith("[D+427]")  # the oldest first: 14 + 7 × 59 days over
    assert "그 밖에 90건이 더 있습니다" in message.body and "그 밖에 90건이 더 있습니다" in html
    for strategy in strategies:
        assert f"{strategy.code} {strategy.name}: 60건 (기한 지남 60건)" in message.body
        assert f"/milestones/?due=overdue&strategy={strategy.pk}" in message.body
    assert "/milestones/?due=overdue&sort=due_date" in message.body
    assert html.count("사업 페이지 열기") == EMAIL_ITEM_LIMIT


def test_an_escalation_summary_weighs_the_same_for_sixty_items_or_six_hundred(owner, mailoutbox):
    head = UserFactory(username="head", role=roles.TF_HEAD)
    _overdue_portfolio(owner, per_strategy=30)
    plan_twice(NOW)
    dispatch_at(NOW)
    small, small_html = _email_to(mailoutbox, head.email)
    mailoutbox.clear()
    _overdue_portfolio(owner, per_strategy=300)  # two more strategies, 600 more items
    plan_twice(NOW + dt.timedelta(days=7))
    dispatch_at(NOW + dt.timedelta(days=7))
    big, big_html = _email_to(mailoutbox, head.email)
    assert "마일스톤 660건" in big.subject
    # Only the strategy table grows (two more rows); the list of items is capped.
    assert len(big.body) + len(big_html) < 1.3 * (len(small.body) + len(small_html))
    assert len(big.body.encode()) + len(big_html.encode()) < 100_000


def test_a_persons_own_long_list_links_to_their_milestones(owner, mailoutbox):
    _overdue_portfolio(owner, per_strategy=20)
    plan_twice(NOW)
    dispatch_at(NOW)
    message, _html = _email_to(mailoutbox, owner.email)
    assert len([line for line in message.body.splitlines() if line.startswith("[D+")]) == EMAIL_ITEM_LIMIT
    assert "그 밖에 10건이 더 있습니다" in message.body
    assert "/milestones/?owner=owner&sort=due_date" in message.body


def test_a_short_list_has_no_summary(owner, mailoutbox):
    _overdue_portfolio(owner, per_strategy=3)
    plan_twice(NOW)
    dispatch_at(NOW)
    message, _html = _email_to(mailoutbox, owner.email)
    assert len([line for line in message.body.splitlines() if line.startswith("[D+")]) == 6
    assert "그 밖에" not in message.body and "전체 목록" not in message.body


def test_the_summary_speaks_english_to_an_english_reader(owner, mailoutbox):
    from notifications.models import NotificationPreference

    NotificationPreference.objects.create(user=owner, language="en")
    _overdue_portfolio(owner, per_strategy=20)
    plan_twice(NOW)
    dispatch_at(NOW)
    message, html = _email_to(mailoutbox, owner.email)
    assert "10 more items, by strategy:" in message.body and "10 more items, by strategy:" in html
    assert "20 (20 overdue)" in message.body
    assert "Full list" in message.body

"""Delivery from the outbox through a real SMTP server on loopback: what arrives, exactly once, and what does not.

Every test checks by Message-ID that each expected message arrived exactly once and nothing else arrived
(``smtp_server.assert_delivered_exactly_once``). The clock is frozen; retries are made due by moving it.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
import smtplib
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import time_machine
from django.conf import settings as django_settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from notifications import links, outbox
from notifications.models import NotificationPreference, OutboxMessage, Reminder, ReminderPolicy
from notifications.outbox import backoff, classify, lease, outbox_recover_expired_leases
from notifications.reminders import reminders_plan
from projects import roles
from projects.models import Milestone
from tests.factories import MilestoneFactory, UserFactory
from tests.notifications.helpers import dispatch_at, plan_twice, seoul
from tests.smtp import accept_all, free_port, refuse_always, refuse_share

pytestmark = pytest.mark.django_db

D = dt.date.fromisoformat
DAY = seoul("2026-12-02", 10)  # Wednesday: D-7 of the milestone below


class WorkerKilled(BaseException):
    """A worker process killed mid-task (SIGKILL, OOM): nothing after it runs, not even ``except Exception``."""


@pytest.fixture
def milestone(project, owner):
    return MilestoneFactory(project=project, owner=owner, title="국비 신청서 제출", due_date=D("2026-12-09"))


@pytest.fixture
def queued(milestone) -> OutboxMessage:
    """Today's reminder e-mail for the owner, planned and waiting in the outbox."""
    plan_twice(DAY)
    return OutboxMessage.objects.get()


def line_after(label: str, text: str) -> str:
    """The URL after ``label: `` in a plain-text e-mail."""
    return re.search(rf"{re.escape(label)}: (\S+)", text).group(1)


def path_of(url: str) -> str:
    assert url.startswith(django_settings.SITE_URL + "/"), url
    return urlsplit(url).path


def csrf_token(response) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', response.content.decode()).group(1)


# A normal send ----------------------------------------------------------------------------------------------


def test_a_reminder_arrives_once_with_both_parts_its_message_id_and_one_click_headers(
    queued, milestone, project, owner, smtp_server
):
    result = dispatch_at(DAY)
    assert (result.sent, result.retried, result.failed) == (1, 0, 0)
    smtp_server.assert_delivered_exactly_once({queued.message_id})
    [received] = smtp_server.delivered
    assert received.rcpt_tos == ["owner@example.com"] and received.to == "owner@example.com"
    assert received.subject == "[부산 성장전략 TF] 마일스톤 1건 알림 (12/2)"
    assert received.message.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in received.message.iter_parts()] == ["text/plain", "text/html"]

    project_url = f"{django_settings.SITE_URL}{reverse('projects:project', args=[project.pk])}#milestone-{milestone.pk}"
    assert "[D-7] 국비 신청서 제출" in received.text
    assert f"열기: {project_url}" in received.text
    submit_url = line_after("제출 완료로 표시", received.text)
    assert path_of(submit_url).endswith("/submit/")
    assert f'href="{project_url}"' in received.html
    assert f'href="{submit_url}"' in received.html and "제출 완료로 표시</a>" in received.html
    assert ">D-7</span>" in received.html

    unsubscribe_url = line_after("기한 알림 그만 받기", received.text)
    assert received.header("List-Unsubscribe") == f"<{unsubscribe_url}>"
    assert received.header("List-Unsubscribe-Post") == "List-Unsubscribe=One-Click"

    row = OutboxMessage.objects.get()
    assert (row.status, row.attempts, row.sent_at, row.claim_token) == ("sent", 1, DAY, None)
    assert Reminder.objects.get().status == "sent"

    dispatch_at(DAY + dt.timedelta(minutes=5))
    dispatch_at(DAY + dt.timedelta(days=1))
    plan_twice(DAY + dt.timedelta(hours=3))
    dispatch_at(DAY + dt.timedelta(hours=3))
    smtp_server.assert_delivered_exactly_once({queued.message_id})


# Temporary and permanent failures ---------------------------------------------------------------------------


def people_with_milestones_due(project, count: int, due: str = "2026-11-26") -> list:
    people = [UserFactory(username=f"pm{n:02d}", role=roles.PROJECT_MANAGER) for n in range(count)]
    project.managers.add(*people)
    for person in people:
        MilestoneFactory(project=project, owner=person, due_date=D(due))
    return people


def test_temporary_refusals_are_retried_with_backoff_until_each_message_arrives_once(project, smtp_server):
    people_with_milestones_due(project, 12)
    smtp_server.policy = refuse_share(0.3, "451 4.3.0 try again later")
    start = seoul("2026-11-25", 10)
    plan_twice(start)
    expected = set(OutboxMessage.objects.values_list("message_id", flat=True))
    assert len(expected) == 12

    with time_machine.travel(start, tick=False) as traveller:
        first = outbox.outbox_dispatch()
        assert (first.sent, first.retried) == (9, 3)  # the 4th, 7th and 10th DATA commands were refused
        retrying = OutboxMessage.objects.filter(status="pending")
        assert all(m.not_before == start + backoff(1) and "451" in m.last_error for m in retrying)
        assert outbox.outbox_dispatch().sent == 0  # not before its backoff
        rounds = 1
        while OutboxMessage.objects.exclude(status="sent").exists():
            assert rounds < 10, "gave up"
            traveller.move_to(start + dt.timedelta(hours=rounds))
            outbox.outbox_dispatch()
            rounds += 1

    smtp_server.assert_delivered_exactly_once(expected)
    tries = smtp_server.tries_by_message_id()
    assert sum(tries.values()) == len(expected) + len(smtp_server.refused)
    for row in OutboxMessage.objects.all():
        assert row.attempts == tries[row.message_id] and row.last_error == ""
    assert OutboxMessage.objects.filter(attempts__gt=1).count() == len({m.message_id for m in smtp_server.refused})


def test_a_message_refused_temporarily_all_day_never_fails_and_is_tried_at_least_every_half_hour(queued, smtp_server):
    smtp_server.policy = refuse_always("451 4.3.0 try again later")
    moment, tries = DAY, []
    while moment < seoul("2026-12-03", 0):  # a dispatcher tick every ten minutes until the day ends
        if dispatch_at(moment).retried:
            tries.append(moment)
        moment += dt.timedelta(minutes=10)
    row = OutboxMessage.objects.get()
    assert (row.status, row.needs_attention) == ("pending", False)
    assert "451" in row.last_error
    assert len(tries) == row.attempts == len(smtp_server.refused) > 10
    assert max(later - earlier for earlier, later in itertools.pairwise(tries)) <= dt.timedelta(minutes=30)
    assert smtp_server.delivered == []


def test_backoff_doubles_from_a_minute_and_never_exceeds_half_an_hour():
    assert [backoff(n).total_seconds() // 60 for n in range(1, 9)] == [1, 2, 4, 8, 16, 30, 30, 30]
    assert backoff(500) == dt.timedelta(minutes=30)


def test_a_temporary_refusal_of_the_recipient_is_retried(queued, smtp_server):
    smtp_server.recipient_policy = lambda address: "450 4.2.1 mailbox busy"
    assert dispatch_at(DAY).retried == 1
    smtp_server.recipient_policy = lambda address: None
    assert dispatch_at(DAY + backoff(1)).sent == 1
    smtp_server.assert_delivered_exactly_once({queued.message_id})


def test_a_permanent_refusal_fails_at_once_shows_in_the_admin_and_is_resent_only_on_purpose(
    queued, smtp_server, superuser
):
    smtp_server.policy = refuse_always("550 5.1.1 no such user")
    assert dispatch_at(DAY).failed == 1
    row = OutboxMessage.objects.get()
    assert (row.status, row.attempts, row.needs_attention) == ("failed", 1, False)
    assert "550" in row.last_error and "no such user" in row.last_error
    for later in (DAY + dt.timedelta(hours=1), DAY + dt.timedelta(days=1)):
        dispatch_at(later)
    assert len(smtp_server.refused) == 1 and smtp_server.delivered == []

    admin = Client()
    admin.force_login(superuser)
    changelist = reverse("admin:notifications_outboxmessage_changelist")
    assert row.key in admin.get(changelist, {"status__exact": "failed"}).content.decode()
    assert row.key not in admin.get(changelist, {"status__exact": "sent"}).content.decode()
    change_page = admin.get(reverse("admin:notifications_outboxmessage_change", args=[row.pk])).content.decode()
    assert "no such user" in change_page

    smtp_server.policy = accept_all  # the address was fixed at the other end
    with time_machine.travel(DAY + dt.timedelta(days=1, hours=1), tick=False):
        response = admin.post(changelist, {"action": "resend", "_selected_action": [row.pk]})
    assert response.status_code == 302
    row.refresh_from_db()
    assert (row.status, row.attempts) == ("pending", 0)
    dispatch_at(DAY + dt.timedelta(days=1, hours=1))
    dispatch_at(DAY + dt.timedelta(days=1, hours=2))
    smtp_server.assert_delivered_exactly_once({row.message_id})
    assert OutboxMessage.objects.get().status == "sent"


def test_a_permanently_refused_recipient_fails_at_once(queued, smtp_server):
    smtp_server.recipient_policy = lambda address: "550 5.1.1 no such user"
    assert dispatch_at(DAY).failed == 1
    assert dispatch_at(DAY + dt.timedelta(hours=2)).failed == 0
    assert OutboxMessage.objects.get().status == "failed"
    assert smtp_server.refused_recipients == [("owner@example.com", "550 5.1.1 no such user")]


def test_classify_tells_retryable_errors_from_final_ones():
    assert isinstance(classify(smtplib.SMTPDataError(451, b"later")), outbox.TemporaryFailure)
    assert isinstance(classify(smtplib.SMTPDataError(554, b"rejected")), outbox.PermanentFailure)
    assert isinstance(classify(smtplib.SMTPServerDisconnected("gone")), outbox.TemporaryFailure)
    assert isinstance(classify(TimeoutError()), outbox.TemporaryFailure)
    assert isinstance(classify(ConnectionRefusedError()), outbox.TemporaryFailure)
    refused = smtplib.SMTPRecipientsRefused({"a@example.com": (450, b"busy"), "b@example.com": (550, b"no")})
    assert isinstance(classify(refused), outbox.PermanentFailure)
    with pytest.raises(KeyError):
        classify(KeyError("a bug, not an e-mail error"))


def test_no_smtp_server_listening_is_a_temporary_failure(queued, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", free_port(), 2
    assert dispatch_at(DAY).retried == 1
    assert OutboxMessage.objects.get().status == "pending"


# Header injection -------------------------------------------------------------------------------------------


def test_a_title_cannot_add_recipients_or_headers(project, owner, smtp_server):
    MilestoneFactory(project=project, owner=owner, title="제출\r\nBcc: x@example.com", due_date=D("2026-11-26"))
    plan_twice(seoul("2026-11-25", 10))
    dispatch_at(seoul("2026-11-25", 10))
    [received] = smtp_server.delivered
    smtp_server.assert_delivered_exactly_once({OutboxMessage.objects.get().message_id})
    assert received.rcpt_tos == ["owner@example.com"]
    assert received.header("Bcc") is None and received.header("Cc") is None
    assert "x@example.com" not in " ".join(value for _name, value in received.headers)
    header_block = received.raw.split(b"\r\n\r\n", 1)[0]
    assert not re.search(rb"(?im)^bcc:", header_block)
    assert "\n" not in received.subject and "\r" not in received.subject


def test_a_row_with_a_newline_in_a_header_fails_instead_of_being_sent(owner, smtp_server):
    for n, (subject, headers) in enumerate(
        [("제목\r\nBcc: x@example.com", {}), ("제목", {"List-Unsubscribe": "<http://x>\r\nBcc: x@example.com"})]
    ):
        OutboxMessage.objects.create(
            key=f"test:{n}",
            kind=OutboxMessage.Kind.DIGEST,
            recipient=owner,
            to_email=owner.email,
            subject=subject,
            body_text="본문",
            headers=headers,
            message_id=f"<test.{n}@127.0.0.1>",
            not_before=DAY,
        )
    assert dispatch_at(DAY).failed == 2
    assert set(OutboxMessage.objects.values_list("status", flat=True)) == {"failed"}
    assert smtp_server.delivered == [] and smtp_server.refused == []


# A worker that dies -----------------------------------------------------------------------------------------


def test_a_worker_killed_right_after_claiming_leaves_a_row_that_is_sent_once_after_the_lease(
    queued, smtp_server, monkeypatch
):
    def killed(message, *, connection, result):
        raise WorkerKilled

    with monkeypatch.context() as patch:
        patch.setattr(outbox, "_deliver", killed)
        with pytest.raises(WorkerKilled):
            dispatch_at(DAY)
    row = OutboxMessage.objects.get()
    assert (row.status, row.smtp_started_at, row.lease_expires_at) == ("sending", None, DAY + lease())

    dispatch_at(DAY + lease() - dt.timedelta(seconds=1))  # still leased: nobody else may touch it
    assert OutboxMessage.objects.get().status == "sending" and smtp_server.delivered == []
    result = dispatch_at(DAY + lease() + dt.timedelta(seconds=1))
    assert (result.recovered, result.sent) == (1, 1)
    dispatch_at(DAY + dt.timedelta(hours=1))
    smtp_server.assert_delivered_exactly_once({queued.message_id})
    row = OutboxMessage.objects.get()
    assert (row.status, row.attempts, row.needs_attention) == ("sent", 2, False)


def test_a_row_left_sending_before_smtp_began_is_sent_once(queued, smtp_server):
    OutboxMessage.objects.update(
        status="sending",
        claim_token="6f1c8d4e-0000-4000-8000-0000000000aa",
        lease_expires_at=DAY - dt.timedelta(minutes=1),
        attempts=1,
    )
    dispatch_at(DAY)
    dispatch_at(DAY + dt.timedelta(hours=1))
    smtp_server.assert_delivered_exactly_once({queued.message_id})
    assert OutboxMessage.objects.get().status == "sent"


def test_a_worker_killed_after_the_server_took_the_message_is_flagged_never_resent(queued, smtp_server, monkeypatch):
    real_build_email = outbox.build_email

    def build_then_die(message, *, connection=None):
        email = real_build_email(message, connection=connection)
        email.send()  # the server has it …
        raise WorkerKilled  # … and the worker dies before marking it sent

    with monkeypatch.context() as patch:
        patch.setattr(outbox, "build_email", build_then_die)
        with pytest.raises(WorkerKilled):
            dispatch_at(DAY)
    assert OutboxMessage.objects.get().smtp_started_at == DAY

    result = dispatch_at(DAY + lease() + dt.timedelta(seconds=1))
    assert (result.flagged, result.sent) == (1, 0)
    dispatch_at(DAY + dt.timedelta(days=1))
    smtp_server.assert_delivered_exactly_once({queued.message_id})  # once: not a second time
    row = OutboxMessage.objects.get()
    assert (row.status, row.needs_attention, row.claim_token) == ("failed", True, None)
    assert "이미 발송되었을 수 있습니다" in row.last_error


def test_a_row_left_sending_after_smtp_began_is_flagged_and_not_sent(queued, smtp_server):
    OutboxMessage.objects.update(
        status="sending",
        claim_token="6f1c8d4e-0000-4000-8000-0000000000bb",
        lease_expires_at=DAY - dt.timedelta(minutes=1),
        smtp_started_at=DAY - dt.timedelta(minutes=5),
    )
    assert outbox_recover_expired_leases(now=DAY) == (0, 1)
    dispatch_at(DAY)
    dispatch_at(DAY + dt.timedelta(days=1))
    row = OutboxMessage.objects.get()
    assert (row.status, row.needs_attention) == ("failed", True)
    assert smtp_server.delivered == []


def test_a_dispatch_for_a_future_date_still_leases_from_the_real_clock(project, owner, smtp_server, monkeypatch):
    MilestoneFactory(project=project, owner=owner, due_date=D("2026-12-15"))
    real_now = seoul("2026-11-25", 10)
    planned_for = seoul("2026-12-08", 23)  # what `send_reminders --date 2026-12-08` plans and dispatches for
    with time_machine.travel(real_now, tick=False):
        reminders_plan(now=planned_for)

    def killed(message, *, connection, result):
        raise WorkerKilled

    with monkeypatch.context() as patch:
        patch.setattr(outbox, "_deliver", killed)
        with pytest.raises(WorkerKilled):
            dispatch_at(real_now, now=planned_for)
    assert OutboxMessage.objects.get().lease_expires_at <= real_now + lease()


# Signed links -------------------------------------------------------------------------------------------------


@pytest.fixture
def delivered(queued, smtp_server):
    dispatch_at(DAY)
    [received] = smtp_server.delivered
    return received


def test_mark_submitted_from_the_email_asks_on_get_and_acts_on_post(delivered, milestone, owner):
    path = path_of(line_after("제출 완료로 표시", delivered.text))
    history_before = milestone.history.count()
    browser = Client(enforce_csrf_checks=True)
    with time_machine.travel(DAY + dt.timedelta(hours=2), tick=False):
        page = browser.get(path)
        assert page.status_code == 200
        html = page.content.decode()
        assert "국비 신청서 제출" in html and "김담당님의 이름으로" in html and "제출 완료로 표시</button>" in html
        unchanged = Milestone.objects.get(pk=milestone.pk)
        assert (unchanged.status, unchanged.version) == ("planned", milestone.version)
        assert milestone.history.count() == history_before

        done = browser.post(path, {"version": milestone.version, "csrfmiddlewaretoken": csrf_token(page)})
    assert done.status_code == 200 and "제출 완료로 표시했습니다." in done.content.decode()
    changed = Milestone.objects.get(pk=milestone.pk)
    assert (changed.status, changed.version) == ("submitted", milestone.version + 1)
    record = changed.history.first()
    assert (record.history_user, record.history_change_reason) == (owner, "알림 메일에서 제출 완료로 표시")
    assert changed.history.count() == history_before + 1

    with time_machine.travel(DAY + dt.timedelta(hours=3), tick=False):  # the same click again: nothing more
        again = browser.get(path).content.decode()
        assert "더 이상 제출 완료로 표시할 수 없습니다" in again and "제출 완료로 표시</button>" not in again
        browser.post(path, {"version": milestone.version, "csrfmiddlewaretoken": csrf_token(page)})
    assert Milestone.objects.get(pk=milestone.pk).version == milestone.version + 1


def test_a_stale_confirmation_page_changes_nothing(delivered, milestone, owner):
    path = path_of(line_after("제출 완료로 표시", delivered.text))
    client = Client()
    with time_machine.travel(DAY + dt.timedelta(hours=2), tick=False):
        page = client.get(path)
        stale_version = page.context["milestone"].version
        Milestone.objects.filter(pk=milestone.pk).update(version=stale_version + 1)  # someone saved meanwhile
        response = client.post(path, {"version": stale_version})
    assert response.status_code == 200 and "그사이 마일스톤이 바뀌었습니다" in response.content.decode()
    assert Milestone.objects.get(pk=milestone.pk).status == "planned"


def test_a_tampered_expired_or_misused_link_is_refused(delivered, milestone, owner, outsider):
    path = path_of(line_after("제출 완료로 표시", delivered.text))
    token = path.split("/")[-3]
    tampered = path.replace(token, token[:-1] + ("A" if token[-1] != "A" else "B"))
    unsubscribe_token = path_of(line_after("기한 알림 그만 받기", delivered.text)).split("/")[-2]
    client = Client()
    with time_machine.travel(DAY + dt.timedelta(hours=1), tick=False):
        assert client.get(tampered).status_code == 403
        assert client.post(tampered, {"version": milestone.version}).status_code == 403
        assert client.get(path.replace(token, unsubscribe_token)).status_code == 403  # signed for another purpose
        outsiders_link = links.milestone_submit_path(user_id=outsider.pk, milestone=milestone)
        assert client.get(outsiders_link).status_code == 403  # signed, but not theirs to change
    with time_machine.travel(DAY + dt.timedelta(days=13, hours=23), tick=False):
        assert client.get(path).status_code == 200
    with time_machine.travel(DAY + dt.timedelta(days=14, minutes=1), tick=False):
        assert client.get(path).status_code == 403
        assert client.post(path, {"version": milestone.version}).status_code == 403
    assert Milestone.objects.get(pk=milestone.pk).status == "planned"


def test_one_click_unsubscribe_changes_nothing_on_get_and_stops_reminders_on_post(delivered, owner, smtp_server):
    path = path_of(delivered.header("List-Unsubscribe").strip("<>"))
    mail_client = Client(enforce_csrf_checks=True)  # RFC 8058: a mail program POSTs without any CSRF token
    with time_machine.travel(DAY + dt.timedelta(hours=1), tick=False):
        assert mail_client.get(path).status_code == 200
        assert not NotificationPreference.objects.filter(user=owner).exists()
        response = mail_client.post(
            path, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
        )
    assert response.status_code == 200 and "더 이상 보내지 않습니다" in response.content.decode()
    assert NotificationPreference.objects.get(user=owner).reminders is False

    plan_twice(seoul("2026-12-04", 10))  # the D-3 day: nothing for someone who said no
    dispatch_at(seoul("2026-12-04", 10))
    assert list(Reminder.objects.exclude(status="skipped").values_list("threshold", flat=True)) == [7]
    assert list(Reminder.objects.filter(status="skipped").values_list("threshold", "skip_reason")) == [(3, "opted_out")]
    smtp_server.assert_delivered_exactly_once({delivered.message_id})


def test_the_preferences_page_from_the_email_saves_changes(delivered, owner):
    path = path_of(line_after("알림 설정 바꾸기", delivered.text))
    browser = Client(enforce_csrf_checks=True)
    with time_machine.travel(DAY + dt.timedelta(days=30), tick=False):
        page = browser.get(path)
        assert page.status_code == 200 and "owner@example.com" in page.content.decode()
        response = browser.post(
            path,
            {"digest": "on", "digest_my_projects": "on", "language": "en", "csrfmiddlewaretoken": csrf_token(page)},
        )
    assert response.status_code == 200 and "저장했습니다." in response.content.decode()
    preference = NotificationPreference.objects.get(user=owner)
    assert (preference.reminders, preference.digest, preference.digest_my_projects, preference.language) == (
        False,
        True,
        True,
        "en",
    )
    with time_machine.travel(DAY + dt.timedelta(days=91), tick=False):
        assert browser.get(path).status_code == 403


def test_a_recipient_who_chose_english_gets_the_email_in_english(milestone, owner, smtp_server):
    if not (Path(django_settings.BASE_DIR) / "locale/en/LC_MESSAGES/django.mo").exists():
        pytest.skip("locale/en/LC_MESSAGES/django.mo is absent (run compilemessages)")
    # The catalogue may be partial (untranslated strings fall back to Korean): check the phrases it translates.
    phrases = ["부산 성장전략 TF", "제출 완료로 표시", "기한 알림 그만 받기", "알림 설정 바꾸기"]
    with translation.override("en"):
        english = {korean: translation.gettext(korean) for korean in phrases}
    english = {korean: text for korean, text in english.items() if text != korean}
    if not english:
        pytest.skip("the English catalogue translates none of the reminder e-mail's phrases yet")
    NotificationPreference.objects.create(user=owner, language="en")
    plan_twice(DAY)
    dispatch_at(DAY)
    [received] = smtp_server.delivered
    for korean, text in english.items():
        assert korean not in received.subject + received.text + received.html, korean
        assert text in received.subject + received.text and text in received.subject + received.html, text
    assert "[D-7] 국비 신청서 제출" in received.text  # the data stays as entered
    if "제출 완료로 표시" in english:  # the signed link still works from the English e-mail
        path = path_of(line_after(english["제출 완료로 표시"], received.text))
        assert Client().get(path).status_code == 200
    with translation.override("ko"):  # and a Korean-speaking colleague still gets Korean
        assert translation.gettext("제출 완료로 표시") == "제출 완료로 표시"


# Query counts -------------------------------------------------------------------------------------------------


def test_a_planning_pass_takes_the_same_number_of_queries_for_5_or_60_milestones(project):
    people = people_with_milestones_due(project, 5, due="2026-12-09")  # the same five recipients at both sizes

    def queries_for_a_pass() -> int:
        Reminder.objects.all().delete()
        OutboxMessage.objects.all().delete()
        with time_machine.travel(DAY, tick=False), CaptureQueriesContext(connection) as captured:
            result = reminders_plan(now=DAY)
        assert result.messages == 5
        return len(captured)

    ReminderPolicy.current()  # created on first use: not part of a pass
    few = queries_for_a_pass()
    for n in range(55):
        MilestoneFactory(project=project, owner=people[n % 5], due_date=D("2026-12-09"))
    many = queries_for_a_pass()
    assert Reminder.objects.count() == 60
    # 20 queries on SQLite and on PostgreSQL (measured), whatever the number of milestones: policy, milestones,
    # managers, TF heads, opt-outs, unreachable users, recorded keys, insert; cancel stale: messages, update;
    # attach: savepoint, lock unattached, recent e-mails, insert, fetch, update; render: e-mails, reminders,
    # update; release.
    assert many == few


# Saying no after an e-mail was queued ---------------------------------------------------------------------------


def test_an_email_queued_before_a_one_click_unsubscribe_is_not_sent(project, owner, smtp_server):
    MilestoneFactory(project=project, owner=owner, title="내일 마감", due_date=D("2026-11-26"))
    plan_twice(seoul("2026-11-25", 10))
    dispatch_at(seoul("2026-11-25", 10))
    [first] = smtp_server.delivered
    MilestoneFactory(project=project, owner=owner, title="새로 등록", due_date=D("2026-12-02"))
    plan_twice(seoul("2026-11-25", 15))  # waits in tomorrow's e-mail
    with time_machine.travel(seoul("2026-11-25", 20), tick=False):
        Client(enforce_csrf_checks=True).post(
            path_of(first.header("List-Unsubscribe").strip("<>")),
            "List-Unsubscribe=One-Click",
            content_type="application/x-www-form-urlencoded",
        )
    assert NotificationPreference.objects.get(user=owner).reminders is False
    plan_twice(seoul("2026-11-26", 9, 5))
    dispatch_at(seoul("2026-11-26", 9, 5))
    smtp_server.assert_delivered_exactly_once({first.message_id})

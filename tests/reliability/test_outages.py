"""Reminders through outages and days off, with the clock moved (time-machine) while the scheduler ticks: the
planner and the dispatcher run every ten simulated minutes, as beat would run them, against the loopback SMTP
server, which is down (a closed port), then refusing for now (421/451), then up.

Each case ends by counting at the SMTP server: every e-mail owed arrived once, listing each reminder still owed
once, and nothing else arrived. These run on SQLite as well as PostgreSQL (no worker, no broker).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable
from email.utils import parsedate_to_datetime

import pytest
import time_machine
from django.conf import settings
from django.utils import timezone

from notifications.models import OutboxMessage, Reminder, ReminderPolicy
from notifications.outbox import outbox_dispatch
from notifications.reminders import reminders_plan
from projects import roles
from tests.factories import CoreProjectFactory, MilestoneFactory, UserFactory
from tests.smtp import ReceivedMessage, SmtpServer, accept_all, free_port, refuse_always
from tracker.dates import SEOUL

pytestmark = pytest.mark.django_db

Status = OutboxMessage.Status
HOUR = dt.timedelta(hours=1)
MONDAY = dt.date(2026, 12, 7)
TUESDAY = MONDAY + dt.timedelta(days=1)
FRIDAY_BEFORE = MONDAY - dt.timedelta(days=3)


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=SEOUL)


def tick_once(moment: dt.datetime) -> None:
    with time_machine.travel(moment, tick=False):
        reminders_plan(now=timezone.now())
        outbox_dispatch()


def office_hours(moment: dt.datetime) -> dt.timedelta:
    """Ticks every 15 minutes from 07:00 to 20:00, hourly at night: beat ticks far more often (the dispatcher
    every 10 s), but a sample of its ticks shows the same outcome, and keeps the suite quick."""
    return dt.timedelta(minutes=15) if 7 <= moment.astimezone(SEOUL).hour < 20 else HOUR


def run_scheduler(
    start: dt.datetime,
    end: dt.datetime,
    *,
    step: Callable[[dt.datetime], dt.timedelta] = lambda moment: HOUR,
    before_tick: Callable[[dt.datetime], None] | None = None,
) -> None:
    """Beat's ticks from ``start`` to ``end`` (every ``step(moment)``): the planner, then the dispatcher."""
    moment = start
    while moment <= end:
        if before_tick:
            before_tick(moment)
        tick_once(moment)
        moment += step(moment)


def sent_at(message: ReceivedMessage) -> dt.datetime:
    """When the message left, by its Date header (written when it is sent, in +0900)."""
    return parsedate_to_datetime(message.header("Date"))


def delivered_to(smtp_server: SmtpServer, person) -> list[ReceivedMessage]:
    return [message for message in smtp_server.delivered if person.email in message.rcpt_tos]


def assert_every_owed_email_arrived_once(smtp_server: SmtpServer) -> None:
    """By Message-ID: each row marked sent arrived exactly once, and nothing else arrived."""
    smtp_server.assert_delivered_exactly_once(
        OutboxMessage.objects.filter(status=Status.SENT).values_list("message_id", flat=True)
    )


class MailServer:
    """Points the app at the loopback server, or at a closed port (the relay is down), or makes the server
    refuse every message for now (``421``/``451``)."""

    def __init__(self, smtp_server: SmtpServer) -> None:
        self.server, self.closed_port = smtp_server, free_port()

    def down(self) -> None:
        settings.EMAIL_PORT = self.closed_port

    def refusing(self, reply: str) -> None:
        settings.EMAIL_PORT = self.server.port
        self.server.policy = refuse_always(reply)

    def up(self) -> None:
        settings.EMAIL_PORT = self.server.port
        self.server.policy = accept_all


@pytest.fixture
def mail_server(smtp_server) -> MailServer:
    return MailServer(smtp_server)


@pytest.fixture
def people(db, smtp_server):
    """Three project managers of one project, each owning one milestone; the default policy (09:00, working
    days). Friday 12-04 everyone had an e-mail already (their D-7 or D-14), so Monday starts clean.

    - ann, due Monday 12-14: D-7 on Monday.
    - bob, due Tuesday 12-08: D-1 on Monday, D-day on Tuesday.
    - cho, due Friday 12-11: D-3 on Tuesday.
    """
    ReminderPolicy.current()
    ann, bob, cho = (UserFactory(username=name, role=roles.PROJECT_MANAGER) for name in ("ann", "bob", "cho"))
    project = CoreProjectFactory(managers=[ann, bob, cho])
    MilestoneFactory(project=project, owner=ann, title="A 국비 신청", due_date=dt.date(2026, 12, 14))
    MilestoneFactory(project=project, owner=bob, title="B 공모 제출", due_date=TUESDAY)
    MilestoneFactory(project=project, owner=cho, title="C 협약 체결", due_date=dt.date(2026, 12, 11))
    tick_once(at(FRIDAY_BEFORE, 10))
    return ann, bob, cho


@pytest.mark.parametrize(
    ("outage_hours", "first_mail_after", "until"),
    [
        (3, at(MONDAY, 13), at(TUESDAY, 10)),
        (8, at(MONDAY, 18), at(TUESDAY, 10)),
        (30, at(TUESDAY, 16), at(TUESDAY, 17)),
    ],
    ids=["3h", "8h", "30h"],
)
def test_a_mail_server_outage_delays_the_reminders_and_loses_none(
    people, smtp_server, mail_server, outage_hours, first_mail_after, until
):
    """From Monday 09:00 the relay is down for ``outage_hours`` (connection refused), then answers 421 for half
    an hour and 451 for another, then is up. Every reminder still owed arrives once, within half an hour of the
    recovery; a Monday e-mail that could not go out on Monday carries its still-valid reminders into Tuesday's."""
    ann, bob, cho = people
    friday = len(smtp_server.delivered)
    assert friday == 3
    down_from = at(MONDAY, 9)
    refusing_from = down_from + dt.timedelta(hours=outage_hours)

    def relay(moment: dt.datetime) -> None:
        if moment < down_from:
            mail_server.up()
        elif moment < refusing_from:
            mail_server.down()
        elif moment < refusing_from + dt.timedelta(minutes=30):
            mail_server.refusing("421 4.3.2 Service not available, closing transmission channel")
        elif moment < first_mail_after:
            mail_server.refusing("451 4.3.0 Mail server temporarily rejected message")
        else:
            mail_server.up()

    run_scheduler(at(MONDAY, 8), until, step=office_hours, before_tick=relay)

    assert_every_owed_email_arrived_once(smtp_server)
    assert smtp_server.refused, "the relay refused nothing: the 421/451 hour did not happen"
    after = smtp_server.delivered[friday:]
    assert all(sent_at(message) >= first_mail_after for message in after[:2])
    recovered = [message for message in after if sent_at(message) < at(TUESDAY, 9) or outage_hours == 30]
    assert all(sent_at(message) <= first_mail_after + dt.timedelta(minutes=40) for message in recovered)
    assert not OutboxMessage.objects.filter(status=Status.FAILED).exists()
    assert not OutboxMessage.objects.filter(status__in=[Status.PENDING, Status.SENDING]).exists()

    # What each person read after Friday: every reminder still owed, once.
    texts = {person.username: [m.text for m in delivered_to(smtp_server, person)][1:] for person in people}
    if outage_hours == 30:
        # Monday's e-mails never went out on Monday; Tuesday's carry what still applied: ann's D-7 item (now
        # D-6), bob's Tuesday D-day (his Monday D-1 was overtaken), cho's D-3. One e-mail each.
        assert [len(texts[name]) for name in ("ann", "bob", "cho")] == [1, 1, 1]
        assert "[D-6] A 국비 신청" in texts["ann"][0]
        assert "[D-day] B 공모 제출" in texts["bob"][0] and "[D-1]" not in texts["bob"][0]
        assert "[D-3] C 협약 체결" in texts["cho"][0]
        carried = OutboxMessage.objects.filter(status=Status.CANCELLED, key__endswith=MONDAY.isoformat())
        assert carried.count() == 2 and all("다음 근무일" in row.last_error for row in carried)
    else:
        assert "[D-7] A 국비 신청" in texts["ann"][0] and len(texts["ann"]) == 1
        assert "[D-1] B 공모 제출" in texts["bob"][0] and "[D-day] B 공모 제출" in texts["bob"][1]
        assert len(texts["bob"]) == 2
        assert "[D-3] C 협약 체결" in texts["cho"][0] and len(texts["cho"]) == 1
    lines = [line for text in sum(texts.values(), []) for line in text.splitlines()]
    items = Counter(line.split("] ", 1)[1] for line in lines if line.startswith("[D"))
    assert items == {"A 국비 신청": 1, "B 공모 제출": 2 if outage_hours != 30 else 1, "C 협약 체결": 1}
    # Retries were spaced by a capped backoff: nobody waited more than half an hour between two tries.
    assert OutboxMessage.objects.filter(attempts__gt=1).exists()


def test_a_recipient_refused_for_good_fails_visibly_while_the_others_arrive(people, smtp_server):
    ann, bob, _cho = people
    smtp_server.recipient_policy = lambda address: "550 5.1.1 no such user" if address == bob.email else None
    run_scheduler(at(MONDAY, 8), at(MONDAY, 12), step=office_hours)
    failed = OutboxMessage.objects.get(status=Status.FAILED)
    assert failed.recipient == bob and "550" in failed.last_error
    assert_every_owed_email_arrived_once(smtp_server)
    assert [m.rcpt_tos for m in smtp_server.delivered[3:]] == [[ann.email]]


# Days off and the send hour -------------------------------------------------------------------------------------


@pytest.fixture
def pm(db, smtp_server):
    ReminderPolicy.current()
    person = UserFactory(username="pm", role=roles.PROJECT_MANAGER)
    return person, CoreProjectFactory(managers=[person])


def test_a_reminder_recorded_after_fridays_email_waits_for_monday_at_the_send_hour(pm, smtp_server):
    """Friday's e-mail went out at 09:00; at 15:00 a milestone due on Monday appears (D-3 is Friday): it is
    not sent on Saturday, nor early on Monday, but in Monday's 09:00 e-mail, as its D-day."""
    person, project = pm
    friday, monday = dt.date(2026, 12, 4), dt.date(2026, 12, 7)
    MilestoneFactory(project=project, owner=person, title="금요일 알림", due_date=dt.date(2026, 12, 11))
    run_scheduler(at(friday, 8), at(friday, 14, 50))
    assert len(smtp_server.delivered) == 1
    MilestoneFactory(project=project, owner=person, title="월요일 마감", due_date=monday)

    run_scheduler(at(friday, 15), at(monday, 8, 50))
    assert len(smtp_server.delivered) == 1, [sent_at(m) for m in smtp_server.delivered]
    run_scheduler(at(monday, 9), at(monday, 12))

    assert_every_owed_email_arrived_once(smtp_server)
    friday_email, monday_email = smtp_server.delivered
    assert sent_at(friday_email) == at(friday, 9) and "[D-7] 금요일 알림" in friday_email.text
    assert sent_at(monday_email) == at(monday, 9)
    assert "[D-day] 월요일 마감" in monday_email.text and "금요일 알림" not in monday_email.text


def test_a_milestone_created_on_saturday_is_emailed_on_monday_at_the_send_hour(pm, smtp_server):
    person, project = pm
    saturday, monday = dt.date(2026, 12, 5), dt.date(2026, 12, 7)
    with time_machine.travel(at(saturday, 11), tick=False):
        MilestoneFactory(project=project, owner=person, title="토요일에 만든 마일스톤", due_date=dt.date(2026, 12, 14))
        MilestoneFactory(project=project, owner=person, title="월요일 마감", due_date=monday)
    run_scheduler(at(saturday, 11), at(monday, 8, 50))
    assert smtp_server.delivered == []
    assert Reminder.objects.filter(status=Reminder.Status.PENDING).count() == 2  # recorded, waiting

    run_scheduler(at(monday, 9), at(monday, 10))
    assert_every_owed_email_arrived_once(smtp_server)
    (email,) = smtp_server.delivered
    assert sent_at(email) == at(monday, 9)
    # The nearest thresholds on Monday: D-7 (D-14 was overtaken over the weekend), and the D-day of the other.
    assert "[D-7] 토요일에 만든 마일스톤" in email.text and "[D-day] 월요일 마감" in email.text


def test_the_day_before_chuseok_a_late_reminder_waits_for_the_first_working_day_after_it(pm, smtp_server):
    """2026 추석: Thursday 9-24 to Saturday 9-26. Wednesday 9-23's e-mail has gone out when a reminder is
    recorded; the next working day is Monday 9-28."""
    person, project = pm
    wednesday, monday = dt.date(2026, 9, 23), dt.date(2026, 9, 28)
    MilestoneFactory(project=project, owner=person, title="추석 전 알림", due_date=dt.date(2026, 9, 30))
    run_scheduler(at(wednesday, 8), at(wednesday, 15))
    MilestoneFactory(project=project, owner=person, title="연휴 뒤 마감", due_date=dt.date(2026, 10, 2))
    run_scheduler(at(wednesday, 15, 10), at(monday, 8, 50))
    assert len(smtp_server.delivered) == 1
    run_scheduler(at(monday, 9), at(monday, 10))

    assert_every_owed_email_arrived_once(smtp_server)
    wednesday_email, monday_email = smtp_server.delivered
    assert sent_at(wednesday_email) == at(wednesday, 9) and "추석 전 알림" in wednesday_email.text
    assert sent_at(monday_email) == at(monday, 9) and "연휴 뒤 마감" in monday_email.text


@pytest.mark.parametrize(
    ("missed_day", "next_email_at"),
    [(dt.date(2026, 12, 4), at(dt.date(2026, 12, 7), 9)), (dt.date(2026, 12, 8), at(dt.date(2026, 12, 9), 9))],
    ids=["friday-to-monday", "tuesday-to-wednesday"],
)
def test_a_catch_up_after_midnight_waits_for_the_next_working_days_send_hour(
    pm, smtp_server, missed_day, next_email_at
):
    """The scheduler was down all of ``missed_day``; its first tick is at 00:01 the next day, when that day's
    reminder is caught up. It goes at the next working day's send hour, not at 00:01 (nor on a Saturday)."""
    person, project = pm
    MilestoneFactory(project=project, owner=person, title="놓친 날의 알림", due_date=missed_day + dt.timedelta(days=7))
    first_tick = at(missed_day + dt.timedelta(days=1), 0, 1)
    run_scheduler(first_tick, next_email_at - dt.timedelta(minutes=1))
    assert smtp_server.delivered == []
    assert Reminder.objects.get().status == Reminder.Status.PENDING
    run_scheduler(next_email_at, next_email_at + dt.timedelta(minutes=30))

    assert_every_owed_email_arrived_once(smtp_server)
    (email,) = smtp_server.delivered
    assert sent_at(email) == next_email_at and "놓친 날의 알림" in email.text


def test_a_catch_up_at_0801_waits_for_0900(pm, smtp_server):
    person, project = pm
    tuesday = dt.date(2026, 12, 8)
    MilestoneFactory(project=project, owner=person, title="어제의 알림", due_date=dt.date(2026, 12, 14))  # D-7 Mon
    tick_once(at(tuesday, 8, 1))
    assert smtp_server.delivered == [] and OutboxMessage.objects.get().not_before == at(tuesday, 9)
    tick_once(at(tuesday, 9))
    (email,) = smtp_server.delivered
    assert sent_at(email) == at(tuesday, 9)


def test_with_days_off_switched_off_in_the_policy_saturday_is_an_ordinary_day(pm, smtp_server):
    person, project = pm
    ReminderPolicy.objects.filter(pk=1).update(shift_to_working_day=False)
    saturday = dt.date(2026, 12, 5)
    MilestoneFactory(project=project, owner=person, title="토요일 알림", due_date=dt.date(2026, 12, 12))
    run_scheduler(at(saturday, 8), at(saturday, 10))
    (email,) = smtp_server.delivered
    assert sent_at(email) == at(saturday, 9)

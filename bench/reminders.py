"""Deadline reminders: a planning pass over 7,100 and 71,000 milestones, and 10,000 e-mails end to end.

    DEBUG=true .venv/bin/python bench/reminders.py [--keep]

Needs PostgreSQL and Redis on loopback (BENCH_DATABASE_SERVER, BENCH_REDIS_URL). Everything runs against a
database of its own, ``tracker_bench`` (dropped and re-created, migrated, for each scenario; dropped at the
end unless --keep) and Redis database 5 (flushed; no other database is touched). Settings are production's
(DEBUG off), as in bench/portfolio.py.

(a) Planning: the portfolio generator at ×10 and ×100 (bench/generate.py: 7,100 and 71,000 milestones, 50
    and 500 users), then ``reminders_plan`` twice at the same moment: the first pass records what is due and
    queues the e-mails (the dispatcher writes them when it sends them), the second is the steady tick beat
    runs every five minutes (nothing new). Wall time and the number of SQL statements (counted with
    connection.execute_wrapper).
(b) End to end, as shipped: 10,000 people each owning one milestone due in seven days (a policy that sends at
    00:00, so the run does not depend on the hour): plan them into 10,000 outbox e-mails, then start one worker
    with two processes (``celery -A tracker worker -c 2``) and ``celery beat`` with the default schedule, and
    let them deliver through Redis to a recording SMTP server on loopback (tests/smtp.py). Nothing else is
    published: beat's first dispatch tick finds the backlog, fans out and continues until it is empty.
    Messages per second counted at the SMTP server, from the first message accepted to the last (and the wall
    time from beat's start, which includes the wait for its first tick); duplicates and missing by Message-ID.

Prints one table and writes it to bench/results/reminders-<date>.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.databases import bench_database_name  # noqa: E402 (needs the path above)
from bench.report import load_average, markdown_table, report_write  # noqa: E402

SERVER = os.environ.get("BENCH_DATABASE_SERVER", "postgres://postgres@127.0.0.1:5432")
DATABASE = bench_database_name("tracker_bench")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/5")
VAR_DIR = ROOT / "var" / "bench-reminders"
E2E_PEOPLE = 10_000

os.environ.update(
    DJANGO_SETTINGS_MODULE="tracker.settings",
    DATABASE_URL=f"{SERVER}/{DATABASE}",
    REDIS_URL=REDIS_URL,
    DEBUG="false",
    SECRET_KEY="bench-only-" + "x" * 50,
    VAR_DIR=str(VAR_DIR),
    LOG_LEVEL="WARNING",
)
os.environ.pop("EMAIL_URL", None)


def fresh_database() -> None:
    from django.core.management import call_command
    from django.db import connection

    from bench.databases import database_recreate

    database_recreate(SERVER, DATABASE)
    call_command("migrate", verbosity=0)
    connection.close()


def analyze() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # what autovacuum does after a bulk load


@contextmanager
def counting_queries():
    """Counts every SQL statement this thread sends, whatever DEBUG is."""
    from django.db import connection

    count = {"queries": 0}

    def counter(execute, sql, params, many, context):
        count["queries"] += 1
        return execute(sql, params, many, context)

    with connection.execute_wrapper(counter):
        yield count


def timed(action: Callable):
    with counting_queries() as count:
        started = time.perf_counter()
        result = action()
        elapsed = time.perf_counter() - started
    return result, elapsed, count["queries"]


def planning(scale: int) -> list[dict]:
    from django.utils import timezone

    from bench.generate import portfolio_generate
    from notifications.models import OutboxMessage
    from notifications.reminders import reminders_plan
    from projects.models import Milestone
    from tracker.dates import seoul_today

    fresh_database()
    portfolio_generate(scale=scale, today=seoul_today())
    analyze()
    milestones = Milestone.objects.count()
    now = timezone.now()
    rows = []
    for name in ("plan, first pass (records, queues)", "plan, steady tick (nothing new)"):
        result, elapsed, queries = timed(lambda: reminders_plan(now=now))
        rows.append(
            {
                "scenario": name,
                "size": f"{milestones:,} milestones",
                "seconds": elapsed,
                "queries": queries,
                "outcome": f"{result.recorded:,} reminders recorded, {result.messages:,} e-mails queued",
            }
        )
    rows[0]["outcome"] += f"; {OutboxMessage.objects.count():,} in the outbox"
    return rows


def e2e_people(today: dt.date) -> None:
    """10,000 people, each the owner of one milestone due in seven days."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from notifications.models import ReminderPolicy
    from projects import roles
    from projects.models import CoreProject, Department, Milestone
    from projects.services import plan_load_seed

    plan, _tally = plan_load_seed()
    tasks = [task for strategy in plan.strategies.all() for task in strategy.tasks.all()]
    department = Department.objects.create(name="[예시] 벤치 알림 부서")
    projects = CoreProject.objects.bulk_create(
        [
            CoreProject(
                plan=plan,
                task=tasks[n % len(tasks)],
                code=f"DEMO-R{n:04d}",
                name=f"[예시] 알림 벤치 사업 {n}",
                lead_department=department,
                is_sample=True,
            )
            for n in range(100)
        ]
    )
    User = get_user_model()
    people = User.objects.bulk_create(
        [User(username=f"remind{n}", email=f"remind{n}@example.com", password="!") for n in range(E2E_PEOPLE)],
        batch_size=2000,
    )
    # Reminders follow access: each owner has a role (project manager) and manages the project of their milestone.
    Group.objects.get(name=roles.PROJECT_MANAGER).user_set.add(*people)
    CoreProject.managers.through.objects.bulk_create(
        [
            CoreProject.managers.through(coreproject_id=projects[n % len(projects)].pk, user_id=person.pk)
            for n, person in enumerate(people)
        ],
        batch_size=5000,
    )
    Milestone.objects.bulk_create(
        [
            Milestone(
                project=projects[n % len(projects)],
                kind=Milestone.Kind.NATIONAL_FUNDING,
                title=f"벤치 마일스톤 {n}",
                responsible_agency="해양수산부",
                due_date=today + dt.timedelta(days=7),
                owner=person,
            )
            for n, person in enumerate(people)
        ],
        batch_size=2000,
    )
    ReminderPolicy.objects.update_or_create(pk=1, defaults={"send_hour": 0, "shift_to_working_day": False})


def start_celery(name: str, arguments: list[str], smtp_port: int, ready: str) -> subprocess.Popen:
    env = {**os.environ, "EMAIL_URL": f"smtp://127.0.0.1:{smtp_port}", "LOG_LEVEL": "INFO", "CONN_MAX_AGE": "60"}
    log_path = VAR_DIR / f"{name}.log"
    log_path.unlink(missing_ok=True)
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "tracker", *arguments, "--loglevel", "INFO"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    wait_until(lambda: ready in log_path.read_text(errors="replace"), timeout=60, what=f"{name} to start")
    return process


def start_worker(smtp_port: int) -> subprocess.Popen:
    arguments = ["worker", "--concurrency", "2", "--hostname", f"bench-reminders-{os.getpid()}@%h"]
    arguments += ["--without-heartbeat", "--without-mingle", "--without-gossip"]
    return start_celery("worker", arguments, smtp_port, ready=" ready.")


def start_beat(smtp_port: int) -> subprocess.Popen:
    """celery beat with the default schedule (tracker/settings.py), a fresh schedule file."""
    schedule = VAR_DIR / "celerybeat-schedule"
    for leftover in VAR_DIR.glob("celerybeat-schedule*"):
        leftover.unlink()
    return start_celery("beat", ["beat", "--schedule", str(schedule)], smtp_port, ready="beat: Starting")


def stop(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def wait_until(condition: Callable[[], bool], *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up after {timeout} s waiting for {what}")
        time.sleep(0.05)


def end_to_end() -> list[dict]:
    import redis
    from django.utils import timezone

    from notifications.models import OutboxMessage
    from notifications.reminders import reminders_plan
    from tests.smtp import SmtpServer
    from tracker.dates import seoul_today

    fresh_database()
    e2e_people(seoul_today())
    analyze()
    plan_result, plan_seconds, plan_queries = timed(lambda: reminders_plan(now=timezone.now()))
    expected = set(OutboxMessage.objects.filter(status="pending").values_list("message_id", flat=True))
    broker = redis.Redis.from_url(REDIS_URL)
    broker.flushdb()  # database 5 only
    rows = [
        {
            "scenario": "plan 10,000 reminders into the outbox",
            "size": f"{E2E_PEOPLE:,} milestones",
            "seconds": plan_seconds,
            "queries": plan_queries,
            "outcome": f"{plan_result.recorded:,} reminders, {len(expected):,} e-mails pending",
        }
    ]
    with SmtpServer() as smtp_server:
        worker = start_worker(smtp_server.port)
        beat = None
        try:
            started = time.perf_counter()
            beat = start_beat(smtp_server.port)
            smtp_server.wait_for_deliveries(1, timeout=120)
            first = time.perf_counter()
            smtp_server.wait_for_deliveries(len(expected), timeout=900)
            last = time.perf_counter()
            elapsed, delivering = last - started, last - first
            wait_until(lambda: broker.llen("celery") == 0 and not broker.hlen("unacked"), timeout=120, what="idle")
            time.sleep(1)  # anything still in flight would show up now
        finally:
            if beat is not None:
                stop(beat)
            stop(worker)
            broker.flushdb()
    counts = smtp_server.deliveries_by_message_id()
    duplicates = sum(n - 1 for n in counts.values() if n > 1)
    missing = len(expected - set(counts))
    unexpected = len(set(counts) - expected)
    sent = OutboxMessage.objects.filter(status="sent").count()
    rows.append(
        {
            "scenario": "deliver as shipped: beat's default schedule, Redis, 1 worker × 2 processes, SMTP on loopback",
            "size": f"{len(expected):,} e-mails",
            "seconds": elapsed,
            "queries": None,
            "outcome": f"**{(len(expected) - 1) / delivering:,.0f} messages/s** at the SMTP server "
            f"({delivering:.1f} s from the first to the last; {elapsed - delivering:.1f} s waiting for beat's first "
            f"tick); {duplicates} duplicates, {missing} missing, {unexpected} unexpected; {sent:,} rows marked sent",
        }
    )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scales", type=int, nargs="*", default=[10, 100], help="portfolio scales to plan over")
    parser.add_argument("--skip-e2e", action="store_true")
    parser.add_argument("--keep", action="store_true", help="leave the tracker_bench database for inspection")
    args = parser.parse_args()
    VAR_DIR.mkdir(parents=True, exist_ok=True)

    import django

    from bench.databases import database_recreate

    django.setup()
    load_before = load_average()
    rows = []
    try:
        for scale in args.scales:
            rows += planning(scale)
        if not args.skip_e2e:
            rows += end_to_end()
    finally:
        if not args.keep:
            database_recreate(SERVER, DATABASE, drop_only=True)

    title = (
        f"Deadline reminders, {dt.date.today()} ({os.cpu_count()} cores, PostgreSQL and Redis on loopback, DEBUG off;"
        f" load average (1, 5, 15 min) {load_before} at the start, {load_average()} at the end)"
    )
    table = markdown_table(
        ["scenario", "size", "wall s", "queries", "outcome"],
        (
            [
                row["scenario"],
                row["size"],
                f"{row['seconds']:.2f}",
                "–" if row["queries"] is None else row["queries"],
                row["outcome"],
            ]
            for row in rows
        ),
        align="lrrrl",
    )
    report_write("reminders", title, table)


if __name__ == "__main__":
    main()

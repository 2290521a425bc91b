"""National scale: exports, table pages, the reminder planner, imports and the escalation e-mail, each as a ratio
to its own SQL, at ×1, ×10 and ×100 (the planner also at ×1000 on request).

    DEBUG=true .venv/bin/python bench/scale.py [--scales 1 10 100] [--planner-scales 1000] [--runs 5]
                                               [--only exports pages planner import escalation] [--reuse]
                                               [--out FILE]

Each scale gets a PostgreSQL database of its own, ``tracker_bench_scale_x<scale>`` plus BENCH_DB_SUFFIX
(bench/databases.py), filled by bench/generate.py and dropped at the end (kept with --reuse, which also reuses
one that is already filled). Everything runs in a child process per scale with production's settings (DEBUG
off). What "its SQL" is, for each row:

- export, page: every statement the request sent, captured and replayed through a raw cursor that fetches all
  rows (what the database alone needs to answer the request). Exports are read to the last byte.
- planner, first pass and steady tick: one statement that finds exactly the rows the first pass writes (owed and
  skipped, with the planner's access routing and skip reasons; the bench checks that the two sets are equal).
  The first pass records and queues; the steady tick (the same moment again) finds nothing new. Also shown: the
  same rows found and written by one INSERT … SELECT (rolled back), the floor for any first pass. Each run starts
  from emptied, vacuumed tables, and the steady tick follows an ANALYZE, as autovacuum would have run by then.
- import: preview and confirm of the tracker's own milestone export of N rows (the round trip), against the
  statements it sent, replayed. Reported as rows per second too.
- escalation: the largest reminder e-mail of the day (the TF head's), bytes and items, against its SQL.

Targets (issue 17): export CSV ≤ 3×, XLSX ≤ 6×, pages ≤ 2×, planner first pass ≤ 3× and steady tick ≤ 2×,
import ≥ 2,000 rows/s. Prints one table with the machine's load average at the start and the end, and writes it
to bench/results/scale-<date>.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.databases import bench_child_env, bench_database_name  # noqa: E402 (needs the path above)
from bench.report import load_average, markdown_table, median_ms, report_write  # noqa: E402

SERVER = os.environ.get("BENCH_DATABASE_SERVER", "postgres://postgres@127.0.0.1:5432")
PARTS = ("exports", "pages", "planner", "import", "escalation")
ROW_ORDER = ("export", "page", "planner", "import", "escalation")


def database_for(scale: int) -> str:
    return bench_database_name(f"tracker_bench_scale_x{scale}")


# The child ---------------------------------------------------------------------------------------------------


class Recorder:
    """Captures the statements a piece of code sends (whatever DEBUG is), to replay them as bare SQL."""

    def __init__(self):
        self.statements: list[tuple[str, object]] = []

    def __call__(self, execute, sql, params, many, context):
        self.statements.append((sql, params))
        return execute(sql, params, many, context)

    def selects(self) -> list[tuple[str, object]]:
        return [(sql, params) for sql, params in self.statements if sql.lstrip().upper().startswith("SELECT")]


def _replay(statements) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        for sql, params in statements:
            cursor.execute(sql, params)
            cursor.fetchall()


def _prepare(scale: int, reuse: bool) -> None:
    from django.core.management import call_command
    from django.db import connection

    from bench.generate import portfolio_generate
    from projects.models import Milestone
    from tracker.dates import seoul_today

    call_command("migrate", verbosity=0)
    if reuse and Milestone.objects.exists():
        with connection.cursor() as cursor:
            # A reused database holds every earlier run's dead rows (an import rewrites 40,000 milestones a run),
            # and this machine's PostgreSQL runs without autovacuum: the milestones table was once 140 MB for
            # 13 MB of live rows, and every scan of it read them all. Compacted, it is as generated again.
            cursor.execute("VACUUM FULL ANALYZE")
        return
    call_command("collectstatic", interactive=False, verbosity=0)
    portfolio_generate(scale=scale, today=seoul_today())
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # what autovacuum does after a bulk load


def _request(client, url: str) -> int:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    if response.streaming:
        return sum(len(chunk) for chunk in response.streaming_content)
    return len(response.content)


def _measure_request(client, url: str, runs: int) -> dict:
    from django.db import connection

    _request(client, url)  # warm-up
    recorder = Recorder()
    with connection.execute_wrapper(recorder):
        size = _request(client, url)
    selects = recorder.selects()
    wall = median_ms(lambda: _request(client, url), runs)
    bare = median_ms(lambda: _replay(selects), runs)
    return {"ms": wall, "sql_ms": bare, "queries": len(recorder.statements), "bytes": size}


def _client(user):
    from django.test import Client

    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    return client


def measure_exports(scale: int, runs: int, reader) -> list[dict]:
    from projects.models import CoreProject, Milestone

    client = _client(reader)
    rows = []
    for path, label, count in (
        ("/milestones/", "milestones", Milestone.objects.count()),
        ("/projects/", "projects", CoreProject.objects.count()),
    ):
        for fmt, target in (("csv", 3), ("xlsx", 6)):
            result = _measure_request(client, f"{path}?_export={fmt}", max(1, runs // 2) if scale >= 100 else runs)
            rows.append(
                {
                    "part": "export",
                    "what": f"{fmt.upper()} of all {label} ({count:,} rows)",
                    "target": target,
                    **result,
                }
            )
    return rows


def measure_pages(scale: int, runs: int, reader) -> list[dict]:
    from projects.tables import PortfolioMilestoneTable, PortfolioProjectTable

    client = _client(reader)
    rows = []
    for path, table_class in (("/milestones/", PortfolioMilestoneTable), ("/projects/", PortfolioProjectTable)):
        table = table_class([])
        sorts = [""] + [prefix + column.name for column in table.columns if column.orderable for prefix in ("", "-")]
        for sort in sorts:
            url = f"{path}?sort={sort}" if sort else path
            rows.append(
                {
                    "part": "page",
                    "what": f"{path} sorted by {sort or 'default'}",
                    "target": 2,
                    **_measure_request(client, url, runs),
                }
            )
    return rows


def _owed_sql(now: dt.datetime):
    """One statement finding the rows the planner's first pass writes at ``now``: every reminder owed (the owner
    while they may change the project, else the project's managers who may; escalations to the strategy lead and
    the TF heads) and every one recorded as skipped, with its reason (opted out, lost access, no address,
    inactive; an owner who may no longer change the project). The rules are those of notifications/reminders.py
    and projects/permissions.py, written as SQL; which threshold a due date owes now is worked out beforehand
    (a few hundred dates, untimed), as the planner does in Python."""
    from django.contrib.auth.models import Permission

    from notifications.models import ReminderPolicy
    from notifications.reminders import HOLIDAY_SLACK_DAYS, reminder_due
    from projects import roles
    from projects.models import Milestone
    from tracker.dates import SEOUL

    policy = ReminderPolicy.current()
    today = now.astimezone(SEOUL).date()
    horizon = today + dt.timedelta(days=max(policy.thresholds) + HOLIDAY_SLACK_DAYS)
    due = {
        day: reminder_due(due_date=day, policy=policy, now=now)
        for day in set(
            Milestone.objects.filter(status__in=Milestone.OPEN_STATUSES, due_date__lte=horizon).values_list(
                "due_date", flat=True
            )
        )
    }
    due = {day: item for day, item in sorted(due.items()) if item is not None}

    def permission(codename: str) -> int:
        return Permission.objects.get(content_type__app_label="projects", codename=codename).pk

    sql = """
        WITH due AS (
            SELECT * FROM unnest(%(days)s::date[], %(thresholds)s::int[], %(send_ons)s::date[])
                       AS d (day, threshold, send_on)
        ), tf AS (
            SELECT ug.user_id FROM auth_user_groups ug JOIN auth_group g ON g.id = ug.group_id
             WHERE g.name = %(tf_head)s
        ), holds AS (
            SELECT up.user_id, up.permission_id FROM auth_user_user_permissions up
            UNION SELECT ug.user_id, gp.permission_id
                    FROM auth_user_groups ug JOIN auth_group_permissions gp ON gp.group_id = ug.group_id
        ), admins AS (
            SELECT u.id FROM auth_user u
             WHERE u.is_active AND (u.is_superuser OR u.id IN (
                   SELECT ug.user_id FROM auth_user_groups ug JOIN auth_group g ON g.id = ug.group_id
                    WHERE g.name = %(admin)s))
        ), changers AS (
            SELECT pm.coreproject_id AS project_id, pm.user_id
              FROM projects_coreproject_managers pm JOIN auth_user u ON u.id = pm.user_id
             WHERE u.is_active AND (u.is_superuser OR pm.user_id IN (
                   SELECT user_id FROM holds WHERE permission_id = %(change)s))
        ), excluded AS (
            SELECT u.id,
                   CASE WHEN NOT u.is_active THEN 'inactive' WHEN u.email = '' THEN 'no_email'
                        WHEN NOT u.is_superuser
                         AND u.id NOT IN (SELECT user_id FROM holds WHERE permission_id = %(view)s) THEN 'lost_access'
                        ELSE 'opted_out' END AS reason
              FROM auth_user u LEFT JOIN notifications_notificationpreference np ON np.user_id = u.id
             WHERE NOT u.is_active OR u.email = '' OR np.reminders = false
                OR (NOT u.is_superuser AND u.id NOT IN (SELECT user_id FROM holds WHERE permission_id = %(view)s))
        ), ms AS (
            SELECT m.id, m.due_date, m.owner_id, m.project_id, s.lead_id, d.threshold, d.send_on,
                   (%(escalate)s > 0 AND d.threshold <= -%(escalate)s) AS escalates,
                   (a.id IS NOT NULL OR oc.user_id IS NOT NULL) AS owner_hears
              FROM projects_milestone m
              JOIN due d ON d.day = m.due_date
              LEFT JOIN projects_coreproject p ON p.id = m.project_id
              LEFT JOIN projects_task t ON t.id = p.task_id
              LEFT JOIN projects_strategy s ON s.id = t.strategy_id
              LEFT JOIN admins a ON a.id = m.owner_id
              LEFT JOIN changers oc ON oc.project_id = m.project_id AND oc.user_id = m.owner_id
             WHERE m.status IN ('planned', 'in_progress', 'submitted')
        ), escalated AS (
            SELECT ms.*, ms.lead_id AS user_id FROM ms WHERE ms.escalates AND ms.lead_id IS NOT NULL
            UNION ALL
            SELECT ms.*, tf.user_id FROM ms CROSS JOIN tf
             WHERE ms.escalates AND tf.user_id IS DISTINCT FROM ms.lead_id
        ), found AS (
            -- the owner, while they may change the project
            SELECT ms.owner_id AS user_id, ms.*, false AS escalation, '' AS reason FROM ms WHERE ms.owner_hears
            UNION ALL
            -- otherwise the project's managers who may
            SELECT c.user_id, ms.*, false, '' FROM ms JOIN changers c ON c.project_id = ms.project_id
             WHERE NOT ms.owner_hears
            UNION ALL
            -- escalations, to whoever does not hear about it already
            SELECT e.user_id, e.id, e.due_date, e.owner_id, e.project_id, e.lead_id, e.threshold, e.send_on,
                   e.escalates, e.owner_hears, true, ''
              FROM escalated e
             WHERE NOT (e.owner_hears AND e.user_id = e.owner_id)
               AND NOT EXISTS (SELECT 1 FROM changers c
                                WHERE NOT e.owner_hears AND c.project_id = e.project_id AND c.user_id = e.user_id)
            UNION ALL
            -- an owner who may no longer change the project (and is not escalated to): skipped
            SELECT ms.owner_id, ms.*, false, 'lost_access' FROM ms
             WHERE ms.owner_id IS NOT NULL AND NOT ms.owner_hears
               AND NOT (ms.escalates AND (ms.owner_id IS NOT DISTINCT FROM ms.lead_id
                                          OR ms.owner_id IN (SELECT user_id FROM tf)))
        )
        SELECT f.user_id, f.id, f.threshold, f.due_date, f.send_on, f.escalation, COALESCE(x.reason, f.reason)
          FROM found f LEFT JOIN excluded x ON x.id = f.user_id
    """
    return sql, {
        "days": list(due),
        "thresholds": [item.threshold for item in due.values()],
        "send_ons": [item.send_on for item in due.values()],
        "admin": roles.ADMIN,
        "tf_head": roles.TF_HEAD,
        "change": permission("change_milestone"),
        "view": permission("view_coreproject"),
        "escalate": policy.escalate_after_days,
    }


def _write_floor(sql: str, params: dict) -> float:
    """The least a first pass can cost: the same rows found and written by one INSERT … SELECT (foreign keys checked
    as they are at commit), rolled back; milliseconds. No e-mails: the planner also writes one per person and puts
    each person's reminders in theirs."""
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM notifications_reminder")
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET LOCAL jit = off")
        started = time.perf_counter()
        cursor.execute(
            "INSERT INTO notifications_reminder (recipient_id, milestone_id, threshold, due_date, send_on,"
            " is_escalation, status, skip_reason, created_at)"
            " SELECT f.recipient_id, f.milestone_id, f.threshold, f.due_date, f.send_on, f.escalation,"
            " CASE WHEN f.reason = '' THEN 'pending' ELSE 'skipped' END, f.reason, now()"
            f" FROM ({sql}) AS f (recipient_id, milestone_id, threshold, due_date, send_on, escalation, reason)"
            " ON CONFLICT DO NOTHING",
            params,
        )
        elapsed = (time.perf_counter() - started) * 1000
        transaction.set_rollback(True)
    return elapsed


def _written_rows() -> set[tuple]:
    from notifications.models import Reminder

    return set(
        Reminder.objects.values_list(
            "recipient_id", "milestone_id", "threshold", "due_date", "send_on", "is_escalation", "skip_reason"
        )
    )


def measure_planner(scale: int, runs: int) -> list[dict]:
    from django.db import connection
    from django.utils import timezone

    from notifications.models import OutboxMessage, Reminder
    from notifications.reminders import reminders_plan
    from projects.models import Milestone

    now = timezone.now()
    sql, params = _owed_sql(now)
    bare_rows: set[tuple] = set()

    def bare(jit: bool = False):
        nonlocal bare_rows
        with connection.cursor() as cursor:
            # At its best: PostgreSQL's JIT, set off by the statement's row estimates, compiles for longer than the
            # statement runs (188 ms of 320 at ×100). The issue measured it at the server's defaults (JIT on): that
            # figure is shown beside the first pass, the ratios are to the statement at its best.
            cursor.execute(f"SET jit = {'on' if jit else 'off'}")
            cursor.execute(sql, params)
            bare_rows = set(cursor.fetchall())
            cursor.execute("RESET jit")

    bare()
    bare_ms = median_ms(bare, runs)
    bare_jit_ms = median_ms(lambda: bare(jit=True), runs)
    first, steady, queries, widest = [], [], {}, 0

    def widest_statement(execute, sql, params, many, context):
        nonlocal widest
        widest = max(widest, len(params or ()))
        return execute(sql, params, many, context)

    recorded, written = 0, set()
    planner_runs = 1 if scale >= 1000 else min(runs, 3)
    tables = f"{Reminder._meta.db_table}, {OutboxMessage._meta.db_table}"
    for _ in range(planner_runs):
        Reminder.objects.all().delete()
        OutboxMessage.objects.all().delete()
        with connection.cursor() as cursor:
            # A fresh start, as a database that never deleted every reminder would be: without it each run read
            # the dead rows of the runs before it (the pending-reminder index held 145,528 entries for 18,191).
            cursor.execute(f"VACUUM ANALYZE {tables}")
        with connection.execute_wrapper(widest_statement):
            for label, timings in (("first", first), ("steady", steady)):
                if label == "steady":
                    with connection.cursor() as cursor:
                        # What autovacuum does within a minute of the first pass's inserts, long before the next
                        # tick: the steady tick is planned with the table's real size, not an empty table's.
                        cursor.execute(f"ANALYZE {tables}")
                count = {"n": 0}

                def counter(execute, sql, params, many, context, count=count):
                    count["n"] += 1
                    return execute(sql, params, many, context)

                with connection.execute_wrapper(counter):
                    started = time.perf_counter()
                    result = reminders_plan(now=now)
                    timings.append((time.perf_counter() - started) * 1000)
                queries[label] = count["n"]
                if label == "first":
                    recorded, written = result.recorded, _written_rows()
    floor_ms = statistics.median(_write_floor(sql, params) for _ in range(runs))
    milestones = Milestone.objects.count()
    differ = len(written ^ bare_rows)
    same = "the same rows" if not differ else f"{differ:,} rows differ"
    common = {"sql_ms": bare_ms, "bytes": None}
    return [
        {
            "part": "planner",
            "what": f"first pass, {milestones:,} milestones ({len(written):,} rows written, {recorded:,} of them owed;"
            f" SQL finds {len(bare_rows):,}, {same}; finding and writing them in one INSERT … SELECT takes"
            f" {floor_ms:,.0f} ms, {statistics.median(first) / floor_ms:.2f}× that; the SQL at the server's defaults,"
            f" JIT on, as issue 17 measured it: {bare_jit_ms:,.0f} ms, {statistics.median(first) / bare_jit_ms:.2f}×"
            " that)",
            "target": 3,
            "ms": statistics.median(first),
            "queries": queries["first"],
            "widest": widest,
            **common,
        },
        {
            "part": "planner",
            "what": f"steady tick, {milestones:,} milestones",
            "target": 2,
            "ms": statistics.median(steady),
            "queries": queries["steady"],
            "widest": widest,
            **common,
        },
    ]


def measure_escalation(scale: int, runs: int) -> list[dict]:
    """The biggest reminder e-mail after the planner's first pass (the TF head's escalation summary)."""
    from django.db import connection
    from django.db.models import Count
    from django.utils import timezone

    from notifications.models import OutboxMessage, Reminder
    from notifications.reminder_emails import messages_render
    from notifications.reminders import reminders_plan
    from projects import roles
    from tests.factories import UserFactory

    if not OutboxMessage.objects.exists():
        UserFactory(username="bench-tf-head-mail", role=roles.TF_HEAD)
        reminders_plan(now=timezone.now())
    biggest = (
        OutboxMessage.objects.filter(kind=OutboxMessage.Kind.REMINDER)
        .annotate(items=Count("reminders"))
        .order_by("-items")
        .first()
    )
    if biggest is None:
        return []
    status = biggest.status
    recorder = Recorder()
    with connection.execute_wrapper(recorder):
        messages_render(message_ids={biggest.pk}, status=status)
    selects = recorder.selects()
    wall = median_ms(lambda: messages_render(message_ids={biggest.pk}, status=status), runs)
    bare = median_ms(lambda: _replay(selects), runs)
    biggest.refresh_from_db()
    size = len(biggest.body_text.encode()) + len(biggest.body_html.encode())
    items = Reminder.objects.filter(message=biggest).count()
    return [
        {
            "part": "escalation",
            "what": f"largest reminder e-mail ({items:,} reminders in it)",
            "target": None,
            "ms": wall,
            "sql_ms": bare,
            "queries": len(recorder.statements),
            "bytes": size,
        }
    ]


def measure_import(scale: int, runs: int) -> list[dict]:
    from bench.imports import measure_round_trip

    return measure_round_trip(scale=scale)


def child(scale: int, runs: int, parts: list[str], reuse: bool) -> list[dict]:
    import django

    django.setup()
    from projects import roles
    from tests.factories import UserFactory

    _prepare(scale, reuse)
    from django.contrib.auth import get_user_model

    reader = get_user_model().objects.filter(username="bench-scale-reader").first() or UserFactory(
        username="bench-scale-reader", role=roles.TF_HEAD
    )
    rows: list[dict] = []
    if "exports" in parts:
        rows += measure_exports(scale, runs, reader)
    if "pages" in parts:
        rows += measure_pages(scale, runs, reader)
    if "planner" in parts:
        rows += measure_planner(scale, runs)
    if "escalation" in parts:
        rows += measure_escalation(scale, runs)
    if "import" in parts:
        rows += measure_import(scale, runs)
    for row in rows:
        row["scale"] = scale
    return rows


# The parent --------------------------------------------------------------------------------------------------


def run_scale(scale: int, runs: int, parts: list[str], reuse: bool) -> list[dict]:
    from bench.databases import database_recreate

    name = database_for(scale)
    if not reuse:
        database_recreate(SERVER, name)
    else:
        import psycopg

        with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as admin:
            if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
                admin.execute(f'CREATE DATABASE "{name}"')
    env = bench_child_env(
        f"{SERVER}/{name}",
        ROOT / "var" / "bench-scale",
        DJANGO_SETTINGS_MODULE="tracker.settings",
        LOG_LEVEL="WARNING",
    )
    env.pop("EMAIL_URL", None)
    command = [sys.executable, __file__, "--child", str(scale), "--runs", str(runs), "--only", *parts]
    if reuse:
        command.append("--reuse")
    try:
        output = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True)
        if output.returncode:
            sys.stderr.write(output.stderr[-5000:])
            raise SystemExit(f"scale ×{scale} failed")
        return json.loads(output.stdout.strip().splitlines()[-1])
    finally:
        if not reuse:
            database_recreate(SERVER, name, drop_only=True)


def _ratio(row: dict) -> str:
    if row.get("rows_per_s") is not None:
        return f"{row['rows_per_s']:,.0f} rows/s"
    if not row.get("sql_ms"):
        return "–"
    ratio = row["ms"] / row["sql_ms"]
    met = "" if row.get("target") is None else (" ✓" if ratio <= row["target"] else " ✗")
    return f"{ratio:.2f}{met}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scales", type=int, nargs="+", default=[1, 10, 100])
    parser.add_argument("--planner-scales", type=int, nargs="*", default=[], help="extra scales for the planner")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--only", nargs="+", choices=PARTS, default=list(PARTS))
    parser.add_argument("--reuse", action="store_true", help="keep the databases, and reuse one already filled")
    parser.add_argument("--out", type=Path, help="where to write the table (default bench/results/scale-<date>.md)")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.runs, args.only, args.reuse), default=str))
        return

    load_before = load_average()
    rows = []
    for scale in args.scales:
        rows += run_scale(scale, args.runs, args.only, args.reuse)
    for scale in args.planner_scales:
        if scale not in args.scales:
            rows += run_scale(scale, args.runs, ["planner"], args.reuse)
    title = (
        f"National scale, {dt.date.today()} ({os.cpu_count()} cores, PostgreSQL on loopback, DEBUG off), median of"
        f" {args.runs} runs (exports at ×100: {max(1, args.runs // 2)}); load average (1, 5, 15 min)"
        f" {load_before} at the start, {load_average()} at the end"
    )
    table = markdown_table(
        [
            "part",
            "what",
            "scale",
            "ms",
            "its SQL ms",
            "ratio (target)",
            "queries",
            "widest statement (params)",
            "bytes",
        ],
        (
            [
                row["part"],
                row["what"],
                f"×{row['scale']}",
                f"{row['ms']:.1f}",
                f"{row['sql_ms']:.1f}" if row.get("sql_ms") else "–",
                _ratio(row) + (f" (≤ {row['target']}×)" if row.get("target") else ""),
                row.get("queries", "–"),
                row.get("widest", "–"),
                f"{row['bytes']:,}" if row.get("bytes") else "–",
            ]
            for row in sorted(rows, key=lambda r: (ROW_ORDER.index(r["part"]), r["what"], r["scale"]))
        ),
        align="llrrrrrrr",
    )
    report_write("scale", title, table, out=args.out)


if __name__ == "__main__":
    main()

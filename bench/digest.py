"""Weekly digest: build time and query count at ×1, ×10 and ×100, against the bare SQL it needs.

    DEBUG=true .venv/bin/python bench/digest.py [--scales 1 10 100] [--runs 7]

For each scale a PostgreSQL database of its own (tracker_bench_digest, dropped and re-created) is filled by
bench/generate.py, history included (every row created 60 days ago, 5% of the open milestones moved on last
week). Then, for the whole-plan digest of the last complete week (the TF head's):

- build: ``digest_build`` (figures as of the end of the week and the week before, changes from the history,
  missing and flagged notes), median of the runs, and the number of SQL statements it sends;
- bare SQL: the very statements the build sent, captured and replayed through a raw cursor (fetching every
  row), median of the runs: what the database alone needs;
- render: writing the e-mail (subject, text and HTML with the trend bars) from the built digest;
- page: the digest page's HTML with its five SVG charts (charts cached by content after the first run);
- PDF: the A4 report (WeasyPrint, charts as vectors);
- whole: one cold run of all of it (empty cache: trend points and charts drawn afresh), as the planner does it;
- dashboard: ``/dashboard/`` (roll-up and twelve-week trends) as a TF head: median of the runs with nothing
  changed in between, median with one milestone saved before each request (the milestones' figures are counted
  again), and the first request on an empty cache (past trend points and charts made afresh).

Targets: build within 3× of the bare SQL at every scale; the whole digest with its PDF under 5 s at ×100; the
dashboard under 150 ms at ×100. Settings are production's (DEBUG off). The load average is printed at the start
and the end of each scale: on a shared machine, compare runs made under the same load. Prints one table and writes
it to bench/results/digest-<date>.md (digest-<date>-<hhmm>.md if that exists).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.databases import bench_database_name  # noqa: E402 (needs the path above)
from bench.report import RESULTS, markdown_table, median_ms, report_write  # noqa: E402

SERVER = os.environ.get("BENCH_DATABASE_SERVER", "postgres://postgres@127.0.0.1:5432")
DATABASE = bench_database_name("tracker_bench_digest")

os.environ.update(
    DJANGO_SETTINGS_MODULE="tracker.settings",
    DATABASE_URL=f"{SERVER}/{DATABASE}",
    DEBUG="false",
    SECRET_KEY="bench-only-" + "x" * 50,
    VAR_DIR=str(ROOT / "var" / "bench-digest"),
    LOG_LEVEL="WARNING",
    ALLOWED_HOSTS="127.0.0.1",
    SECURE_SSL_REDIRECT="false",
)
os.environ.pop("REDIS_URL", None)


def measure(scale: int, runs: int) -> dict:
    from django.core.cache import cache
    from django.core.management import call_command
    from django.db import connection
    from django.template.loader import render_to_string
    from django.utils.safestring import mark_safe

    from bench.databases import database_recreate
    from bench.generate import portfolio_generate
    from notifications.digest import Scope, digest_build, digest_email_render, digest_pdf, latest_complete_week
    from notifications.models import OutboxMessage
    from projects.charts import trend_svg
    from projects.models import Milestone
    from tests.factories import UserFactory
    from tracker.dates import seoul_today

    load_before = os.getloadavg()[0]
    database_recreate(SERVER, DATABASE)
    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)  # the page links its style sheet
    plan = portfolio_generate(scale=scale, today=seoul_today())
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # what autovacuum does after a bulk load
    week = latest_complete_week(seoul_today())
    scope = Scope(kind="plan")

    statements: list[tuple[str, tuple]] = []

    def capture(execute, sql, params, many, context):
        statements.append((sql, params))
        return execute(sql, params, many, context)

    digest_build(plan=plan, scope=scope, week_start=week)  # warm-up
    with connection.execute_wrapper(capture):
        digest = digest_build(plan=plan, scope=scope, week_start=week)

    def replay() -> None:
        with connection.cursor() as cursor:
            for sql, params in statements:
                cursor.execute(sql, params)
                cursor.fetchall()

    build = median_ms(lambda: digest_build(plan=plan, scope=scope, week_start=week), runs)
    bare = median_ms(replay, runs)
    head = UserFactory(username="bench-digest-reader")
    message = OutboxMessage(recipient=head, key="bench", kind=OutboxMessage.Kind.DIGEST)
    render = median_ms(lambda: digest_email_render(message, digest, language="ko"), runs)
    digest.written_on = seoul_today()

    def page() -> None:
        charts = [(t, mark_safe(trend_svg(t, compact=i > 0))) for i, t in enumerate(digest.trends)]
        render_to_string("notifications/digest_page.html", {"digest": digest, "archive": [], "charts": charts})

    page_ms = median_ms(page, runs)
    pdf_ms = median_ms(lambda: digest_pdf(digest), max(3, runs // 2))

    def whole() -> None:
        cache.clear()
        built = digest_build(plan=plan, scope=scope, week_start=week)
        built.written_on = seoul_today()
        digest_email_render(message, built, language="ko")
        digest_pdf(built)

    whole_ms = median_ms(whole, 1)
    dashboard = dashboard_measure(runs)
    return {
        **dashboard,
        "load": (load_before, os.getloadavg()[0]),
        "page": page_ms,
        "pdf": pdf_ms,
        "whole": whole_ms,
        "scale": scale,
        "milestones": Milestone.objects.count(),
        "queries": len(statements),
        "build": build,
        "bare": bare,
        "render": render,
        "changes": len(digest.changes) + digest.changes_more,
    }


def dashboard_measure(runs: int) -> dict:
    """The dashboard as a TF head: unchanged between requests, after a milestone was saved, and on an empty cache."""
    from django.core.cache import cache
    from django.db import connection
    from django.test import Client

    from projects import roles
    from projects.models import Milestone
    from tests.factories import UserFactory

    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(UserFactory(username="bench-dashboard-reader", role=roles.TF_HEAD))
    cache.clear()

    def get() -> None:
        assert client.get("/dashboard/").status_code == 200

    cold = median_ms(get, 1)
    warm = median_ms(get, runs)
    sent: list[str] = []

    def count(execute, sql, params, many, context):
        sent.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        get()
    milestone = Milestone.objects.order_by("pk").first()
    timings = []
    for _ in range(runs):
        milestone.save()  # a new history record: the milestones' figures are counted again
        started = time.perf_counter()
        get()
        timings.append((time.perf_counter() - started) * 1000)
    return {
        "dashboard_cold": cold,
        "dashboard": warm,
        "dashboard_changed": statistics.median(timings),
        "dashboard_queries": len(sent),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scales", type=int, nargs="+", default=[1, 10, 100])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()

    import django

    from bench.databases import database_recreate

    django.setup()
    try:
        rows = [measure(scale, args.runs) for scale in args.scales]
    finally:
        database_recreate(SERVER, DATABASE, drop_only=True)
    title = (
        f"Weekly digest (whole plan), {dt.date.today()} ({os.cpu_count()} cores, PostgreSQL on loopback, DEBUG off),"
        f" median of {args.runs} runs"
    )
    header = ["scale", "load avg (start → end)", "milestones", "queries", "build ms (with 12-week trends)"]
    header += ["bare SQL ms", "build ÷ SQL", "e-mail ms", "÷ SQL", "page ms", "÷ SQL", "PDF ms", "÷ SQL"]
    header += ["whole, cold ms", "changes in the week", "dashboard ms", "after a change ms", "cold ms", "queries"]
    table = markdown_table(
        header,
        (
            [
                f"×{row['scale']}",
                f"{row['load'][0]:.1f} → {row['load'][1]:.1f}",
                f"{row['milestones']:,}",
                row["queries"],
                f"{row['build']:.1f}",
                f"{row['bare']:.1f}",
                f"{row['build'] / row['bare']:.2f}",
                f"{row['render']:.1f}",
                f"{row['render'] / row['bare']:.1f}",
                f"{row['page']:.1f}",
                f"{row['page'] / row['bare']:.1f}",
                f"{row['pdf']:.0f}",
                f"{row['pdf'] / row['bare']:.1f}",
                f"{row['whole']:.0f}",
                f"{row['changes']:,}",
                f"{row['dashboard']:.1f}",
                f"{row['dashboard_changed']:.1f}",
                f"{row['dashboard_cold']:.0f}",
                row["dashboard_queries"],
            ]
            for row in rows
        ),
        align="ll" + "r" * 17,
    )
    out = RESULTS / f"digest-{dt.date.today()}.md"
    if out.exists():  # an earlier run of the day is kept
        out = out.with_name(f"digest-{dt.date.today()}-{dt.datetime.now():%H%M}.md")
    report_write("digest", title, table, out=out)


if __name__ == "__main__":
    main()

"""Portfolio pages at ×1, ×10 and ×100: median and p95 server time and query count of each page.

    DEBUG=true .venv/bin/python bench/portfolio.py [--scales 1 10 100] [--runs 15]

Each scale gets its own PostgreSQL database (tracker_bench_x<scale>, dropped and re-created), filled by
bench/generate.py; pages are requested in-process through Django's test client as a TF head and as a
superuser (admin changelist). Prints one table and writes it to bench/results/portfolio-<date>.md.
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
BASE_URL = os.environ.get("BENCH_DATABASE_SERVER", "postgres://postgres@127.0.0.1:5432")


def measure(scale: int, runs: int) -> list[dict]:
    """Runs inside the child process, with DATABASE_URL pointing at this scale's database."""
    import django

    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tracker.settings")
    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from bench.generate import portfolio_generate
    from projects import roles
    from projects.models import CoreProject, Strategy
    from tests.factories import UserFactory
    from tracker.dates import seoul_today

    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    portfolio_generate(scale=scale, today=seoul_today())
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # what autovacuum does after a bulk load; without it the planner guesses
    reader = UserFactory(username="bench-tf-head", role=roles.TF_HEAD)
    admin = UserFactory(username="bench-admin", is_staff=True, is_superuser=True)
    project = CoreProject.objects.order_by("pk")[len(CoreProject.objects.all()) // 2]
    strategy = Strategy.objects.order_by("order").first()
    pages = [
        ("dashboard", reader, "/dashboard/"),
        ("project table, first page", reader, "/projects/"),
        ("project table, filtered", reader, f"/projects/?strategy={strategy.pk}&rag_status=at_risk&q=사업"),
        ("milestone table", reader, "/milestones/?due=upcoming"),
        ("project page", reader, f"/projects/{project.pk}/"),
        # Codes DEMO-B00000…DEMO-B00099: 100 projects × 10 milestones = 1,000 rows (710 at ×1).
        ("XLSX export, 1,000 rows", reader, "/milestones/?q=DEMO-B000&_export=xlsx"),
        ("admin milestone changelist", admin, "/admin/projects/milestone/"),
    ]
    rows = []
    for name, user, url in pages:
        client = Client(HTTP_HOST="127.0.0.1")
        client.force_login(user)
        client.get(url)  # warm-up
        timings, queries = [], 0
        for _ in range(runs):
            with CaptureQueriesContext(connection) as captured:
                started = time.perf_counter()
                response = client.get(url)
                timings.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, (url, response.status_code)
            queries = len(captured)
        timings.sort()
        rows.append(
            {
                "page": name,
                "scale": scale,
                "median_ms": round(statistics.median(timings), 1),
                "p95_ms": round(timings[max(0, int(len(timings) * 0.95) - 1)], 1),
                "queries": queries,
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scales", type=int, nargs="+", default=[1, 10, 100])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child, args.runs)))
        return
    sys.path.insert(0, str(ROOT))
    from bench.databases import bench_child_env, bench_database_name, database_recreate
    from bench.report import load_average, markdown_table, report_write

    results = []
    for scale in args.scales:
        name = bench_database_name(f"tracker_bench_x{scale}")
        database_recreate(BASE_URL, name)
        env = bench_child_env(f"{BASE_URL}/{name}", ROOT / "var" / "bench")
        output = subprocess.run(
            [sys.executable, __file__, "--child", str(scale), "--runs", str(args.runs)],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        results += json.loads(output.strip().splitlines()[-1])
    title = (
        f"Portfolio pages, {dt.date.today()} ({os.cpu_count()} cores; load average (1, 5, 15 min) {load_average()}"
        f" at the end), {args.runs} runs each"
    )
    table = markdown_table(
        ["page", "scale", "median ms", "p95 ms", "queries"],
        (
            [row["page"], f"×{row['scale']}", row["median_ms"], row["p95_ms"], row["queries"]]
            for row in sorted(results, key=lambda r: (r["page"], r["scale"]))
        ),
        align="lrrrr",
    )
    report_write("portfolio", title, table)


if __name__ == "__main__":
    main()

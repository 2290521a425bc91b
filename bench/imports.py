"""Spreadsheet import at scale: the tracker's own milestone export of a generated portfolio, imported back.

Called by bench/scale.py (``--only import``) inside the scale's child process. The file is the milestone
sheet that ``portfolio_export`` writes (XLSX), at most MAX_ROWS rows; the preview (a dry run) and the confirm
(the real import) are timed, with the statements they sent replayed as their bare SQL. The round trip must
change nothing.
"""

from __future__ import annotations

import time


def measure_round_trip(*, scale: int) -> list[dict]:
    from django.db import connection

    from bench.scale import Recorder, _replay
    from projects.models import Milestone, Plan
    from projects.spreadsheets.columns import MILESTONES
    from projects.spreadsheets.files import portfolio_export, portfolio_import

    plan = Plan.objects.get(code="busan-2025")
    started = time.perf_counter()
    content = portfolio_export(plan=plan, file_format="xlsx", kinds=(MILESTONES,))
    export_ms = (time.perf_counter() - started) * 1000
    rows = Milestone.objects.filter(project__plan=plan).count()
    results = []
    for label, dry_run in (("preview", True), ("confirm", False)):
        recorder = Recorder()
        with connection.execute_wrapper(recorder):
            started = time.perf_counter()
            report = portfolio_import(content=content, plan=plan, kind=MILESTONES, dry_run=dry_run)
            elapsed = (time.perf_counter() - started) * 1000
        assert not report.refused, report.problems[:3]
        changed = sum(sheet.created + sheet.updated for sheet in report.sheets)
        started = time.perf_counter()
        _replay(recorder.selects())
        bare = (time.perf_counter() - started) * 1000
        results.append(
            {
                "part": "import",
                "what": f"{label} of the tracker's own milestone export ({rows:,} rows, {changed} changed)",
                "target": None,
                "ms": elapsed,
                "sql_ms": bare,
                "rows_per_s": rows / (elapsed / 1000),
                "queries": len(recorder.statements),
                "bytes": len(content),
            }
        )
    results.append(
        {
            "part": "import",
            "what": f"export of the same {rows:,} rows (XLSX, for the round trip)",
            "target": None,
            "ms": export_ms,
            "sql_ms": None,
            "queries": None,
            "bytes": len(content),
        }
    )
    return results

"""Spreadsheet import at scale: the tracker's own milestone export of a generated portfolio, imported back the
way the admin does it (preview, then confirm with the preview's certificate).

Called by bench/scale.py (``--only import``) inside the scale's child process. The file is the milestone sheet
that the import/export columns write (XLSX), of at most ROWS rows (the issue's 20,000-row file at ×100). The
preview is a dry run over every row; the confirm gets the preview's certificate and imports only what the
preview found to change (nothing, for a round trip). Both are timed with the statements they sent replayed as
their bare SQL, and reported as rows per second. The round trip must change nothing.
"""

from __future__ import annotations

import time

ROWS = 20_000


def measure_round_trip(*, scale: int) -> list[dict]:
    from django.db import connection

    from bench.scale import Recorder, _replay
    from projects.models import Milestone, Plan
    from projects.spreadsheets.columns import MilestoneResource
    from projects.spreadsheets.files import PortfolioFileFormat, workbook_bytes

    plan = Plan.objects.get(code="busan-2025")
    queryset = MilestoneResource(plan=plan).get_queryset()[:ROWS]
    started = time.perf_counter()
    dataset = MilestoneResource(plan=plan).export(queryset=queryset, force_native_type=True)
    content = workbook_bytes([dataset])
    export_ms = (time.perf_counter() - started) * 1000
    rows = dataset.height
    results = []
    certificate = ""
    for label, dry_run in (("preview", True), ("confirm", False)):
        recorder = Recorder()
        with connection.execute_wrapper(recorder):
            started = time.perf_counter()
            sheet = PortfolioFileFormat().create_dataset(content)  # reading the file is part of each step
            resource = MilestoneResource(plan=plan, certificate=certificate)
            result = resource.import_data(sheet, dry_run=dry_run)
            elapsed = (time.perf_counter() - started) * 1000
        assert not result.has_errors(), result.problems[:3]
        certificate = getattr(result, "certificate", "")
        started = time.perf_counter()
        _replay(recorder.selects())
        bare = (time.perf_counter() - started) * 1000
        results.append(
            {
                "part": "import",
                "what": f"{label} of the tracker's own milestone export ({rows:,} rows: {result.created} new,"
                f" {result.updated} changed, {result.unchanged:,} unchanged)",
                "target": None,
                "ms": elapsed,
                "sql_ms": bare,
                "rows_per_s": rows / (elapsed / 1000),
                "queries": len(recorder.statements),
                "bytes": len(content),
            }
        )
    assert Milestone.objects.filter(project__plan=plan).count() >= rows
    results.append(
        {
            "part": "import",
            "what": f"admin export of the same {rows:,} rows (XLSX, the round trip's file)",
            "target": None,
            "ms": export_ms,
            "sql_ms": None,
            "queries": None,
            "bytes": len(content),
        }
    )
    return results

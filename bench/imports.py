"""Spreadsheet import at scale: the tracker's own milestone export of a generated portfolio, imported back the
way the admin does it (preview, then confirm with the preview's certificate).

Called by bench/scale.py (``--only import``) inside the scale's child process. The file is the milestone sheet
that the import/export columns write (XLSX), of at most ROWS rows (the issue's 20,000-row file at ×30 or ×100).
Three files are imported, each previewed (a dry run over every row) and then confirmed with the preview's
certificate (only what the preview found to change is imported again):

- the round trip: the export as it is, which must change nothing;
- every row changed: the same file with every 비고 cell rewritten (every milestone updated, with history);
- every row new: the same file with every 마일스톤 title changed (as many milestones created, with history;
  deleted again afterwards, so that a reused database stays the same size).

Each step is timed with the statements it sent replayed as their bare SQL, and reported as rows per second.
Then a fourth file (every 비고 changed once more) goes the background job's way (jobs.py): checked in chunks,
then imported once confirmed, called here directly rather than through a worker.
"""

from __future__ import annotations

import os
import time

ROWS = 20_000


def _import_step(*, plan, content: bytes, dry_run: bool, certificate: str):
    from django.db import connection

    from bench.scale import Recorder
    from projects.spreadsheets.columns import MilestoneResource
    from projects.spreadsheets.files import PortfolioFileFormat

    recorder = Recorder()
    with connection.execute_wrapper(recorder):
        started = time.perf_counter()
        sheet = PortfolioFileFormat().create_dataset(content)  # reading the file is part of each step
        resource = MilestoneResource(plan=plan, certificate=certificate)
        result = resource.import_data(sheet, dry_run=dry_run)
        elapsed = (time.perf_counter() - started) * 1000
    assert not result.has_errors(), result.problems[:3]
    return result, elapsed, recorder


def _measure_job(*, plan, content: bytes, rows: int) -> list[dict]:
    """The same changed file as a background job (what the admin does with a file over IMPORT_BACKGROUND_ROWS):
    its check in chunks, each committing its progress, then its confirmed import; run here without a worker."""
    try:
        from projects.models import ImportJob
        from projects.spreadsheets.jobs import import_job_process
    except ImportError:
        return []  # a tracker from before background imports
    job = ImportJob.objects.create(
        kind="milestones", plan=plan, file_name="bench.xlsx", content=content, rows_total=rows
    )
    results = []
    for label in ("background check", "background import (confirmed)"):
        started = time.perf_counter()
        status = import_job_process(job_id=job.pk)
        elapsed = (time.perf_counter() - started) * 1000
        job.refresh_from_db()
        assert status in ("checked", "succeeded"), (status, job.problems[:3], job.error)
        if status == "checked":
            ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.CONFIRMED)
        results.append(
            {
                "part": "import",
                "what": f"{label} of a file with every 비고 changed ({rows:,} rows: {job.updated_count:,} changed)",
                "target": None,
                "ms": elapsed,
                "sql_ms": None,
                "rows_per_s": rows / (elapsed / 1000),
                "queries": None,
                "bytes": len(content),
            }
        )
    job.delete()
    return results


def measure_round_trip(*, scale: int) -> list[dict]:
    import tablib

    from bench.scale import _replay
    from projects.models import Milestone, Plan
    from projects.spreadsheets.columns import MilestoneResource
    from projects.spreadsheets.files import workbook_bytes

    plan = Plan.objects.get(code="busan-2025")
    queryset = MilestoneResource(plan=plan).get_queryset()[:ROWS]
    started = time.perf_counter()
    dataset = MilestoneResource(plan=plan).export(queryset=queryset, force_native_type=True)
    content = workbook_bytes([dataset])
    export_ms = (time.perf_counter() - started) * 1000
    rows = dataset.height
    token = f"{time.time_ns() % 10**9}"
    files = {"the tracker's own milestone export": content}
    headers = list(dataset.headers)
    notes, titles = headers.index("비고"), headers.index("마일스톤")
    changed_notes = [list(row) for row in dataset]
    new_titles = [list(row) for row in dataset]
    for row in changed_notes:
        row[notes] = f"벤치 변경 {token}"
    for row in new_titles:
        row[titles] = f"{row[titles]} 새 {token}"
    job_notes = [list(row) for row in dataset]
    for row in job_notes:
        row[notes] = f"벤치 작업 {token}"
    job_file = workbook_bytes([tablib.Dataset(*job_notes, headers=headers, title=dataset.title)])
    for label, body in (("every row's 비고 changed", changed_notes), ("every row a new milestone", new_titles)):
        files[label] = workbook_bytes([tablib.Dataset(*body, headers=headers, title=dataset.title)])

    # BENCH_IMPORT_FILES=same,changed,new,job picks some of the files (all by default), for quick interleaved runs.
    chosen = set(os.environ.get("BENCH_IMPORT_FILES", "same,changed,new,job").split(","))
    names = dict(zip(files, ("same", "changed", "new"), strict=True))
    files = {label: content for label, content in files.items() if names[label] in chosen}
    results = []
    for file_label, file_content in files.items():
        certificate = ""
        for label, dry_run in (("preview", True), ("confirm", False)):
            result, elapsed, recorder = _import_step(
                plan=plan, content=file_content, dry_run=dry_run, certificate=certificate
            )
            certificate = getattr(result, "certificate", "")
            started = time.perf_counter()
            _replay(recorder.selects())
            bare = (time.perf_counter() - started) * 1000
            results.append(
                {
                    "part": "import",
                    "what": f"{label} of {file_label} ({rows:,} rows: {result.created:,} new,"
                    f" {result.updated:,} changed, {result.unchanged:,} unchanged)",
                    "target": None,
                    "ms": elapsed,
                    "sql_ms": bare,
                    "rows_per_s": rows / (elapsed / 1000),
                    "queries": len(recorder.statements),
                    "bytes": len(file_content),
                }
            )
    if "job" in chosen:
        results += _measure_job(plan=plan, content=job_file, rows=rows)
    Milestone.objects.filter(project__plan=plan, title__endswith=f" 새 {token}").delete()
    Milestone.history.filter(title__endswith=f" 새 {token}").delete()
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

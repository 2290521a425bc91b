"""Large spreadsheet imports as a background job (a Celery task), with their progress in the admin.

A file of more than ``settings.IMPORT_BACKGROUND_ROWS`` data rows is not checked in the admin's request: the upload
becomes an ``ImportJob`` (the file kept in its row until the job ends) and a worker checks it in chunks of
``settings.IMPORT_CHUNK_ROWS`` rows, recording after each chunk how many rows it has checked, so that the admin's
page (which the admin may leave and come back to) shows a progress bar. The check is the preview: each chunk is
checked in a transaction that is rolled back, so nothing is written. A refused file lists every refused row with
its reason; a file without problems waits for the admin to confirm it. The confirm imports, in one transaction
(all or nothing), only the rows the check found to create or change something, checked again, exactly as the
admin's confirm does with its preview's certificate (previews.py): if the database changed since the check, the
whole file is checked again inside that transaction. A job that fails leaves the data as it was, and says so in
the log and in the admin. The file is emptied from the row when the job ends, whatever the outcome.
"""

from __future__ import annotations

import datetime as dt
import logging
from functools import partial

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from projects.models import ImportJob, Plan
from projects.spreadsheets.columns import RESOURCES, ImportProblem, PortfolioResult
from projects.spreadsheets.files import PortfolioFileError, PortfolioFileFormat

logger = logging.getLogger("tracker.imports")

# A checked job nobody confirmed is dropped (and its file with it) after this long.
ABANDONED_AFTER = dt.timedelta(days=1)
# A job that has not recorded progress for this long is taken to have lost its worker (the task's hard time
# limit is shorter), and may be claimed again when its task is delivered again.
STALE_AFTER_SECONDS = 60 * 60


def sheet_rows(*, content: bytes, kind: str) -> int:
    """How many data rows of ``kind`` the admin's import would read from this file (0 if it cannot be read: the
    ordinary import then says why)."""
    try:
        dataset = PortfolioFileFormat().create_dataset(content)
    except (PortfolioFileError, ValueError):
        return 0
    sheets = getattr(dataset, "sheets", None) or [dataset]
    mine = [sheet for sheet in sheets if sheet.kind == kind] or sheets[:1]
    return mine[0].height


def import_job_create(*, content: bytes, file_name: str, kind: str, plan: Plan, user, rows: int) -> ImportJob:
    """Keep the upload as a job and queue its check once the job row is committed."""
    from projects.tasks import import_job_run

    ImportJob.objects.filter(status=ImportJob.Status.CHECKED, updated_at__lt=timezone.now() - ABANDONED_AFTER).update(
        status=ImportJob.Status.CANCELLED, content=None, certificate="", finished_at=timezone.now()
    )
    job = ImportJob.objects.create(
        kind=kind, plan=plan, file_name=file_name[:255], content=content, rows_total=rows, created_by=user
    )
    logger.info("import_job=%s event=queued kind=%s rows=%s file=%r", job.pk, kind, rows, file_name)
    transaction.on_commit(lambda: import_job_run.delay(job_id=job.pk))
    return job


def import_job_confirm(*, job: ImportJob, user) -> bool:
    """The admin's go-ahead for a checked job: queue its import. False if the job is not waiting for one."""
    from projects.tasks import import_job_run

    claimed = ImportJob.objects.filter(pk=job.pk, status=ImportJob.Status.CHECKED).update(
        status=ImportJob.Status.CONFIRMED, rows_done=0, updated_at=timezone.now()
    )
    if claimed:
        logger.info("import_job=%s event=confirmed user=%s", job.pk, getattr(user, "pk", None))
        transaction.on_commit(lambda: import_job_run.delay(job_id=job.pk))
    return bool(claimed)


def import_job_cancel(*, job: ImportJob) -> bool:
    """Drop a job that waits for confirmation: nothing was written; the file is removed."""
    cancelled = ImportJob.objects.filter(pk=job.pk, status=ImportJob.Status.CHECKED).update(
        status=ImportJob.Status.CANCELLED, content=None, certificate="", finished_at=timezone.now()
    )
    return bool(cancelled)


def _claim(job_id: int) -> ImportJob | None:
    """Take the job for this worker with one conditional UPDATE: a queued check or a confirmed import, or a running
    one whose worker went silent long ago. Anything else (already done, taken by another worker) is left alone."""
    stale = timezone.now() - dt.timedelta(seconds=STALE_AFTER_SECONDS)
    for waiting, running in (
        (ImportJob.Status.QUEUED, ImportJob.Status.CHECKING),
        (ImportJob.Status.CONFIRMED, ImportJob.Status.IMPORTING),
    ):
        claimed = (
            ImportJob.objects.filter(pk=job_id)
            .filter(Q(status=waiting) | Q(status=running, updated_at__lt=stale))
            .update(status=running, rows_done=0, started_at=timezone.now(), updated_at=timezone.now())
        )
        if claimed:
            return ImportJob.objects.get(pk=job_id)
    return None


def progress_record(job_id: int, done: int) -> None:
    """Rows checked so far; written between two chunks, outside any transaction, so the admin's page sees it."""
    ImportJob.objects.filter(pk=job_id).update(rows_done=done, updated_at=timezone.now())


def _problems_json(problems: list[ImportProblem]) -> list[dict]:
    return [
        {"sheet": problem.sheet, "row": problem.row, "column": problem.column, "message": problem.message}
        for problem in problems
    ]


def _finish(job: ImportJob, **fields) -> None:
    """The job's outcome; the kept file is emptied with it."""
    fields.update(content=None, finished_at=timezone.now())
    if fields.get("status") != ImportJob.Status.CHECKED:
        fields["certificate"] = ""
    else:
        fields.pop("content")  # the confirm reads the file again
        fields.pop("finished_at")
    ImportJob.objects.filter(pk=job.pk).update(**fields, updated_at=timezone.now())


def _counts(result: PortfolioResult) -> dict:
    return {
        "created_count": result.created,
        "updated_count": result.updated,
        "unchanged_count": result.unchanged,
    }


def import_job_process(*, job_id: int) -> str | None:
    """Run the next step of a job (its check, or its confirmed import) if it is this worker's to run; returns the
    status it ended in, or None if there was nothing to do."""
    job = _claim(job_id)
    if job is None:
        return None
    importing = job.status == ImportJob.Status.IMPORTING
    try:
        dataset = PortfolioFileFormat().create_dataset(bytes(job.content or b""))
        resource = RESOURCES[job.kind](plan=job.plan, certificate=job.certificate if importing else "")
        if importing:
            result = resource.import_data(dataset, dry_run=False, user=job.created_by, file_name=job.file_name)
        else:
            result = resource.import_data(
                dataset,
                dry_run=True,
                user=job.created_by,
                file_name=job.file_name,
                progress=partial(progress_record, job.pk),
                chunk_rows=settings.IMPORT_CHUNK_ROWS,
            )
    except PortfolioFileError as error:
        _finish(job, status=ImportJob.Status.REFUSED, problems=_problems_json([ImportProblem(str(error))]))
        logger.info("import_job=%s event=refused problems=1", job.pk)
        return ImportJob.Status.REFUSED
    except Exception as error:
        # The import's transaction was rolled back (or never written to): the data is as it was.
        logger.exception("import_job=%s event=failed error=%s", job.pk, type(error).__name__)
        _finish(
            job,
            status=ImportJob.Status.FAILED,
            error=_("작업이 중간에 실패했습니다 (%(error)s). 아무것도 바뀌지 않았습니다.")
            % {"error": type(error).__name__},
        )
        return ImportJob.Status.FAILED
    if result.problems:
        _finish(job, status=ImportJob.Status.REFUSED, problems=_problems_json(result.problems), **_counts(result))
        logger.info("import_job=%s event=refused problems=%s", job.pk, len(result.problems))
        return ImportJob.Status.REFUSED
    if importing:
        _finish(job, status=ImportJob.Status.SUCCEEDED, rows_done=job.rows_total, **_counts(result))
        logger.info(
            "import_job=%s event=succeeded created=%s updated=%s unchanged=%s",
            job.pk,
            result.created,
            result.updated,
            result.unchanged,
        )
        return ImportJob.Status.SUCCEEDED
    _finish(
        job,
        status=ImportJob.Status.CHECKED,
        rows_done=job.rows_total,
        certificate=getattr(result, "certificate", ""),
        **_counts(result),
    )
    logger.info("import_job=%s event=checked created=%s updated=%s", job.pk, result.created, result.updated)
    return ImportJob.Status.CHECKED

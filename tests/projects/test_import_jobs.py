"""Large imports run as a background job: checked in chunks with their progress recorded, shown in the admin on a
page that reloads itself, confirmed by the admin, imported all or nothing; a failed job leaves the data as it was."""

from __future__ import annotations

import datetime as dt
from unittest import mock

import pytest
from django.urls import reverse

from projects.models import ImportJob, Milestone
from projects.spreadsheets import files, jobs
from projects.spreadsheets.columns import MILESTONES, PortfolioResource
from projects.spreadsheets.files import portfolio_export
from projects.tasks import import_job_run
from tests.projects.test_import_export import (  # noqa: F401 (fixtures)
    MILESTONE_HEADERS,
    _plan_and_demo_rows,
    csv_bytes,
    csv_rows,
    plan,
    portfolio_state,
    seeded_plan,
    upload,
)

pytestmark = pytest.mark.django_db

NOTES = MILESTONE_HEADERS.index("비고")
DUE = MILESTONE_HEADERS.index("기한")


@pytest.fixture
def small_background(settings):
    """Background jobs for anything over 5 rows, checked 4 rows at a time (the seeded plan has hundreds)."""
    settings.IMPORT_BACKGROUND_ROWS = 5
    settings.IMPORT_CHUNK_ROWS = 4


def milestone_rows(of_plan) -> list[list]:
    return csv_rows(portfolio_export(plan=of_plan, file_format="csv", kinds=(MILESTONES,)))


def job_page(client, job: ImportJob):
    return client.get(reverse("admin:projects_importjob_change", args=[job.pk]))


def test_a_large_file_is_checked_in_chunks_in_the_background_then_imported_when_confirmed(
    admin_client,
    superuser,
    seeded_plan,  # noqa: F811
    small_background,
    celery_eager,
    django_capture_on_commit_callbacks,
):
    rows = milestone_rows(seeded_plan)
    rows[1][NOTES] = "백그라운드에서 고친 비고"
    rows[-1][NOTES] = "마지막 행도 고침"
    data_rows = len(rows) - 1
    before = portfolio_state()

    with (
        mock.patch.object(jobs, "progress_record", wraps=jobs.progress_record) as progress,
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = upload(admin_client, "milestone", csv_bytes(rows), "마일스톤.csv", seeded_plan)

    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("admin:projects_importjob_change", args=[job.pk])
    # every chunk of 4 rows recorded its progress, the last one the whole sheet
    assert [call.args[1] for call in progress.call_args_list] == [*range(4, data_rows, 4), data_rows]
    assert job.status == ImportJob.Status.CHECKED
    assert (job.rows_done, job.rows_total) == (data_rows, data_rows)
    assert (job.created_count, job.updated_count, job.unchanged_count) == (0, 2, data_rows - 2)
    assert portfolio_state() == before  # the check wrote nothing
    page = job_page(admin_client, job).content.decode()
    assert "새로 만듦 0 · 고침 2 · 그대로" in page
    assert 'http-equiv="refresh"' not in page  # waiting for the admin, not for the worker

    with (
        mock.patch.object(
            PortfolioResource, "import_row", autospec=True, side_effect=PortfolioResource.import_row
        ) as read,
        django_capture_on_commit_callbacks(execute=True),
    ):
        admin_client.post(reverse("admin:projects_importjob_change", args=[job.pk]), {"action": "confirm"})

    assert read.call_count == 2  # only the rows the check found to change, checked again
    job.refresh_from_db()
    assert job.status == ImportJob.Status.SUCCEEDED
    assert job.content is None  # the kept file is gone
    changed = Milestone.objects.get(notes="백그라운드에서 고친 비고")
    assert changed.history.first().history_user == superuser
    assert changed.history.first().history_change_reason == "스프레드시트 가져오기: 마일스톤.csv"
    assert Milestone.objects.filter(notes="마지막 행도 고침").count() == 1
    page = job_page(admin_client, job).content.decode()
    assert "마일스톤 가져오기를 마쳤습니다: 새로 만듦 0, 고침 2, 그대로" in page


def test_the_job_page_reloads_itself_while_the_worker_runs_and_can_be_left(admin_client, seeded_plan):  # noqa: F811
    job = ImportJob.objects.create(
        kind=MILESTONES, plan=seeded_plan, file_name="큰 파일.xlsx", content=b"x", rows_total=20_000, rows_done=5_000
    )
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.CHECKING)

    first = job_page(admin_client, job).content.decode()
    ImportJob.objects.filter(pk=job.pk).update(rows_done=15_000)
    again = job_page(admin_client, job).content.decode()

    assert '<meta http-equiv="refresh" content="2">' in first
    assert '<progress class="import-job-progress" value="5000" max="20000">25%</progress>' in first
    assert "5000 / 20000행 검사 (25%)" in first
    assert "15000 / 20000행 검사 (75%)" in again
    assert "<script" not in again.split("</head>")[1].split('id="content-main"')[1]  # no script of ours (CSP)
    listing = admin_client.get(reverse("admin:projects_importjob_changelist")).content.decode()
    assert "큰 파일.xlsx" in listing and "15,000 / 20,000 (75%)" in listing


def test_refused_rows_in_any_chunk_are_listed_with_their_spreadsheet_row_and_nothing_is_written(
    admin_client,
    seeded_plan,  # noqa: F811
    small_background,
    celery_eager,
    django_capture_on_commit_callbacks,
):
    rows = milestone_rows(seeded_plan)
    rows[2][DUE] = "언젠가"
    rows[9][NOTES] = "고침"
    rows.append(list(rows[9]))  # the same milestone twice, chunks apart
    before = portfolio_state()

    with django_capture_on_commit_callbacks(execute=True):
        upload(admin_client, "milestone", csv_bytes(rows), "bad.csv", seeded_plan)

    job = ImportJob.objects.get()
    assert job.status == ImportJob.Status.REFUSED
    assert [(problem["row"], problem["column"]) for problem in job.problems] == [(3, "기한"), (len(rows), "마일스톤")]
    assert "10행에도 있습니다" in job.problems[1]["message"]
    assert job.content is None
    assert portfolio_state() == before
    page = job_page(admin_client, job).content.decode()
    assert "가져오기를 거부했습니다: 문제 2건" in page


def test_a_job_that_fails_while_importing_leaves_the_data_as_it_was_and_says_so(
    admin_client,
    seeded_plan,  # noqa: F811
    small_background,
    celery_eager,
    django_capture_on_commit_callbacks,
    caplog,
):
    rows = milestone_rows(seeded_plan)
    for row in rows[1:]:
        row[NOTES] = "모두 고침"
    with django_capture_on_commit_callbacks(execute=True):
        upload(admin_client, "milestone", csv_bytes(rows), "all.csv", seeded_plan)
    job = ImportJob.objects.get(status=ImportJob.Status.CHECKED)
    before = portfolio_state()
    real = PortfolioResource.problems_from

    def fail_after_writing(resource, result, **kwargs):
        assert Milestone.objects.filter(notes="모두 고침").exists()  # the rows were written…
        raise ConnectionResetError("database went away")

    with (
        mock.patch.object(PortfolioResource, "problems_from", autospec=True, side_effect=fail_after_writing),
        django_capture_on_commit_callbacks(execute=True),
    ):
        admin_client.post(reverse("admin:projects_importjob_change", args=[job.pk]), {"action": "confirm"})

    job.refresh_from_db()
    assert job.status == ImportJob.Status.FAILED
    assert "아무것도 바뀌지 않았습니다" in job.error
    assert portfolio_state() == before  # …and rolled back
    assert job.content is None
    assert f"import_job={job.pk} event=failed error=ConnectionResetError" in caplog.text
    assert "아무것도 바뀌지 않았습니다" in job_page(admin_client, job).content.decode()
    assert real is PortfolioResource.problems_from


def test_a_job_runs_once_however_often_its_task_is_delivered(seeded_plan, superuser):  # noqa: F811
    content = portfolio_export(plan=seeded_plan, file_format="csv", kinds=(MILESTONES,))
    job = ImportJob.objects.create(kind=MILESTONES, plan=seeded_plan, file_name="m.csv", content=content, rows_total=1)

    assert import_job_run(job_id=job.pk) == ImportJob.Status.CHECKED
    assert import_job_run(job_id=job.pk) is None  # a second delivery finds nothing to do

    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportJob.Status.IMPORTING, updated_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    )
    assert import_job_run(job_id=job.pk) == ImportJob.Status.SUCCEEDED  # a worker that died long ago is replaced


def test_small_files_are_still_previewed_in_the_request_from_one_read(admin_client, seeded_plan):  # noqa: F811
    rows = milestone_rows(seeded_plan)
    with mock.patch.object(files, "read_sheets", wraps=files.read_sheets) as read:
        response = upload(admin_client, "milestone", csv_bytes(rows), "m.csv", seeded_plan)
    assert response.status_code == 200
    assert "confirm_form" in response.context
    assert not ImportJob.objects.exists()
    assert read.call_count == 1  # counting the rows and the preview share it


def test_only_portfolio_admins_see_import_jobs(client, owner, seeded_plan):  # noqa: F811
    job = ImportJob.objects.create(kind=MILESTONES, plan=seeded_plan, file_name="m.csv", rows_total=1)
    owner.is_staff = True
    owner.save()
    client.force_login(owner)
    assert job_page(client, job).status_code == 403
    assert (
        client.post(reverse("admin:projects_importjob_change", args=[job.pk]), {"action": "confirm"}).status_code == 403
    )


def test_a_row_the_database_refuses_in_a_batch_is_named_and_nothing_is_written(seeded_plan, superuser):  # noqa: F811
    from django.db import IntegrityError

    from projects.spreadsheets import writes
    from projects.spreadsheets.files import portfolio_import

    rows = milestone_rows(seeded_plan)
    for row in rows[1:]:
        row[NOTES] = "모두 고침"
    rows[7][NOTES] = "데이터베이스가 거부함"
    before = portfolio_state()
    real = writes.rows_write

    def refuse_one(instances, **kwargs):
        if any(instance.notes == "데이터베이스가 거부함" for instance in instances):
            raise IntegrityError("refused")
        return real(instances, **kwargs)

    with mock.patch.object(writes, "rows_write", side_effect=refuse_one):
        report = portfolio_import(content=csv_bytes(rows), user=superuser, plan=seeded_plan, kind=MILESTONES)

    assert [(problem.row, str(problem.message)) for problem in report.problems] == [
        (8, "이 행을 처리하지 못했습니다 (IntegrityError). 값을 확인하고, 그래도 안 되면 관리자에게 알려 주세요.")
    ]
    assert portfolio_state() == before


def test_rows_written_in_batches_get_the_history_a_save_writes(seeded_plan, superuser):  # noqa: F811
    from projects.spreadsheets.files import portfolio_import

    rows = milestone_rows(seeded_plan)
    rows[3][NOTES] = "일괄로 고침"
    rows.append(list(rows[3]))
    rows[-1][MILESTONE_HEADERS.index("마일스톤")] = "일괄로 새로 만든 마일스톤"
    code, title = rows[3][MILESTONE_HEADERS.index("사업코드")], rows[3][MILESTONE_HEADERS.index("마일스톤")]
    changed = Milestone.objects.get(project__code=code, title=title)

    report = portfolio_import(content=csv_bytes(rows), user=superuser, plan=seeded_plan, file_name="일괄.csv")

    assert not report.problems
    changed_after = Milestone.objects.get(pk=changed.pk)
    assert changed_after.version == changed.version + 1
    assert changed_after.updated_at > changed.updated_at
    update = changed_after.history.first()
    created = Milestone.objects.get(title="일괄로 새로 만든 마일스톤")
    for record, kind in ((update, "~"), (created.history.get(), "+")):
        assert (record.history_type, record.history_user, record.history_change_reason) == (
            kind,
            superuser,
            "스프레드시트 가져오기: 일괄.csv",
        )
        assert record.instance.notes == "일괄로 고침"
    assert created.version == 1 and created.created_at is not None


@pytest.mark.django_db
def test_batch_history_rows_are_the_rows_django_simple_history_writes(superuser, owner):  # noqa: F811
    """writes.py writes history rows with one INSERT … SELECT; they must equal, column for column, what
    ``bulk_history_create`` writes for the same objects: changed and new rows, a person or nobody, blanks."""
    from django.utils import timezone

    from projects.spreadsheets import writes
    from tests.factories import MilestoneFactory

    when = timezone.now() - dt.timedelta(hours=3)
    columns = [
        field.attname for field in Milestone.history.model._meta.concrete_fields if field.attname != "history_id"
    ]

    def stamped(milestones):
        for milestone, user in zip(milestones, (superuser, None, owner), strict=False):
            milestone._history_user, milestone._change_reason, milestone._history_date = user, "비교: 파일.xlsx", when
        return milestones

    def latest(count):
        return list(Milestone.history.order_by("-history_id").values_list(*columns)[:count])[::-1]

    changed = [
        MilestoneFactory(amount_requested=120, amount_secured=None, completed_on=None, owner=owner),
        MilestoneFactory(notes="", owner=None),
        MilestoneFactory(amount_secured=45, completed_on=dt.date(2026, 11, 2), status=Milestone.Status.ACHIEVED),
    ]
    for milestone in changed:
        milestone.notes = '고친 비고 "따옴표", 쉼표 {중괄호}'
    project = changed[0].project
    new = [
        Milestone(
            project=project,
            kind=Milestone.Kind.NATIONAL_FUNDING,
            title=f"새 마일스톤 {n}",
            responsible_agency="해양수산부",
            due_date=dt.date(2027, 3, n + 1),
            status=Milestone.Status.PLANNED,
        )
        for n in range(3)
    ]
    for instances, created in ((changed, False), (new, True)):
        writes.rows_write(stamped(instances), created=created, using="default")
        ours = latest(len(instances))
        Milestone.history.bulk_history_create(stamped(instances), update=not created)
        assert ours == latest(len(instances))
        assert [row[columns.index("history_type")] for row in ours] == ["+" if created else "~"] * len(instances)


def test_a_value_too_long_for_its_column_is_refused_by_a_batch_write_not_cut(postgres, owner):  # noqa: F811
    """As a save is: the batch's values travel as arrays, and a cast to the column's ``varchar(300)`` would cut."""
    from django.db import DataError, transaction

    from projects.spreadsheets import writes
    from tests.factories import MilestoneFactory

    milestone = MilestoneFactory()
    milestone.title = "가" * 301
    with pytest.raises(DataError), transaction.atomic():
        writes.rows_write([milestone], created=False, using="default")
    assert Milestone.objects.get(pk=milestone.pk).title != milestone.title


@pytest.mark.django_db
def test_a_nul_character_is_refused_by_a_batch_write_not_cut_on_either_database():
    """PostgreSQL refuses NUL in text; SQLite's JSON functions, which carry a batch there, would end the text at it."""
    from django.db import DataError, transaction

    from projects.spreadsheets import writes
    from tests.factories import MilestoneFactory

    milestone = MilestoneFactory(notes="처음 비고")
    milestone.notes = "앞\x00뒤"
    with pytest.raises(DataError), transaction.atomic():
        writes.rows_write([milestone], created=False, using="default")
    assert Milestone.objects.get(pk=milestone.pk).notes == "처음 비고"


def test_the_preview_shows_the_first_rows_that_change_and_says_there_are_more(
    admin_client,
    seeded_plan,  # noqa: F811
    monkeypatch,
):
    from projects.spreadsheets import admin as spreadsheet_admin

    monkeypatch.setattr(spreadsheet_admin, "PREVIEW_ROWS", 2)
    rows = milestone_rows(seeded_plan)
    for row in rows[1:4]:
        row[NOTES] = "세 행 고침"

    page = upload(admin_client, "milestone", csv_bytes(rows), "m.csv", seeded_plan).content.decode()

    assert "고침 3" in page
    assert page.count('<tr class="update">') == 2
    assert "처음 2행만 보여 드립니다. 확정하면 모든 행을 가져옵니다." in page


def test_a_job_a_worker_is_running_cannot_be_deleted_alone_or_in_bulk(admin_client, seeded_plan):  # noqa: F811
    job = ImportJob.objects.create(kind=MILESTONES, plan=seeded_plan, file_name="큰 파일.xlsx", content=b"x")
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.IMPORTING)

    page = admin_client.get(reverse("admin:projects_importjob_delete", args=[job.pk]))
    bulk = admin_client.post(
        reverse("admin:projects_importjob_changelist"),
        {"action": "delete_selected", "_selected_action": [job.pk], "post": "yes"},
    )

    assert page.status_code == 403
    assert bulk.status_code in (200, 302)
    assert ImportJob.objects.filter(pk=job.pk).exists()

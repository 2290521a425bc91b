"""Audit finding 7: uploads are capped, a zip-bombed XLSX is refused before it is unpacked, and no upload (taken
or refused) leaves a copy in the temporary directory or the cache."""

from __future__ import annotations

import io
import tempfile
import zipfile

import openpyxl
import pytest
from django.core.cache import cache
from django.urls import reverse

from projects.models import CoreProject
from projects.spreadsheets.columns import PROJECTS
from projects.spreadsheets.files import portfolio_export, portfolio_import
from projects.spreadsheets.uploads import UploadCacheStorage
from tests.factories import CoreProjectFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def project_plan(project):
    return project.plan


@pytest.fixture
def temp_dir(tmp_path, monkeypatch):
    """The process's temporary directory, empty, so that anything left in it is ours to see."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def upload(client, content: bytes, name: str, plan):
    file = io.BytesIO(content)
    file.name = name
    return client.post(
        reverse("admin:projects_coreproject_import"),
        {"import_file": file, "format": "0", "resource": "0", "plan": plan.pk},
    )


def stored_uploads() -> list:
    return [key for key in cache._cache if UploadCacheStorage.CACHE_PREFIX in key]  # LocMemCache (tests/conftest)


def zip_bomb(unpacked_mb: int) -> bytes:
    """A real workbook plus one part of zeros that unpacks to ``unpacked_mb`` MB (about 1/1000 of it packed)."""
    workbook = openpyxl.Workbook()
    workbook.active.append(["사업코드", "사업명"])
    plain = io.BytesIO()
    workbook.save(plain)
    bomb = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(plain.getvalue())) as source,
        zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as out,
    ):
        for item in source.infolist():
            out.writestr(item, source.read(item))
        with out.open("xl/padding.xml", "w", force_zip64=True) as part:
            chunk = b"\0" * 1_048_576
            for _ in range(unpacked_mb):
                part.write(chunk)
    return bomb.getvalue()


def test_a_file_over_the_limit_is_refused_with_a_korean_message_and_nothing_kept(
    admin_client, project_plan, temp_dir, settings
):
    settings.UPLOAD_MAX_BYTES = 1_048_576  # 1 MB for the test; the default is 10 MB (UPLOAD_MAX_MB)
    response = upload(admin_client, b"a,b\n" * 400_000, "big.csv", project_plan)
    assert response.status_code == 200
    assert "파일이 너무 큽니다. 1 MB까지 올릴 수 있습니다." in response.content.decode()
    assert list(temp_dir.iterdir()) == [] and stored_uploads() == []


def test_the_default_limit_is_ten_megabytes(settings):
    assert settings.UPLOAD_MAX_BYTES == 10 * 1_048_576 == settings.FILE_UPLOAD_MAX_MEMORY_SIZE


def test_a_zip_bombed_xlsx_is_refused_before_it_is_unpacked(admin_client, project_plan, temp_dir, monkeypatch):
    bomb = zip_bomb(120)
    assert len(bomb) < 1_048_576

    def never(*args, **kwargs):
        raise AssertionError("openpyxl must not open a zip bomb")

    monkeypatch.setattr(openpyxl, "load_workbook", never)
    response = upload(admin_client, bomb, "bomb.xlsx", project_plan)
    assert "XLSX 파일의 압축을 풀면 120 MB로, 한도(100 MB)를 넘습니다." in response.content.decode()
    report = portfolio_import(content=bomb, plan=project_plan)  # the command's path checks too
    assert report.refused and "한도(100 MB)" in str(report.problems[0])
    assert list(temp_dir.iterdir()) == [] and stored_uploads() == []


def test_previews_refusals_and_confirms_leave_nothing_behind(admin_client, project_plan, temp_dir):
    CoreProjectFactory(task=CoreProject.objects.get().task)
    content = portfolio_export(plan=project_plan, file_format="csv", kinds=(PROJECTS,))

    refused = upload(admin_client, content.replace(b"\n", b"\n,,,,\n", 1) + b"x,y\n", "bad.csv", project_plan)
    assert "confirm_form" not in refused.context
    assert list(temp_dir.iterdir()) == [] and stored_uploads() == []

    unreadable = upload(admin_client, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1 old excel", "old.xls", project_plan)
    assert "예전 Excel 형식(.xls)" in unreadable.content.decode()
    assert list(temp_dir.iterdir()) == [] and stored_uploads() == []

    preview = upload(admin_client, content, "projects.csv", project_plan)
    confirm = preview.context["confirm_form"]
    assert list(temp_dir.iterdir()) == [] and len(stored_uploads()) == 1
    data = {name: field.value() for name, field in ((name, confirm[name]) for name in confirm.fields)}
    response = admin_client.post(reverse("admin:projects_coreproject_process_import"), data)
    assert response.status_code == 302
    assert list(temp_dir.iterdir()) == [] and stored_uploads() == []


def test_a_forged_file_name_in_the_confirm_step_cannot_reach_the_file_system(admin_client, project_plan, tmp_path):
    secret = tmp_path / "secret.csv"
    secret.write_text("사업코드,사업명\nX-1,비밀\n")
    response = admin_client.post(
        reverse("admin:projects_coreproject_process_import"),
        {
            "import_file_name": str(secret),
            "original_file_name": "x.csv",
            "format": "0",
            "resource": "0",
            "plan": project_plan.pk,
        },
    )
    assert response.status_code in {200, 302, 400}
    assert secret.exists()
    assert not CoreProject.objects.filter(code="X-1").exists()

"""Uploaded spreadsheets: size-capped, checked before parsing, and never left behind on disk or in the cache.

``upload_check`` is the one check an upload entry point calls (today the admin's import form); the reading
itself (``files.read_sheets``) checks an XLSX's unpacked size again, for files that arrive another way.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler, SkipFile
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from import_export.tmp_storages import CacheStorage

from projects.spreadsheets.files import XLSX_MAGIC, PortfolioFileError, xlsx_expansion_check


def _megabytes(size: int) -> str:
    return f"{size / 1_048_576:,.0f}"


def too_large_message() -> str:
    return _("파일이 너무 큽니다. %(limit)s MB까지 올릴 수 있습니다.") % {
        "limit": _megabytes(settings.UPLOAD_MAX_BYTES)
    }


def upload_check(upload: UploadedFile) -> None:
    """Refuse (PortfolioFileError, in Korean) an upload over the size limit, or an XLSX that unpacks too big."""
    if upload.size is not None and upload.size > settings.UPLOAD_MAX_BYTES:
        raise PortfolioFileError(too_large_message())
    upload.seek(0)
    head = upload.read(len(XLSX_MAGIC))
    if head == XLSX_MAGIC:
        upload.seek(0)
        xlsx_expansion_check(upload.read())
    upload.seek(0)


class UploadSizeLimitHandler(FileUploadHandler):
    """First of the upload handlers: a file over UPLOAD_MAX_BYTES is dropped while it arrives (nothing of it is
    kept, in memory or in a temporary file) and the request remembers which field was too large."""

    def new_file(self, field_name, *args, **kwargs):
        super().new_file(field_name, *args, **kwargs)
        self.received = 0

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > settings.UPLOAD_MAX_BYTES:
            oversized = getattr(self.request, "oversized_uploads", set())
            oversized.add(self.field_name)
            self.request.oversized_uploads = oversized
            raise SkipFile
        return raw_data

    def file_complete(self, file_size):
        return None


class UploadCacheStorage(CacheStorage):
    """Where django-import-export keeps an upload between preview and confirm: the cache (Redis in production,
    shared by the web processes), for an hour at most, never the temporary directory. A name is only ever a
    cache key, so a forged file name in the confirm form cannot reach the file system."""

    CACHE_LIFETIME = 60 * 60
    CACHE_PREFIX = "portfolio-upload-"


class UploadHygieneMixin:
    """For the import admin: the size check on the form, and the stored upload removed whatever happens."""

    def get_import_form_kwargs(self, request):
        kwargs = super().get_import_form_kwargs(request)
        kwargs["oversized"] = "import_file" in getattr(request, "oversized_uploads", set())
        return kwargs

    def import_action(self, request, **kwargs):
        response = super().import_action(request, **kwargs)
        context = getattr(response, "context_data", None) or {}
        if "confirm_form" not in context:  # refused, or nothing to confirm: the stored copy has no further use
            name = getattr(request.FILES.get("import_file"), "tmp_storage_name", None)
            if name:
                UploadCacheStorage(name=name).remove()
        return response

    def process_import(self, request, **kwargs):
        name = request.POST.get("import_file_name", "")
        if request.method == "POST" and UploadCacheStorage(name=name).read() is None:
            messages.error(
                request, _("올린 파일을 찾을 수 없습니다 (한 시간이 지났거나 이미 가져왔습니다). 다시 올려 주세요.")
            )
            return redirect("admin:{}_{}_import".format(*self.get_model_info()))
        try:
            return super().process_import(request, **kwargs)
        finally:
            UploadCacheStorage(name=name).remove()

"""HTML to A4 PDF with WeasyPrint: the reports (weekly digest, dashboard) printed from their page templates.

WeasyPrint needs Pango and HarfBuzz (Debian: libpango-1.0-0, libpangoft2-1.0-0, libharfbuzz-subset0) and finds
the Nanum fonts through fontconfig; scripts/install-system.sh and the Dockerfile install them. The fonts used are
embedded (subset) in the file, so the PDF prints the same on a PC without Korean fonts.
"""

from __future__ import annotations

from django.conf import settings
from django.template.loader import render_to_string

PDF_MIMETYPE = "application/pdf"


class PdfUnavailable(RuntimeError):
    """WeasyPrint or its system libraries are missing on this machine."""


def pdf_render(template: str, context: dict) -> bytes:
    """Render ``template`` (which extends pdf_base.html) to PDF bytes; relative links point at SITE_URL."""
    try:
        from weasyprint import HTML, URLFetcher
    except (ImportError, OSError) as error:  # OSError: the Pango libraries are missing
        raise PdfUnavailable(str(error)) from error
    html = render_to_string(template, context)
    # Reports carry their styles and pictures inline: nothing is fetched (a link's target is never loaded).
    fetcher = URLFetcher(allowed_protocols={"data"})
    return HTML(string=html, base_url=settings.SITE_URL + "/", url_fetcher=fetcher).write_pdf()


def pdf_response(template: str, context: dict, filename: str):
    """The PDF as a download; 503 with a Korean message where this machine cannot print."""
    from django.http import HttpResponse

    try:
        body = pdf_render(template, context)
    except PdfUnavailable:
        return pdf_response_unavailable()
    response = HttpResponse(body, content_type=PDF_MIMETYPE)
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


def pdf_response_unavailable():
    from django.http import HttpResponse
    from django.utils.translation import gettext as _

    return HttpResponse(
        _("이 서버에는 PDF를 만드는 데 필요한 프로그램(WeasyPrint, Pango)이 없습니다. 관리자에게 알려 주세요."),
        status=503,
        content_type="text/plain; charset=utf-8",
    )

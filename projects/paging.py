"""Tables are paged from the request without ever failing: bad values give the nearest valid page."""

from __future__ import annotations

from django.http import HttpRequest
from django_tables2 import RequestConfig, Table

DEFAULT_PER_PAGE = 25
MIN_PER_PAGE = 10
MAX_PER_PAGE = 200


def _number(text: str | None, default: int) -> int:
    try:
        return int(text) if text is not None else default
    except ValueError:
        return default


def per_page_from(request: HttpRequest, table: Table, default: int = DEFAULT_PER_PAGE) -> int:
    """?per_page=, held between 10 and 200; anything unreadable is the default."""
    return min(max(_number(request.GET.get(table.prefixed_per_page_field), default), MIN_PER_PAGE), MAX_PER_PAGE)


def table_configure(request: HttpRequest, table: Table, *, default_per_page: int = DEFAULT_PER_PAGE) -> Table:
    """Sort the table as asked and show the asked page, or the nearest one that exists (first or last).

    django-tables2's own RequestConfig takes ``per_page`` from the query as it is (-1 fails, 100000 shows every
    row) and shows the last page for a page number below 1; here both are held to what the table offers.
    """
    RequestConfig(request, paginate=False).configure(table)
    table.paginate(per_page=per_page_from(request, table, default_per_page), page=1)
    page = _number(request.GET.get(table.prefixed_page_field), 1)
    table.page = table.paginator.page(min(max(page, 1), table.paginator.num_pages))
    return table

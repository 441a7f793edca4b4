"""Paging and date filters shared by the access-review pages."""

from __future__ import annotations

from datetime import date
from urllib.parse import urlencode

PAGE_SIZE = 50


def parse_day(text: str | None) -> date | None:
    """A ``YYYY-MM-DD`` from a date input; anything else (or beyond any record) turns the filter off."""
    try:
        day = date.fromisoformat((text or "").strip()) if text else None
    except ValueError:
        return None
    return day if day and 1900 <= day.year <= 2200 else None


def page_number(text: str | None) -> int:
    return int(text) if (text or "").isdigit() and 0 < int(text) < 100_000 else 1


def query_without_page(q) -> str:
    """The current filters as a query string, for the pager's links."""
    return urlencode([(k, v) for k, v in q.multi_items() if k != "page"])

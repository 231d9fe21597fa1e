"""The report pages' forms: query strings checked and turned into values, pure. A bad value is
a ``FormError`` naming the field, which the page shows above the form it came from."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

GROUPS = {"from_domain": "sending domain", "sending_ip": "sending IP"}
REPORT_COLUMNS = ("sender", "recipient_domain", "bounce_text", "amount", "guessed")
COUNTS = ("amount", "guessed")  # numbers: right-aligned, largest first
PAGE_SIZE = 50
HEALTH_MINUTES = (1, 60)
INT64 = 2**63


class FormError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


def parse_time(value: str) -> datetime:
    """A date (YYYY-MM-DD, midnight UTC) or an RFC 3339 time (UTC when it names no zone)."""
    try:
        dt = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{value!r} is not a date (YYYY-MM-DD or RFC 3339)") from None
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)


@dataclass(frozen=True)
class ReportForm:
    start: datetime | None = None
    end: datetime | None = None
    account: int | None = None
    campaign: int | None = None
    group_by: str = "from_domain"
    sort: str = "amount"
    descending: bool = True
    page: int = 1

    def filters(self) -> dict[str, Any]:
        """The fields of ``sinks.reports.Filters``."""
        return {"start": self.start, "end": self.end, "account": self.account,
                "campaign": self.campaign}


def _int(query: dict[str, str], field: str, low: int, high: int) -> int | None:
    raw = query.get(field, "").strip()
    if not raw:
        return None
    try:
        value = int(raw)
    except ValueError:
        raise FormError(field, f"{raw!r} is not a whole number") from None
    if not low <= value < high:
        raise FormError(field, f"{value} is out of range")
    return value


def _time(query: dict[str, str], field: str) -> datetime | None:
    raw = query.get(field, "").strip()
    if not raw:
        return None
    try:
        return parse_time(raw)
    except ValueError as exc:
        raise FormError(field, str(exc)) from None


def report_form(query: dict[str, str]) -> ReportForm:
    """The form of a report page; raises ``FormError`` on the first bad field."""
    start, end = _time(query, "from"), _time(query, "to")
    if start and end and start >= end:
        raise FormError("to", "the end of the period must come after its start")
    group_by = query.get("group_by") or "from_domain"
    if group_by not in GROUPS:
        raise FormError("group_by", f"must be one of {', '.join(GROUPS)}")
    sort = query.get("sort") or "amount"
    if sort not in REPORT_COLUMNS:
        raise FormError("sort", f"must be one of {', '.join(REPORT_COLUMNS)}")
    order = query.get("dir") or ("desc" if sort in COUNTS else "asc")
    if order not in ("asc", "desc"):
        raise FormError("dir", "must be asc or desc")
    return ReportForm(start, end, _int(query, "account", -INT64, INT64),
                      _int(query, "campaign", -INT64, INT64), group_by, sort, order == "desc",
                      _int(query, "page", 1, INT64) or 1)


@dataclass(frozen=True)
class HealthForm:
    minutes: int = 1
    last: int = 30
    pairs: tuple[tuple[str, str], ...] = ()  # provider, sending_ip, from_domain filters


def health_form(query: dict[str, str]) -> HealthForm:
    minutes = _int(query, "minutes", 1, 61) or 1
    if minutes not in HEALTH_MINUTES:
        raise FormError("minutes", "must be 1 or 60")
    pairs = tuple((k, query[k].strip()) for k in ("provider", "sending_ip", "from_domain")
                  if query.get(k, "").strip())
    return HealthForm(minutes, _int(query, "last", 1, 1001) or 30, pairs)


def sorted_page(rows: list[list[Any]], form: ReportForm) -> tuple[list[list[Any]], int]:
    """The form's page of the rows sorted by its column (ties keep the report's order), and
    how many pages there are."""
    index = REPORT_COLUMNS.index(form.sort)
    ordered = sorted(rows, key=lambda r: r[index], reverse=form.descending)
    pages = max(1, -(-len(ordered) // PAGE_SIZE))
    page = min(form.page, pages)
    return ordered[(page - 1) * PAGE_SIZE: page * PAGE_SIZE], pages

"""The from/to period filter that report pages and APIs read from a query string."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

from flask_babel import lazy_gettext as _l


def bound(raw: str, *, end: bool) -> datetime:
    """A date (a whole UTC day; `to` includes it) or an ISO datetime (naive = UTC)."""
    try:
        d = date.fromisoformat(raw)
    except ValueError:
        moment = datetime.fromisoformat(raw)
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    start = datetime(d.year, d.month, d.day, tzinfo=UTC)
    return start + timedelta(days=1) if end else start


def read_range(arg: Callable[[str], str | None], kw: dict, errors: dict) -> None:
    """Put `start`/`end` from the `from`/`to` parameters into kw, or messages into errors."""
    for name, end in (("from", False), ("to", True)):
        if raw := arg(name):
            try:
                kw["end" if end else "start"] = bound(raw, end=end)
            except ValueError:
                errors[name] = str(_l("Enter a date as YYYY-MM-DD."))
    if not errors and kw.get("start") and kw.get("end") and kw["start"] >= kw["end"]:
        errors["to"] = str(_l("The end of the period comes before its start."))

"""The bank's weeks and months as periods of sampling: codes (2026-03, 2026-W12), UTC bounds in
the bank's time zone, and the share of a running period that has passed."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app

PERIODS = ("week", "month")


@dataclass(frozen=True)
class Period:
    code: str          # 2026-03 or 2026-W12
    start: datetime    # UTC, inclusive
    end: datetime      # UTC, exclusive

    def quota(self, per_agent: int, now: datetime) -> int:
        """Items per agent due by `now`: all of them once the period is over, pro rata before."""
        if now >= self.end:
            return per_agent
        if now <= self.start:
            return 0
        return math.floor(per_agent * (now - self.start) / (self.end - self.start))


def zone() -> ZoneInfo:
    """Periods are the bank's weeks and months, in its time zone."""
    return ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])


def _utc(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time.min, tzinfo=tz).astimezone(ZoneInfo("UTC"))


def period_containing(kind: str, when: datetime, tz: ZoneInfo | None = None) -> Period:
    tz = tz or zone()
    day = when.astimezone(tz).date()
    if kind == "week":
        year, week, weekday = day.isocalendar()
        first = day - timedelta(days=weekday - 1)
        return Period(f"{year}-W{week:02d}", _utc(first, tz), _utc(first + timedelta(days=7), tz))
    if kind == "month":
        first = day.replace(day=1)
        after = (first + timedelta(days=32)).replace(day=1)
        return Period(f"{first:%Y-%m}", _utc(first, tz), _utc(after, tz))
    raise ValueError(f"unknown period {kind!r}")


def previous_period(kind: str, period: Period, tz: ZoneInfo | None = None) -> Period:
    return period_containing(kind, period.start - timedelta(seconds=1), tz)


def parse_period(code: str, tz: ZoneInfo | None = None) -> tuple[str, Period]:
    """('week'|'month', Period) for a code like 2026-W12 or 2026-03; ValueError otherwise."""
    tz = tz or zone()
    if "-W" in code:
        year, week = code.split("-W")
        day = date.fromisocalendar(int(year), int(week), 1)
        kind = "week"
    else:
        year, month = code.split("-")
        day = date(int(year), int(month), 1)
        kind = "month"
    period = period_containing(kind, _utc(day, tz) + timedelta(hours=12), tz)
    if period.code != code:
        raise ValueError(f"not a period: {code!r}")
    return kind, period

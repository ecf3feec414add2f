"""The periods of an audit programme, in the bank's time zone.

A period is due once its start has passed. Keys: monthly "2026-11", quarterly "2026-Q4",
yearly "2026", cron: the fire time as an ISO UTC minute "2026-11-28T02:00". Calendar periods
start at local midnight of their first day (BANK_TIMEZONE, default Asia/Shanghai); the period
that contains the programme's `starts_on` is its first (so a programme started mid-month audits
that month), while a cron programme's first period is its first fire time at or after
`starts_on`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context

DEFAULT_TIMEZONE = "Asia/Shanghai"
MONTHS = {"monthly": 1, "quarterly": 3, "yearly": 12}
CRON_FIRST_WINDOW = timedelta(days=1)


def bank_timezone() -> ZoneInfo:
    name = None
    if has_app_context():
        name = current_app.config.get("BANK_TIMEZONE")
    return ZoneInfo(name or DEFAULT_TIMEZONE)


def cron_trigger(expression: str, tz: ZoneInfo | None = None):
    """APScheduler's trigger for a five-field crontab line (ValueError when it is not one)."""
    from apscheduler.triggers.cron import CronTrigger

    return CronTrigger.from_crontab((expression or "").strip(), timezone=tz or bank_timezone())


# -- calendar periods ----------------------------------------------------------------------

def _month_index(local: datetime, step: int) -> int:
    """Months since year 0 of the start of the period containing `local`."""
    index = local.year * 12 + local.month - 1
    return index - index % step


def _start_of(index: int, tz: ZoneInfo) -> datetime:
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=tz).astimezone(UTC)


def calendar_key(index: int, recurrence: str) -> str:
    year, month = divmod(index, 12)
    if recurrence == "monthly":
        return f"{year}-{month + 1:02d}"
    if recurrence == "quarterly":
        return f"{year}-Q{month // 3 + 1}"
    return f"{year}"


def _calendar(recurrence: str, starts_on: datetime, now: datetime, tz: ZoneInfo,
              limit: int | None) -> list[tuple[str, datetime]]:
    step = MONTHS[recurrence]
    first = _month_index(starts_on.astimezone(tz), step)
    last = _month_index(now.astimezone(tz), step)
    if limit is not None:
        first = max(first, last - (limit - 1) * step)
    return [(calendar_key(i, recurrence), _start_of(i, tz)) for i in range(first, last + 1, step)]


# -- cron periods --------------------------------------------------------------------------

def cron_key(fire: datetime) -> str:
    return fire.astimezone(UTC).strftime("%Y-%m-%dT%H:%M")


def fire_times(trigger, start: datetime, end: datetime) -> list[datetime]:
    """The trigger's fire times t with start <= t <= end, in UTC, ascending."""
    out = []
    fire = trigger.get_next_fire_time(None, start)
    while fire is not None and fire <= end:
        out.append(fire.astimezone(UTC))
        fire = trigger.get_next_fire_time(fire, fire)
    return out


def _cron(expression: str, starts_on: datetime, now: datetime, tz: ZoneInfo,
          limit: int | None) -> list[tuple[str, datetime]]:
    trigger = cron_trigger(expression, tz)
    if limit is None:
        times = fire_times(trigger, starts_on, now)
    else:
        # widen a window back from now until it holds `limit` fire times or reaches starts_on,
        # so an old programme with a frequent expression is not walked from its beginning
        window = CRON_FIRST_WINDOW
        while True:
            start = max(starts_on, now - window)
            times = fire_times(trigger, start, now)
            if len(times) >= limit or start == starts_on:
                break
            window *= 2
        times = times[-limit:]
    return [(cron_key(t), t) for t in times]


# -- the API -------------------------------------------------------------------------------

def periods_between(recurrence: str, cron: str | None, starts_on: datetime, now: datetime, *,
                    limit: int | None = None) -> list[tuple[str, datetime]]:
    """(period key, period start in UTC) of every period from starts_on whose start is at or
    before `now`, oldest first; only the latest `limit` when given."""
    tz = bank_timezone()
    if starts_on > now:
        return []
    if recurrence == "cron":
        return _cron(cron or "", starts_on, now, tz, limit)
    if recurrence not in MONTHS:
        raise ValueError(f"unknown recurrence {recurrence!r}")
    return _calendar(recurrence, starts_on, now, tz, limit)


def periods_due(programme, now: datetime, *, limit: int | None = None
                ) -> list[tuple[str, datetime]]:
    """The programme's due periods from its starts_on up to now (see periods_between)."""
    return periods_between(programme.recurrence, programme.cron, programme.starts_on, now,
                           limit=limit)


def period_end(recurrence: str, cron: str | None, start: datetime) -> datetime:
    """When the period that starts at `start` ends: the next period's start."""
    tz = bank_timezone()
    if recurrence == "cron":
        trigger = cron_trigger(cron or "", tz)
        nxt = trigger.get_next_fire_time(start.astimezone(tz), start.astimezone(tz))
        return nxt.astimezone(UTC) if nxt is not None else start + timedelta(days=36500)
    index = _month_index(start.astimezone(tz), MONTHS[recurrence])
    return _start_of(index + MONTHS[recurrence], tz)


def next_period_start(programme, now: datetime) -> datetime | None:
    """When the programme's next audits fall due (for the programme pages)."""
    if programme.recurrence == "cron":
        if not programme.cron:
            return None
        trigger = cron_trigger(programme.cron)
        nxt = trigger.get_next_fire_time(None, max(now, programme.starts_on))
        return nxt.astimezone(UTC) if nxt is not None else None
    if programme.starts_on > now:
        return programme.starts_on  # its first period falls due when the programme starts
    due = periods_due(programme, now, limit=1)
    return period_end(programme.recurrence, None, due[0][1]) if due else None

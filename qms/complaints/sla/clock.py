"""Due dates, elapsed share and paused days: the arithmetic of a complaint's clock."""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from qms.complaints.sla import workdays
from qms.complaints.sla.policy import (
    BUSINESS_DAYS,
    CALENDAR_DAYS,
    DECISION,
    MONTHS,
    RECEIPT,
    RETENTION,
    REVIEW_APPLICATION,
    WEEKS,
    Milestone,
    Policy,
)
from qms.complaints.sla.presets import PRESETS

Zone = str | tzinfo


def get_policy(policy: str | Policy) -> Policy:
    """A preset by code, or the policy itself (custom policies come from the database)."""
    if isinstance(policy, Policy):
        return policy
    try:
        return PRESETS[policy]
    except (KeyError, TypeError):
        raise ValueError(f"unknown SLA policy {policy!r}") from None


def zone(tz: Zone) -> tzinfo:
    if isinstance(tz, tzinfo):
        return tz
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise ValueError(f"unknown time zone {tz!r}") from None


def _aware(name: str, moment: datetime) -> datetime:
    if not isinstance(moment, datetime):
        raise ValueError(f"{name} must be a datetime, not {type(moment).__name__}")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")
    return moment


def _local_date(name: str, moment: datetime, tz: tzinfo) -> date:
    return _aware(name, moment).astimezone(tz).date()


def add_months(day: date, months: int) -> date:
    """Same day of the month `months` later, or that month's last day (31 Aug + 6 = 28 Feb)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


# unit -> (policy, start, n) -> the n-th day after start in that unit
_STEPS = {
    CALENDAR_DAYS: lambda policy, start, n: start + timedelta(days=n),
    WEEKS: lambda policy, start, n: start + timedelta(weeks=n),
    MONTHS: lambda policy, start, n: add_months(start, n),
    BUSINESS_DAYS: lambda policy, start, n: workdays.add_working_days(
        policy.country, policy.subdiv, start, n),
}


def _count(policy: Policy, milestone: Milestone, start: date) -> date:
    """`start` is the day of the event; like every limit here it is not itself counted."""
    try:
        step = _STEPS[milestone.unit]
    except KeyError:  # policy_from_dict refuses these; a hand-built Policy might not
        raise ValueError(f"unknown unit {milestone.unit!r}") from None
    due = step(policy, start, milestone.count)
    if milestone.roll_forward:
        due = workdays.roll_forward(policy.country, policy.subdiv, due)
    return due


def _clock_runs(milestone: Milestone) -> bool:
    """Pauses and restarts move the handling deadlines from receipt, never the customer's
    windows or the record-keeping period."""
    return milestone.start == RECEIPT and milestone.kind != RETENTION


def _start_moment(name: str, milestone: Milestone, received_at: datetime,
                  restarted_at: datetime | None, decided_at: datetime | None,
                  applied_at: datetime | None) -> datetime:
    if milestone.start == DECISION:
        if decided_at is None:
            raise ValueError(f"{name} counts from the decision: pass decided_at")
        return decided_at
    if milestone.start == REVIEW_APPLICATION:
        if applied_at is None:
            raise ValueError(f"{name} counts from the review application: pass applied_at")
        return applied_at
    if milestone.start != RECEIPT:
        raise ValueError(f"unknown start {milestone.start!r}")
    return restarted_at if restarted_at is not None and _clock_runs(milestone) else received_at


def _check_clock(policy: Policy, received_at: datetime, paused_days: int,
                 restarted_at: datetime | None) -> None:
    _aware("received_at", received_at)
    if isinstance(paused_days, bool) or not isinstance(paused_days, int) or paused_days < 0:
        raise ValueError("paused_days must be a whole number of days, 0 or more")
    if paused_days and not policy.pauses:
        raise ValueError(f"policy {policy.code} allows no pauses")
    if restarted_at is not None:
        if not policy.restart_on_new_facts:
            raise ValueError(f"policy {policy.code} does not restart the clock on new facts")
        if _aware("restarted_at", restarted_at) < received_at:
            raise ValueError("restarted_at is before received_at")


def due_date(policy: str | Policy, milestone: str, received_at: datetime, *,
             tz: Zone | None = None, paused_days: int = 0,
             restarted_at: datetime | None = None, decided_at: datetime | None = None,
             applied_at: datetime | None = None) -> date:
    """The last day on which `milestone` is met, as a date in the branch's zone.

    Moments are converted to `tz` (default: the policy's zone) before their date is taken; the
    day of the event is not counted. For the handling deadlines counted from receipt,
    `restarted_at` (new facts) replaces the receipt and `paused_days` whole days are added;
    pass only the pauses since the last restart. Review milestones count from `decided_at`
    (the customer received the decision) and `applied_at` (the customer applied for review).
    Raises ValueError for an unknown policy, milestone or zone, a naive datetime, a missing
    start event, or a pause or restart the policy does not allow.
    """
    pol = get_policy(policy)
    ms = pol.milestone(milestone)
    _check_clock(pol, received_at, paused_days, restarted_at)
    local = zone(tz if tz is not None else pol.timezone)
    moment = _start_moment(milestone, ms, received_at, restarted_at, decided_at, applied_at)
    start = _local_date(milestone, moment, local)
    if _clock_runs(ms):
        start += timedelta(days=paused_days)
    return _count(pol, ms, start)


def deadlines(policy: str | Policy, received_at: datetime, *, tz: Zone | None = None,
              paused_days: int = 0, restarted_at: datetime | None = None,
              decided_at: datetime | None = None,
              applied_at: datetime | None = None) -> dict[str, date]:
    """Every milestone whose start event has happened, in the policy's order."""
    pol = get_policy(policy)
    known = {RECEIPT: True, DECISION: decided_at is not None,
             REVIEW_APPLICATION: applied_at is not None}
    return {
        name: due_date(pol, name, received_at, tz=tz, paused_days=paused_days,
                       restarted_at=restarted_at, decided_at=decided_at, applied_at=applied_at)
        for name, ms in pol.milestones.items() if known.get(ms.start, True)
    }


def end_of_day(day: date, tz: Zone) -> datetime:
    """The moment a due day ends: midnight at the start of the next day in that zone."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone(tz))


def elapsed_fraction(start: datetime, due: date, now: datetime, tz: Zone) -> float:
    """Share of the allowed time used: 0.5, 0.8 and 1.0 are the escalation thresholds.

    The allowed time runs from `start` to the end of the due day in `tz`; the result is 0 before
    the start and goes above 1 once the deadline has passed.
    """
    # In UTC: Python subtracts two datetimes of the same zone on the wall clock, which would
    # make a DST change inside the period an hour too short or too long.
    start = _aware("start", start).astimezone(UTC)
    now = _aware("now", now).astimezone(UTC)
    allowed = end_of_day(due, tz).astimezone(UTC) - start
    if allowed <= timedelta(0):
        return 1.0 if now >= start else 0.0
    return max(0.0, (now - start) / allowed)


def pause_days(pauses: list[tuple[datetime, datetime | None]], now: datetime, tz: Zone) -> int:
    """Whole days a complaint was paused; an open pause (end None) counts up to `now`.

    Each pause counts its whole days on the local clock (2 days 23 hours is 2 days; a DST change
    inside the pause does not cost a day). Overlapping pauses count once.
    """
    local = zone(tz)
    now = _aware("now", now)
    spans = []
    for begin, end in pauses:
        end = now if end is None else end
        if _aware("pause end", end) < _aware("pause start", begin):
            raise ValueError("a pause ends before it starts")
        # Wall-clock time in the branch's zone, so that 24 hours means one calendar day.
        spans.append((begin.astimezone(local).replace(tzinfo=None),
                      min(end, max(now, begin)).astimezone(local).replace(tzinfo=None)))
    merged: list[list[datetime]] = []
    for begin, end in sorted(spans):
        if merged and begin <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([begin, end])
    return sum((end - begin).days for begin, end in merged)

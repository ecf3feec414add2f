"""Complaint reports, as SQL aggregates: volumes, upheld rate, timeliness, median days, overdue.

The overdue list and the root-cause Pareto live here too; the regulator's monthly A x B x C
table and the CSV exports live in qms.complaints.report_exports and are re-exported from here.

The rules, so that a number means the same thing on the page, in the CSV and to a regulator:

- The period is a range of local dates in the report zone (COMPLAINT_REPORT_TIMEZONE, default
  BABEL_DEFAULT_TIMEZONE); months are calendar months in that zone, cut at exact UTC instants.
- Volumes count complaints *received* in the period. Outcome figures (upheld rate, share
  within the limit, median days) are over complaints *closed* in the period.
- Upheld rate = (upheld + partly upheld) / closed complaints that have an outcome.
- Within the limit: the closing day, in the branch's own zone, is on or before due_on — the
  deadline in force at closure (extensions approved, pauses added), which is also a date in
  the branch's zone. PostgreSQL converts each closing moment exactly; SQLite has no zone
  data, so there each zone's UTC offset at the end of the period is used — exact for zones
  without daylight saving time (all of mainland China, Hong Kong, Macao, Taiwan).
- Days to close = (closed_at - received_at) in days, fractional; the median is taken in SQL
  (the one or two middle rows of the ordered durations).
- Everything is limited to the principal's branches (a branch head sees their branch only).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from qms.auth.models import User
from qms.complaints import codes
from qms.complaints.models import Complaint
from qms.complaints.queues import local_today, running, scope_conditions
from qms.core.db import now_utc
from qms.extensions import db
from qms.org.models import Branch

DIMENSIONS = {
    "cause": _l("Cause"),
    "business": _l("Business type"),
    "channel": _l("Channel"),
    "product": _l("Product"),
    "branch": _l("Branch"),
    "month": _l("Month"),
}
_AXIS_OF = {"channel": "A", "business": "B", "cause": "C"}
UPHELD = ("upheld", "partly_upheld")


@dataclass(frozen=True)
class Period:
    start: date  # inclusive local dates in the report zone
    end: date

    def bounds(self, tz: ZoneInfo) -> tuple[datetime, datetime]:
        return (datetime.combine(self.start, time(0), tzinfo=tz).astimezone(UTC),
                datetime.combine(self.end + timedelta(days=1), time(0), tzinfo=tz)
                .astimezone(UTC))


@dataclass(frozen=True)
class ReportFilters:
    period: Period
    branch_id: int | None = None
    channel_code: str | None = None
    business_code: str | None = None
    cause_code: str | None = None
    product: str | None = None


@dataclass(frozen=True)
class VolumeRow:
    key: str | None
    label: str
    count: int
    share: float


@dataclass(frozen=True)
class Summary:
    received: int
    closed: int
    with_outcome: int
    upheld: int
    partly_upheld: int
    rejected: int
    upheld_rate: float | None
    closed_with_deadline: int
    closed_within: int
    within_share: float | None
    median_days: float | None
    open_now: int
    overdue_now: int


@dataclass(frozen=True)
class ParetoRow:
    code: str
    label: str
    count: int
    share: float
    cumulative: float


@dataclass(frozen=True)
class OverdueRow:
    id: int
    reference: str
    status: str
    branch_code: str | None
    received_at: datetime
    due_on: date
    days_overdue: int
    assignee_name: str | None
    priority: str


# -- basics -------------------------------------------------------------------------------------

def report_zone() -> ZoneInfo:
    cfg = current_app.config
    return ZoneInfo(cfg.get("COMPLAINT_REPORT_TIMEZONE") or cfg["BABEL_DEFAULT_TIMEZONE"])


def default_period(now: datetime | None = None, months: int = 12) -> Period:
    """The last `months` calendar months up to today, in the report zone."""
    today = (now or now_utc()).astimezone(report_zone()).date()
    first = today.replace(day=1)
    for _i in range(months - 1):
        first = (first - timedelta(days=1)).replace(day=1)
    return Period(first, today)


def month_period(month: str) -> Period:
    """'2026-03' -> the whole month."""
    year, mon = (int(x) for x in month.split("-"))
    start = date(year, mon, 1)
    end = (start + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    return Period(start, end)


def _dialect() -> str:
    return db.session.get_bind().dialect.name


def _conditions(f: ReportFilters, principal, roles, column) -> list:
    """Scope, filters, and `column` (received_at or closed_at) inside the period."""
    lo, hi = f.period.bounds(report_zone())
    conds = scope_conditions(principal, roles) + [column >= lo, column < hi]
    if f.branch_id is not None:
        conds.append(Complaint.branch_id == f.branch_id)
    for name in ("channel_code", "business_code", "cause_code", "product"):
        value = getattr(f, name)
        if value:
            conds.append(getattr(Complaint, name) == value)
    return conds


def _months(period: Period, tz: ZoneInfo) -> list[tuple[str, datetime]]:
    """(YYYY-MM, UTC start of the next month) for each month touching the period."""
    out = []
    cur = period.start.replace(day=1)
    while cur <= period.end:
        nxt = (cur + timedelta(days=32)).replace(day=1)
        out.append((cur.strftime("%Y-%m"),
                    datetime.combine(nxt, time(0), tzinfo=tz).astimezone(UTC)))
        cur = nxt
    return out


def month_of(column, period: Period):
    """SQL: the report-zone month (YYYY-MM) of a moment inside the period, from exact UTC month
    boundaries (a CASE of a few entries) — the same on SQLite and PostgreSQL."""
    months = _months(period, report_zone())
    return sa.case(*[(column < end, sa.literal(label)) for label, end in months],
                   else_=sa.literal(months[-1][0]))


def _local_date_in_branch_zone(column, at: datetime):
    """SQL: the date of `column` in the complaint's branch zone (query outer-joins Branch)."""
    default = current_app.config["BABEL_DEFAULT_TIMEZONE"]
    if _dialect() == "postgresql":
        zone = sa.func.coalesce(Branch.timezone, default)
        return sa.cast(sa.func.timezone(zone, column), sa.Date)
    zones = {default, *(z for z in db.session.scalars(sa.select(Branch.timezone).distinct()) if z)}
    offsets = {}
    for name in zones:
        try:
            offset = at.astimezone(ZoneInfo(name)).utcoffset()
        except (ValueError, KeyError):
            continue
        offsets[name] = f"{int(offset.total_seconds()):+d} seconds"
    modifier = sa.case(*[(Branch.timezone == name, sa.literal(m)) for name, m in offsets.items()],
                       else_=sa.literal(offsets[default]))
    return sa.func.date(column, modifier)


def _days_between(later, earlier):
    if _dialect() == "postgresql":
        return sa.func.extract("epoch", later - earlier) / 86400.0
    return sa.func.julianday(later) - sa.func.julianday(earlier)


# -- volumes ------------------------------------------------------------------------------------

def volumes(by: str, f: ReportFilters, principal, *, roles=None,
            locale: str | None = None) -> list[VolumeRow]:
    """Complaints received in the period by cause, business type, channel, product, branch or
    month; largest first (months in order)."""
    if by not in DIMENSIONS:
        raise ValueError(f"unknown dimension {by!r}")
    conds = _conditions(f, principal, roles, Complaint.received_at)
    if by == "month":
        key = month_of(Complaint.received_at, f.period)
    elif by == "branch":
        key = Branch.code
    elif by == "product":
        key = Complaint.product
    else:
        key = getattr(Complaint, f"{by}_code")
    count = sa.func.count(Complaint.id)
    stmt = (sa.select(key.label("k"), count.label("n"))
            .select_from(Complaint).outerjoin(Branch, Branch.id == Complaint.branch_id)
            .where(*conds).group_by(key))
    stmt = stmt.order_by(key) if by == "month" else stmt.order_by(count.desc(), key)
    rows = db.session.execute(stmt).all()
    if by == "month":  # months without complaints show as 0, not as a gap
        have = {k: n for k, n in rows}
        rows = [(label, have.get(label, 0)) for label, _end in _months(f.period, report_zone())]
    total = sum(n for _k, n in rows) or 0
    labels = _labels_for(by, locale)
    return [VolumeRow(k, labels.get(k, k) if k is not None else _("Not classified"), n,
                      n / total if total else 0.0) for k, n in rows]


def _labels_for(by: str, locale: str | None) -> dict:
    if by in _AXIS_OF:
        return codes.labels_for(_AXIS_OF[by], locale)
    if by == "branch":
        return {code: f"{code} {name}" for code, name in
                db.session.execute(sa.select(Branch.code, Branch.name))}
    return {}


# -- outcomes and timeliness --------------------------------------------------------------------

def summary(f: ReportFilters, principal, *, roles=None, now: datetime | None = None) -> Summary:
    now = now or now_utc()
    received = db.session.scalar(
        sa.select(sa.func.count(Complaint.id))
        .where(*_conditions(f, principal, roles, Complaint.received_at))) or 0

    closed_conds = _conditions(f, principal, roles, Complaint.closed_at)
    _lo, hi = f.period.bounds(report_zone())
    closing_day = _local_date_in_branch_zone(Complaint.closed_at, min(hi, now))
    has_deadline = Complaint.due_on.is_not(None)
    row = db.session.execute(
        sa.select(
            sa.func.count(Complaint.id),
            sa.func.count(Complaint.outcome),
            sa.func.sum(sa.case((Complaint.outcome == "upheld", 1), else_=0)),
            sa.func.sum(sa.case((Complaint.outcome == "partly_upheld", 1), else_=0)),
            sa.func.sum(sa.case((Complaint.outcome == "rejected", 1), else_=0)),
            sa.func.sum(sa.case((has_deadline, 1), else_=0)),
            sa.func.sum(sa.case((sa.and_(has_deadline, closing_day <= Complaint.due_on), 1),
                                else_=0)),
        ).select_from(Complaint).outerjoin(Branch, Branch.id == Complaint.branch_id)
        .where(*closed_conds)).one()
    closed, with_outcome, upheld, partly, rejected, with_deadline, within = (
        int(x or 0) for x in row)

    open_now, overdue_now = _open_and_overdue(principal, roles, f, now)
    return Summary(
        received=received, closed=closed, with_outcome=with_outcome, upheld=upheld,
        partly_upheld=partly, rejected=rejected,
        upheld_rate=(upheld + partly) / with_outcome if with_outcome else None,
        closed_with_deadline=with_deadline, closed_within=within,
        within_share=within / with_deadline if with_deadline else None,
        median_days=median_days_to_close(f, principal, roles=roles),
        open_now=open_now, overdue_now=overdue_now)


def _open_and_overdue(principal, roles, f: ReportFilters, now: datetime) -> tuple[int, int]:
    conds = scope_conditions(principal, roles) + [running()]
    if f.branch_id is not None:
        conds.append(Complaint.branch_id == f.branch_id)
    row = db.session.execute(
        sa.select(sa.func.count(Complaint.id),
                  sa.func.sum(sa.case((Complaint.due_on < local_today(now), 1), else_=0)))
        .select_from(Complaint).outerjoin(Branch, Branch.id == Complaint.branch_id)
        .where(*conds)).one()
    return int(row[0] or 0), int(row[1] or 0)


def median_days_to_close(f: ReportFilters, principal, *, roles=None) -> float | None:
    """The median of (closed_at - received_at) in days over complaints closed in the period:
    a COUNT, then the one or two middle durations of the ordered list (LIMIT/OFFSET)."""
    conds = _conditions(f, principal, roles, Complaint.closed_at)
    n = db.session.scalar(sa.select(sa.func.count(Complaint.id)).where(*conds)) or 0
    if n == 0:
        return None
    days = _days_between(Complaint.closed_at, Complaint.received_at)
    middle = list(db.session.scalars(sa.select(days).where(*conds).order_by(days)
                                     .offset((n - 1) // 2).limit(1 if n % 2 else 2)))
    return float(sum(middle) / len(middle))


# -- lists --------------------------------------------------------------------------------------

def overdue_list(principal, *, roles=None, branch_id: int | None = None,
                 now: datetime | None = None, limit: int = 500) -> list[OverdueRow]:
    """Complaints whose clock runs and whose deadline has passed, the longest overdue first."""
    now = now or now_utc()
    today = local_today(now)
    conds = scope_conditions(principal, roles) + [running(), Complaint.due_on < today]
    if branch_id is not None:
        conds.append(Complaint.branch_id == branch_id)
    stmt = (sa.select(Complaint.id, Complaint.reference, Complaint.status, Branch.code,
                      Complaint.received_at, Complaint.due_on, today, User.name,
                      Complaint.priority)
            .select_from(Complaint)
            .outerjoin(Branch, Branch.id == Complaint.branch_id)
            .outerjoin(User, User.id == Complaint.assignee_id)
            .where(*conds).order_by(Complaint.due_on, Complaint.id).limit(limit))
    return [OverdueRow(cid, ref, status, bcode, received, due, (local - due).days, who, prio)
            for cid, ref, status, bcode, received, due, local, who, prio
            in db.session.execute(stmt)]


def root_cause_pareto(f: ReportFilters, principal, *, roles=None,
                      locale: str | None = None) -> list[ParetoRow]:
    """Root causes of the complaints closed in the period, most frequent first, with each
    cause's share and the cumulative share (the 80 % line of a Pareto chart)."""
    conds = _conditions(f, principal, roles, Complaint.closed_at) + [
        Complaint.root_cause.is_not(None)]
    count = sa.func.count(Complaint.id)
    rows = db.session.execute(sa.select(Complaint.root_cause, count).where(*conds)
                              .group_by(Complaint.root_cause)
                              .order_by(count.desc(), Complaint.root_cause)).all()
    total = sum(n for _c, n in rows)
    labels = codes.labels_for("R", locale)
    out, running = [], 0
    for code, n in rows:
        running += n
        out.append(ParetoRow(code, labels.get(code, code), n, n / total, running / total))
    return out


# -- the monthly code table and the CSV exports -------------------------------------------------
#
# They live in report_exports, which builds on this module; a module-level import of it here
# would be circular, so they are looked up on first use and stay reachable as reports.<name>.

_EXPORTED = frozenset({"CodeCell", "MonthlyTable", "monthly_code_table", "FORMULA_START",
                       "guard", "to_csv", "EXPORTS", "export_rows"})


def __getattr__(name: str):
    if name in _EXPORTED:
        from qms.complaints import report_exports

        return getattr(report_exports, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

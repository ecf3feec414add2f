"""Read side of the audit calendar and the audit list: filters, scope, a month grid.

Scope: the branch scope of the grants that open the page (a branch head sees their own
branch; qa, admin and bank-wide auditors every branch), and an auditor always sees the audits
assigned to them.
"""

from __future__ import annotations

import calendar as cal
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa

from qms.audits import periods
from qms.audits.models import AUDIT_STATES, Audit, AuditProgramme
from qms.auth.models import User
from qms.core.permissions import branch_scope
from qms.extensions import db
from qms.org.models import Branch

PAGE_SIZE = 50
CALENDAR_LIMIT = 2000


@dataclass
class AuditFilters:
    branch_id: int | None = None
    programme_id: int | None = None
    auditor_id: int | None = None
    state: str | None = None
    period: str | None = None
    overdue: bool = False

    @classmethod
    def from_args(cls, args) -> AuditFilters:
        state = args.get("state") or None
        return cls(branch_id=args.get("branch", type=int),
                   programme_id=args.get("programme", type=int),
                   auditor_id=args.get("auditor", type=int),
                   state=state if state in AUDIT_STATES else None,
                   period=(args.get("period") or "").strip()[:20] or None,
                   overdue=args.get("overdue") == "1")


@dataclass(frozen=True)
class AuditRow:
    id: int
    branch: str
    branch_id: int
    programme: str | None
    period: str
    auditor: str | None
    auditor_id: int | None
    status: str
    planned_at: datetime
    due_at: datetime
    score: float | None
    overdue: bool


@dataclass
class Page:
    rows: list
    page: int
    pages: int
    total: int


def _visible(stmt, user, roles):
    scope = branch_scope(user, roles)
    if scope is None:
        return stmt
    cond = Audit.branch_id.in_(scope)
    if "auditor" in (set(roles) if roles is not None else set(user.roles)) \
            and user.has_role("auditor"):
        cond = sa.or_(cond, Audit.auditor_id == user.id)
    return stmt.where(cond)


def _filtered(stmt, f: AuditFilters, now: datetime):
    if f.branch_id:
        stmt = stmt.where(Audit.branch_id == f.branch_id)
    if f.programme_id:
        stmt = stmt.where(Audit.programme_id == f.programme_id)
    if f.auditor_id:
        stmt = stmt.where(Audit.auditor_id == f.auditor_id)
    if f.state:
        stmt = stmt.where(Audit.status == f.state)
    if f.period:
        stmt = stmt.where(Audit.period.startswith(f.period, autoescape=True))
    if f.overdue:
        stmt = stmt.where(Audit.status.in_(("planned", "in_progress")), Audit.due_at < now)
    return stmt


def _base():
    return (sa.select(Audit.id, Branch.code, Branch.name, Audit.branch_id, AuditProgramme.name,
                      Audit.period, User.name, Audit.auditor_id, Audit.status, Audit.planned_at,
                      Audit.due_at, Audit.score)
            .join(Branch, Branch.id == Audit.branch_id)
            .outerjoin(AuditProgramme, AuditProgramme.id == Audit.programme_id)
            .outerjoin(User, User.id == Audit.auditor_id))


def _row(r, now: datetime) -> AuditRow:
    (aid, code, name, bid, prog, period, auditor, auditor_id, status, planned, due,
     score) = r
    return AuditRow(aid, f"{code} {name}", bid, prog, period, auditor, auditor_id, status,
                    planned, due, score,
                    status in ("planned", "in_progress") and due is not None and due < now)


def audit_page(user, roles, f: AuditFilters, *, now: datetime, page: int = 1,
               per_page: int = PAGE_SIZE) -> Page:
    """The audits in scope matching the filters, soonest due first, one page of them."""
    stmt = _filtered(_visible(_base(), user, roles), f, now)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(stmt.subquery())) or 0
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    rows = db.session.execute(stmt.order_by(Audit.due_at, Branch.code, Audit.id)
                              .limit(per_page).offset((page - 1) * per_page)).all()
    return Page([_row(r, now) for r in rows], page, pages, total)


# -- the calendar --------------------------------------------------------------------------

@dataclass
class Day:
    day: date
    in_month: bool
    audits: list[AuditRow] = field(default_factory=list)


def parse_month(value: str | None, today: date) -> date:
    """The first day of the month "YYYY-MM" (this month when absent or malformed)."""
    try:
        year, month = (int(x) for x in (value or "").split("-"))
        return date(year, month, 1)
    except ValueError:
        return today.replace(day=1)


def month_grid(user, roles, f: AuditFilters, month: date, *, now: datetime,
               by: str = "due") -> tuple[list[list[Day]], int]:
    """Weeks (Monday first) of the month's grid with the audits on their due (or planned)
    date in the bank's time zone; and how many audits the month holds."""
    tz = periods.bank_timezone()
    weeks = cal.Calendar(firstweekday=0).monthdatescalendar(month.year, month.month)
    first, last = weeks[0][0], weeks[-1][-1]
    start = datetime.combine(first, time(0), tzinfo=tz)
    end = datetime.combine(last + timedelta(days=1), time(0), tzinfo=tz)
    column = Audit.planned_at if by == "planned" else Audit.due_at
    stmt = _filtered(_visible(_base(), user, roles), f, now)
    stmt = stmt.where(column >= start, column < end).order_by(column, Branch.code)
    rows = [_row(r, now) for r in db.session.execute(stmt.limit(CALENDAR_LIMIT)).all()]
    days = {d: Day(d, d.month == month.month) for week in weeks for d in week}
    count = 0
    for row in rows:
        when = (row.planned_at if by == "planned" else row.due_at).astimezone(tz).date()
        if when in days:
            days[when].audits.append(row)
            count += days[when].in_month
    return [[days[d] for d in week] for week in weeks], count


# -- filter choices ------------------------------------------------------------------------

def filter_choices(user, roles) -> dict:
    scope = branch_scope(user, roles)
    branches = sa.select(Branch.id, Branch.code, Branch.name).order_by(Branch.code)
    if scope is not None:
        branches = branches.where(Branch.id.in_(scope))
    auditors = (sa.select(User.id, User.name)
                .where(User.id.in_(sa.select(Audit.auditor_id).distinct()))
                .order_by(User.name))
    return {
        "branches": [(i, f"{c} {n}") for i, c, n in db.session.execute(branches)],
        "programmes": list(db.session.execute(
            sa.select(AuditProgramme.id, AuditProgramme.name).order_by(AuditProgramme.name))),
        "auditors": list(db.session.execute(auditors)),
        "states": AUDIT_STATES,
    }

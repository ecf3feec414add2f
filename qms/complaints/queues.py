"""Work queues of complaints (mine, my branch's, unassigned, due soon, overdue, awaiting my
approval), with filters, search and pages — always inside the principal's branch scope.

"Today" is the date in each branch's own zone (due_on is a branch-local date): the few zones
in use are converted in Python and compared in SQL through a CASE on the branch's zone, so a
branch in Hong Kong and one in London each turn overdue at their own midnight.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import aliased

from qms.auth.models import User
from qms.complaints.models import Complaint, ComplaintApproval
from qms.complaints.states import FINAL, OPEN
from qms.core.db import now_utc
from qms.core.permissions import branch_scope
from qms.extensions import db
from qms.org.models import Branch

QUEUES = {
    "mine": _l("Mine"),
    "branch": _l("My branches"),
    "unassigned": _l("Unassigned"),
    "due_soon": _l("Due soon"),
    "overdue": _l("Overdue"),
    "approvals": _l("Awaiting my approval"),
    "all": _l("All"),
}
SETTINGS = {"COMPLAINT_DUE_SOON_DAYS": 3}
PER_PAGE = 50


def setting(name: str):
    return current_app.config.get(name, SETTINGS[name])


@dataclass(frozen=True)
class Filters:
    status: str | None = None
    branch_id: int | None = None
    severity: str | None = None
    priority: str | None = None
    channel_code: str | None = None
    business_code: str | None = None
    cause_code: str | None = None
    received_from: date | None = None   # local dates, both inclusive
    received_to: date | None = None
    q: str | None = None                # reference, complainant, description


@dataclass(frozen=True)
class QueueRow:
    id: int
    reference: str
    status: str
    priority: str
    severity: str
    complainant_name: str
    branch_code: str | None
    business_code: str | None
    cause_code: str | None
    received_at: datetime
    due_on: date | None
    assignee_name: str | None
    days_left: int | None
    overdue: bool
    due_soon: bool


@dataclass(frozen=True)
class QueuePage:
    items: list[QueueRow]
    total: int
    page: int
    per_page: int
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def _zones() -> list[str]:
    default = current_app.config["BABEL_DEFAULT_TIMEZONE"]
    found = set(db.session.scalars(sa.select(Branch.timezone).distinct()))
    return sorted({default, *(z for z in found if z)})


def local_today(now: datetime, days: int = 0):
    """An SQL expression: today's date (+ days) in the complaint's branch zone (the default
    zone without a branch). Compare it with Complaint.due_on; the query must outer-join Branch."""
    default = current_app.config["BABEL_DEFAULT_TIMEZONE"]
    dates = {}
    for name in _zones():
        try:
            dates[name] = now.astimezone(ZoneInfo(name)).date() + timedelta(days=days)
        except (ValueError, KeyError):
            continue  # a mistyped zone on a branch: that branch falls back to the default
    return sa.case(*[(Branch.timezone == name, sa.literal(d, sa.Date))
                     for name, d in dates.items()],
                   else_=sa.literal(dates[default], sa.Date))


def running():
    return Complaint.status.in_([str(s) for s in OPEN])


def unfinished():
    return Complaint.status.not_in([str(s) for s in FINAL])


def scope_conditions(principal, roles) -> list:
    scope = branch_scope(principal, roles)
    if scope is None:
        return []
    return [Complaint.branch_id.in_(sorted(scope)) if scope else sa.false()]


def _pending_approvals_for(principal):
    """Complaint ids with an approval request the principal may decide: pending, not their
    own, and their role is the one required (when one is)."""
    roles = getattr(principal, "roles", set())
    conds = [ComplaintApproval.status == "pending",
             ComplaintApproval.requested_by_id != principal.id,
             sa.or_(ComplaintApproval.required_role.is_(None),
                    ComplaintApproval.required_role.in_(sorted(roles) or [""]))]
    return sa.select(ComplaintApproval.complaint_id).where(*conds)


def queue_conditions(queue: str, principal, now: datetime) -> list:
    today = local_today(now)
    uid = getattr(principal, "id", None)
    if queue == "mine":
        return [unfinished(), sa.or_(Complaint.assignee_id == uid,
                                      sa.and_(Complaint.assignee_id.is_(None),
                                              Complaint.owner_id == uid))]
    if queue == "branch":
        return [unfinished()]  # the scope does the rest
    if queue == "unassigned":
        return [unfinished(), Complaint.assignee_id.is_(None)]
    if queue == "due_soon":
        days = int(setting("COMPLAINT_DUE_SOON_DAYS"))
        return [running(), Complaint.due_on >= today,
                Complaint.due_on <= local_today(now, days)]
    if queue == "overdue":
        return [running(), Complaint.due_on < today]
    if queue == "approvals":
        if uid is None or not isinstance(principal, User):
            return [sa.false()]
        return [Complaint.id.in_(_pending_approvals_for(principal))]
    if queue == "all":
        return []
    raise ValueError(f"unknown queue {queue!r}")


def filter_conditions(f: Filters, tz: str | None = None) -> list:
    conds = []
    if f.status:
        conds.append(Complaint.status == f.status)
    if f.branch_id is not None:
        conds.append(Complaint.branch_id == f.branch_id)
    if f.severity:
        conds.append(Complaint.severity == f.severity)
    if f.priority:
        conds.append(Complaint.priority == f.priority)
    for name in ("channel_code", "business_code", "cause_code"):
        value = getattr(f, name)
        if value:
            conds.append(getattr(Complaint, name) == value)
    zone = ZoneInfo(tz or current_app.config["BABEL_DEFAULT_TIMEZONE"])
    if f.received_from:
        conds.append(Complaint.received_at >= datetime.combine(
            f.received_from, datetime.min.time(), tzinfo=zone))
    if f.received_to:
        conds.append(Complaint.received_at < datetime.combine(
            f.received_to + timedelta(days=1), datetime.min.time(), tzinfo=zone))
    if f.q:
        term = f.q.strip()
        like = "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        conds.append(sa.or_(Complaint.reference.ilike(like, escape="\\"),
                            Complaint.complainant_name.ilike(like, escape="\\"),
                            Complaint.complainant_email.ilike(like, escape="\\"),
                            Complaint.description.ilike(like, escape="\\")))
    return conds


def list_queue(queue: str, principal, *, roles=None, filters: Filters | None = None,
               page: int = 1, per_page: int = PER_PAGE, now: datetime | None = None,
               with_counts: bool = False) -> QueuePage:
    """One page of a queue: high priority first, then the earliest deadline, then oldest."""
    now = now or now_utc()
    page, per_page = max(1, page), max(1, min(per_page, 200))
    base = scope_conditions(principal, roles) + filter_conditions(filters or Filters())
    conds = base + queue_conditions(queue, principal, now)
    today = local_today(now)
    total = db.session.scalar(sa.select(sa.func.count(Complaint.id))
                              .outerjoin(Branch, Branch.id == Complaint.branch_id)
                              .where(*conds)) or 0
    assignee = aliased(User)
    stmt = (sa.select(Complaint.id, Complaint.reference, Complaint.status, Complaint.priority,
                      Complaint.severity, Complaint.complainant_name, Branch.code,
                      Complaint.business_code, Complaint.cause_code, Complaint.received_at,
                      Complaint.due_on, assignee.name, today)
            .outerjoin(Branch, Branch.id == Complaint.branch_id)
            .outerjoin(assignee, assignee.id == Complaint.assignee_id)
            .where(*conds)
            .order_by(sa.case((Complaint.priority == "high", 0), else_=1),
                      sa.case((Complaint.due_on.is_(None), 1), else_=0),
                      Complaint.due_on, Complaint.received_at, Complaint.id)
            .limit(per_page).offset((page - 1) * per_page))
    running = {str(s) for s in OPEN}
    soon = int(setting("COMPLAINT_DUE_SOON_DAYS"))
    items = []
    for row in db.session.execute(stmt):
        *values, local = row
        due = values[10]
        days_left = (due - local).days if due is not None and local is not None else None
        live = values[2] in running and days_left is not None
        items.append(QueueRow(*values, days_left=days_left, overdue=live and days_left < 0,
                              due_soon=live and 0 <= days_left <= soon))
    counts = queue_counts(principal, roles=roles, filters=filters, now=now) \
        if with_counts else {}
    return QueuePage(items, total, page, per_page, counts)


def queue_counts(principal, *, roles=None, filters: Filters | None = None,
                 now: datetime | None = None) -> dict[str, int]:
    """How many complaints each queue holds (for the tabs), one COUNT per queue."""
    now = now or now_utc()
    base = scope_conditions(principal, roles) + filter_conditions(filters or Filters())
    out = {}
    for name in QUEUES:
        conds = base + queue_conditions(name, principal, now)
        out[name] = db.session.scalar(sa.select(sa.func.count(Complaint.id))
                                      .outerjoin(Branch, Branch.id == Complaint.branch_id)
                                      .where(*conds)) or 0
    return out


def queue_ids(queue: str, principal, *, roles=None, now: datetime | None = None,
              filters: Filters | None = None) -> set[int]:
    """Every id in a queue (tests and small jobs; pages use list_queue)."""
    now = now or now_utc()
    conds = (scope_conditions(principal, roles) + filter_conditions(filters or Filters())
             + queue_conditions(queue, principal, now))
    return set(db.session.scalars(sa.select(Complaint.id)
                                  .outerjoin(Branch, Branch.id == Complaint.branch_id)
                                  .where(*conds)))

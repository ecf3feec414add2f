"""Follow-ups: the detractors and unhappy customers a branch calls back — list, assign, close.

The items themselves are created when a response completes (qms.surveys.responses); here a
branch works them. Every lookup is limited to the principal's branches.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import aliased

from qms.auth.models import RoleGrant, User
from qms.core.db import now_utc
from qms.core.permissions import branch_scope, can_see_branch
from qms.extensions import db
from qms.org.models import Agent, Branch
from qms.surveys.models import Answer, FollowUp, Invitation, Response, Survey

OPEN, IN_PROGRESS, CLOSED = "open", "in_progress", "closed"
STATUS_LABELS = {OPEN: _l("Open"), IN_PROGRESS: _l("In progress"), CLOSED: _l("Closed")}
REASON_LABELS = {"detractor": _l("Detractor (NPS 0–6)"),
                 "low_csat": _l("Low satisfaction (CSAT 1–2)")}
# Where an item may go from each status; anything else is refused.
TRANSITIONS = {OPEN: {IN_PROGRESS, CLOSED}, IN_PROGRESS: {OPEN, CLOSED}, CLOSED: {IN_PROGRESS}}
# Who may own (work) an item: these roles, with the item's branch in their scope.
WORKER_ROLES = frozenset({"admin", "qa", "branch_head"})
NOTE_MAX = 5000


class FollowUpError(Exception):
    def __init__(self, fields: dict[str, str]):
        super().__init__(fields)
        self.fields = fields


@dataclass(frozen=True)
class FollowUpRow:
    id: int
    reason: str
    status: str
    branch_code: str | None
    branch_name: str | None
    survey: str
    response_id: int
    completed_at: datetime | None
    nps: float | None
    csat: float | None
    owner_name: str | None
    due_at: datetime | None
    created_at: datetime
    overdue: bool


@dataclass(frozen=True)
class FollowUpPage:
    items: list[FollowUpRow]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def _score(qtype: str):
    other = aliased(Answer)
    return (sa.select(other.num_value)
            .where(other.response_id == FollowUp.response_id, other.qtype == qtype)
            .order_by(other.id).limit(1).scalar_subquery())


def list_follow_ups(principal, *, roles=None, status: str | None = None,
                    branch_id: int | None = None, owner_id: int | None = None,
                    overdue: bool = False, page: int = 1, per_page: int = 50,
                    now: datetime | None = None) -> FollowUpPage:
    """Items in the principal's branches: unfinished first, by due date, newest first."""
    now = now or now_utc()
    page, per_page = max(1, page), max(1, min(per_page, 200))
    conds = []
    scope = branch_scope(principal, roles)
    if scope is not None:
        conds.append(FollowUp.branch_id.in_(sorted(scope)) if scope else sa.false())
    if status:
        conds.append(FollowUp.status == status)
    if branch_id is not None:
        conds.append(FollowUp.branch_id == branch_id)
    if owner_id is not None:
        conds.append(FollowUp.owner_id == owner_id)
    if overdue:
        conds += [FollowUp.status != CLOSED, FollowUp.due_at < now]
    total = db.session.scalar(sa.select(sa.func.count(FollowUp.id)).where(*conds)) or 0
    stmt = (sa.select(FollowUp.id, FollowUp.reason, FollowUp.status, Branch.code, Branch.name,
                      Survey.title, Response.id, Response.completed_at, _score("nps"),
                      _score("csat"), User.name, FollowUp.due_at, FollowUp.created_at)
            .join(Response, Response.id == FollowUp.response_id)
            .join(Survey, Survey.id == Response.survey_id)
            .outerjoin(Branch, Branch.id == FollowUp.branch_id)
            .outerjoin(User, User.id == FollowUp.owner_id)
            .where(*conds)
            .order_by(sa.case((FollowUp.status == CLOSED, 1), else_=0),
                      sa.case((FollowUp.due_at.is_(None), 1), else_=0),
                      FollowUp.due_at, FollowUp.id.desc())
            .limit(per_page).offset((page - 1) * per_page))
    items = [FollowUpRow(*row, overdue=row[2] != CLOSED and row[11] is not None and row[11] < now)
             for row in db.session.execute(stmt)]
    return FollowUpPage(items, total, page, per_page)


def get_follow_up(follow_up_id: int, principal, roles=None) -> FollowUp | None:
    """The item, or None when it does not exist or lies outside the principal's branches."""
    item = db.session.get(FollowUp, follow_up_id)
    if item is None or not can_see_branch(principal, item.branch_id, roles):
        return None
    return item


def owner_choices(branch_id: int | None) -> list[User]:
    """Active users who may work an item of this branch."""
    branch = db.session.get(Branch, branch_id) if branch_id is not None else None
    reach = [sa.and_(RoleGrant.branch_id.is_(None), RoleGrant.region.is_(None),
                     RoleGrant.role.in_(("admin", "qa")))]
    if branch is not None:
        reach += [RoleGrant.branch_id == branch.id,
                  sa.and_(RoleGrant.branch_id.is_(None), RoleGrant.region == branch.region)]
    ids = sa.select(RoleGrant.user_id).where(RoleGrant.role.in_(WORKER_ROLES), sa.or_(*reach))
    return list(db.session.scalars(sa.select(User).where(User.active, User.id.in_(ids))
                                   .order_by(User.name, User.id)))


def _check_owner(item: FollowUp, owner_id: int | None) -> User | None:
    if owner_id is None:
        return None
    owner = db.session.get(User, owner_id)
    if owner is None or not owner.active or not can_see_branch(owner, item.branch_id,
                                                               WORKER_ROLES):
        raise FollowUpError({"owner": str(_l("This person cannot work on this branch's "
                                             "follow-ups."))})
    return owner


def update_follow_up(item: FollowUp, *, actor, owner_id: int | None, status: str,
                     note: str | None, due_at: datetime | None,
                     now: datetime | None = None) -> FollowUp:
    """Change owner, status, note and due date together; illegal moves are refused whole."""
    now = now or now_utc()
    errors: dict[str, str] = {}
    note = (note or "").strip() or None
    if note is not None and len(note) > NOTE_MAX:
        errors["note"] = str(_l("At most %(n)d characters.", n=NOTE_MAX))
    if status not in TRANSITIONS:
        errors["status"] = str(_l("Choose a status from the list."))
    elif status != item.status and status not in TRANSITIONS[item.status]:
        errors["status"] = str(_l("A follow-up cannot go from %(old)s to %(new)s.",
                                  old=STATUS_LABELS[item.status], new=STATUS_LABELS[status]))
    elif status == CLOSED and note is None:
        errors["note"] = str(_l("Say what was done before closing the follow-up."))
    if due_at is not None and due_at.tzinfo is None:
        raise ValueError("due_at must be timezone-aware")
    try:
        owner = _check_owner(item, owner_id)
    except FollowUpError as exc:
        errors.update(exc.fields)
    if errors:
        raise FollowUpError(errors)
    if status == CLOSED and item.status != CLOSED:
        item.closed_at = now
    elif status != CLOSED:
        item.closed_at = None
    item.status = status
    item.owner_id = owner.id if owner is not None else None
    item.note = note
    item.due_at = due_at
    db.session.flush()
    return item


def assign_follow_up(item: FollowUp, owner_id: int | None, *, actor,
                     now: datetime | None = None) -> FollowUp:
    return update_follow_up(item, actor=actor, owner_id=owner_id, status=item.status,
                            note=item.note, due_at=item.due_at, now=now)


def close_follow_up(item: FollowUp, *, actor, note: str, now: datetime | None = None
                    ) -> FollowUp:
    return update_follow_up(item, actor=actor, owner_id=item.owner_id, status=CLOSED,
                            note=note, due_at=item.due_at, now=now)


@dataclass(frozen=True)
class FollowUpDetail:
    survey: str
    completed_at: datetime | None
    channel: str
    branch: str | None
    agent: str | None
    customer_name: str | None
    customer_phone: str | None
    customer_email: str | None
    owner_name: str | None
    answers: list[tuple[str, str]]  # (question, answer) in the survey's order


def follow_up_detail(item: FollowUp, locale: str) -> FollowUpDetail:
    """What the person calling the customer back needs: the answers and how to reach them."""
    from qms.surveys.definition import questions, text

    response = item.response
    definition = response.version.definition or {}
    by_key: dict[str, list[Answer]] = {}
    for a in db.session.scalars(sa.select(Answer).where(Answer.response_id == response.id)
                                .order_by(Answer.id)):
        by_key.setdefault(a.question_key, []).append(a)
    shown = []
    for _section, q in questions(definition):
        rows = by_key.get(q["key"])
        if not rows:
            continue
        labels = {o["key"]: text(o.get("label"), locale) for o in q.get("options", [])}
        labels.update({r["key"]: text(r.get("label"), locale) for r in q.get("rows", [])})
        values = []
        for a in rows:
            if a.row_key:
                values.append(f"{labels.get(a.row_key, a.row_key)}: {_num(a.num_value)}")
            elif a.choice_key:
                values.append(labels.get(a.choice_key, a.choice_key))
            elif a.text_value is not None:
                values.append(a.text_value)
            else:
                values.append(_num(a.num_value))
        shown.append((text(q.get("label"), locale), "; ".join(values)))
    invitation = db.session.get(Invitation, response.invitation_id) \
        if response.invitation_id else None
    customer = invitation.customer if invitation is not None else None
    owner = db.session.get(User, item.owner_id) if item.owner_id else None
    agent = db.session.get(Agent, response.agent_id) if response.agent_id else None
    return FollowUpDetail(
        survey=response.version.survey.title, completed_at=response.completed_at,
        channel=response.channel,
        branch=f"{item.branch.code} {item.branch.name}" if item.branch else None,
        agent=f"{agent.code} {agent.name}" if agent else None,
        customer_name=customer.name if customer else None,
        customer_phone=customer.phone if customer else None,
        customer_email=(customer.email if customer else None) or (
            invitation.email if invitation else None),
        owner_name=owner.name if owner else None, answers=shown)


def _num(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else str(value)

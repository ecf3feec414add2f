"""Who may read which scorecard: branch-bound readers their branch (and its agents), an agent
only their own, global readers everything in their scope. Out of scope reads as missing."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from qms.core.permissions import branch_scope
from qms.extensions import db
from qms.org.models import Agent, Branch
from qms.scorecards import snapshots


def entity_branch(scope: str, code: str) -> int | None:
    model = Branch if scope == "branch" else Agent
    column = Branch.id if scope == "branch" else Agent.branch_id
    return db.session.scalar(sa.select(column).where(model.code == code))


def own_agent_code(principal) -> str | None:
    agent = getattr(principal, "agent", None)
    return agent.code if agent is not None else None


def readable_branches(principal, roles) -> set[int] | None:
    """Branch ids readable through the non-agent roles opening the route (None: all)."""
    if principal is None:
        return set()
    wider = None if roles is None else set(roles) - {"agent"}
    if wider is not None and not (wider & principal.roles):
        return set()
    return branch_scope(principal, wider if wider is not None else
                        set(principal.roles) - {"agent"})


def can_read(principal, scope: str, code: str, roles) -> bool:
    branch_id = entity_branch(scope, code)
    if branch_id is None or principal is None:
        return False
    if scope == "agent" and code == own_agent_code(principal) and "agent" in principal.roles \
            and (roles is None or "agent" in roles):
        return True
    scope_ids = readable_branches(principal, roles)
    return scope_ids is None or branch_id in scope_ids


def snapshot_for(scope: str, code: str, period: str, *, now: datetime):
    return snapshots.get_or_compute(scope, code, period, now=now)


def region_choices(branch_ids: set[int] | None) -> list[str]:
    stmt = sa.select(Branch.region).distinct().order_by(Branch.region)
    if branch_ids is not None:
        stmt = stmt.where(Branch.id.in_(sorted(branch_ids) or [0]))
    return [r for r in db.session.scalars(stmt) if r]


def branch_code_of(branch_id: int) -> str | None:
    return db.session.scalar(sa.select(Branch.code).where(Branch.id == branch_id))

"""Who may download which scorecard PDF, and the snapshot behind it (read only).

Branch scorecards: admins, QA and auditors within their scope (all, a region or a branch),
branch heads their own branch. Agent scorecards: the same by the agent's branch, and an agent
their own. Anything outside that answers exactly like an entity that does not exist.
"""

from __future__ import annotations

import re
from enum import Enum

import sqlalchemy as sa

from qms.core.permissions import can_see_branch
from qms.extensions import db
from qms.org.models import Agent, Branch
from qms.scorecards.snapshots import get_snapshot

PERIOD = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
VIEWER_ROLES = frozenset({"admin", "qa", "auditor", "branch_head"})


class Lookup(Enum):
    FOUND = "found"
    HIDDEN = "hidden"          # no such entity, or not in the principal's scope
    NO_SNAPSHOT = "no_snapshot"  # visible, but that month has no computed scorecard
    BAD_PERIOD = "bad_period"


def _viewer_roles(roles) -> frozenset[str]:
    return VIEWER_ROLES if roles is None else VIEWER_ROLES & frozenset(roles)


def may_see(principal, scope: str, code: str, roles=None) -> bool:
    """Whether the principal may see the entity's scorecards, through the given roles."""
    if principal is None:
        return False
    viewer = _viewer_roles(roles)
    if scope == "branch":
        branch_id = db.session.scalar(sa.select(Branch.id).where(Branch.code == code))
        return branch_id is not None and bool(viewer) and \
            can_see_branch(principal, branch_id, viewer)
    agent = db.session.scalar(sa.select(Agent).where(Agent.code == code))
    if agent is None:
        return False
    if viewer and can_see_branch(principal, agent.branch_id, viewer):
        return True
    agent_allowed = roles is None or "agent" in roles
    return agent_allowed and principal.has_role("agent") and \
        getattr(principal, "agent_id", None) == agent.id


def pdf_snapshot(principal, scope: str, code: str, period: str, roles=None):
    """(Lookup, snapshot or None) for a PDF download."""
    if not may_see(principal, scope, code, roles):
        return Lookup.HIDDEN, None
    if not PERIOD.match(period or ""):
        return Lookup.BAD_PERIOD, None
    snapshot = get_snapshot(scope, code, period)
    return (Lookup.FOUND, snapshot) if snapshot is not None else (Lookup.NO_SNAPSHOT, None)

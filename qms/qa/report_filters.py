"""QA report filters from query-string values, the reader's scope, and the filter form's choices.

Part of the QA reporting service (qms.qa.reports): the page and the API read their filters here,
so they scope them the same way. Branch heads see their branch; an agent sees only their own
evaluations; admin and QA staff see what their grants cover.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from qms.auth.models import RoleGrant, User
from qms.core.daterange import read_range
from qms.core.permissions import branch_scope
from qms.extensions import db
from qms.org.models import Agent, Branch
from qms.qa.models import CHANNELS, Rubric
from qms.qa.reports import ReportFilters

WIDE_ROLES = frozenset({"admin", "qa", "branch_head"})


class OutOfScope(LookupError):
    """A branch, agent, grader or rubric that does not exist for this reader: 404."""


class FilterError(ValueError):
    """Filter input that cannot be read; `fields` says which and why (400)."""

    def __init__(self, fields: dict[str, str]):
        super().__init__(fields)
        self.fields = fields


@dataclass(frozen=True)
class ReaderScope:
    branches: frozenset[int] | None  # None: every branch
    only_agent_id: int | None  # set for a reader who is only an agent (0: no agent record)

    @property
    def own_only(self) -> bool:
        return self.only_agent_id is not None


def reader_scope(principal, roles=None) -> ReaderScope:
    """What a reader may see through the roles that open the route (all roles without any).

    A wider role wins: someone who is both branch head and agent sees the branch.
    """
    held = set(principal.roles) if principal is not None else set()
    if roles is not None:
        held &= set(roles)
    wide = held & WIDE_ROLES
    if wide or "agent" not in held:
        scope = branch_scope(principal, wide)
        return ReaderScope(None if scope is None else frozenset(scope), None)
    scope = branch_scope(principal, {"agent"})
    return ReaderScope(None if scope is None else frozenset(scope),
                       getattr(principal, "agent_id", None) or 0)


def parse_report_filters(params: Mapping[str, str], principal, roles=None) -> ReportFilters:
    """ReportFilters from query-string values, limited to the reader's scope.

    Branches and agents are given by code, graders by user id, rubrics by id. One that does not
    exist or lies outside the scope raises OutOfScope (404, the same for both); unreadable
    values raise FilterError.
    """
    rs = reader_scope(principal, roles)
    scope = rs.branches

    def arg(name: str) -> str | None:
        value = (params.get(name) or "").strip()
        return value or None

    kw: dict = {}
    errors: dict[str, str] = {}
    if code := arg("branch"):
        branch = db.session.scalar(sa.select(Branch).where(Branch.code == code))
        if branch is None or (scope is not None and branch.id not in scope):
            raise OutOfScope("branch")
        kw["branch_id"] = branch.id
    if code := arg("agent"):
        agent = db.session.scalar(sa.select(Agent).where(Agent.code == code))
        if agent is None or (scope is not None and agent.branch_id not in scope) or (
                rs.own_only and agent.id != rs.only_agent_id):
            raise OutOfScope("agent")
        kw["agent_id"] = agent.id
    if raw := arg("grader"):
        if not raw.isdigit() or db.session.get(User, int(raw)) is None:
            raise OutOfScope("grader")
        kw["evaluator_id"] = int(raw)
    if raw := arg("rubric"):
        if not raw.isdigit() or db.session.get(Rubric, int(raw)) is None:
            raise OutOfScope("rubric")
        kw["rubric_id"] = int(raw)
    if raw := arg("team"):
        if raw not in teams(scope):
            errors["team"] = str(_l("Choose a team from the list."))
        kw["team"] = raw
    if raw := arg("channel"):
        if raw not in CHANNELS:
            errors["channel"] = str(_l("Choose a channel from the list."))
        kw["channel"] = raw
    read_range(arg, kw, errors)
    if errors:
        raise FilterError(errors)
    return ReportFilters(scope=scope, only_agent_id=rs.only_agent_id, **kw)


def teams(scope: frozenset[int] | None) -> list[str]:
    stmt = sa.select(Agent.team).where(Agent.team.is_not(None)).distinct().order_by(Agent.team)
    if scope is not None:
        stmt = stmt.where(Agent.branch_id.in_(sorted(scope)))
    return list(db.session.scalars(stmt))


@dataclass(frozen=True)
class ReportOptions:
    branches: list[tuple[str, str]]
    agents: list[tuple[str, str]]
    teams: list[str]
    graders: list[tuple[int, str]]
    rubrics: list[tuple[int, str]]
    own_only: bool


def report_options(principal, roles=None, *, branch_id: int | None = None) -> ReportOptions:
    """What the filter form offers: only branches and agents in the reader's scope."""
    rs = reader_scope(principal, roles)
    branches = sa.select(Branch.code, Branch.name).order_by(Branch.code)
    agents = sa.select(Agent.code, Agent.name).order_by(Agent.code)
    if rs.branches is not None:
        ids = sorted(rs.branches)
        branches = branches.where(Branch.id.in_(ids))
        agents = agents.where(Agent.branch_id.in_(ids))
    if rs.own_only:
        agents = agents.where(Agent.id == rs.only_agent_id)
    if branch_id is not None:
        agents = agents.where(Agent.branch_id == branch_id)
    graders = (sa.select(User.id, User.name).join(RoleGrant, RoleGrant.user_id == User.id)
               .where(RoleGrant.role == "qa").distinct().order_by(User.name))
    rubrics = sa.select(Rubric.id, Rubric.name).order_by(Rubric.name)
    return ReportOptions(
        branches=[tuple(r) for r in db.session.execute(branches)],
        agents=[tuple(r) for r in db.session.execute(agents)],
        teams=[] if rs.own_only else teams(rs.branches),
        graders=[tuple(r) for r in db.session.execute(graders)],
        rubrics=[tuple(r) for r in db.session.execute(rubrics)],
        own_only=rs.own_only)

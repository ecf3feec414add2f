"""Interactions: recording one (form, API), importing a CSV file, finding them in scope.

Every path checks a value with the same column rules (qms.qa.interaction_fields), so a row
the API refuses is refused by the import too, with the same words. Scope: staff see the
interactions of the branches their grants give; an agent's own grant gives their own
interactions only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import joinedload

from qms.core.db import now_utc
from qms.core.permissions import branch_scope
from qms.extensions import db
from qms.org.models import Agent, Branch, Customer
from qms.qa.interaction_fields import (
    COLUMNS,
    TRANSCRIPT,
    check_not_future,
    load_agents,
    load_customers,
    localise,
)
from qms.qa.interaction_import import import_interactions
from qms.qa.models import CHANNELS, Evaluation, Interaction

__all__ = ["CHANNELS", "COUNTED", "InteractionConflict", "InteractionError", "Page", "Saved",
           "create_interaction", "customer_of", "evaluation_summaries", "get_interaction",
           "import_interactions", "interaction_evaluations", "search_interactions", "visible"]

# Evaluations that count as "evaluated": released to the agent, not replaced or calibration.
COUNTED = ("submitted", "acknowledged")
FIELDS = (*COLUMNS, TRANSCRIPT)


class InteractionError(Exception):
    """Bad input: `fields` maps each field name ("" for the request itself) to its problem."""

    def __init__(self, fields: dict):
        super().__init__(fields)
        self.fields = {k: str(v) for k, v in fields.items()}


class InteractionConflict(InteractionError):
    """The key is recorded already and this change to it is refused."""

    def __init__(self, fields: dict, existing_id: int | None = None):
        super().__init__(fields)
        self.existing_id = existing_id


@dataclass(frozen=True)
class Saved:
    interaction: Interaction
    created: bool


@dataclass
class Page:
    items: list
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


# -- recording -----------------------------------------------------------------------------

def _clean(data: Mapping, ctx: dict) -> tuple[dict, dict]:
    errors: dict = {k: _l("Unknown field.") for k in data if k not in {c.name for c in FIELDS}}
    clean: dict = {}
    for col in FIELDS:
        if col.name not in data:
            if col.required:
                errors[col.name] = _l("A value is required.")
            continue
        raw = data[col.name]
        if raw is None:
            raw = ""
        if isinstance(raw, bool) or not isinstance(raw, str | int | float) or (
                isinstance(raw, float) and not raw.is_integer()):
            errors[col.name] = _l("Give text or a whole number.")
            continue
        try:
            clean[col.attr] = col.field.check(str(int(raw)) if isinstance(raw, float)
                                              else str(raw), ctx)
        except ValueError as exc:
            errors[col.name] = exc.args[0]
    if "occurred_at" in clean and "agent_id" in clean:
        clean["occurred_at"] = localise(clean["occurred_at"], clean["agent_id"])
        try:
            check_not_future(clean["occurred_at"], ctx["now"])
        except ValueError as exc:
            errors["occurred_at"] = exc.args[0]
    return clean, errors


def create_interaction(data: Mapping, *, principal=None, roles=None, source: str = "manual",
                       upsert: bool = False, now: datetime | None = None) -> Saved:
    """Record one interaction from plain values (the API's JSON, the form's data).

    Fields as the CSV columns (channel, external_ref, agent_code, occurred_at,
    duration_seconds, customer_ref, summary, media_url) plus transcript; the branch is the
    agent's, who must be in the principal's scope (None: any). A recorded (channel,
    external_ref) is an error — or, with upsert, is updated with the fields given (absent ones
    are kept, null or "" clears), as a re-imported row is. InteractionError on bad input,
    InteractionConflict when the update is refused; nothing is written then.
    """
    if not isinstance(data, Mapping):
        raise InteractionError({"": _l("Send a JSON object.")})
    code = data.get("agent_code")
    ctx = {"agents": load_agents(principal, roles, [code] if isinstance(code, str) else []),
           "customers": load_customers([data.get("customer_ref") or ""]),
           "now": now or now_utc()}
    clean, errors = _clean(data, ctx)
    if errors:
        raise InteractionError(errors)
    agent = clean.pop("agent_id")
    clean.update(agent_id=agent.id, branch_id=agent.branch_id)
    existing = db.session.scalar(sa.select(Interaction).where(
        Interaction.channel == clean["channel"],
        Interaction.external_ref == clean["external_ref"]))
    if existing is None:
        interaction = Interaction(**clean, source=source)
        db.session.add(interaction)
        db.session.flush()
        return Saved(interaction, True)
    if not upsert:
        raise InteractionError({"external_ref": _l(
            "An interaction with this channel and reference is recorded already.")})
    _check_update(existing, agent.id, principal, roles)
    for name, value in clean.items():
        setattr(existing, name, value)
    db.session.flush()
    return Saved(existing, False)


def _check_update(existing: Interaction, agent_id: int, principal, roles) -> None:
    scope = None if principal is None else branch_scope(principal, roles)
    if scope is not None and existing.branch_id not in scope:
        raise InteractionConflict({"external_ref": _l(
            "This interaction is recorded for a branch outside your scope.")})
    if existing.agent_id != agent_id and db.session.scalar(sa.select(
            sa.exists().where(Evaluation.interaction_id == existing.id))):
        raise InteractionConflict({"agent_code": _l(
            "This interaction has evaluations; its agent cannot change.")}, existing.id)


# -- finding -------------------------------------------------------------------------------

def visible(principal, roles=None):
    """The SQL condition for the interactions a principal may see through `roles` (None: all
    their roles): their branches' for staff grants, their own for an agent grant."""
    if principal is None:
        return sa.true()
    effective = set(principal.roles) if roles is None else set(principal.roles) & set(roles)
    conditions = []
    staff = effective - {"agent", "shopper"}
    if staff:
        scope = branch_scope(principal, staff)
        if scope is None:
            return sa.true()
        if scope:
            conditions.append(Interaction.branch_id.in_(scope))
    if "agent" in effective and getattr(principal, "agent_id", None):
        conditions.append(Interaction.agent_id == principal.agent_id)
    return sa.or_(*conditions) if conditions else sa.false()


def get_interaction(principal, interaction_id: int, roles=None) -> Interaction | None:
    """The interaction, or None when there is none in the principal's scope."""
    return db.session.scalar(
        sa.select(Interaction).options(joinedload(Interaction.agent),
                                       joinedload(Interaction.branch))
        .where(Interaction.id == interaction_id, visible(principal, roles)))


def _counted():
    return sa.exists().where(Evaluation.interaction_id == Interaction.id,
                             Evaluation.status.in_(COUNTED),
                             Evaluation.calibration_session_id.is_(None))


def _like(q: str) -> str:
    escaped = q.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def search_interactions(principal, *, q: str = "", channel: str | None = None,
                        branch_id: int | None = None, agent_code: str | None = None,
                        date_from: date | None = None, date_to: date | None = None,
                        evaluated: bool | None = None, page: int = 1, per_page: int = 50,
                        roles=None, tz: str = "Asia/Shanghai") -> Page:
    """Interactions in scope, newest first. Dates are whole days in `tz` (the viewer's zone),
    both ends included; `evaluated`: with (True) or without (False) a released evaluation."""
    stmt = (sa.select(Interaction).join(Interaction.agent).join(Interaction.branch)
            .options(joinedload(Interaction.agent), joinedload(Interaction.branch))
            .where(visible(principal, roles))
            .order_by(Interaction.occurred_at.desc(), Interaction.id.desc()))
    if q.strip():
        like = _like(q)
        customer_refs = sa.select(Customer.id).where(Customer.ref.ilike(like, escape="\\"))
        stmt = stmt.where(sa.or_(Interaction.external_ref.ilike(like, escape="\\"),
                                 Interaction.summary.ilike(like, escape="\\"),
                                 Agent.code.ilike(like, escape="\\"),
                                 Agent.name.ilike(like, escape="\\"),
                                 Interaction.customer_id.in_(customer_refs)))
    if channel:
        stmt = stmt.where(Interaction.channel == channel)
    if branch_id:
        stmt = stmt.where(Interaction.branch_id == branch_id)
    if agent_code:
        stmt = stmt.where(Agent.code == agent_code.strip())
    zone = ZoneInfo(tz)
    if date_from:
        stmt = stmt.where(Interaction.occurred_at >= datetime.combine(date_from, time(), zone))
    if date_to:
        stmt = stmt.where(Interaction.occurred_at < datetime.combine(
            date_to + timedelta(days=1), time(), zone))
    if evaluated is not None:
        stmt = stmt.where(_counted() if evaluated else ~_counted())
    page = max(1, page)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(
        stmt.order_by(None).subquery()))
    items = list(db.session.scalars(stmt.limit(per_page).offset((page - 1) * per_page)))
    return Page(items, total or 0, page, per_page)


@dataclass(frozen=True)
class EvaluationSummary:
    count: int
    latest_total: float | None
    auto_failed: bool


def evaluation_summaries(interaction_ids) -> dict[int, EvaluationSummary]:
    """Released evaluations per interaction: how many, and the latest one's score."""
    ids = list(interaction_ids)
    if not ids:
        return {}
    rows = db.session.execute(
        sa.select(Evaluation.interaction_id, Evaluation.total, Evaluation.auto_failed)
        .where(Evaluation.interaction_id.in_(ids), Evaluation.status.in_(COUNTED),
               Evaluation.calibration_session_id.is_(None))
        .order_by(Evaluation.submitted_at, Evaluation.id))
    out: dict[int, EvaluationSummary] = {}
    for iid, total, failed in rows:
        n = out[iid].count + 1 if iid in out else 1
        out[iid] = EvaluationSummary(n, total, failed)
    return out


def interaction_evaluations(interaction: Interaction) -> list[Evaluation]:
    """Its evaluations outside calibration, oldest first (each page shows what it may)."""
    return list(db.session.scalars(
        sa.select(Evaluation).options(joinedload(Evaluation.rubric_version))
        .where(Evaluation.interaction_id == interaction.id,
               Evaluation.calibration_session_id.is_(None))
        .order_by(Evaluation.created_at, Evaluation.id)))


def branches_in_scope(principal, roles=None) -> list[Branch]:
    """The branches a filter may offer."""
    stmt = sa.select(Branch).order_by(Branch.code)
    scope = branch_scope(principal, roles)
    if scope is not None:
        stmt = stmt.where(Branch.id.in_(scope))
    return list(db.session.scalars(stmt))


def customer_of(interaction: Interaction) -> Customer | None:
    return db.session.get(Customer, interaction.customer_id) if interaction.customer_id else None

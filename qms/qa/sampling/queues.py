"""Queues: rules that draw N random interactions per agent per week or month into QA queues,
seeded and reproducible, assigned with balanced load; replacing an unusable item.

The draw for one (rule, period, agent) is a shuffle of the candidate interactions, sorted by
their natural key (time, channel, external reference) so that neither the order the database
returns them in nor the order they were inserted in matters, with a random.Random seeded from
(rule.seed, rule.id, period, agent.id). The queue takes the first items of that order that the
rule has not used in the period; a replacement takes the next one.

A period still running gets its quota pro rata (floor of N × elapsed share), so a month's
sample is spread over the month instead of coming from its first days; the just-finished
period is topped up to N. Rows are inserted with ON CONFLICT DO NOTHING on (rule, period,
interaction): a re-run, a late run or two concurrent runs add nothing twice.
"""

from __future__ import annotations

import logging
import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from qms.auth.models import RoleGrant, User
from qms.core.db import now_utc
from qms.core.permissions import branch_scope
from qms.extensions import db
from qms.org.models import Agent
from qms.qa.models import Evaluation, Interaction, RubricVersion, SamplingRule
from qms.qa.sampling.periods import Period, parse_period, period_containing, previous_period, zone

log = logging.getLogger("qms.qa.sampling")

OPEN = ("assigned", "draft")
EVALUATOR_ROLES = frozenset({"qa", "admin"})
INSERT_BATCH = 500


class SamplingError(Exception):
    """Bad input for a rule or a replacement: field -> message."""

    def __init__(self, fields: dict):
        super().__init__(fields)
        self.fields = fields


# -- the draw ---------------------------------------------------------------------------------

def draw_order(rule: SamplingRule, period_code: str, agent_id: int, candidates) -> list[int]:
    """Interaction ids in the order this (rule, period, agent) draws them.

    `candidates` are rows with id, occurred_at, channel and external_ref.
    """
    ordered = sorted(candidates, key=lambda c: (c.occurred_at, c.channel, c.external_ref, c.id))
    ids = [c.id for c in ordered]
    random.Random(f"{rule.seed}:{rule.id}:{period_code}:{agent_id}").shuffle(ids)
    return ids


def _candidate_query(rule: SamplingRule, period: Period, now: datetime):
    stmt = (sa.select(Interaction.id, Interaction.agent_id, Interaction.branch_id,
                      Interaction.occurred_at, Interaction.channel, Interaction.external_ref)
            .join(Agent, Agent.id == Interaction.agent_id)
            .where(Interaction.occurred_at >= period.start,
                   Interaction.occurred_at < min(period.end, now),
                   Agent.active.is_(True)))
    if rule.channels:
        stmt = stmt.where(Interaction.channel.in_(rule.channels))
    if rule.min_duration is not None:
        stmt = stmt.where(Interaction.duration_seconds >= rule.min_duration)
    if rule.max_duration is not None:
        stmt = stmt.where(Interaction.duration_seconds <= rule.max_duration)
    if rule.branch_ids is not None:
        stmt = stmt.where(Interaction.branch_id.in_(rule.branch_ids))
    return stmt


def candidates(rule: SamplingRule, period: Period, now: datetime,
               agent_id: int | None = None) -> dict:
    """{agent id: [rows]} of the interactions the rule may draw from in the period, up to
    `now` (an interaction recorded with a time still to come waits for it)."""
    stmt = _candidate_query(rule, period, now)
    if agent_id is not None:
        stmt = stmt.where(Interaction.agent_id == agent_id)
    by_agent: dict[int, list] = defaultdict(list)
    for row in db.session.execute(stmt):
        by_agent[row.agent_id].append(row)
    return by_agent


def current_version(rubric_id: int) -> RubricVersion | None:
    """The rubric's latest published version: what new queue items are scored against."""
    return db.session.scalar(
        sa.select(RubricVersion)
        .where(RubricVersion.rubric_id == rubric_id, RubricVersion.published_at.is_not(None))
        .order_by(RubricVersion.number.desc()).limit(1))


# -- evaluators and their load ----------------------------------------------------------------

@dataclass
class _Evaluator:
    id: int
    agent_id: int | None
    scope: set[int] | None  # branch ids, None: every branch

    def may_take(self, agent_id: int, branch_id: int) -> bool:
        return self.agent_id != agent_id and (self.scope is None or branch_id in self.scope)


class _Pool:
    """The evaluators of a build with their open items, kept up to date as items are handed out.
    Fewest open items first, ties by user id; never the agent's own login."""

    def __init__(self):
        self.loads: dict[int, int] = dict(db.session.execute(
            sa.select(Evaluation.evaluator_id, sa.func.count())
            .where(Evaluation.status.in_(OPEN), Evaluation.evaluator_id.is_not(None),
                   Evaluation.calibration_session_id.is_(None))
            .group_by(Evaluation.evaluator_id)).all())
        self._users: dict[int, _Evaluator] = {}
        self._default: list[int] | None = None

    def _load_users(self, ids) -> list[_Evaluator]:
        missing = [i for i in ids if i not in self._users]
        if missing:
            for user in db.session.scalars(sa.select(User).where(User.id.in_(missing))):
                if user.active and user.has_role(*EVALUATOR_ROLES):
                    self._users[user.id] = _Evaluator(user.id, user.agent_id,
                                                      branch_scope(user, EVALUATOR_ROLES))
        return [self._users[i] for i in sorted(set(ids)) if i in self._users]

    def for_rule(self, rule: SamplingRule) -> list[_Evaluator]:
        if rule.evaluator_ids:
            return self._load_users(rule.evaluator_ids)
        if self._default is None:
            self._default = list(db.session.scalars(
                sa.select(RoleGrant.user_id).where(RoleGrant.role == "qa").distinct()))
        return self._load_users(self._default)

    def assign(self, evaluators: list[_Evaluator], agent_id: int, branch_id: int) -> int | None:
        able = [e for e in evaluators if e.may_take(agent_id, branch_id)]
        if not able:
            return None
        chosen = min(able, key=lambda e: (self.loads.get(e.id, 0), e.id))
        self.loads[chosen.id] = self.loads.get(chosen.id, 0) + 1
        return chosen.id


# -- building queues --------------------------------------------------------------------------

def _insert_ignoring_duplicates(rows: list[dict]) -> int:
    """INSERT ... ON CONFLICT (rule, period, interaction) DO NOTHING; the number inserted."""
    if not rows:
        return 0
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:  # pragma: no cover - the two supported databases
        raise RuntimeError(f"no insert-or-ignore for {dialect}")
    added = 0
    for start in range(0, len(rows), INSERT_BATCH):
        stmt = (insert(Evaluation).values(rows[start:start + INSERT_BATCH])
                .on_conflict_do_nothing(
                    index_elements=["sampling_rule_id", "period", "interaction_id"])
                .returning(Evaluation.id))
        added += len(db.session.execute(stmt).all())
    return added


def _used(rule_id: int, period_code: str) -> tuple[set[int], dict[int, int]]:
    """Interactions the rule has used in the period, and each agent's items still in the queue."""
    used: set[int] = set()
    active: dict[int, int] = defaultdict(int)
    rows = db.session.execute(sa.select(Evaluation.interaction_id, Evaluation.agent_id,
                                        Evaluation.status)
                              .where(Evaluation.sampling_rule_id == rule_id,
                                     Evaluation.period == period_code))
    for interaction_id, agent_id, status in rows:
        used.add(interaction_id)
        if status != "replaced":
            active[agent_id] += 1
    return used, active


def build_period(rule: SamplingRule, version: RubricVersion, period: Period, now: datetime,
                 pool: _Pool | None = None) -> int:
    """Top each agent's queue of the rule in the period up to its quota; the number added."""
    quota = period.quota(rule.per_agent, now)
    if quota <= 0:
        return 0
    pool = pool or _Pool()
    evaluators = pool.for_rule(rule)
    used, active = _used(rule.id, period.code)
    rows = []
    for agent_id, found in sorted(candidates(rule, period, now).items()):
        need = quota - active[agent_id]
        if need <= 0:
            continue
        branch_of = {c.id: c.branch_id for c in found}
        picks = [i for i in draw_order(rule, period.code, agent_id, found) if i not in used]
        for interaction_id in picks[:need]:
            branch_id = branch_of[interaction_id]
            rows.append({
                "interaction_id": interaction_id, "rubric_version_id": version.id,
                "evaluator_id": pool.assign(evaluators, agent_id, branch_id),
                "agent_id": agent_id, "branch_id": branch_id, "sampling_rule_id": rule.id,
                "period": period.code, "status": "assigned", "auto_failed": False,
                "locked": False, "created_at": now,
            })
    return _insert_ignoring_duplicates(rows)


def build_queues(now: datetime | None = None) -> int:
    """For every active rule: the period containing `now` (pro rata) and the one just finished
    (topped up to N). Returns the number of queue items added; a re-run adds none."""
    now = now or now_utc()
    tz = zone()
    pool = _Pool()
    added = 0
    rules = db.session.scalars(sa.select(SamplingRule).where(SamplingRule.active.is_(True))
                               .order_by(SamplingRule.id)).all()
    for rule in rules:
        version = current_version(rule.rubric_id)
        if version is None:
            log.warning("sampling rule %s: rubric %s has no published version", rule.id,
                        rule.rubric_id)
            continue
        current = period_containing(rule.period, now, tz)
        for period in (previous_period(rule.period, current, tz), current):
            added += build_period(rule, version, period, now, pool)
    return added


# -- replacing an unusable item ---------------------------------------------------------------

def replace_item(evaluation: Evaluation, reason: str, actor: User,
                 now: datetime | None = None) -> Evaluation | None:
    """Set an unusable queue item aside with a reason and draw the next unused interaction of the
    same agent in the same period (None when none is left: the item is only withdrawn)."""
    now = now or now_utc()
    reason = (reason or "").strip()
    if not reason:
        raise SamplingError({"reason": _l("Say why this interaction cannot be evaluated.")})
    if len(reason) > 1000:
        raise SamplingError({"reason": _l("Keep the reason under 1000 characters.")})
    if evaluation.sampling_rule_id is None or evaluation.status not in OPEN:
        raise SamplingError({"reason": _l("Only an item of a sampling queue that is not yet "
                                          "submitted can be replaced.")})
    claimed = db.session.execute(
        sa.update(Evaluation)
        .where(Evaluation.id == evaluation.id, Evaluation.status.in_(OPEN))
        .values(status="replaced", replaced_reason=reason),
        execution_options={"synchronize_session": False}).rowcount
    if claimed != 1:
        raise SamplingError({"reason": _l("This item has changed meanwhile; reload the page.")})
    db.session.refresh(evaluation)
    rule = db.session.get(SamplingRule, evaluation.sampling_rule_id)
    _kind, period = parse_period(evaluation.period)
    found = candidates(rule, period, now, agent_id=evaluation.agent_id).get(evaluation.agent_id, [])
    branch_of = {c.id: c.branch_id for c in found}
    used, _active = _used(rule.id, period.code)
    for interaction_id in draw_order(rule, period.code, evaluation.agent_id, found):
        if interaction_id in used:
            continue
        added = _insert_ignoring_duplicates([{
            "interaction_id": interaction_id, "rubric_version_id": evaluation.rubric_version_id,
            "evaluator_id": evaluation.evaluator_id, "agent_id": evaluation.agent_id,
            "branch_id": branch_of[interaction_id], "sampling_rule_id": rule.id,
            "period": period.code, "status": "assigned", "auto_failed": False,
            "locked": False, "created_at": now}])
        if not added:  # taken by a concurrent build meanwhile: the next one
            continue
        new = db.session.scalar(sa.select(Evaluation).where(
            Evaluation.sampling_rule_id == rule.id, Evaluation.period == period.code,
            Evaluation.interaction_id == interaction_id))
        evaluation.replaced_by_id = new.id
        db.session.flush()
        log.info("queue item %s replaced by %s by user %s", evaluation.id, new.id, actor.id)
        return new
    db.session.flush()
    log.info("queue item %s withdrawn by user %s (no interaction left)", evaluation.id, actor.id)
    return None


def reassign_item(evaluation: Evaluation, evaluator: User | None, actor: User) -> Evaluation:
    """Hand an open item to another QA user (or leave it unassigned)."""
    if evaluation.status not in OPEN:
        raise SamplingError({"evaluator": _l("Only an item not yet submitted can be handed "
                                             "to someone else.")})
    if evaluator is not None:
        ev = _Evaluator(evaluator.id, evaluator.agent_id, branch_scope(evaluator, EVALUATOR_ROLES))
        if not (evaluator.active and evaluator.has_role(*EVALUATOR_ROLES)
                and ev.may_take(evaluation.agent_id, evaluation.branch_id)):
            raise SamplingError({"evaluator": _l("This person cannot evaluate this "
                                                 "interaction.")})
    evaluation.evaluator_id = evaluator.id if evaluator is not None else None
    db.session.flush()
    return evaluation

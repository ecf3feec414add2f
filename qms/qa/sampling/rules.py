"""Sampling rules: who may see and change which, the form's choices, saving with checks, and
what each rule's current period holds."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from qms.auth.models import RoleGrant, User
from qms.core.db import now_utc
from qms.core.permissions import branch_scope
from qms.extensions import db
from qms.org.models import Branch
from qms.qa.models import CHANNELS, Evaluation, Rubric, RubricVersion, SamplingRule
from qms.qa.sampling.periods import PERIODS, period_containing, zone
from qms.qa.sampling.queues import SamplingError

MAX_PER_AGENT = 100


def rule_in_scope(rule: SamplingRule, scope: set[int] | None) -> bool:
    """A rule over every branch belongs to whole-bank users; otherwise all its branches must be
    in the user's scope."""
    if scope is None:
        return True
    return rule.branch_ids is not None and set(rule.branch_ids) <= scope


def list_rules(principal, roles=None) -> list[SamplingRule]:
    scope = branch_scope(principal, roles)
    rules = db.session.scalars(sa.select(SamplingRule).order_by(SamplingRule.active.desc(),
                                                                 SamplingRule.name)).all()
    return [r for r in rules if rule_in_scope(r, scope)]


def rubric_choices() -> list[tuple[int, str]]:
    """Rubrics that can be sampled for: not archived, with a published version."""
    published = sa.select(RubricVersion.rubric_id).where(RubricVersion.published_at.is_not(None))
    return [(r.id, r.name) for r in db.session.scalars(
        sa.select(Rubric).where(Rubric.archived_at.is_(None), Rubric.id.in_(published))
        .order_by(Rubric.name))]


def branch_choices(principal, roles=None) -> list[tuple[int, str]]:
    scope = branch_scope(principal, roles)
    stmt = sa.select(Branch).where(Branch.active.is_(True)).order_by(Branch.code)
    if scope is not None:
        stmt = stmt.where(Branch.id.in_(scope))
    return [(b.id, f"{b.code} {b.name}") for b in db.session.scalars(stmt)]


def evaluator_choices() -> list[tuple[int, str]]:
    users = db.session.scalars(sa.select(User).join(RoleGrant).where(
        RoleGrant.role == "qa", User.active.is_(True)).distinct().order_by(User.name))
    return [(u.id, f"{u.name} <{u.email}>") for u in users]


def _int(value, field: str, errors: dict, *, low: int, high: int | None = None,
         required: bool = True) -> int | None:
    if value in (None, ""):
        if required:
            errors[field] = _l("This field is required.")
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        errors[field] = _l("Enter a whole number.")
        return None
    if number < low or (high is not None and number > high):
        errors[field] = (_l("Enter a number from %(low)d to %(high)d.", low=low, high=high)
                         if high is not None else _l("Enter %(low)d or more.", low=low))
        return None
    return number


def save_rule(data: dict, rule: SamplingRule | None, principal, roles=None) -> SamplingRule:
    """Create or change a rule. `data`: name, rubric_id, period, per_agent, channels,
    min_duration, max_duration, branch_ids ([] = every branch), evaluator_ids ([] = every QA
    user), seed, active."""
    errors: dict = {}
    name = (data.get("name") or "").strip()
    if not name:
        errors["name"] = _l("This field is required.")
    elif len(name) > 200:
        errors["name"] = _l("Keep it under 200 characters.")
    rubric_id = _int(data.get("rubric_id"), "rubric_id", errors, low=1)
    if rubric_id is not None and rubric_id not in dict(rubric_choices()):
        errors["rubric_id"] = _l("Choose a rubric with a published version.")
    period = data.get("period")
    if period not in PERIODS:
        errors["period"] = _l("Choose week or month.")
    per_agent = _int(data.get("per_agent"), "per_agent", errors, low=1, high=MAX_PER_AGENT)
    channels = sorted(set(data.get("channels") or []))
    if set(channels) - set(CHANNELS):
        errors["channels"] = _l("Unknown channel.")
    min_d = _int(data.get("min_duration"), "min_duration", errors, low=0, required=False)
    max_d = _int(data.get("max_duration"), "max_duration", errors, low=0, required=False)
    if min_d is not None and max_d is not None and min_d > max_d:
        errors["max_duration"] = _l("The longest duration is shorter than the shortest.")
    seed = _int(data.get("seed"), "seed", errors, low=0, high=2**31 - 1)

    scope = branch_scope(principal, roles)
    branch_ids = sorted({int(b) for b in data.get("branch_ids") or []})
    allowed = {b for b, _label in branch_choices(principal, roles)}
    if set(branch_ids) - allowed:
        errors["branch_ids"] = _l("Choose branches you are responsible for.")
    elif not branch_ids and scope is not None:
        errors["branch_ids"] = _l("Choose the branches the rule samples.")
    evaluator_ids = sorted({int(u) for u in data.get("evaluator_ids") or []})
    if set(evaluator_ids) - {u for u, _label in evaluator_choices()}:
        errors["evaluator_ids"] = _l("Choose QA staff.")
    if errors:
        raise SamplingError(errors)

    if rule is None:
        rule = SamplingRule()
        db.session.add(rule)
    rule.name, rule.rubric_id, rule.period, rule.per_agent = name, rubric_id, period, per_agent
    rule.channels = channels or None
    rule.min_duration, rule.max_duration = min_d, max_d
    rule.branch_ids = branch_ids or None
    rule.evaluator_ids = evaluator_ids or None
    rule.seed = seed
    rule.active = bool(data.get("active"))
    db.session.flush()
    return rule


def rule_counts(rules: list[SamplingRule], now: datetime | None = None) -> dict[int, dict]:
    """Per rule, the current period's code and its items by status (for the rules page)."""
    now = now or now_utc()
    tz = zone()
    out = {}
    for rule in rules:
        code = period_containing(rule.period, now, tz).code
        counts = dict(db.session.execute(
            sa.select(Evaluation.status, sa.func.count())
            .where(Evaluation.sampling_rule_id == rule.id, Evaluation.period == code)
            .group_by(Evaluation.status)).all())
        out[rule.id] = {"period": code, "counts": counts}
    return out

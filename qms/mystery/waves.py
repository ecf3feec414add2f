"""Mystery-shopping programmes and waves: creating them, checking what a wave may hold, and
the plain lookups the planning pages need. Functions flush; the caller commits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from qms.auth.models import RoleGrant, User
from qms.extensions import db
from qms.mystery.models import CHANNELS, ShopAssignment, ShopperConflict, ShopProgramme, Wave
from qms.org.models import Agent, Branch
from qms.surveys.models import Survey, SurveyKind, SurveyVersion

MAX_VISITS_PER_BRANCH = 20
MAX_DAYS = 366
WAVE_STATES = ("draft", "open", "closed")


class PlanningError(Exception):
    """Refused: field name -> message ("" for the whole form)."""

    def __init__(self, fields: dict):
        super().__init__("; ".join(f"{k}: {v}" for k, v in fields.items()))
        self.fields = fields


@dataclass(frozen=True)
class WaveSpec:
    """What a planner states about a wave (the form's data, or a test's)."""

    name: str
    starts_on: date
    ends_on: date
    branch_ids: list[int] | None = None     # None: every active branch
    agent_ids: list[int] | None = None      # phone lines / agents shopped, optional
    shopper_ids: list[int] | None = None    # None: every active shopper
    scenarios: tuple[str, ...] = ()
    channel: str = "branch_visit"
    visits_per_branch: int = 1
    rotation_days: int = 90
    daily_cap: int = 3
    days_to_submit: int = 2
    version_id: int | None = None           # None: the survey's latest published version


# -- reading ---------------------------------------------------------------------------------

def mystery_surveys() -> list[Survey]:
    return list(db.session.scalars(
        sa.select(Survey).where(Survey.kind == SurveyKind.MYSTERY_SHOP,
                                Survey.archived_at.is_(None)).order_by(Survey.title)))


def list_programmes() -> list[ShopProgramme]:
    return list(db.session.scalars(sa.select(ShopProgramme).order_by(ShopProgramme.id.desc())))


def get_programme(programme_id: int) -> ShopProgramme | None:
    return db.session.get(ShopProgramme, programme_id)


def list_waves(programme: ShopProgramme | None = None) -> list[Wave]:
    stmt = sa.select(Wave).order_by(Wave.starts_on.desc(), Wave.id.desc())
    if programme is not None:
        stmt = stmt.where(Wave.programme_id == programme.id)
    return list(db.session.scalars(stmt))


def get_wave(wave_id: int) -> Wave | None:
    return db.session.get(Wave, wave_id)


def published_versions(survey_id: int) -> list[SurveyVersion]:
    return list(db.session.scalars(
        sa.select(SurveyVersion).where(SurveyVersion.survey_id == survey_id,
                                       SurveyVersion.published_at.is_not(None))
        .order_by(SurveyVersion.number.desc())))


def scenarios_of(version: SurveyVersion) -> list[dict]:
    """The scenarios a survey version offers ([{key, label, script}])."""
    sc = (version.definition or {}).get("scenarios")
    return [s for s in sc if isinstance(s, dict)] if isinstance(sc, list) else []


def active_shoppers() -> list[User]:
    return list(db.session.scalars(
        sa.select(User).join(RoleGrant, RoleGrant.user_id == User.id)
        .where(RoleGrant.role == "shopper", User.active.is_(True))
        .order_by(User.id).distinct()))


def active_branches() -> list[Branch]:
    return list(db.session.scalars(sa.select(Branch).where(Branch.active.is_(True))
                                   .order_by(Branch.code)))


def wave_branches(wave: Wave) -> list[Branch]:
    stmt = sa.select(Branch).order_by(Branch.id)
    if wave.branch_ids is None:
        stmt = stmt.where(Branch.active.is_(True))
    else:
        stmt = stmt.where(Branch.id.in_(wave.branch_ids))
    return list(db.session.scalars(stmt))


def wave_shoppers(wave: Wave) -> list[User]:
    pool = active_shoppers()
    if wave.shopper_ids is None:
        return pool
    allowed = set(wave.shopper_ids)
    return [u for u in pool if u.id in allowed]


def assignment_counts(wave: Wave) -> dict[str, int]:
    """Assignments of a wave by status."""
    return dict(db.session.execute(
        sa.select(ShopAssignment.status, sa.func.count(ShopAssignment.id))
        .where(ShopAssignment.wave_id == wave.id).group_by(ShopAssignment.status)).all())


# -- writing ---------------------------------------------------------------------------------

def create_programme(*, name: str, survey: Survey | None, actor=None) -> ShopProgramme:
    errors = {}
    if not (name or "").strip():
        errors["name"] = _l("A name is required.")
    if survey is None or survey.kind != SurveyKind.MYSTERY_SHOP:
        errors["survey_id"] = _l("Choose a mystery-shop survey.")
    elif not published_versions(survey.id):
        errors["survey_id"] = _l("The survey has no published version yet.")
    if errors:
        raise PlanningError(errors)
    programme = ShopProgramme(name=name.strip()[:200], survey_id=survey.id)
    db.session.add(programme)
    db.session.flush()
    return programme


def _ids_of(model, ids, active_only: bool = True) -> set[int]:
    stmt = sa.select(model.id).where(model.id.in_(ids))
    if active_only:
        stmt = stmt.where(model.active.is_(True))
    return set(db.session.scalars(stmt))


def check_spec(programme: ShopProgramme, spec: WaveSpec) -> tuple[dict, SurveyVersion | None]:
    """(field -> problem, the survey version the wave will use)."""
    errors: dict = {}
    if not (spec.name or "").strip():
        errors["name"] = _l("A name is required.")
    versions = published_versions(programme.survey_id)
    version = versions[0] if versions and spec.version_id is None else next(
        (v for v in versions if v.id == spec.version_id), None)
    if version is None:
        errors["version_id"] = _l("Choose a published version of the programme's survey.")
    if spec.ends_on < spec.starts_on:
        errors["ends_on"] = _l("The wave cannot end before it starts.")
    elif (spec.ends_on - spec.starts_on).days >= MAX_DAYS:
        errors["ends_on"] = _l("A wave lasts at most a year.")
    if spec.channel not in CHANNELS:
        errors["channel"] = _l("Choose a channel.")
    if spec.branch_ids is not None:
        if not spec.branch_ids:
            errors["branch_ids"] = _l("Choose at least one branch.")
        elif _ids_of(Branch, spec.branch_ids) != set(spec.branch_ids):
            errors["branch_ids"] = _l("Choose active branches only.")
    if spec.agent_ids:
        agents = db.session.scalars(sa.select(Agent).where(Agent.id.in_(spec.agent_ids))).all()
        if len(agents) != len(set(spec.agent_ids)) or not all(a.active for a in agents):
            errors["agent_ids"] = _l("Choose active agents only.")
        elif spec.branch_ids is not None and any(
                a.branch_id not in spec.branch_ids for a in agents):
            errors["agent_ids"] = _l("Every agent must work at one of the wave's branches.")
    if spec.shopper_ids is not None:
        pool = {u.id for u in active_shoppers()}
        if not spec.shopper_ids:
            errors["shopper_ids"] = _l("Choose at least one shopper.")
        elif not set(spec.shopper_ids) <= pool:
            errors["shopper_ids"] = _l("Choose active shoppers only.")
    if version is not None:
        known = {s.get("key") for s in scenarios_of(version)}
        if any(s not in known for s in spec.scenarios):
            errors["scenarios"] = _l("Choose scenarios of the survey.")
        elif known and not spec.scenarios:
            errors["scenarios"] = _l("Choose at least one scenario.")
    for name, lo, hi in (("visits_per_branch", 1, MAX_VISITS_PER_BRANCH),
                         ("rotation_days", 0, 730), ("daily_cap", 1, 20),
                         ("days_to_submit", 0, 30)):
        value = getattr(spec, name)
        if not isinstance(value, int) or not lo <= value <= hi:
            errors[name] = _l("A whole number from %(lo)d to %(hi)d.", lo=lo, hi=hi)
    return errors, version


def create_wave(programme: ShopProgramme, spec: WaveSpec, *, actor=None) -> Wave:
    """A wave in status "open", ready to generate assignments."""
    errors, version = check_spec(programme, spec)
    if errors:
        raise PlanningError(errors)
    wave = Wave(
        programme_id=programme.id, name=spec.name.strip()[:200], version_id=version.id,
        starts_on=spec.starts_on, ends_on=spec.ends_on, channel=spec.channel,
        branch_ids=sorted(set(spec.branch_ids)) if spec.branch_ids is not None else None,
        agent_ids=sorted(set(spec.agent_ids)) if spec.agent_ids else None,
        shopper_ids=sorted(set(spec.shopper_ids)) if spec.shopper_ids is not None else None,
        scenarios=list(spec.scenarios), visits_per_branch=spec.visits_per_branch,
        rotation_days=spec.rotation_days, daily_cap=spec.daily_cap,
        days_to_submit=spec.days_to_submit, status="open")
    db.session.add(wave)
    db.session.flush()
    return wave


def set_wave_status(wave: Wave, status: str) -> None:
    if status not in WAVE_STATES:
        raise PlanningError({"status": _l("Unknown status.")})
    wave.status = status
    db.session.flush()


def declare_conflict(shopper: User, branch: Branch, reason: str | None = None, *,
                     now: datetime | None = None) -> ShopperConflict:
    """A shopper must not shop this branch; idempotent."""
    existing = db.session.scalar(sa.select(ShopperConflict).where(
        ShopperConflict.shopper_id == shopper.id, ShopperConflict.branch_id == branch.id))
    if existing is not None:
        return existing
    conflict = ShopperConflict(shopper_id=shopper.id, branch_id=branch.id,
                               reason=(reason or "").strip()[:200] or None)
    if now is not None:
        conflict.created_at = now
    db.session.add(conflict)
    db.session.flush()
    return conflict


def list_assignments(wave: Wave, *, status: str | None = None, branch_id: int | None = None,
                     shopper_id: int | None = None, scenario: str | None = None,
                     limit: int = 1000) -> list[tuple[ShopAssignment, str | None]]:
    """A wave's assignments with their shopper's name, filtered, in window order."""
    stmt = (sa.select(ShopAssignment, User.name)
            .outerjoin(User, User.id == ShopAssignment.shopper_id)
            .where(ShopAssignment.wave_id == wave.id)
            .order_by(ShopAssignment.window_start, ShopAssignment.id).limit(limit))
    for column, value in ((ShopAssignment.status, status),
                          (ShopAssignment.branch_id, branch_id),
                          (ShopAssignment.shopper_id, shopper_id),
                          (ShopAssignment.scenario, scenario)):
        if value:
            stmt = stmt.where(column == value)
    return [(a, name) for a, name in db.session.execute(stmt).all()]


def get_assignment(assignment_id: int) -> ShopAssignment | None:
    return db.session.get(ShopAssignment, assignment_id)


def get_user(user_id: int | None) -> User | None:
    return db.session.get(User, user_id) if user_id else None


def get_branch(branch_id: int | None) -> Branch | None:
    return db.session.get(Branch, branch_id) if branch_id else None


def get_survey(survey_id: int | None) -> Survey | None:
    return db.session.get(Survey, survey_id) if survey_id else None


def agent_choices(branch_ids: list[int] | None = None) -> list[tuple[int, str]]:
    stmt = (sa.select(Agent.id, Agent.code, Agent.name).where(Agent.active.is_(True))
            .order_by(Agent.code))
    if branch_ids:
        stmt = stmt.where(Agent.branch_id.in_(branch_ids))
    return [(i, f"{code} {name}") for i, code, name in db.session.execute(stmt)]


def list_conflicts() -> list[tuple[ShopperConflict, str, str]]:
    """Every declared conflict with the shopper's name and the branch's code and name."""
    return [(c, name, f"{code} {bname}") for c, name, code, bname in db.session.execute(
        sa.select(ShopperConflict, User.name, Branch.code, Branch.name)
        .join(User, User.id == ShopperConflict.shopper_id)
        .join(Branch, Branch.id == ShopperConflict.branch_id)
        .order_by(User.name, Branch.code)).all()]

"""Audit programmes: which branches are audited against which checklist, how often, by whom
and in how many days. Functions only flush; the caller's unit of work commits."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from qms.audits import periods
from qms.audits.models import RECURRENCES, SCOPES, AuditProgramme, AuditTemplate
from qms.audits.templates import latest_published
from qms.auth.models import RoleGrant, User
from qms.core.db import now_utc
from qms.extensions import db
from qms.org.models import Branch

MAX_DAYS_ALLOWED = 366


class ProgrammeError(Exception):
    """A refusal meant for the user: `fields` maps a form field ("" for the whole) to why."""

    def __init__(self, fields: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in fields.items()))
        self.fields = {k: str(v) for k, v in fields.items()}


@dataclass
class ProgrammeSpec:
    name: str
    template_id: int | None
    recurrence: str = "monthly"
    cron: str | None = None
    scope: str = "all"
    region: str | None = None
    branch_ids: list[int] = field(default_factory=list)
    auditor_ids: list[int] | None = None   # None: every user with the auditor role
    days_allowed: int = 14
    starts_on: datetime | date | None = None  # a date is local midnight in the bank's zone
    active: bool = True


# -- reading -------------------------------------------------------------------------------

def get_programme(programme_id: int) -> AuditProgramme | None:
    return db.session.get(AuditProgramme, programme_id)


def list_programmes(*, active_only: bool = False) -> list[AuditProgramme]:
    stmt = sa.select(AuditProgramme).order_by(AuditProgramme.name, AuditProgramme.id)
    if active_only:
        stmt = stmt.where(AuditProgramme.active.is_(True))
    return list(db.session.scalars(stmt))


def auditor_users() -> list[User]:
    """Active users holding the auditor role, by id (the default rotation pool)."""
    return list(db.session.scalars(
        sa.select(User).where(User.active.is_(True),
                              User.id.in_(sa.select(RoleGrant.user_id)
                                          .where(RoleGrant.role == "auditor")))
        .order_by(User.id)))


def regions() -> list[str]:
    return list(db.session.scalars(
        sa.select(Branch.region).where(Branch.active.is_(True)).distinct()
        .order_by(Branch.region)))


def active_branches() -> list[Branch]:
    return list(db.session.scalars(sa.select(Branch).where(Branch.active.is_(True))
                                   .order_by(Branch.code)))


def scoped_branches(programme: AuditProgramme) -> list[Branch]:
    """The active branches the programme audits, by id."""
    stmt = sa.select(Branch).where(Branch.active.is_(True)).order_by(Branch.id)
    if programme.scope == "region":
        stmt = stmt.where(Branch.region == (programme.region or ""))
    elif programme.scope == "list":
        stmt = stmt.where(Branch.id.in_([b.id for b in programme.branches]))
    return list(db.session.scalars(stmt))


def pool_ids(programme: AuditProgramme) -> list[int]:
    """The auditors the programme rotates through, by id: its list, else every auditor; only
    active users still holding the auditor role."""
    everyone = [u.id for u in auditor_users()]
    if programme.auditor_ids is None:
        return everyone
    allowed = set(everyone)
    return sorted({int(i) for i in programme.auditor_ids if int(i) in allowed})


# -- writing -------------------------------------------------------------------------------

def _starts_on(value) -> datetime:
    if value is None:
        return now_utc()
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetime")
        return value
    return datetime.combine(value, time(0), tzinfo=periods.bank_timezone())


def _check(spec: ProgrammeSpec) -> dict[str, str]:
    problems: dict[str, str] = {}
    name = (spec.name or "").strip()
    if not name:
        problems["name"] = _l("A name is required.")
    elif len(name) > 200:
        problems["name"] = _l("At most %(n)d characters.", n=200)
    template = db.session.get(AuditTemplate, spec.template_id) if spec.template_id else None
    if template is None:
        problems["template_id"] = _l("Choose a checklist.")
    elif latest_published(template) is None:
        problems["template_id"] = _l("This checklist has no published version yet.")
    if spec.recurrence not in RECURRENCES:
        problems["recurrence"] = _l("Use one of: %(values)s.", values=", ".join(RECURRENCES))
    elif spec.recurrence == "cron":
        try:
            periods.cron_trigger(spec.cron or "")
        except (ValueError, TypeError) as exc:
            problems["cron"] = _l("This is not a cron expression (minute hour day month "
                                  "weekday): %(error)s", error=str(exc))
    if spec.scope not in SCOPES:
        problems["scope"] = _l("Use one of: %(values)s.", values=", ".join(SCOPES))
    elif spec.scope == "region" and not (spec.region or "").strip():
        problems["region"] = _l("Choose a region.")
    elif spec.scope == "list":
        ids = set(spec.branch_ids or [])
        found = set(db.session.scalars(sa.select(Branch.id).where(Branch.id.in_(ids))))
        if not ids:
            problems["branch_ids"] = _l("Choose at least one branch.")
        elif found != ids:
            problems["branch_ids"] = _l("Unknown branches: %(ids)s.",
                                        ids=", ".join(map(str, sorted(ids - found))))
    if spec.auditor_ids is not None:
        auditors = {u.id for u in auditor_users()}
        wrong = sorted(set(spec.auditor_ids) - auditors)
        if not spec.auditor_ids:
            problems["auditor_ids"] = _l("Choose at least one auditor, or leave the pool to "
                                         "every auditor.")
        elif wrong:
            problems["auditor_ids"] = _l("These users are not active auditors: %(ids)s.",
                                         ids=", ".join(map(str, wrong)))
    if (not isinstance(spec.days_allowed, int) or isinstance(spec.days_allowed, bool)
            or not 1 <= spec.days_allowed <= MAX_DAYS_ALLOWED):
        problems["days_allowed"] = _l("Between 1 and %(n)d days.", n=MAX_DAYS_ALLOWED)
    try:
        _starts_on(spec.starts_on)
    except (ValueError, TypeError):
        problems["starts_on"] = _l("Give a date.")
    return problems


def _apply(programme: AuditProgramme, spec: ProgrammeSpec) -> None:
    programme.name = spec.name.strip()
    programme.template_id = spec.template_id
    programme.recurrence = spec.recurrence
    programme.cron = (spec.cron or "").strip() if spec.recurrence == "cron" else None
    programme.scope = spec.scope
    programme.region = spec.region.strip() if spec.scope == "region" else None
    programme.branches = (list(db.session.scalars(
        sa.select(Branch).where(Branch.id.in_(spec.branch_ids)).order_by(Branch.id)))
        if spec.scope == "list" else [])
    programme.auditor_ids = (sorted(set(spec.auditor_ids))
                             if spec.auditor_ids is not None else None)
    programme.days_allowed = spec.days_allowed
    programme.starts_on = _starts_on(spec.starts_on)
    programme.active = bool(spec.active)


def create_programme(spec: ProgrammeSpec) -> AuditProgramme:
    problems = _check(spec)
    if problems:
        raise ProgrammeError(problems)
    programme = AuditProgramme()
    _apply(programme, spec)
    db.session.add(programme)
    db.session.flush()
    return programme


def update_programme(programme: AuditProgramme, spec: ProgrammeSpec) -> AuditProgramme:
    """Change a programme. Audits already created keep their period, auditor and due date;
    the next run creates the periods the new settings make due."""
    problems = _check(spec)
    if problems:
        raise ProgrammeError(problems)
    _apply(programme, spec)
    db.session.flush()
    return programme


def set_active(programme: AuditProgramme, active: bool) -> AuditProgramme:
    programme.active = bool(active)
    db.session.flush()
    return programme


def spec_of(programme: AuditProgramme) -> ProgrammeSpec:
    """A programme's settings as a spec (to prefill the edit form)."""
    return ProgrammeSpec(
        name=programme.name, template_id=programme.template_id,
        recurrence=programme.recurrence, cron=programme.cron, scope=programme.scope,
        region=programme.region, branch_ids=[b.id for b in programme.branches],
        auditor_ids=programme.auditor_ids, days_allowed=programme.days_allowed,
        starts_on=programme.starts_on, active=programme.active)


def audit_counts() -> dict[int, dict[str, int]]:
    """{programme id: {status: audits}} for the programme list."""
    from qms.audits.models import Audit

    out: dict[int, dict[str, int]] = {}
    for pid, status, n in db.session.execute(
            sa.select(Audit.programme_id, Audit.status, sa.func.count())
            .where(Audit.programme_id.is_not(None))
            .group_by(Audit.programme_id, Audit.status)):
        out.setdefault(pid, {})[status] = n
    return out


def latest_periods(programme: AuditProgramme, limit: int = 12) -> list[tuple[str, int]]:
    """The programme's most recent periods with the number of audits each holds."""
    from qms.audits.models import Audit

    return list(db.session.execute(
        sa.select(Audit.period, sa.func.count()).where(Audit.programme_id == programme.id)
        .group_by(Audit.period).order_by(sa.func.max(Audit.planned_at).desc()).limit(limit)))

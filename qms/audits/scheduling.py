"""Creating each period's audits exactly once (the scheduler job "audits-create").

For every active programme, every due period from its `starts_on` up to now (at most the last
CATCH_UP_PERIODS of them) gets one audit per branch in scope that has none yet. So a re-run
creates nothing, and a period that began while the scheduler was down is created when it comes
back, once. A branch is not given audits for periods that ended before it was opened.

Exactly once, also under two processes at the same moment:
- the database's unique constraint (programme, branch, period) is the guarantee: rows go in
  with INSERT .. ON CONFLICT DO NOTHING, so a duplicate can never be stored;
- each (programme, period) batch is one short transaction whose first statement writes the
  programme row (a no-op UPDATE). That takes PostgreSQL's row lock and SQLite's write lock, so a
  second process waits, then reads what the first committed and finds nothing left to create:
  the rotation cursor advances only by the rows actually inserted, never twice for one audit.
A SIGKILL between batches leaves whole batches committed and the rest for the next run.

Auditors rotate round robin through the programme's pool from its `rotation_cursor`, the one
with the fewest of the programme's audits in the last year going first, skipping anyone whose
branch it is: a user with any grant on the branch or on its region, or whose agent
record belongs to it. When nobody in the pool may audit a branch, its audit is created without
an auditor (QA assigns one by hand).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app, has_app_context
from sqlalchemy.exc import IntegrityError

from qms.audits import periods, programmes
from qms.audits.models import Audit, AuditProgramme
from qms.audits.templates import latest_published
from qms.auth.models import RoleGrant, User
from qms.extensions import db
from qms.org.models import Agent, Branch

log = logging.getLogger("qms.audits")

CATCH_UP_PERIODS = 12   # a programme back from a long pause does not bury branches in audits
LOAD_WINDOW = timedelta(days=366)  # the audits that count towards an auditor's load


def catch_up_periods() -> int:
    if has_app_context():
        return int(current_app.config.get("AUDIT_CATCH_UP_PERIODS") or CATCH_UP_PERIODS)
    return CATCH_UP_PERIODS


# -- who may audit which branch ------------------------------------------------------------

def own_branch_users() -> tuple[dict[int, set[int]], dict[str, set[int]]]:
    """({branch id: user ids}, {region: user ids}) of everyone tied to a branch or region."""
    by_branch: dict[int, set[int]] = {}
    by_region: dict[str, set[int]] = {}
    for user_id, branch_id, region in db.session.execute(
            sa.select(RoleGrant.user_id, RoleGrant.branch_id, RoleGrant.region)):
        if branch_id is not None:
            by_branch.setdefault(branch_id, set()).add(user_id)
        elif region:
            by_region.setdefault(region, set()).add(user_id)
    for user_id, branch_id in db.session.execute(
            sa.select(User.id, Agent.branch_id).join(Agent, Agent.id == User.agent_id)):
        by_branch.setdefault(branch_id, set()).add(user_id)
    return by_branch, by_region


def excluded_for(branch: Branch, ties) -> set[int]:
    """The users who may not audit `branch`: it is their own."""
    by_branch, by_region = ties
    return by_branch.get(branch.id, set()) | by_region.get(branch.region, set())


def pick_auditor(pool: list[int], cursor: int, excluded: set[int],
                 load: dict[int, int] | None = None) -> tuple[int | None, int]:
    """(auditor, new cursor): among the pool members who are not excluded, the one with the
    fewest audits in `load`, ties going round robin from `cursor`; (None, cursor) when nobody
    in the pool may audit. With an even load this is plain round robin; the load keeps someone
    who is often skipped (their own branch) from falling behind."""
    n = len(pool)
    load = load or {}
    eligible = [(load.get(p, 0), (i - cursor) % n, i) for i, p in enumerate(pool)
                if p not in excluded]
    if not eligible:
        return None, cursor
    _load, _distance, index = min(eligible)
    return pool[index], index + 1


# -- inserting -----------------------------------------------------------------------------

def _insert_once(row: dict) -> bool:
    """Insert one audit unless (programme, branch, period) exists; True when it went in."""
    dialect = db.session.get_bind().dialect.name
    if dialect in ("sqlite", "postgresql"):
        if dialect == "sqlite":
            from sqlalchemy.dialects.sqlite import insert
        else:
            from sqlalchemy.dialects.postgresql import insert
        stmt = insert(Audit).values(**row).on_conflict_do_nothing(
            index_elements=["programme_id", "branch_id", "period"]).returning(Audit.id)
        return db.session.execute(stmt).scalar() is not None
    try:
        with db.session.begin_nested():
            db.session.execute(sa.insert(Audit).values(**row))
        return True
    except IntegrityError:
        return False


def _existing_branch_ids(programme_id: int, period: str) -> set[int]:
    return set(db.session.scalars(sa.select(Audit.branch_id).where(
        Audit.programme_id == programme_id, Audit.period == period)))


def _create_period(programme: AuditProgramme, version_id: int, key: str, start: datetime,
                   branches: list[Branch], ties, pool: list[int]) -> int:
    """One period's batch in one transaction (committed here); the number of audits created."""
    end = periods.period_end(programme.recurrence, programme.cron, start)
    wanted = [b for b in branches if b.created_at is None or b.created_at < end]
    if not wanted or {b.id for b in wanted} <= _existing_branch_ids(programme.id, key):
        return 0  # the common re-run: nothing to do, no write lock taken
    # the lock: first statement of the transaction writes the programme row
    db.session.execute(sa.update(AuditProgramme).where(AuditProgramme.id == programme.id)
                       .values(rotation_cursor=AuditProgramme.rotation_cursor))
    cursor = db.session.scalar(sa.select(AuditProgramme.rotation_cursor)
                               .where(AuditProgramme.id == programme.id)) or 0
    existing = _existing_branch_ids(programme.id, key)
    load = dict(db.session.execute(
        sa.select(Audit.auditor_id, sa.func.count())
        .where(Audit.programme_id == programme.id, Audit.auditor_id.is_not(None),
               Audit.planned_at > start - LOAD_WINDOW, Audit.planned_at <= start)
        .group_by(Audit.auditor_id)).all())
    due = start + timedelta(days=programme.days_allowed)
    created = 0
    for branch in wanted:
        if branch.id in existing:
            continue
        auditor, new_cursor = pick_auditor(pool, cursor, excluded_for(branch, ties), load)
        if auditor is None:
            log.warning("audit programme %s: no auditor may audit branch %s",
                        programme.id, branch.code)
        row = {"programme_id": programme.id, "template_version_id": version_id,
               "branch_id": branch.id, "period": key, "auditor_id": auditor,
               "status": "planned", "planned_at": start, "due_at": due,
               "answers": {}, "comments": {}}
        if _insert_once(row):
            created += 1
            cursor = new_cursor
            if auditor is not None:
                load[auditor] = load.get(auditor, 0) + 1
    if pool:
        cursor %= len(pool)
    db.session.execute(sa.update(AuditProgramme).where(AuditProgramme.id == programme.id)
                       .values(rotation_cursor=cursor))
    db.session.commit()
    return created


def create_for_programme(programme: AuditProgramme, now: datetime, ties=None) -> int:
    """Create the programme's missing audits for its due periods; the number created."""
    version = latest_published(programme.template_id)
    if version is None:
        log.warning("audit programme %s: its checklist has no published version", programme.id)
        return 0
    due = periods.periods_due(programme, now, limit=catch_up_periods())
    if not due:
        return 0
    branches = programmes.scoped_branches(programme)
    pool = programmes.pool_ids(programme)
    ties = ties if ties is not None else own_branch_users()
    created = 0
    for key, start in due:
        created += _create_period(programme, version.id, key, start, branches, ties, pool)
    return created


def create_due_audits(now: datetime) -> int:
    """The sweep: every active programme's missing audits for its due periods. Commits after
    each (programme, period); returns the number of audits created by this run."""
    ids = list(db.session.scalars(sa.select(AuditProgramme.id)
                                  .where(AuditProgramme.active.is_(True))
                                  .order_by(AuditProgramme.id)))
    ties = own_branch_users()
    created = 0
    for programme_id in ids:
        created += create_for_programme(db.session.get(AuditProgramme, programme_id), now, ties)
    return created

"""Snapshots: a computed period stored as it was published, never changed silently.

- compute_period(period, now=) computes every branch and agent (qms.scorecards.compute) and
  stores a new snapshot only where the content differs from the current one (or the current
  one is stale or of another model version); the old row stays, pointing at its successor.
- refresh_staleness(now) finds late data — a source row belonging to a snapshotted month that
  arrived after that snapshot's cut-off — and marks the month's current snapshots stale (ranks
  compare everyone, so late data anywhere can move any rank). A recompute replaces them.
- content_hash is the SHA-256 of the canonical JSON of `data` (sorted keys, no spaces, UTF-8).

Services flush; the caller (view, job, CLI) commits.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime

import sqlalchemy as sa

from qms.audits.models import Audit, CorrectiveAction, Finding
from qms.complaints.models import Complaint
from qms.extensions import db
from qms.mystery.models import ShopAssignment, ShopReview
from qms.qa.models import Evaluation, EvaluationRevision, Interaction
from qms.scorecards.compute import compute_all, is_closed, month_bounds, parse_period
from qms.scorecards.models import ScorecardSnapshot
from qms.scorecards.scorecard_models import ensure_default_models
from qms.surveys.models import Invitation, Response


def canonical_json(data: dict) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


def content_hash(data: dict) -> str:
    return hashlib.sha256(canonical_json(data)).hexdigest()


def _current(period: str, scope: str | None = None):
    stmt = sa.select(ScorecardSnapshot).where(ScorecardSnapshot.period == period,
                                              ScorecardSnapshot.superseded_by_id.is_(None))
    if scope is not None:
        stmt = stmt.where(ScorecardSnapshot.scope == scope)
    return stmt


def compute_period(period: str, *, now: datetime) -> list[ScorecardSnapshot]:
    """The current snapshot of every active branch and agent for the period, (re)computed."""
    period = parse_period(period)
    versions = ensure_default_models(now)
    results = compute_all(period, versions, now=now)
    existing = {(s.scope, s.entity_code): s for s in db.session.scalars(_current(period))}
    kept: list[ScorecardSnapshot] = []
    fresh: list[tuple[ScorecardSnapshot, ScorecardSnapshot | None]] = []
    for entity, version, data in results:
        old = existing.get((entity.scope, entity.code))
        if old is not None and not old.stale and old.model_version_id == version.id:
            same_times = {**data, "cutoff": old.data.get("cutoff"),
                          "generated_at": old.data.get("generated_at")}
            if content_hash(same_times) == old.content_hash:
                kept.append(old)
                continue
        snap = ScorecardSnapshot(
            scope=entity.scope, branch_id=entity.branch_id,
            agent_id=entity.id if entity.scope == "agent" else None,
            entity_code=entity.code, period=period, model_version_id=version.id, data=data,
            content_hash=content_hash(data), cutoff_at=now, created_at=now, stale=False)
        fresh.append((snap, old))
    _store(fresh)
    return kept + [snap for snap, _old in fresh]


def _store(fresh: list[tuple[ScorecardSnapshot, ScorecardSnapshot | None]]) -> None:
    """Insert the new rows and supersede the old ones without ever having two current rows:
    the old rows first point at themselves (leaving the partial unique index), then at their
    successors once those have ids."""
    olds = [old for _snap, old in fresh if old is not None]
    for old in olds:
        old.superseded_by_id = old.id
    if olds:
        db.session.flush()
    db.session.add_all([snap for snap, _old in fresh])
    db.session.flush()
    for snap, old in fresh:
        if old is not None:
            old.superseded_by_id = snap.id
    if olds:
        db.session.flush()


def get_snapshot(scope: str, code: str, period: str) -> ScorecardSnapshot | None:
    return db.session.scalars(_current(period, scope)
                              .where(ScorecardSnapshot.entity_code == code)).first()


def get_or_compute(scope: str, code: str, period: str, *,
                   now: datetime) -> ScorecardSnapshot | None:
    """The current snapshot; a closed month never computed is computed first (a write)."""
    snap = get_snapshot(scope, code, period)
    if snap is None and is_closed(period, now) and _period_exists(scope, code):
        compute_period(period, now=now)
        snap = get_snapshot(scope, code, period)
    return snap


def _period_exists(scope: str, code: str) -> bool:
    from qms.org.models import Agent, Branch

    model = Branch if scope == "branch" else Agent
    return db.session.scalar(sa.select(sa.func.count(model.id)).where(model.code == code)) > 0


def history(scope: str, code: str, period: str) -> list[ScorecardSnapshot]:
    """Every snapshot of the entity and month, the newest first (current and superseded)."""
    return list(db.session.scalars(
        sa.select(ScorecardSnapshot)
        .where(ScorecardSnapshot.scope == scope, ScorecardSnapshot.entity_code == code,
               ScorecardSnapshot.period == period)
        .order_by(ScorecardSnapshot.id.desc())))


def list_current(scope: str, period: str, *, branch_ids=None) -> list[ScorecardSnapshot]:
    stmt = _current(period, scope)
    if branch_ids is not None:
        stmt = stmt.where(ScorecardSnapshot.branch_id.in_(sorted(branch_ids) or [0]))
    return list(db.session.scalars(stmt.order_by(ScorecardSnapshot.entity_code)))


def computed_periods(limit: int = 36) -> list[str]:
    return list(db.session.scalars(
        sa.select(ScorecardSnapshot.period).distinct()
        .order_by(ScorecardSnapshot.period.desc()).limit(limit)))


# -- staleness --------------------------------------------------------------------------------

def latest_arrival(period: str) -> datetime | None:
    """When the last row that counts for the month arrived, over every source, in one query."""
    lo, hi = month_bounds(period)

    def newest(column, *conds):
        return sa.select(sa.func.max(column)).where(*conds).scalar_subquery()

    revised = sa.select(Evaluation.id).where(Evaluation.submitted_at >= lo,
                                             Evaluation.submitted_at < hi)
    corrected = sa.select(ShopAssignment.id).where(ShopAssignment.approved_at >= lo,
                                                   ShopAssignment.approved_at < hi)
    row = db.session.execute(sa.select(
        newest(Response.updated_at, Response.completed_at >= lo, Response.completed_at < hi),
        newest(Invitation.completed_at, Invitation.sent_at >= lo, Invitation.sent_at < hi),
        newest(Evaluation.submitted_at, Evaluation.submitted_at >= lo,
               Evaluation.submitted_at < hi),
        newest(EvaluationRevision.at, EvaluationRevision.evaluation_id.in_(revised)),
        newest(Interaction.created_at, Interaction.occurred_at >= lo, Interaction.occurred_at < hi),
        newest(Complaint.created_at, Complaint.received_at >= lo, Complaint.received_at < hi),
        newest(Complaint.closed_at, Complaint.closed_at >= lo, Complaint.closed_at < hi),
        newest(ShopAssignment.approved_at, ShopAssignment.approved_at >= lo,
               ShopAssignment.approved_at < hi),
        newest(ShopReview.created_at, ShopReview.assignment_id.in_(corrected)),
        newest(Audit.submitted_at, Audit.submitted_at >= lo, Audit.submitted_at < hi),
        newest(Finding.created_at, Finding.created_at < hi),
        newest(CorrectiveAction.created_at, CorrectiveAction.created_at < hi),
    )).one()
    times = [_aware(t) for t in row if t is not None]
    return max(times) if times else None


def _aware(t: datetime) -> datetime:
    from datetime import UTC

    return t.replace(tzinfo=UTC) if t.tzinfo is None else t


def mark_stale(period: str, *, arrived_after: datetime | None = None, scope: str | None = None,
               entity_code: str | None = None) -> int:
    """Flag the period's current snapshots stale (those cut off before `arrived_after` when
    given); returns how many were flagged. The data of a snapshot is never touched."""
    conds = [ScorecardSnapshot.period == period, ScorecardSnapshot.superseded_by_id.is_(None),
             ScorecardSnapshot.stale.is_(False)]
    if arrived_after is not None:
        conds.append(ScorecardSnapshot.cutoff_at < arrived_after)
    if scope is not None:
        conds.append(ScorecardSnapshot.scope == scope)
    if entity_code is not None:
        conds.append(ScorecardSnapshot.entity_code == entity_code)
    result = db.session.execute(sa.update(ScorecardSnapshot).where(*conds).values(stale=True)
                                .execution_options(synchronize_session="fetch"))
    return result.rowcount or 0


def refresh_staleness(now: datetime) -> dict[str, int]:
    """{period: snapshots newly marked stale} over every month with current snapshots."""
    periods = db.session.scalars(
        sa.select(ScorecardSnapshot.period).distinct()
        .where(ScorecardSnapshot.superseded_by_id.is_(None),
               ScorecardSnapshot.stale.is_(False))).all()
    out = {}
    for period in sorted(periods):
        arrived = latest_arrival(period)
        if arrived is None:
            continue
        n = mark_stale(period, arrived_after=min(arrived, now))
        if n:
            out[period] = n
    return out


def recompute_stale(now: datetime) -> list[str]:
    """Recompute every month that has stale current snapshots; returns those months."""
    periods = sorted(db.session.scalars(
        sa.select(ScorecardSnapshot.period).distinct()
        .where(ScorecardSnapshot.superseded_by_id.is_(None),
               ScorecardSnapshot.stale.is_(True))).all())
    for period in periods:
        compute_period(period, now=now)
    return periods


def compute_recent(*, now: datetime, months: int = 3) -> list[str]:
    """Compute the last `months` ended months, oldest first (demo data, first installation);
    returns the months computed. Unchanged snapshots are kept as they are."""
    from qms.scorecards.compute import last_closed_period, shift

    last = last_closed_period(now)
    periods = [shift(last, -i) for i in range(months - 1, -1, -1)]
    for period in periods:
        compute_period(period, now=now)
    return periods

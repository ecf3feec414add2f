"""Review of submitted mystery-shop reports by QA staff: approve (then it counts, and is
locked), return for correction with comments per question, reject; and corrections of an
approved report as new review events.

Every decision is one ShopReview row, appended, never edited. Only an approved report has
ShopItemScore rows and an approved_at, so every result (SQL over those) counts approved
reports only. A correction rewrites the item scores and the stored answers of an approved
report and records what stood before (score_before, and each changed answer) in its own row.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from qms.core import audit
from qms.core.db import now_utc
from qms.core.permissions import scope_filter
from qms.extensions import db
from qms.mystery import portal
from qms.mystery.models import ShopAssignment, ShopItemScore, ShopReview
from qms.surveys.definition import question_map

REVIEWERS = ("admin", "qa")
REVIEWABLE = ("submitted", "returned", "approved", "rejected")   # states with a report
STATUS_FILTERS = ("submitted", "returned", "approved", "rejected", "all")
COMMENT_MAX = 2000


class ReviewError(Exception):
    """A refused decision; `message` for the reviewer, `fields` name the inputs at fault."""

    def __init__(self, message, fields: dict | None = None, status: int = 409):
        super().__init__(str(message))
        self.message = message
        self.fields = fields or {}
        self.status = status


# -- reading ---------------------------------------------------------------------------------

def review_queue(principal, *, status: str = "submitted", wave_id: int | None = None,
                 branch_id: int | None = None, roles=None, limit: int = 200
                 ) -> list[ShopAssignment]:
    """Reports in the reviewer's branch scope, oldest submission first."""
    states = REVIEWABLE if status == "all" else (status,)
    stmt = sa.select(ShopAssignment).where(ShopAssignment.status.in_(states),
                                           ShopAssignment.submitted_at.is_not(None))
    if wave_id:
        stmt = stmt.where(ShopAssignment.wave_id == wave_id)
    if branch_id:
        stmt = stmt.where(ShopAssignment.branch_id == branch_id)
    stmt = scope_filter(stmt, ShopAssignment.branch_id, principal, roles)
    return list(db.session.scalars(
        stmt.order_by(ShopAssignment.submitted_at, ShopAssignment.id).limit(limit)))


def history(a: ShopAssignment) -> list[ShopReview]:
    return list(db.session.scalars(
        sa.select(ShopReview).where(ShopReview.assignment_id == a.id).order_by(ShopReview.id)))


def stored_items(a: ShopAssignment) -> dict[str, ShopItemScore]:
    return {row.item_key: row for row in db.session.scalars(
        sa.select(ShopItemScore).where(ShopItemScore.assignment_id == a.id))}


def breakdown(a: ShopAssignment):
    """The report's score as the shared scoring function computes it (None if it cannot be
    scored, e.g. incomplete)."""
    from qms.mystery import scoring

    try:
        return scoring.score_report(portal.definition_of(a), a.answers)
    except ValueError:
        return None


# -- decisions -------------------------------------------------------------------------------

def _clean_comment(comment: str | None, *, required: bool, field: str = "comment") -> str | None:
    comment = (comment or "").strip()
    if required and not comment:
        raise ReviewError(_l("Say why."), {field: _l("Say why.")}, status=400)
    if len(comment) > COMMENT_MAX:
        msg = _l("At most %(n)d characters.", n=COMMENT_MAX)
        raise ReviewError(msg, {field: msg}, status=400)
    return comment or None


def _check_reviewer(a: ShopAssignment, reviewer) -> None:
    if reviewer is None or not reviewer.has_role(*REVIEWERS):
        raise ReviewError(_l("Only QA staff review reports."), status=403)
    if a.shopper_id == reviewer.id:
        raise ReviewError(_l("You cannot review your own report."), status=403)


def _move(a: ShopAssignment, allowed: tuple[str, ...], to: str, **values) -> None:
    if not portal.transition(a, allowed, to, **values):
        if a.status == "approved":
            raise ReviewError(_l("This report is approved and locked; record a correction "
                                 "instead."))
        raise ReviewError(_l("Only a submitted report can be decided; this one is: %(s)s.",
                             s=portal.STATUS_LABELS.get(a.status, a.status)))


def _write_items(a: ShopAssignment, definition: dict) -> None:
    from qms.mystery import scoring

    db.session.execute(sa.delete(ShopItemScore).where(ShopItemScore.assignment_id == a.id))
    db.session.add_all(
        ShopItemScore(assignment_id=a.id, branch_id=a.branch_id, agent_id=a.agent_id, **row)
        for row in scoring.item_scores(definition, a.answers))
    db.session.flush()


def _record(a: ShopAssignment, reviewer, decision: str, now: datetime, **values) -> ShopReview:
    review = ShopReview(assignment_id=a.id, reviewer_id=reviewer.id, decision=decision,
                        created_at=now, **values)
    db.session.add(review)
    db.session.flush()
    audit.record(f"mystery_{decision}", actor=reviewer, subject=f"shop_assignment:{a.id}",
                 now=now)
    return review


def approve_report(a: ShopAssignment, reviewer, comment: str | None = None, *,
                   now: datetime | None = None) -> ShopReview:
    """Approve: the report counts from now on, and is locked."""
    from qms.mystery import scoring

    _check_reviewer(a, reviewer)
    now = now or now_utc()
    comment = _clean_comment(comment, required=False)
    definition = portal.definition_of(a)
    try:
        result = scoring.score_report(definition, a.answers)
    except ValueError as exc:
        raise ReviewError(_l("This report cannot be scored: %(e)s", e=str(exc))) from exc
    _move(a, ("submitted",), "approved", approved_at=now, score=result.total,
          auto_failed=bool(result.auto_failed))
    _write_items(a, definition)
    return _record(a, reviewer, "approve", now, comment=comment, score_after=result.total)


def return_report(a: ShopAssignment, reviewer, comment: str | None,
                  question_comments: dict[str, str] | None, *,
                  now: datetime | None = None) -> ShopReview:
    """Send the report back to the shopper, with what to correct (overall and per question)."""
    _check_reviewer(a, reviewer)
    now = now or now_utc()
    qmap = question_map(portal.definition_of(a))
    notes = {}
    for key, note in (question_comments or {}).items():
        note = _clean_comment(note, required=False, field=f"c_{key}")
        if note:
            if key not in qmap:
                raise ReviewError(_l("This question is not part of the survey."),
                                  {f"c_{key}": _l("This question is not part of the survey.")},
                                  status=400)
            notes[key] = note
    comment = _clean_comment(comment, required=not notes)
    _move(a, ("submitted",), "returned")
    return _record(a, reviewer, "return", now, comment=comment, question_comments=notes,
                   score_before=a.score)


def reject_report(a: ShopAssignment, reviewer, comment: str | None, *,
                  now: datetime | None = None) -> ShopReview:
    """Reject: the report never counts (e.g. the visit did not happen as required)."""
    _check_reviewer(a, reviewer)
    now = now or now_utc()
    comment = _clean_comment(comment, required=True)
    _move(a, ("submitted",), "rejected")
    return _record(a, reviewer, "reject", now, comment=comment, score_before=a.score)


def _shown(value) -> str:
    if value is None:
        return "—"
    if value is True or value is False:
        return "yes" if value else "no"
    return str(value)


def correct_report(a: ShopAssignment, reviewer, form: dict[str, list[str]], reason: str | None,
                   *, now: datetime | None = None) -> ShopReview:
    """Correct an approved report: the answers are replaced (checked like a submission), the
    score and item scores recomputed, and a 'correction' event records the reason, the score
    before and after, and each changed answer as it stood before. Earlier events stay."""
    from qms.mystery import scoring

    _check_reviewer(a, reviewer)
    if a.status != "approved":
        raise ReviewError(_l("Only an approved report is corrected; decide this one instead."))
    now = now or now_utc()
    reason = _clean_comment(reason, required=True, field="reason")
    definition = portal.definition_of(a)
    read = portal.read_report(a, definition, form, final=True)
    if read.errors:
        raise portal.InvalidReport(read.errors, answers=read.answers)
    before, after = dict(a.answers or {}), read.answers
    changed = {k: f"{_shown(before.get(k))} → {_shown(after.get(k))}"
               for k in sorted(set(before) | set(after)) if before.get(k) != after.get(k)}
    if not changed:
        raise ReviewError(_l("Nothing was changed."), status=400)
    result = scoring.score_report(definition, after)
    score_before = a.score
    table = ShopAssignment.__table__
    done = db.session.execute(
        sa.update(table).where(table.c.id == a.id, table.c.status == "approved")
        .values(answers=after, score=result.total, auto_failed=bool(result.auto_failed)))
    if done.rowcount != 1:
        raise ReviewError(_l("Only an approved report is corrected; decide this one instead."))
    db.session.refresh(a)
    _write_items(a, definition)
    return _record(a, reviewer, "correction", now, comment=reason, question_comments=changed,
                   score_before=score_before, score_after=result.total)


def filter_choices(principal, roles=None) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """(waves, branches) the queue's filters offer: every wave; branches in scope."""
    from qms.mystery.models import Wave
    from qms.org.models import Branch

    waves = [(w.id, w.name) for w in db.session.scalars(
        sa.select(Wave).order_by(Wave.starts_on.desc(), Wave.id.desc()))]
    stmt = scope_filter(sa.select(Branch).order_by(Branch.code), Branch.id, principal, roles)
    return waves, [(b.id, f"{b.code} {b.name}") for b in db.session.scalars(stmt)]


def visible_report(principal, assignment_id: int, roles=None) -> ShopAssignment | None:
    """A report the reviewer may open: in their branch scope, and submitted at least once."""
    from qms.core.permissions import can_see_branch

    a = db.session.get(ShopAssignment, assignment_id)
    if a is None or a.submitted_at is None or not can_see_branch(principal, a.branch_id, roles):
        return None
    return a


def names(user_ids) -> dict[int, str]:
    from qms.auth.models import User

    ids = {i for i in user_ids if i}
    return dict(db.session.execute(sa.select(User.id, User.name).where(User.id.in_(ids))).all())

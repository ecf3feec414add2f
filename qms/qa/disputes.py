"""Disputes: the evaluated agent contests criteria below full marks within QA_DISPUTE_DAYS of
the release, with a comment; a QA reviewer who is not the evaluator accepts (re-score, what
stood before kept as an EvaluationRevision), partly accepts or rejects; then the evaluation is
locked: no further dispute, no further edit."""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l

from qms.core.db import now_utc
from qms.core.permissions import branch_scope
from qms.extensions import db
from qms.qa import evaluations as ev
from qms.qa.models import CriterionScore, Dispute, Evaluation, EvaluationRevision
from qms.qa.notices import notify_agent
from qms.qa.sampling import zone

OUTCOMES = ("accepted", "partly_accepted", "rejected")
OUTCOME_LABELS = {"open": _l("Open"), "accepted": _l("Accepted"),
                  "partly_accepted": _l("Partly accepted"), "rejected": _l("Dispute rejected")}
REVIEWERS = frozenset({"qa", "admin"})
COMMENT_MAX = 4000
DEFAULT_DAYS = 14


class DisputeError(ev.EvaluationError):
    """Refused: field ("criteria", "comment", "outcome", "note", "score-<key>", "") -> message."""


def dispute_days() -> int:
    return int(current_app.config.get("QA_DISPUTE_DAYS", DEFAULT_DAYS))


def dispute_deadline(evaluation: Evaluation) -> date | None:
    """The last day (the bank's calendar) on which the agent may dispute: the release day plus
    QA_DISPUTE_DAYS. None before release."""
    if evaluation.submitted_at is None:
        return None
    return evaluation.submitted_at.astimezone(zone()).date() + timedelta(days=dispute_days())


def open_dispute(evaluation: Evaluation) -> Dispute | None:
    return db.session.scalar(sa.select(Dispute).where(Dispute.evaluation_id == evaluation.id,
                                                      Dispute.status == "open"))


def disputes_of(evaluation: Evaluation) -> list[Dispute]:
    return list(db.session.scalars(sa.select(Dispute).where(
        Dispute.evaluation_id == evaluation.id).order_by(Dispute.raised_at, Dispute.id)))


def revisions_of(evaluation: Evaluation) -> list[EvaluationRevision]:
    return list(db.session.scalars(sa.select(EvaluationRevision).where(
        EvaluationRevision.evaluation_id == evaluation.id).order_by(EvaluationRevision.at,
                                                                   EvaluationRevision.id)))


def disputable_criteria(evaluation: Evaluation) -> list[str]:
    """The criteria below full marks (not N/A), in rubric order."""
    return list(db.session.scalars(
        sa.select(CriterionScore.criterion_key)
        .where(CriterionScore.evaluation_id == evaluation.id, CriterionScore.failed.is_(True),
               CriterionScore.na.is_(False))
        .order_by(CriterionScore.id)))


def refusal(evaluation: Evaluation, user, now: datetime | None = None):
    """Why `user` cannot dispute the evaluation now (a message), or None when they can."""
    now = now or now_utc()
    if not ev.is_own(evaluation, user):
        return _l("Only the evaluated agent can dispute an evaluation.")
    if evaluation.status not in ev.RELEASED:
        return _l("This evaluation has not been released.")
    if evaluation.locked:
        return _l("This evaluation is locked: a dispute about it has been decided.")
    if open_dispute(evaluation) is not None:
        return _l("A dispute about this evaluation is already open.")
    deadline = dispute_deadline(evaluation)
    if now.astimezone(zone()).date() > deadline:
        return _l("The time to dispute this evaluation has passed.")
    if not disputable_criteria(evaluation):
        return _l("Every criterion has full marks: there is nothing to dispute.")
    return None


def raise_dispute(evaluation: Evaluation, user, criteria: Sequence[str], comment: str | None,
                  now: datetime | None = None) -> Dispute:
    """The agent contests some criteria below full marks, with a comment."""
    now = now or now_utc()
    # Write first: it takes the row (PostgreSQL) or the database (SQLite) for this unit of
    # work, so two simultaneous disputes cannot both find no open one.
    taken = db.session.execute(
        sa.update(Evaluation).where(Evaluation.id == evaluation.id,
                                    Evaluation.locked.is_(False))
        .values(locked=False), execution_options={"synchronize_session": False}).rowcount
    reason = refusal(evaluation, user, now) if taken else _l(
        "This evaluation is locked: a dispute about it has been decided.")
    if reason:
        raise DisputeError({"": reason})
    errors = {}
    chosen = list(dict.fromkeys(criteria or []))
    allowed = disputable_criteria(evaluation)
    if not chosen:
        errors["criteria"] = _l("Choose the criteria you dispute.")
    elif set(chosen) - set(allowed):
        errors["criteria"] = _l("Only criteria below full marks can be disputed.")
    text = (comment or "").strip()
    if not text:
        errors["comment"] = _l("Explain why you dispute the score.")
    elif len(text) > COMMENT_MAX:
        errors["comment"] = _l("Keep the comment under %(n)d characters.", n=COMMENT_MAX)
    if errors:
        raise DisputeError(errors)
    dispute = Dispute(evaluation_id=evaluation.id, raised_by_id=user.id, raised_at=now,
                      criteria=[k for k in allowed if k in chosen], comment=text, status="open")
    db.session.add(dispute)
    db.session.flush()
    return dispute


def can_review(user, dispute: Dispute) -> bool:
    """QA or an administrator, in scope, who neither made the evaluation nor is its agent."""
    evaluation = dispute.evaluation
    if not user.has_role(*REVIEWERS) or user.id == evaluation.evaluator_id:
        return False
    if ev.is_own(evaluation, user) or user.id == dispute.raised_by_id:
        return False
    scope = branch_scope(user, REVIEWERS)
    return scope is None or evaluation.branch_id in scope


def _rescored(evaluation: Evaluation, dispute: Dispute, new_answers: Mapping | None) -> dict:
    """The evaluation's answers with the disputed criteria changed as the reviewer says."""
    new_answers = new_answers or {}
    extra = sorted(set(new_answers) - set(dispute.criteria))
    if extra:
        raise DisputeError({"": _l("Only the disputed criteria can be re-scored.")})
    merged = copy.deepcopy(evaluation.answers or {})
    for key in dispute.criteria:
        given = new_answers.get(key)
        if given is None:
            continue
        if not isinstance(given, Mapping):
            given = {"score": given}
        old = merged.get(key) or {}
        merged[key] = {"score": given.get("score"),
                       "comment": given.get("comment") if given.get("comment") is not None
                       else old.get("comment", "")}
    clean, errors = ev.clean_answers(evaluation.rubric_version.definition, merged, complete=True)
    if errors:
        raise DisputeError(errors)
    before = evaluation.answers or {}
    if all(clean[k]["score"] == (before.get(k) or {}).get("score") for k in dispute.criteria):
        raise DisputeError({"outcome": _l("Change the score of at least one disputed criterion, "
                                          "or reject the dispute.")})
    return clean


def decide_dispute(dispute: Dispute, reviewer, outcome: str, new_answers: Mapping | None,
                   note: str | None, now: datetime | None = None) -> Dispute:
    """Accept or partly accept (re-score the disputed criteria; the old answers and total are
    kept in a revision) or reject (unchanged). Either way the evaluation is then locked."""
    now = now or now_utc()
    evaluation = dispute.evaluation
    if not can_review(reviewer, dispute):
        raise DisputeError({"": _l("You cannot review this dispute: it needs a QA reviewer who "
                                   "did not make the evaluation.")})
    errors = {}
    if outcome not in OUTCOMES:
        errors["outcome"] = _l("Choose accept, partly accept or reject.")
    text = (note or "").strip()
    if not text:
        errors["note"] = _l("Give the reasons for the decision.")
    elif len(text) > COMMENT_MAX:
        errors["note"] = _l("Keep the note under %(n)d characters.", n=COMMENT_MAX)
    if errors:
        raise DisputeError(errors)
    clean = _rescored(evaluation, dispute, new_answers) if outcome != "rejected" else None

    decided = db.session.execute(
        sa.update(Dispute).where(Dispute.id == dispute.id, Dispute.status == "open")
        .values(status=outcome, reviewer_id=reviewer.id, decided_at=now, decision_note=text),
        execution_options={"synchronize_session": False}).rowcount
    if decided != 1:
        raise DisputeError({"": _l("This dispute has been decided meanwhile.")})
    db.session.refresh(dispute)

    if clean is not None:
        old = {"answers": copy.deepcopy(evaluation.answers), "total": evaluation.total,
               "auto_failed": evaluation.auto_failed}
        result = ev.score_clean(evaluation.rubric_version, clean, partial=False)
        ev.store_scores(evaluation, clean, result)
        db.session.add(EvaluationRevision(
            evaluation_id=evaluation.id, at=now, by_id=reviewer.id, reason=text,
            old_answers=old["answers"], old_total=old["total"],
            old_auto_failed=old["auto_failed"], new_total=evaluation.total))
    evaluation.locked = True
    db.session.flush()
    # the lazy label is rendered in the agent's language by notify_agent
    notify_agent(evaluation, "dispute_decided", outcome=OUTCOME_LABELS[outcome], note=text)
    return dispute


def search_disputes(user, *, status: str = "open", roles=None) -> list[Dispute]:
    """Disputes of the evaluations `user` sees, oldest open first."""
    stmt = (sa.select(Dispute).join(Evaluation, Evaluation.id == Dispute.evaluation_id)
            .where(ev.visible_clause(user, roles)))
    if status in OUTCOME_LABELS:
        stmt = stmt.where(Dispute.status == status)
    return list(db.session.scalars(stmt.order_by(Dispute.raised_at, Dispute.id)))


def outcome_label(status: str) -> str:
    return str(OUTCOME_LABELS.get(status, status))

"""Evaluations: who sees which, scoring a queue item (draft, live score, submit = release to the
agent), the stored criterion scores and the agent's acknowledgement.

Disputes are in qms.qa.disputes; the e-mail to the agent is qms.qa.notices' (sent after the
commit by the boundary calling `notices.send_notices()`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload

from qms.analytics import scoring
from qms.core.db import now_utc
from qms.core.permissions import branch_scope
from qms.extensions import db
from qms.org.models import Agent
from qms.org.services import Page
from qms.qa import rubric_format as fmt
from qms.qa.models import CriterionScore, Evaluation, Interaction, RubricVersion
from qms.qa.notices import notify_agent

log = logging.getLogger("qms.qa.evaluations")

OPEN = ("assigned", "draft")
RELEASED = ("submitted", "acknowledged")
STATUSES = ("assigned", "draft", "submitted", "acknowledged", "replaced")
STATUS_LABELS = {"assigned": _l("To do"), "draft": _l("Draft"), "submitted": _l("Released"),
                 "acknowledged": _l("Acknowledged by the agent"), "replaced": _l("Replaced")}
GRADERS = frozenset({"qa", "admin"})
COMMENT_MAX = 2000
FEEDBACK_MAX = 5000


class EvaluationError(Exception):
    """Refused: field name ("score-<key>", "comment-<key>", "feedback", or "" for the whole
    form) -> message."""

    def __init__(self, fields: dict):
        super().__init__(fields)
        self.fields = fields


# -- who sees what ----------------------------------------------------------------------------

def visible_clause(user, roles=None):
    """SQL condition for the evaluations `user` may see through the given roles: QA and
    administrators everything in their branch scope; a branch head their branch's released
    evaluations; an agent their own released ones. Calibration scores are never listed here."""
    roles = set(roles) if roles is not None else set(user.roles)
    conds = []
    if roles & GRADERS and user.has_role(*GRADERS):
        scope = branch_scope(user, roles & GRADERS)
        conds.append(sa.true() if scope is None else Evaluation.branch_id.in_(scope))
    if "branch_head" in roles and user.has_role("branch_head"):
        scope = branch_scope(user, {"branch_head"})
        cond = Evaluation.status.in_(RELEASED)
        conds.append(cond if scope is None else sa.and_(cond, Evaluation.branch_id.in_(scope)))
    if "agent" in roles and user.has_role("agent") and user.agent_id is not None:
        conds.append(sa.and_(Evaluation.agent_id == user.agent_id,
                             Evaluation.status.in_(RELEASED)))
    if not conds:
        return sa.false()
    return sa.and_(Evaluation.calibration_session_id.is_(None), sa.or_(*conds))


def find_visible(evaluation_id: int, user, roles=None) -> Evaluation | None:
    """The evaluation, or None when it does not exist or `user` may not see it (-> 404)."""
    return db.session.scalar(sa.select(Evaluation).where(Evaluation.id == evaluation_id,
                                                         visible_clause(user, roles)))


def is_own(evaluation: Evaluation, user) -> bool:
    """Whether the evaluation is of the agent whose login `user` is."""
    return user.agent_id is not None and user.agent_id == evaluation.agent_id


def can_score(user, evaluation: Evaluation) -> bool:
    """The assigned evaluator scores an open item; an unassigned one goes to the QA user who
    saves it first. Never one's own interaction, never a calibration score."""
    if evaluation.status not in OPEN or evaluation.locked or is_own(evaluation, user):
        return False
    if evaluation.calibration_session_id is not None or not user.has_role(*GRADERS):
        return False
    return evaluation.evaluator_id in (None, user.id)


@dataclass
class Filters:
    status: str = "open"         # open|released|replaced|all
    assignee: str = "me"         # me|unassigned|all
    period: str = ""
    rule_id: int | None = None
    q: str = ""


_STATUS_GROUPS = {"open": OPEN, "released": RELEASED, "replaced": ("replaced",), "all": STATUSES}


def _paginate(stmt, page: int, per_page: int) -> Page:
    page = max(1, page)
    total = db.session.scalar(sa.select(sa.func.count())
                              .select_from(stmt.order_by(None).subquery()))
    items = list(db.session.scalars(stmt.limit(per_page).offset((page - 1) * per_page)))
    return Page(items, total or 0, page, per_page)


def search_evaluations(user, filters: Filters, *, roles=None, page: int = 1,
                       per_page: int = 50) -> Page:
    """The evaluations `user` sees, filtered; open items oldest first, the rest newest first."""
    stmt = (sa.select(Evaluation).join(Interaction, Interaction.id == Evaluation.interaction_id)
            .join(Agent, Agent.id == Evaluation.agent_id)
            .where(visible_clause(user, roles))
            .options(selectinload(Evaluation.interaction), selectinload(Evaluation.agent)))
    statuses = _STATUS_GROUPS.get(filters.status, STATUSES)
    stmt = stmt.where(Evaluation.status.in_(statuses))
    if filters.assignee == "me":
        stmt = stmt.where(Evaluation.evaluator_id == user.id)
    elif filters.assignee == "unassigned":
        stmt = stmt.where(Evaluation.evaluator_id.is_(None))
    if filters.period:
        stmt = stmt.where(Evaluation.period == filters.period)
    if filters.rule_id:
        stmt = stmt.where(Evaluation.sampling_rule_id == filters.rule_id)
    if filters.q:
        like = "%" + filters.q.strip().replace("\\", "\\\\").replace("%", "\\%") \
            .replace("_", "\\_") + "%"
        stmt = stmt.where(sa.or_(Agent.code.ilike(like, escape="\\"),
                                 Agent.name.ilike(like, escape="\\"),
                                 Interaction.external_ref.ilike(like, escape="\\")))
    if set(statuses) <= set(OPEN):
        stmt = stmt.order_by(Interaction.occurred_at, Evaluation.id)
    else:
        stmt = stmt.order_by(sa.func.coalesce(Evaluation.submitted_at, Evaluation.created_at)
                             .desc(), Evaluation.id.desc())
    return _paginate(stmt, page, per_page)


def own_evaluations(user) -> list[Evaluation]:
    """An agent's released evaluations, newest first: the in-app list of what was released."""
    if user.agent_id is None:
        return []
    return list(db.session.scalars(
        sa.select(Evaluation).where(Evaluation.agent_id == user.agent_id,
                                    Evaluation.status.in_(RELEASED),
                                    Evaluation.calibration_session_id.is_(None))
        .options(selectinload(Evaluation.interaction))
        .order_by(Evaluation.submitted_at.desc(), Evaluation.id.desc())))


def branch_evaluations(user, *, page: int = 1, per_page: int = 50) -> Page:
    """A branch head's released evaluations of their branch, newest first."""
    return search_evaluations(user, Filters(status="released", assignee="all"),
                              roles={"branch_head"}, page=page, per_page=per_page)


# -- answers ----------------------------------------------------------------------------------

def _number(value):
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return value
    try:
        number = float(str(value).strip())
    except ValueError:
        return None
    return int(number) if number.is_integer() else number


def _clean_score(criterion: Mapping, raw):
    """(stored score or None when unanswered, error or None)."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None, None
    if isinstance(raw, str) and raw.strip().lower() == fmt.NA:
        if not criterion.get("na_allowed"):
            return None, _l("N/A is not allowed for this criterion.")
        return fmt.NA, None
    top = criterion["max_points"]
    if criterion.get("kind") == scoring.YESNO:
        if raw is True or (isinstance(raw, str) and raw.strip().lower() == "yes"):
            return fmt.scores_of(criterion)[0], None
        if raw is False or (isinstance(raw, str) and raw.strip().lower() == "no"):
            return 0, None
        number = _number(raw)
        if number is not None and number in (top, 0):
            return number, None
        return None, _l("Choose yes or no.")
    number = _number(raw)
    if number is None or number not in fmt.scores_of(criterion):
        return None, _l("Choose a score from 0 to %(max)s.", max=fmt.score_key(top))
    return number, None


def clean_answers(definition: Mapping, answers: Mapping | None, *,
                  complete: bool) -> tuple[dict, dict]:
    """Answers as given ({key: {"score": "3"|3|"na"|"yes"|None, "comment": str}}) checked
    against the version: (answers in the stored shape, errors by form field). With `complete`
    every criterion needs a score."""
    answers = answers or {}
    clean, errors = {}, {}
    known = {}
    for _section, criterion in fmt.walk(definition):
        if criterion is not None:
            known[criterion["key"]] = criterion
    unknown = sorted(set(answers) - set(known))
    if unknown:
        errors[""] = _l("Answers for criteria this rubric does not have: %(keys)s",
                        keys=", ".join(unknown))
    for key, criterion in known.items():
        given = answers.get(key) or {}
        if not isinstance(given, Mapping):
            given = {"score": given}
        value, error = _clean_score(criterion, given.get("score"))
        comment = str(given.get("comment") or "").strip()
        if error:
            errors[f"score-{key}"] = error
        elif value is None and complete:
            errors[f"score-{key}"] = _l("Score this criterion.")
        if len(comment) > COMMENT_MAX:
            errors[f"comment-{key}"] = _l("Keep the comment under %(n)d characters.",
                                          n=COMMENT_MAX)
        if value is not None or comment:
            clean[key] = {"score": value, "comment": comment}
    return clean, errors


def score_clean(version: RubricVersion, clean: Mapping, *, partial: bool) -> scoring.ScoreResult:
    answered = {k: v for k, v in clean.items() if v.get("score") is not None}
    return fmt.score_answers(version.definition, answered, partial=partial)


def preview_score(version: RubricVersion, answers: Mapping | None) -> scoring.ScoreResult:
    """The live score of answers so far (unanswered criteria left out); EvaluationError for an
    answer the rubric cannot take."""
    clean, errors = clean_answers(version.definition, answers, complete=False)
    if errors:
        raise EvaluationError(errors)
    return score_clean(version, clean, partial=True)


def stored_score(evaluation: Evaluation) -> scoring.ScoreResult | None:
    """The score of what is saved (a draft's partial score; None when nothing is answered)."""
    if not evaluation.answers:
        return None
    try:
        return score_clean(evaluation.rubric_version, evaluation.answers,
                      partial=evaluation.status in OPEN)
    except ValueError:  # a draft saved against rules that changed: show no score
        return None


def store_scores(evaluation: Evaluation, clean: Mapping, result: scoring.ScoreResult) -> None:
    """Answers, total, auto-fail and one CriterionScore row per criterion (failed = below full
    marks; N/A rows have no points earned)."""
    evaluation.answers = dict(clean)
    evaluation.total = None if result.total is None else round(result.total, 4)
    evaluation.auto_failed = result.auto_failed
    rows = []
    for section, criterion in fmt.walk(evaluation.rubric_version.definition):
        if criterion is None:
            continue
        value = clean[criterion["key"]]["score"]
        na = value == fmt.NA
        rows.append(CriterionScore(
            section_key=section["key"], criterion_key=criterion["key"],
            earned=None if na else float(value), possible=float(criterion["max_points"]),
            na=na, failed=not na and float(value) < float(criterion["max_points"])))
    evaluation.scores = rows


# -- the grader's work ------------------------------------------------------------------------

@dataclass
class FormState:
    answers: dict
    feedback: str
    result: scoring.ScoreResult | None
    editable: bool


def open_evaluation(evaluation: Evaluation, actor) -> FormState:
    """What the scoring form starts from: the saved answers and their score."""
    return FormState(answers=dict(evaluation.answers or {}), feedback=evaluation.feedback or "",
                     result=stored_score(evaluation), editable=can_score(actor, evaluation))


def _check_grader(evaluation: Evaluation, actor) -> None:
    if is_own(evaluation, actor):
        raise EvaluationError({"": _l("You cannot evaluate your own interaction.")})
    if not can_score(actor, evaluation):
        raise EvaluationError({"": _l("This evaluation cannot be changed by you any more.")})


def _take(evaluation: Evaluation, actor, to_status: str, **values) -> None:
    """Move an open item on, once: a conditional UPDATE, so a second submit (another tab, a
    double click) finds nothing to change. An unassigned item becomes the actor's."""
    result = db.session.execute(
        sa.update(Evaluation)
        .where(Evaluation.id == evaluation.id, Evaluation.status.in_(OPEN),
               Evaluation.locked.is_(False),
               sa.or_(Evaluation.evaluator_id.is_(None), Evaluation.evaluator_id == actor.id))
        .values(status=to_status, evaluator_id=actor.id, **values),
        execution_options={"synchronize_session": False})
    if result.rowcount != 1:
        raise EvaluationError({"": _l("This evaluation has changed meanwhile; reload the page.")})
    db.session.refresh(evaluation)


def _feedback(feedback: str | None) -> str:
    text = (feedback or "").strip()
    if len(text) > FEEDBACK_MAX:
        raise EvaluationError({"feedback": _l("Keep the feedback under %(n)d characters.",
                                              n=FEEDBACK_MAX)})
    return text


def save_draft(evaluation: Evaluation, actor, answers: Mapping | None, feedback: str | None,
               now: datetime | None = None) -> Evaluation:
    """Keep the answers so far (each one valid, not all needed)."""
    _check_grader(evaluation, actor)
    text = _feedback(feedback)
    clean, errors = clean_answers(evaluation.rubric_version.definition, answers, complete=False)
    if errors:
        raise EvaluationError(errors)
    _take(evaluation, actor, "draft")
    evaluation.answers, evaluation.feedback = clean, text or None
    db.session.flush()
    return evaluation


def submit_evaluation(evaluation: Evaluation, actor, answers: Mapping | None,
                      feedback: str | None, now: datetime | None = None) -> Evaluation:
    """Score every criterion, store the result and release it to the agent (submitted_at), who
    is told by e-mail after the commit."""
    now = now or now_utc()
    _check_grader(evaluation, actor)
    text = _feedback(feedback)
    version = evaluation.rubric_version
    clean, errors = clean_answers(version.definition, answers, complete=True)
    if errors:
        raise EvaluationError(errors)
    try:
        result = score_clean(version, clean, partial=False)
    except ValueError as exc:  # the version itself cannot score: not the grader's fault
        log.error("evaluation %s: %s", evaluation.id, exc)
        raise EvaluationError({"": _l("This rubric version cannot be scored; tell an "
                                      "administrator.")}) from exc
    _take(evaluation, actor, "submitted", submitted_at=now)
    evaluation.feedback = text or None
    store_scores(evaluation, clean, result)
    db.session.flush()
    notify_agent(evaluation, "released")
    return evaluation


def acknowledge_evaluation(evaluation: Evaluation, user, now: datetime | None = None) -> Evaluation:
    """The agent confirms having read their evaluation (their own only, once)."""
    now = now or now_utc()
    if not is_own(evaluation, user):
        raise EvaluationError({"": _l("Only the evaluated agent can acknowledge an evaluation.")})
    if evaluation.status != "submitted":
        raise EvaluationError({"": _l("This evaluation is not waiting for your "
                                      "acknowledgement.")})
    evaluation.status, evaluation.acknowledged_at = "acknowledged", now
    db.session.flush()
    return evaluation


# -- labels -----------------------------------------------------------------------------------

CHANNEL_LABELS = {"call": _l("Call"), "branch_visit": _l("Branch visit"), "chat": _l("Chat"),
                  "email": _l("E-mail")}


def channel_label(channel: str) -> str:
    return str(CHANNEL_LABELS.get(channel, channel))


def status_label(status: str) -> str:
    return str(STATUS_LABELS.get(status, status))


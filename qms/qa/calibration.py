"""Calibration sessions: several QA staff score the same interactions blind; after the deadline,
each grader's alignment with the benchmark grader and Krippendorff's alpha for the session.

Calibration scores are Evaluation rows carrying `calibration_session_id`; the QA reports
exclude them, so they never count toward an agent's results. Blindness: before the deadline a
grader sees only their own scores and everyone sees only how many each grader has submitted;
`session_results` refuses to answer until the deadline has passed, and scoring closes then.

Alignment (DOMAIN.md): per interaction, 1 − |score − benchmark| / criterion max averaged over the
criteria weighted by their share of the rubric maximum (qms.analytics.scoring.criterion_shares,
bonus criteria carry none); a grader's session alignment is the mean over the interactions both
they and the benchmark scored. The arithmetic is qms.analytics.reliability's; the per-session
results are computed in calibration_results.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from qms.auth.models import RoleGrant, User
from qms.core.db import now_utc
from qms.core.permissions import branch_scope
from qms.extensions import db
from qms.qa import evaluations
from qms.qa.models import CalibrationSession, Evaluation, Interaction, RubricVersion

GRADER_ROLES = frozenset({"qa", "admin"})
MAX_INTERACTIONS = 50
MAX_GRADERS = 30
NAME_MAX = 200


class CalibrationError(Exception):
    """A refusal meant for the user; `fields` says which input and why."""

    def __init__(self, fields: dict):
        super().__init__("; ".join(f"{k}: {v}" for k, v in fields.items()))
        self.fields = {k: str(v) for k, v in fields.items()}


class ResultsNotYet(CalibrationError):
    """Asking for a session's results (or others' scores) before its deadline."""

    def __init__(self):
        super().__init__({"deadline": _l("Results are shown after the deadline, so that "
                                          "graders score blind.")})


# -- creating a session -----------------------------------------------------------------------

def _is_grader(user: User | None) -> bool:
    return user is not None and user.active and bool(user.roles & GRADER_ROLES)


def grader_choices() -> list[tuple[int, str]]:
    """Active QA staff (and administrators) who can grade."""
    users = db.session.scalars(
        sa.select(User).join(RoleGrant, RoleGrant.user_id == User.id)
        .where(RoleGrant.role.in_(sorted(GRADER_ROLES)), User.active.is_(True))
        .distinct().order_by(User.name))
    return [(u.id, u.name) for u in users]


def interactions_by_reference(refs: list[str]) -> tuple[list[int], list[str]]:
    """Interaction ids for references (an external reference, or #id); and the unknown ones."""
    ids, unknown = [], []
    for ref in refs:
        ref = ref.strip()
        if not ref:
            continue
        if ref.startswith("#") and ref[1:].isdigit():
            found = db.session.get(Interaction, int(ref[1:]))
            found_id = found.id if found else None
        else:
            found_id = db.session.scalar(
                sa.select(Interaction.id).where(Interaction.external_ref == ref)
                .order_by(Interaction.id).limit(1))
        if found_id is None:
            unknown.append(ref)
        elif found_id not in ids:
            ids.append(found_id)
    return ids, unknown


def pick_interactions(*, count: int, channel: str | None, seed: int, until: datetime,
                      days: int = 60, scope: set[int] | None = None) -> list[int]:
    """`count` interactions drawn at random (reproducibly for the seed) from the last `days`
    days before `until`, of one channel, within the branches in scope. Interactions that
    already have a released evaluation are left out: its score would show graders an answer."""
    scored = sa.exists().where(Evaluation.interaction_id == Interaction.id,
                               Evaluation.status.in_(evaluations.RELEASED),
                               Evaluation.calibration_session_id.is_(None))
    stmt = (sa.select(Interaction.id)
            .where(Interaction.occurred_at >= until - timedelta(days=days),
                   Interaction.occurred_at < until, ~scored).order_by(Interaction.id))
    if channel:
        stmt = stmt.where(Interaction.channel == channel)
    if scope is not None:
        stmt = stmt.where(Interaction.branch_id.in_(sorted(scope)))
    pool = list(db.session.scalars(stmt))
    return sorted(random.Random(seed).sample(pool, min(count, len(pool))))


def create_session(*, name: str, rubric_version: RubricVersion | None, interaction_ids: list[int],
                   grader_ids: list[int], benchmark_user_id: int | None, deadline: datetime | None,
                   actor: User, roles=None, now: datetime | None = None) -> CalibrationSession:
    """A session over published rubric version's interactions; the benchmark grader is one of
    the graders (added when missing). Interactions outside the actor's branches are refused."""
    now = now or now_utc()
    errors: dict = {}
    name = (name or "").strip()
    if not name or len(name) > NAME_MAX:
        errors["name"] = _l("Give the session a name of at most %(n)d characters.", n=NAME_MAX)
    if rubric_version is None or rubric_version.published_at is None:
        errors["rubric"] = _l("Choose a published rubric.")
    ids = list(dict.fromkeys(interaction_ids))
    if not ids or len(ids) > MAX_INTERACTIONS:
        errors["interactions"] = _l("Choose between 1 and %(n)d interactions.",
                                    n=MAX_INTERACTIONS)
    else:
        found = dict(db.session.execute(sa.select(Interaction.id, Interaction.branch_id)
                                        .where(Interaction.id.in_(ids))).all())
        scope = branch_scope(actor, roles)
        if len(found) != len(ids) or (scope is not None
                                      and any(b not in scope for b in found.values())):
            errors["interactions"] = _l("Some of these interactions do not exist or are "
                                        "outside your branches.")
    graders = list(dict.fromkeys(grader_ids))
    if benchmark_user_id is not None and benchmark_user_id not in graders:
        graders.append(benchmark_user_id)
    users = {u.id: u for u in db.session.scalars(sa.select(User).where(User.id.in_(graders)))}
    if benchmark_user_id is None or not _is_grader(users.get(benchmark_user_id)):
        errors["benchmark"] = _l("Choose the benchmark grader among the QA staff.")
    if not all(_is_grader(users.get(g)) for g in graders):
        errors["graders"] = _l("Graders must be active QA staff.")
    elif len(graders) < 2 or len(graders) > MAX_GRADERS:
        errors["graders"] = _l("Choose at least one grader besides the benchmark (at most "
                               "%(n)d in all).", n=MAX_GRADERS)
    if deadline is None or deadline.tzinfo is None or deadline <= now:
        errors["deadline"] = _l("The deadline must lie in the future.")
    if errors:
        raise CalibrationError(errors)
    session = CalibrationSession(name=name, rubric_version_id=rubric_version.id,
                                 benchmark_user_id=benchmark_user_id, interaction_ids=ids,
                                 grader_ids=graders, deadline=deadline, created_by_id=actor.id,
                                 created_at=now)
    db.session.add(session)
    db.session.flush()
    return session


# -- who sees what ------------------------------------------------------------------------------

def is_open(session: CalibrationSession, now: datetime | None = None) -> bool:
    """Graders may score (and results stay hidden) until the deadline."""
    return (now or now_utc()) < session.deadline


def _sees_all(principal, roles=None) -> bool:
    return principal.has_role("admin") or branch_scope(principal, roles) is None


def can_see_session(principal, session: CalibrationSession, roles=None) -> bool:
    return (principal.id in session.grader_ids or principal.id == session.created_by_id
            or _sees_all(principal, roles))


def get_session(session_id: int, principal, roles=None) -> CalibrationSession | None:
    """The session, or None when it does not exist or is not the principal's to see (404)."""
    session = db.session.get(CalibrationSession, session_id)
    if session is None or not can_see_session(principal, session, roles):
        return None
    return session


@dataclass(frozen=True)
class SessionRow:
    session: CalibrationSession
    rubric_name: str
    open: bool
    graders: int
    interactions: int
    mine_done: int | None  # the principal's submitted scores, None when not a grader


def list_sessions(principal, roles=None, *, now: datetime | None = None) -> list[SessionRow]:
    now = now or now_utc()
    sessions = list(db.session.scalars(
        sa.select(CalibrationSession).order_by(CalibrationSession.deadline.desc())))
    sessions = [s for s in sessions if can_see_session(principal, s, roles)]
    done = dict(db.session.execute(
        sa.select(Evaluation.calibration_session_id, sa.func.count(Evaluation.id))
        .where(Evaluation.evaluator_id == principal.id, Evaluation.status == "submitted",
               Evaluation.calibration_session_id.is_not(None))
        .group_by(Evaluation.calibration_session_id)).all())
    return [SessionRow(s, s.rubric_version.rubric.name, is_open(s, now), len(s.grader_ids),
                       len(s.interaction_ids),
                       done.get(s.id, 0) if principal.id in s.grader_ids else None)
            for s in sessions]


def session_interactions(session: CalibrationSession) -> list[Interaction]:
    by_id = {i.id: i for i in db.session.scalars(
        sa.select(Interaction).where(Interaction.id.in_(session.interaction_ids)))}
    return [by_id[i] for i in session.interaction_ids if i in by_id]


def progress(session: CalibrationSession) -> dict[int, int]:
    """Submitted scores per grader: safe to show before the deadline (no scores in it)."""
    counts = dict(db.session.execute(
        sa.select(Evaluation.evaluator_id, sa.func.count(Evaluation.id))
        .where(Evaluation.calibration_session_id == session.id,
               Evaluation.status == "submitted")
        .group_by(Evaluation.evaluator_id)).all())
    return {g: counts.get(g, 0) for g in session.grader_ids}


def my_scores(session: CalibrationSession, grader: User) -> dict[int, Evaluation]:
    """The grader's own calibration evaluations by interaction: never anyone else's."""
    return {e.interaction_id: e for e in db.session.scalars(
        sa.select(Evaluation).where(Evaluation.calibration_session_id == session.id,
                                    Evaluation.evaluator_id == grader.id))}


# -- scoring blind ------------------------------------------------------------------------------

def submit_score(session: CalibrationSession, grader: User, interaction_id: int, answers: dict,
                 *, feedback: str | None = None, now: datetime | None = None) -> Evaluation:
    """Save a grader's blind score of one interaction of the session (again until the
    deadline: the latest one counts). Stored as an Evaluation with the session's id."""
    now = now or now_utc()
    if grader.id not in session.grader_ids:
        raise CalibrationError({"grader": _l("You are not a grader of this session.")})
    if not is_open(session, now):
        raise CalibrationError({"deadline": _l("The deadline has passed: scores can no longer "
                                               "be changed.")})
    if interaction_id not in session.interaction_ids:
        raise CalibrationError({"interaction": _l("This interaction is not part of the "
                                                  "session.")})
    version = session.rubric_version
    # The evaluation service's checks and scoring, so a calibration score is read exactly as
    # a real one; its submit (release to the agent, e-mail) does not apply here.
    clean, errors = evaluations.clean_answers(version.definition, answers, complete=True)
    if errors:
        raise CalibrationError(errors)
    feedback = (feedback or "").strip()
    if len(feedback) > evaluations.FEEDBACK_MAX:
        raise CalibrationError({"feedback": _l("Keep the feedback under %(n)d characters.",
                                               n=evaluations.FEEDBACK_MAX)})
    try:
        result = evaluations.score_clean(version, clean, partial=False)
    except ValueError as exc:
        raise CalibrationError({"": _l("This rubric version cannot be scored; tell an "
                                       "administrator.")}) from exc
    ev = my_scores(session, grader).get(interaction_id)
    if ev is None:
        interaction = db.session.get(Interaction, interaction_id)
        ev = Evaluation(interaction_id=interaction_id, rubric_version=version,
                        evaluator_id=grader.id, agent_id=interaction.agent_id,
                        branch_id=interaction.branch_id, calibration_session_id=session.id,
                        created_at=now)
        db.session.add(ev)
    ev.status = "submitted"
    ev.feedback = feedback or None
    ev.submitted_at = now
    evaluations.store_scores(ev, clean, result)
    db.session.flush()
    return ev


# -- results after the deadline --------------------------------------------------------------

def session_results(session: CalibrationSession, *, locale: str = "zh_Hans",
                    now: datetime | None = None):
    """Alignment per grader, alpha, per-criterion disagreement and the scores side by side;
    ResultsNotYet before the deadline."""
    from qms.qa.calibration_results import compute_results

    if is_open(session, now):
        raise ResultsNotYet()
    return compute_results(session, submitted_scores(session), _user_names(session.grader_ids),
                           locale=locale)


def submitted_scores(session: CalibrationSession) -> list[Evaluation]:
    return list(db.session.scalars(
        sa.select(Evaluation).where(Evaluation.calibration_session_id == session.id,
                                    Evaluation.status == "submitted")
        .order_by(Evaluation.id)))


def _user_names(ids) -> dict[int, str]:
    if not ids:
        return {}
    return dict(db.session.execute(sa.select(User.id, User.name).where(User.id.in_(ids))).all())


@dataclass(frozen=True)
class HistoryPoint:
    session_id: int
    name: str
    deadline: datetime
    alignment: float | None  # None: the grader scored nothing the benchmark also scored


def alignment_history(grader_ids: list[int] | None = None, *, now: datetime | None = None,
                      limit: int = 12) -> tuple[list[CalibrationSession], dict[int, list]]:
    """Each grader's alignment over the last `limit` sessions past their deadline, oldest
    first: (sessions, {grader id: [HistoryPoint per session they graded]}). Two queries."""
    from qms.qa.calibration_results import grader_alignments

    now = now or now_utc()
    sessions = list(db.session.scalars(
        sa.select(CalibrationSession).where(CalibrationSession.deadline <= now)
        .order_by(CalibrationSession.deadline.desc(), CalibrationSession.id.desc())
        .limit(limit)))[::-1]
    by_session: dict[int, list[Evaluation]] = {s.id: [] for s in sessions}
    if sessions:
        for ev in db.session.scalars(
                sa.select(Evaluation).where(
                    Evaluation.calibration_session_id.in_(list(by_session)),
                    Evaluation.status == "submitted").order_by(Evaluation.id)):
            by_session[ev.calibration_session_id].append(ev)
    history: dict[int, list[HistoryPoint]] = {}
    for s in sessions:
        aligned = grader_alignments(s, by_session[s.id])
        for g in s.grader_ids:
            if g == s.benchmark_user_id or (grader_ids is not None and g not in grader_ids):
                continue
            history.setdefault(g, []).append(HistoryPoint(s.id, s.name, s.deadline,
                                                          aligned.get(g)))
    return sessions, history


def grader_names(ids) -> dict[int, str]:
    return _user_names(list(ids))

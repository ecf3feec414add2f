"""Rows for the QA report and calibration tests, made directly with the models.

`small_rubric()` is a stored rubric definition (qms.qa.rubric_format shape) small enough to
score by hand; `add_evaluation` writes an evaluation with its criterion-score rows the way
submitting one does, so the reports can be checked against hand-computed figures.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

from qms.extensions import db
from qms.qa.models import (
    CalibrationSession,
    CriterionScore,
    Dispute,
    Evaluation,
    Interaction,
    Rubric,
    RubricVersion,
)

_refs = itertools.count(1)


def L(text: str) -> dict:
    return {"zh_Hans": text, "zh_Hant": text, "en": text}


def small_rubric() -> dict:
    """greeting 40% (greet 0-5 N/A allowed, verify yes/no 2 points fail-all),
    process 60% (explain 0-5, close 0-3 N/A allowed)."""
    return {
        "allow_above_100": False,
        "sections": [
            {"key": "greeting", "title": L("Greeting"), "weight": 40, "bonus": False,
             "criteria": [
                 {"key": "greet", "label": L("Greets by name"), "kind": "scale",
                  "max_points": 5, "na_allowed": True, "critical": None},
                 {"key": "verify", "label": L("Verifies identity"), "kind": "yesno",
                  "max_points": 2, "na_allowed": False, "critical": "all"}]},
            {"key": "process", "title": L("Process"), "weight": 60, "bonus": False,
             "criteria": [
                 {"key": "explain", "label": L("Explains clearly"), "kind": "scale",
                  "max_points": 5, "na_allowed": False, "critical": None},
                 {"key": "close", "label": L("Closes the call"), "kind": "scale",
                  "max_points": 3, "na_allowed": True, "critical": None}]},
        ],
    }


SECTION_OF = {"greet": "greeting", "verify": "greeting", "explain": "process", "close": "process"}
MAX = {"greet": 5, "verify": 2, "explain": 5, "close": 3}


def at(month: int, day: int, hour: int = 9) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


def make_rubric(name: str = "Call quality", definition: dict | None = None, *,
                channel: str = "call") -> RubricVersion:
    rubric = Rubric(name=name, channel=channel)
    version = RubricVersion(rubric=rubric, number=1, definition=definition or small_rubric(),
                            published_at=at(1, 1, 0))
    db.session.add_all([rubric, version])
    db.session.flush()
    return version


def new_version(version: RubricVersion) -> RubricVersion:
    v2 = RubricVersion(rubric_id=version.rubric_id, number=version.number + 1,
                       definition=version.definition, published_at=at(1, 2, 0))
    db.session.add(v2)
    db.session.flush()
    return v2


def make_interaction(agent, *, channel: str = "call", when: datetime | None = None) -> Interaction:
    i = Interaction(channel=channel, external_ref=f"REF-{next(_refs):06d}", agent_id=agent.id,
                    branch_id=agent.branch_id, occurred_at=when or at(1, 1),
                    duration_seconds=300)
    db.session.add(i)
    db.session.flush()
    return i


def answers_of(scores: dict) -> dict:
    """{key: points or None (N/A)} -> the stored answers shape."""
    return {k: {"score": "na" if v is None else v, "comment": ""} for k, v in scores.items()}


def add_evaluation(version: RubricVersion, agent, *, scores: dict, total: float | None,
                   evaluator=None, submitted_at: datetime | None = None,
                   status: str = "submitted", auto_failed: bool = False, channel: str = "call",
                   interaction: Interaction | None = None,
                   session: CalibrationSession | None = None) -> Evaluation:
    """An evaluation with one CriterionScore row per criterion; scores {key: points | None}."""
    interaction = interaction or make_interaction(agent, channel=channel, when=submitted_at)
    ev = Evaluation(interaction_id=interaction.id, rubric_version_id=version.id,
                    evaluator_id=evaluator.id if evaluator else None, agent_id=agent.id,
                    branch_id=agent.branch_id, status=status, answers=answers_of(scores),
                    total=total, auto_failed=auto_failed,
                    submitted_at=submitted_at if status != "assigned" else None,
                    calibration_session_id=session.id if session else None)
    db.session.add(ev)
    db.session.flush()
    for key, earned in scores.items():
        db.session.add(CriterionScore(
            evaluation_id=ev.id, section_key=SECTION_OF.get(key, "s"), criterion_key=key,
            earned=earned, possible=MAX.get(key, 5), na=earned is None,
            failed=earned is not None and earned < MAX.get(key, 5)))
    db.session.flush()
    return ev


def add_dispute(evaluation: Evaluation, by, status: str = "open", *,
                criteria=("explain",)) -> Dispute:
    d = Dispute(evaluation_id=evaluation.id, raised_by_id=by.id, criteria=list(criteria),
                comment="我不同意这个评分。", status=status,
                decided_at=None if status == "open" else at(3, 1))
    db.session.add(d)
    db.session.flush()
    return d

"""Two past calibration sessions for the demo bank: part of qms.qa.demo.

Five unevaluated calls each, scored by the benchmark (the demo QA login) and three graders who
depart from it on some criteria; the third grader departs much less in the second session, and
the team's alpha rises: the alignment-over-time page has a story to tell.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import sqlalchemy as sa

from qms.extensions import db
from qms.qa import rubric_format
from qms.qa.models import CalibrationSession, CriterionScore, Evaluation, Interaction

# Per grader and session: the chance of departing from the benchmark on a criterion. The
# third grader improves from the first session to the second.
DRIFT = [(0.08, 0.04), (0.2, 0.1), (0.4, 0.1)]


def build_calibration(seed: int, now: datetime, months: list[datetime], version, graders,
                      answers_for, score, insert) -> int:
    """The sessions, their scores as submitted calibration evaluations with criterion rows;
    `answers_for`, `score` and `insert` are the demo's own generator, scorer and bulk insert."""
    if len(graders) < 2:
        return 0
    rng = random.Random(f"{seed}-calibration")
    bench, others = graders[0][0], [g for g, _l in graders[1:]]
    channel = version.rubric.channel
    sessions = 0
    for n, (label, back) in enumerate((("第一季度来电质检校准", 8), ("第三季度来电质检校准", 2))):
        month = months[max(0, len(months) - 1 - back)]
        deadline = month + timedelta(days=12, hours=10)
        # calls of the two months before the session that nobody has evaluated (blind)
        ids = list(db.session.scalars(
            sa.select(Interaction.id).where(
                Interaction.channel == channel, Interaction.occurred_at < month,
                Interaction.occurred_at >= month - timedelta(days=61),
                ~sa.exists().where(Evaluation.interaction_id == Interaction.id))
            .order_by(Interaction.id)))
        if deadline >= now or len(ids) < 5:
            continue
        chosen = sorted(rng.sample(ids, 5))
        session = CalibrationSession(
            name=f"{month:%Y}年{label}", rubric_version_id=version.id, benchmark_user_id=bench,
            interaction_ids=chosen, grader_ids=[*others, bench], deadline=deadline,
            created_by_id=bench, created_at=month)
        db.session.add(session)
        db.session.flush()
        rows, scores = [], []
        for interaction_id in chosen:
            truth = answers_for(rng, version.definition, rng.gauss(-0.4, 1.3), None)
            for g, answers in [(bench, truth)] + [
                    (g, _drift(rng, version.definition, truth, DRIFT[k % len(DRIFT)][n]))
                    for k, g in enumerate(others)]:
                total, auto_failed, crit = score(version.definition, answers)
                row = db.session.execute(sa.select(Interaction.agent_id, Interaction.branch_id)
                                         .where(Interaction.id == interaction_id)).one()
                rows.append({"interaction_id": interaction_id, "rubric_version_id": version.id,
                             "evaluator_id": g, "agent_id": row[0], "branch_id": row[1],
                             "calibration_session_id": session.id, "status": "submitted",
                             "answers": answers, "total": total, "auto_failed": auto_failed,
                             "created_at": month, "submitted_at": deadline - timedelta(days=2),
                             "locked": False})
                scores.append(crit)
        ev_ids = insert(Evaluation, rows)
        db.session.execute(CriterionScore.__table__.insert(), [
            {"evaluation_id": i, **r} for i, crit in zip(ev_ids, scores, strict=True)
            for r in crit])
        sessions += 1
    db.session.flush()
    return sessions


def _drift(rng: random.Random, definition: dict, truth: dict, p: float) -> dict:
    """A grader's reading of the same interaction: each criterion departs with chance p."""
    out = {}
    for _section, c in rubric_format.walk(definition):
        if c is None:
            continue
        score = truth[c["key"]]["score"]
        # compliance items (fail-all) are rarely read differently
        chance = p / 4 if c.get("critical") == "all" else p
        if rng.random() < chance and score != "na":
            if c.get("kind") == "yesno":
                score = 0 if score else c["max_points"]
            else:
                score = min(c["max_points"], max(0, score + rng.choice((-2, -1, -1, 1))))
        out[c["key"]] = {"score": score, "comment": ""}
    return out

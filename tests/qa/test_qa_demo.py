"""The QA demo year: deterministic for a seed, twelve months, and differences worth reporting."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from qms.extensions import db as _db
from qms.org.models import Agent
from qms.qa import calibration, reports
from qms.qa.demo import build_qa_activity
from qms.qa.models import CalibrationSession, Dispute, Evaluation, Interaction
from qms.surveys.demo import STAR_AGENTS, WEAK_AGENTS

NOW = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def _bank(monkeypatch, seed: int) -> dict:
    """The demo bank without its survey activity (not needed here, and slow), then a QA year."""
    import qms.demo

    monkeypatch.setattr(qms.demo, "build_survey_activity", lambda **kw: None)
    monkeypatch.setattr(qms.demo, "build_qa_activity", lambda **kw: None)
    qms.demo.build_demo(seed=seed, customers=50, activities=("qa",))
    counts = build_qa_activity(seed=seed, now=NOW)
    _db.session.commit()
    return counts


def _snapshot() -> tuple:
    return (
        list(_db.session.execute(sa.select(Interaction.channel, Interaction.external_ref,
                                           Interaction.agent_id, Interaction.occurred_at)
                                 .order_by(Interaction.id))),
        list(_db.session.execute(sa.select(Evaluation.interaction_id, Evaluation.evaluator_id,
                                           Evaluation.status, Evaluation.total,
                                           Evaluation.answers, Evaluation.submitted_at)
                                 .order_by(Evaluation.id))),
        list(_db.session.execute(sa.select(Dispute.evaluation_id, Dispute.status,
                                           Dispute.criteria).order_by(Dispute.id))),
    )


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """One demo year for the read-only tests of this module (building it takes seconds)."""
    from tests.conftest import app_config, build_app

    app = build_app(app_config(tmp_path_factory.mktemp("qa-demo")))
    with app.app_context(), pytest.MonkeyPatch.context() as mp:
        _db.create_all()
        counts = _bank(mp, 7)
        yield counts
        _db.session.remove()
        _db.engine.dispose()


def test_deterministic_for_a_seed(tmp_path, monkeypatch):
    from qms import create_app
    from tests.conftest import app_config

    shots = []
    for name, seed in (("a", 3), ("b", 3), ("c", 4)):
        (tmp_path / name).mkdir()
        app = create_app(app_config(tmp_path / name))
        with app.app_context():
            _db.create_all()
            _bank(monkeypatch, seed)
            shots.append(_snapshot())
            _db.session.remove()
            _db.engine.dispose()
    assert shots[0] == shots[1]
    assert shots[0] != shots[2]


def test_a_year_of_activity(demo):
    assert 2000 <= demo["interactions"] <= 6000
    assert demo["evaluations"] >= 0.6 * demo["interactions"]
    assert demo["disputes"] > 50 and demo["calibration_sessions"] == 2
    trend = reports.monthly_trend(reports.ReportFilters())
    assert len(trend) == 12 and trend[-1].month == "2026-11"
    assert all(p.stats.evaluations > 100 for p in trend[:-1])
    statuses = set(_db.session.scalars(sa.select(Evaluation.status).distinct()))
    assert statuses == {"assigned", "draft", "submitted", "acknowledged", "replaced"}
    outcomes = set(_db.session.scalars(sa.select(Dispute.status).distinct()))
    assert outcomes == {"open", "accepted", "partly_accepted", "rejected"}


def test_differences_worth_reporting(demo):
    f = reports.ReportFilters()
    by_agent = {r.code: r.stats for r in reports.breakdown(f, "agent", locale="en")}
    weak = sum(by_agent[c].score_sum for c in WEAK_AGENTS) / sum(by_agent[c].scored
                                                                 for c in WEAK_AGENTS)
    star = sum(by_agent[c].score_sum for c in STAR_AGENTS) / sum(by_agent[c].scored
                                                                 for c in STAR_AGENTS)
    assert star - weak > 8
    by_branch = {r.code: r.stats.average for r in reports.breakdown(f, "branch", locale="en")}
    assert by_branch["SH01"] - by_branch["BJ04"] > 4
    teams = {r.code: r.stats.auto_fail_rate for r in reports.breakdown(f, "team", locale="en")}
    assert teams["理财"] == max(teams.values())  # the wealth team misses risk warnings
    top = [c.criterion_key for c in reports.most_failed(f, locale="en", limit=4)]
    assert {"empathy", "ask_needs"} <= set(top)
    s = reports.summary(f)
    assert 0.005 < s.auto_fail_rate < 0.08 and 0.02 < s.dispute_rate < 0.1


def test_calibration_story(demo):
    sessions = list(_db.session.scalars(sa.select(CalibrationSession)
                                        .order_by(CalibrationSession.deadline)))
    first, second = (calibration.session_results(s, now=NOW) for s in sessions)
    assert second.alpha > first.alpha  # the team agrees better after calibrating
    _sessions, history = calibration.alignment_history(now=NOW)
    assert len(history) == 3 and all(len(points) == 2 for points in history.values())
    # calibration scores are not in the reports
    counted = _db.session.scalar(sa.select(sa.func.count(Evaluation.id)).where(
        Evaluation.status.in_(("submitted", "acknowledged")),
        Evaluation.calibration_session_id.is_(None)))
    assert reports.summary(reports.ReportFilters()).evaluations == counted
    assert _db.session.scalar(sa.select(sa.func.count(Evaluation.id)).where(
        Evaluation.calibration_session_id.is_not(None))) == 40


def test_every_agent_has_a_login_for_disputes(demo):
    agents = _db.session.scalar(sa.select(sa.func.count(Agent.id)))
    from qms.auth.models import User
    assert _db.session.scalar(sa.select(sa.func.count(User.id))
                              .where(User.agent_id.is_not(None))) == agents

"""The QA reporting service against a hand-computed set of evaluations.

Six evaluations count (three agents, two branches, two teams, two graders, Jan-Mar 2026); a
calibration score, a replaced evaluation and an unsubmitted one do not, nor do their disputes.
The expected figures are worked out by hand in the comments.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from qms.extensions import db as _db
from qms.qa import reports
from qms.qa.models import CalibrationSession
from qms.qa.report_filters import FilterError, OutOfScope, parse_report_filters, reader_scope
from qms.qa.reports import ReportFilters, qa_report
from tests.qa.reports_support import add_dispute, add_evaluation, at, make_rubric, new_version


def build_set(make_branch, make_agent, make_user):
    a = make_branch(code="BA", name="甲支行")
    b = make_branch(code="BB", name="乙支行", region="华南")
    a1 = make_agent(a, code="BA-01", team="柜面")
    a2 = make_agent(a, code="BA-02", team="理财")
    b1 = make_agent(b, code="BB-01", team="柜面")
    g1 = make_user("qa", name="Grader One")
    g2 = make_user("qa", name="Grader Two")
    v1 = make_rubric()
    v2 = new_version(v1)
    full = {"greet": 5, "verify": 2, "explain": 5, "close": 3}
    e1 = add_evaluation(v1, a1, evaluator=g1, submitted_at=at(1, 10), total=80,
                        scores=full | {"explain": 3})
    e2 = add_evaluation(v1, a1, evaluator=g2, submitted_at=at(1, 20), total=60,
                        scores=full | {"greet": 3, "explain": 3, "close": None})
    e3 = add_evaluation(v1, a1, evaluator=g1, submitted_at=at(2, 5), total=0, auto_failed=True,
                        scores=full | {"verify": 0})
    e4 = add_evaluation(v1, a2, evaluator=g1, submitted_at=at(2, 10), total=90,
                        scores=full | {"explain": 4})
    e5 = add_evaluation(v1, b1, evaluator=g2, submitted_at=at(2, 15), total=70,
                        scores=full | {"greet": 4, "close": 2})
    e9 = add_evaluation(v2, a2, evaluator=g2, submitted_at=at(3, 3), total=100,
                        status="acknowledged", channel="branch_visit",
                        scores=full | {"close": None})
    # What never counts: a calibration score, a replaced evaluation, an unsubmitted one.
    session = CalibrationSession(name="Jan", rubric_version_id=v1.id, interaction_ids=[],
                                 grader_ids=[g1.id], deadline=at(1, 31))
    _db.session.add(session)
    _db.session.flush()
    e6 = add_evaluation(v1, a1, evaluator=g1, submitted_at=at(1, 15), total=10,
                        auto_failed=True, session=session,
                        scores={"greet": 0, "verify": 0, "explain": 0, "close": 0})
    e7 = add_evaluation(v1, a2, evaluator=g1, submitted_at=at(2, 1), total=20,
                        status="replaced", scores={"greet": 0, "verify": 2, "explain": 0,
                                                   "close": 0})
    e8 = add_evaluation(v1, b1, evaluator=g2, submitted_at=at(2, 2), total=5, status="draft",
                        scores={"greet": 0, "verify": 2, "explain": 0, "close": 0})
    agent_user = make_user("agent", branch=a, agent=a1)
    add_dispute(e2, agent_user, "accepted")
    add_dispute(e3, agent_user, "rejected", criteria=["verify"])
    add_dispute(e5, agent_user, "open")
    add_dispute(e6, agent_user, "accepted")
    add_dispute(e7, agent_user, "rejected")
    add_dispute(e8, agent_user, "open")
    _db.session.commit()
    return SimpleNamespace(a=a, b=b, a1=a1, a2=a2, b1=b1, g1=g1, g2=g2, v1=v1, v2=v2,
                           agent_user=agent_user, e=[e1, e2, e3, e4, e5, e6, e7, e8, e9])


@pytest.fixture
def qa_set(app, make_branch, make_agent, make_user):
    return build_set(make_branch, make_agent, make_user)


def test_summary_and_disputes(qa_set):
    rep = qa_report(ReportFilters(), by="agent", locale="en")
    s = rep.summary
    # e1..e5, e9: 80 + 60 + 0 + 90 + 70 + 100 = 400 over 6
    assert s.evaluations == 6
    assert s.average == pytest.approx(400 / 6)
    assert s.auto_failed == 1 and s.auto_fail_rate == pytest.approx(1 / 6)
    # disputed: e2, e3, e5 of 6; the calibration, replaced and draft ones' disputes do not count
    assert s.disputed == 3 and s.dispute_rate == pytest.approx(0.5)
    assert rep.outcomes.counts == {"accepted": 1, "rejected": 1, "open": 1}
    assert rep.outcomes.decided == 2 and rep.outcomes.upheld_rate == pytest.approx(0.5)


def test_most_failed_criteria(qa_set):
    rows = reports.most_failed(ReportFilters(), locale="en")
    got = [(r.criterion_key, r.scored, r.failed) for r in rows]
    # explain failed in e1, e2, e4 of 6; greet in e2, e5 of 6; close in e5 of 4 (N/A in e2,
    # e9); verify in e3 of 6. Versions 1 and 2 of the rubric fold together.
    assert got == [("explain", 6, 3), ("greet", 6, 2), ("close", 4, 1), ("verify", 6, 1)]
    assert rows[0].share == pytest.approx(0.5)
    assert rows[0].label == "Explains clearly" and rows[0].rubric_name == "Call quality"
    assert [r.criterion_key for r in reports.most_failed(ReportFilters(), locale="en",
                                                         limit=2)] == ["explain", "greet"]


def _rows(rep):
    return {r.code: (r.stats.evaluations, round(r.stats.average, 4), r.stats.auto_failed,
                     r.stats.disputed, r.coach.criterion_key if r.coach else None)
            for r in rep.rows}


def test_breakdown_by_agent(qa_set):
    rep = qa_report(ReportFilters(), by="agent", locale="en")
    assert _rows(rep) == {
        # e1, e2, e3: 140/3; explain failed 2 of 3
        "BA-01": (3, round(140 / 3, 4), 1, 2, "explain"),
        # e4, e9: 95; explain 1 of 2
        "BA-02": (2, 95.0, 0, 0, "explain"),
        # e5: greet and close both 1 of 1, the tie goes to the key order
        "BB-01": (1, 70.0, 0, 1, "close"),
    }
    row = rep.rows[0]
    assert row.outcomes.counts == {"accepted": 1, "rejected": 1}
    assert row.stats.dispute_rate == pytest.approx(2 / 3)


def test_breakdown_by_branch_team_grader(qa_set):
    by_branch = _rows(qa_report(ReportFilters(), by="branch", locale="en"))
    assert {k: v[:2] for k, v in by_branch.items()} == {"BA": (5, 66.0), "BB": (1, 70.0)}
    by_team = _rows(qa_report(ReportFilters(), by="team", locale="en"))
    assert {k: v[:2] for k, v in by_team.items()} == {"柜面": (4, 52.5), "理财": (2, 95.0)}
    graders = qa_report(ReportFilters(), by="grader", locale="en").rows
    assert [(r.label, r.stats.evaluations, round(r.stats.average, 4)) for r in graders] == [
        ("Grader One", 3, round(170 / 3, 4)), ("Grader Two", 3, round(230 / 3, 4))]
    # disputes against each grader's scores: g1 e3 rejected; g2 e2 accepted, e5 open
    assert graders[0].outcomes.counts == {"rejected": 1}
    assert graders[1].outcomes.upheld_rate == 1.0


def test_monthly_trend_fills_gaps(qa_set):
    f = ReportFilters(start=at(1, 1, 0), end=at(5, 1, 0))
    trend = reports.monthly_trend(f)
    assert [p.month for p in trend] == ["2026-01", "2026-02", "2026-03", "2026-04"]
    assert [p.stats.evaluations for p in trend] == [2, 3, 1, 0]
    assert trend[0].stats.average == 70.0
    assert trend[1].stats.average == pytest.approx(160 / 3)
    assert trend[1].stats.auto_fail_rate == pytest.approx(1 / 3)
    assert trend[3].stats.average is None


def test_filters(qa_set):
    s = qa_set
    def n(**kw):
        return reports.summary(ReportFilters(**kw)).evaluations
    assert n(start=at(2, 1, 0), end=at(3, 1, 0)) == 3
    assert n(branch_id=s.b.id) == 1
    assert n(agent_id=s.a1.id) == 3
    assert n(team="柜面") == 4
    assert n(evaluator_id=s.g2.id) == 3
    assert n(channel="call") == 5 and n(channel="branch_visit") == 1
    assert n(rubric_id=s.v1.rubric_id) == 6
    other = make_rubric("Branch visit", channel="branch_visit")
    add_evaluation(other, s.b1, submitted_at=at(3, 9), total=50,
                   scores={"greet": 1, "verify": 2, "explain": 5, "close": 3})
    assert n(rubric_id=other.rubric_id) == 1 and n() == 7
    assert n(scope=frozenset({s.a.id})) == 5 and n(scope=frozenset()) == 0
    assert n(only_agent_id=s.a2.id) == 2 and n(only_agent_id=0) == 0


def test_calibration_and_replaced_never_count(qa_set):
    s = qa_set
    rep = qa_report(ReportFilters(agent_id=s.a1.id), by="grader", locale="en")
    assert rep.summary.evaluations == 3
    # January: e1 and e2 only (80, 60); with the calibration score (10) it would be 50
    assert rep.trend[0].month == "2026-01" and rep.trend[0].stats.average == 70.0
    assert rep.trend[0].stats.auto_failed == 0
    crit = {r.criterion_key: r.scored for r in rep.most_failed}
    assert crit == {"explain": 3, "greet": 3, "verify": 3, "close": 2}


def test_reader_scope_and_filter_parsing(qa_set, make_user):
    s = qa_set
    head = make_user("branch_head", branch=s.a)
    f = parse_report_filters({}, head, {"admin", "qa", "branch_head", "agent"})
    assert f.scope == frozenset({s.a.id}) and f.only_agent_id is None
    assert reports.summary(f).evaluations == 5
    with pytest.raises(OutOfScope):
        parse_report_filters({"agent": "BB-01"}, head)
    with pytest.raises(OutOfScope):
        parse_report_filters({"branch": "BB"}, head)
    mine = parse_report_filters({}, s.agent_user, {"admin", "qa", "branch_head", "agent"})
    assert mine.only_agent_id == s.a1.id and reports.summary(mine).evaluations == 3
    with pytest.raises(OutOfScope):
        parse_report_filters({"agent": "BA-02"}, s.agent_user)
    lone = make_user("agent", branch=s.a)  # an agent login without an agent record
    assert reports.summary(parse_report_filters({}, lone)).evaluations == 0
    both = make_user("branch_head", "agent", branch=s.a, agent=s.a2)
    assert reader_scope(both).only_agent_id is None
    qa = parse_report_filters({"from": "2026-02-01", "to": "2026-02-28", "team": "柜面",
                               "grader": str(s.g1.id), "channel": "call"}, s.g1)
    assert qa.scope is None and reports.summary(qa).evaluations == 1  # e3
    with pytest.raises(FilterError) as err:
        parse_report_filters({"from": "2026-13-01", "channel": "fax", "team": "x"}, s.g1)
    assert set(err.value.fields) == {"from", "channel", "team"}
    with pytest.raises(FilterError):
        parse_report_filters({"from": "2026-03-01", "to": "2026-02-01"}, s.g1)
    for bad in ({"grader": "999"}, {"rubric": "x"}, {"agent": "NOPE"}):
        with pytest.raises(OutOfScope):
            parse_report_filters(bad, s.g1)


def test_a_handful_of_queries_whatever_the_size(qa_set, app):
    """The page's numbers cost a fixed number of statements, not one per agent."""
    count = []
    engine = _db.engine

    def before(*_a, **_k):
        count.append(1)

    sa.event.listen(engine, "before_cursor_execute", before)
    try:
        qa_report(ReportFilters(), by="agent", locale="en")
    finally:
        sa.event.remove(engine, "before_cursor_execute", before)
    assert len(count) <= 8


def test_queries_run_on_postgresql(pg_app, make_branch, make_agent, make_user):
    build_set(make_branch, make_agent, make_user)
    rep = qa_report(ReportFilters(start=at(1, 1, 0)), by="team", locale="en")
    assert rep.summary.evaluations == 6 and rep.summary.average == pytest.approx(400 / 6)
    assert [p.month for p in rep.trend] == ["2026-01", "2026-02", "2026-03"]
    assert [r.criterion_key for r in rep.most_failed] == ["explain", "greet", "close", "verify"]
    assert {r.code: r.stats.evaluations for r in rep.rows} == {"柜面": 4, "理财": 2}

"""Calibration: blind before the deadline, results after; alignment per DOMAIN.md on a
hand-computed case; alpha is reliability.krippendorff_alpha on the documented matrix; never in
the reports."""

from __future__ import annotations

from datetime import timedelta

import pytest

from qms.analytics.reliability import INTERVAL, krippendorff_alpha
from qms.extensions import db as _db
from qms.qa import calibration as svc
from qms.qa import reports
from qms.qa.models import Evaluation
from tests.qa.reports_support import add_evaluation, at, make_interaction, make_rubric

START = at(3, 1)
DEADLINE = at(3, 10)
AFTER = DEADLINE + timedelta(minutes=1)


def sheet(greet, verify, explain, close) -> dict:
    return {k: {"score": v, "comment": ""} for k, v in
            (("greet", greet), ("verify", verify), ("explain", explain), ("close", close))}


@pytest.fixture
def cal(app, make_branch, make_agent, make_user):
    branch = make_branch(code="BA")
    agent = make_agent(branch, code="BA-01")
    bench = make_user("qa", name="Benchmark")
    g1 = make_user("qa", name="Grader One")
    g2 = make_user("qa", name="Grader Two")
    outsider = make_user("qa", branch=branch, name="Regional QA")
    version = make_rubric()
    i1 = make_interaction(agent, when=at(2, 1))
    i2 = make_interaction(agent, when=at(2, 2))
    session = svc.create_session(name="March calibration", rubric_version=version,
                                 interaction_ids=[i1.id, i2.id], grader_ids=[g1.id, g2.id],
                                 benchmark_user_id=bench.id, deadline=DEADLINE, actor=bench,
                                 now=START)
    _db.session.commit()

    class C:
        pass
    c = C()
    c.__dict__.update(branch=branch, agent=agent, bench=bench, g1=g1, g2=g2, outsider=outsider,
                      version=version, i1=i1, i2=i2, session=session)
    return c


def score_all(c):
    s = c.session
    svc.submit_score(s, c.bench, c.i1.id, sheet(5, 2, 4, 3), now=START)
    svc.submit_score(s, c.bench, c.i2.id, sheet("na", 0, 2, 1), now=START)
    svc.submit_score(s, c.g1, c.i1.id, sheet(4, 2, 4, "na"), now=START)
    svc.submit_score(s, c.g1, c.i2.id, sheet("na", 0, 3, 1), now=START)
    svc.submit_score(s, c.g2, c.i1.id, sheet(5, 2, 4, 3), now=START)  # g2 skips i2
    _db.session.commit()


def test_create_session_checks(cal, make_user, make_branch, make_agent):
    s = cal.session
    assert s.grader_ids == [cal.g1.id, cal.g2.id, cal.bench.id]  # the benchmark grades too
    agent_user = make_user("agent", branch=cal.branch, agent=cal.agent)
    with pytest.raises(svc.CalibrationError) as err:
        svc.create_session(name="", rubric_version=None, interaction_ids=[],
                           grader_ids=[agent_user.id], benchmark_user_id=None,
                           deadline=START - timedelta(days=1), actor=cal.bench, now=START)
    assert set(err.value.fields) == {"name", "rubric", "interactions", "graders", "benchmark",
                                     "deadline"}
    with pytest.raises(svc.CalibrationError) as err:  # nobody besides the benchmark
        svc.create_session(name="x", rubric_version=cal.version, interaction_ids=[cal.i1.id],
                           grader_ids=[], benchmark_user_id=cal.bench.id, deadline=DEADLINE,
                           actor=cal.bench, now=START)
    assert set(err.value.fields) == {"graders"}
    elsewhere = make_agent(make_branch(code="BZ", region="华南"), code="BZ-01")
    other = make_interaction(elsewhere)  # outside the regional QA's branch
    with pytest.raises(svc.CalibrationError) as err:
        svc.create_session(name="x", rubric_version=cal.version, interaction_ids=[other.id],
                           grader_ids=[cal.g1.id], benchmark_user_id=cal.bench.id,
                           deadline=DEADLINE, actor=cal.outsider, now=START)
    assert set(err.value.fields) == {"interactions"}


def test_scoring_is_blind_until_the_deadline(cal):
    score_all(cal)
    s = cal.session
    assert svc.is_open(s, START) and not svc.is_open(s, DEADLINE)
    with pytest.raises(svc.ResultsNotYet):
        svc.session_results(s, now=DEADLINE - timedelta(seconds=1))
    mine = svc.my_scores(s, cal.g1)
    assert set(mine) == {cal.i1.id, cal.i2.id}
    assert all(ev.evaluator_id == cal.g1.id for ev in mine.values())
    assert svc.progress(s) == {cal.g1.id: 2, cal.g2.id: 1, cal.bench.id: 2}
    # a grader may change their score until the deadline, never after
    svc.submit_score(s, cal.g2, cal.i1.id, sheet(5, 2, 4, 3), now=DEADLINE - timedelta(seconds=1))
    with pytest.raises(svc.CalibrationError) as err:
        svc.submit_score(s, cal.g2, cal.i2.id, sheet(5, 2, 4, 3), now=DEADLINE)
    assert "deadline" in err.value.fields
    with pytest.raises(svc.CalibrationError) as err:
        svc.submit_score(s, cal.outsider, cal.i1.id, sheet(5, 2, 4, 3), now=START)
    assert "grader" in err.value.fields
    with pytest.raises(svc.CalibrationError) as err:
        svc.submit_score(s, cal.g1, cal.i1.id, sheet(9, 2, 4, 3), now=START)
    assert "score-greet" in err.value.fields


def test_scores_are_stored_like_evaluations(cal):
    score_all(cal)
    ev = svc.my_scores(cal.session, cal.bench)[cal.i1.id]
    # greeting 7/7 x 40 + process 7/8 x 60 = 40 + 52.5
    assert ev.total == pytest.approx(92.5) and not ev.auto_failed
    assert ev.calibration_session_id == cal.session.id and ev.status == "submitted"
    assert {r.criterion_key: (r.earned, r.failed) for r in ev.scores} == {
        "greet": (5, False), "verify": (2, False), "explain": (4, True), "close": (3, False)}
    assert svc.my_scores(cal.session, cal.bench)[cal.i2.id].auto_failed  # verify "no" fails all


def test_alignment_by_hand(cal):
    """Shares of the rubric maximum: greet 0.4 x 5/7 = 2/7, verify 0.4 x 2/7 = 4/35,
    explain 0.6 x 5/8 = 3/8, close 0.6 x 3/8 = 9/40 (in 280ths: 80, 32, 105, 63).

    Grader One, i1: greet 1 - 1/5 = 0.8, verify 1, explain 1, close N/A vs 3 = 0
        -> (0.8 x 80 + 32 + 105 + 0) / 280 = 201/280.
    Grader One, i2: greet N/A on both sides (left out), verify 1, explain 1 - 1/5, close 1
        -> (32 + 0.8 x 105 + 63) / (32 + 105 + 63) = 179/200.
    Grader Two scored i1 exactly as the benchmark and skipped i2 -> 1.
    """
    score_all(cal)
    res = svc.session_results(cal.session, now=AFTER, locale="en")
    by = {g.user_id: g for g in res.graders}
    one = by[cal.g1.id]
    assert one.per_interaction[cal.i1.id] == pytest.approx(201 / 280)
    assert one.per_interaction[cal.i2.id] == pytest.approx(179 / 200)
    assert one.alignment == pytest.approx((201 / 280 + 179 / 200) / 2)
    assert by[cal.g2.id].alignment == pytest.approx(1.0) and by[cal.g2.id].submitted == 1
    assert by[cal.bench.id].benchmark and by[cal.bench.id].alignment is None
    # per-criterion disagreement over (grader, interaction) pairs with a benchmark score:
    # close: g1/i1 N/A against 3 (1), g1/i2 equal, g2/i1 equal -> 1/3
    crit = {c.key: c for c in res.criteria}
    assert crit["close"].deviation == pytest.approx(1 / 3) and crit["close"].pairs == 3
    assert crit["explain"].deviation == pytest.approx(0.2 / 3) and crit["explain"].differing == 1
    assert crit["greet"].pairs == 2 and crit["greet"].deviation == pytest.approx(0.1)
    assert res.criteria[0].key == "close"
    assert res.interactions[0].benchmark_total == pytest.approx(92.5)


def test_alpha_is_krippendorff_on_the_documented_matrix(cal):
    """Units = (interaction, criterion); raters = graders in session order (g1, g2, benchmark);
    values = points / criterion max; N/A and unscored are missing."""
    score_all(cal)
    res = svc.session_results(cal.session, now=AFTER)
    expected = [
        [4 / 5, 1, 4 / 5, None, None, 0, 3 / 5, 1 / 3],      # Grader One
        [1, 1, 4 / 5, 1, None, None, None, None],            # Grader Two
        [1, 1, 4 / 5, 1, None, 0, 2 / 5, 1 / 3],             # Benchmark
    ]
    assert res.units == [(cal.i1.id, k) for k in ("greet", "verify", "explain", "close")] + \
        [(cal.i2.id, k) for k in ("greet", "verify", "explain", "close")]
    for got, want in zip(res.matrix, expected, strict=True):
        assert [None if v is None else round(v, 9) for v in got] == \
               [None if v is None else round(v, 9) for v in want]
    assert res.alpha == pytest.approx(krippendorff_alpha(expected, INTERVAL))
    assert 0 < res.alpha < 1
    totals = [[ev_total(cal, g, i) for i in (cal.i1, cal.i2)]
              for g in (cal.g1, cal.g2, cal.bench)]
    assert res.alpha_totals == pytest.approx(krippendorff_alpha(totals, INTERVAL))


def ev_total(cal, grader, interaction):
    ev = svc.my_scores(cal.session, grader).get(interaction.id)
    return None if ev is None else ev.total


def test_calibration_never_counts_in_reports(cal):
    score_all(cal)
    add_evaluation(cal.version, cal.agent, submitted_at=at(3, 2), total=50,
                   scores={"greet": 5, "verify": 2, "explain": 0, "close": 3})
    _db.session.commit()
    assert _db.session.query(Evaluation).count() == 6
    rep = reports.qa_report(reports.ReportFilters(), by="grader", locale="en")
    assert rep.summary.evaluations == 1 and rep.summary.average == 50
    assert [r.key for r in rep.rows] == [None]  # only the evaluation without a grader
    assert {c.criterion_key: c.scored for c in rep.most_failed} == {
        "greet": 1, "verify": 1, "explain": 1, "close": 1}


def test_alignment_over_time(cal, make_user):
    score_all(cal)
    later = svc.create_session(name="April", rubric_version=cal.version,
                               interaction_ids=[cal.i1.id], grader_ids=[cal.g1.id],
                               benchmark_user_id=cal.bench.id, deadline=at(4, 10),
                               actor=cal.bench, now=at(4, 1))
    svc.submit_score(later, cal.bench, cal.i1.id, sheet(5, 2, 4, 3), now=at(4, 2))
    svc.submit_score(later, cal.g1, cal.i1.id, sheet(5, 2, 4, 3), now=at(4, 2))
    open_one = svc.create_session(name="May", rubric_version=cal.version,
                                  interaction_ids=[cal.i1.id], grader_ids=[cal.g1.id],
                                  benchmark_user_id=cal.bench.id, deadline=at(5, 30),
                                  actor=cal.bench, now=at(4, 20))
    svc.submit_score(open_one, cal.g1, cal.i1.id, sheet(0, 0, 0, 0), now=at(4, 21))
    _db.session.commit()
    sessions, history = svc.alignment_history(now=at(5, 1))
    assert [s.name for s in sessions] == ["March calibration", "April"]  # May is still blind
    g1 = history[cal.g1.id]
    assert [round(p.alignment, 6) for p in g1] == [
        round((201 / 280 + 179 / 200) / 2, 6), 1.0]
    assert [p.session_id for p in history[cal.g2.id]] == [cal.session.id]
    assert cal.bench.id not in history


def test_visibility(cal, make_user):
    s = cal.session
    assert svc.get_session(s.id, cal.g1) is s
    assert svc.get_session(s.id, cal.outsider) is None  # regional QA, not a grader
    assert svc.get_session(s.id, make_user("admin")) is s
    assert svc.get_session(s.id + 99, cal.g1) is None
    rows = svc.list_sessions(cal.g1, now=START)
    assert [(r.session.id, r.open, r.mine_done) for r in rows] == [(s.id, True, 0)]
    assert svc.list_sessions(cal.outsider, now=START) == []


def test_random_pick_leaves_out_evaluated_interactions(cal):
    evaluated = make_interaction(cal.agent, when=at(2, 20))
    add_evaluation(cal.version, cal.agent, interaction=evaluated, submitted_at=at(2, 21),
                   total=80, scores={"greet": 5, "verify": 2, "explain": 3, "close": 3})
    fresh = make_interaction(cal.agent, when=at(2, 22))
    chat = make_interaction(cal.agent, channel="chat", when=at(2, 23))
    picked = svc.pick_interactions(count=10, channel="call", seed=1, until=START)
    assert fresh.id in picked and evaluated.id not in picked and chat.id not in picked
    assert picked == svc.pick_interactions(count=10, channel="call", seed=1, until=START)
    assert len(svc.pick_interactions(count=1, channel=None, seed=1, until=START)) == 1
    assert svc.pick_interactions(count=5, channel="call", seed=1, until=START,
                                 scope=set()) == []

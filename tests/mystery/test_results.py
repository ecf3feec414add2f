"""Results: a small hand-computed data set; only approved reports count."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from qms.extensions import db
from qms.mystery import results
from qms.mystery.models import ShopProgramme
from tests.mystery.support import FULL_MARKS, write_approved

AT = datetime(2026, 3, 20, 9, 0, tzinfo=UTC)
R2 = dict(FULL_MARKS, needs=3, product="fair", clean="na")   # 30 + 70 × 8.5/12
R2_SCORE = 30 + 70 * 8.5 / 12                                  # 79.5833
R3 = dict(FULL_MARKS, disclosure=False)                        # fail-all: 0
EARLY = dict(FULL_MARKS, greet=False)                          # 30 × 5/7 + 70 = 91.4286


@pytest.fixture
def data(make_mystery_survey, make_wave, make_branch, make_agent, make_shopper,
         make_assignment):
    version = make_mystery_survey()
    b1, b2 = make_branch(code="A01"), make_branch(code="B02")
    agent = make_agent(b1)
    s = make_shopper()
    w1 = make_wave(version=version, branches=[b1, b2], name="Wave 1",
                   starts_on=date(2026, 1, 5), ends_on=date(2026, 1, 16))
    programme = db.session.get(ShopProgramme, w1.programme_id)
    w2 = make_wave(version=version, branches=[b1, b2], name="Wave 2", programme=programme)

    def shop(wave, branch, answers, scenario="deposit", status="approved", agent_id=None):
        a = make_assignment(wave=wave, shopper=s, branch=branch, scenario=scenario,
                            agent_id=agent_id)
        return write_approved(a, answers, AT, status=status)

    write_approved(make_assignment(wave=w1, shopper=s, branch=b1), EARLY, AT)
    shop(w2, b1, FULL_MARKS, agent_id=agent.id)
    shop(w2, b1, R2, scenario="card")
    shop(w2, b2, R3)
    shop(w2, b2, FULL_MARKS, status="submitted")       # not approved: never counts
    shop(w2, b2, FULL_MARKS, status="returned")
    return {"b1": b1, "b2": b2, "agent": agent, "w1": w1, "w2": w2, "programme": programme}


def test_scores_by_branch_agent_scenario_count_only_approved(app, data):
    f = results.ResultFilter(wave_id=data["w2"].id)
    rows = {r.key: r for r in results.by_branch(f)}
    assert rows[data["b1"].id].reports == 2
    assert rows[data["b1"].id].score == pytest.approx((100 + R2_SCORE) / 2)
    assert (rows[data["b2"].id].reports, rows[data["b2"].id].score,
            rows[data["b2"].id].auto_failed) == (1, 0, 1)
    assert [r.key for r in results.by_branch(f)] == [data["b1"].id, data["b2"].id]
    assert [(r.key, r.reports, r.score) for r in results.by_agent(f)] == [
        (data["agent"].id, 1, 100)]
    scen = {r.key: r for r in results.by_scenario(f, "en")}
    assert scen["deposit"].score == pytest.approx(50) and scen["deposit"].reports == 2
    assert scen["card"].label == "Credit card application"
    assert results.overall(f).reports == 3
    programme_wide = results.ResultFilter(programme_id=data["programme"].id)
    assert results.overall(programme_wide).reports == 4
    scoped = results.ResultFilter(wave_id=data["w2"].id, branch_ids=frozenset({data["b2"].id}))
    assert [r.key for r in results.by_branch(scoped)] == [data["b2"].id]


def test_sections_questions_and_most_missed(app, data):
    f = results.ResultFilter(wave_id=data["w2"].id)
    sections = {r.key: r for r in results.by_section(f, "en")}
    # service: 14/14 + 8.5/12 + 9/14 (needs 4, disclosure 0, product 3, follow-up 2)
    assert (sections["service"].earned, sections["service"].possible) == (31.5, 40)
    assert sections["service"].percent == pytest.approx(78.75)
    assert sections["arrival"].label == "Arrival"
    questions = {r.key: r for r in results.by_question(f, "en")}
    d = questions["disclosure"]
    assert (d.applicable, d.missed, d.critical_failed, d.earned, d.possible) == (3, 1, 1, 10, 15)
    assert questions["clean"].not_applicable == 1 and questions["clean"].applicable == 2
    assert questions["followup"].not_applicable == 1
    assert [r.key for r in results.by_question(f)][:3] == ["greet", "wait_ok", "clean"]
    missed = results.most_missed(f, "en")
    assert [r.key for r in missed] == ["disclosure", "needs", "product"]
    assert missed[0].miss_rate == pytest.approx(100 / 3)


def test_wave_over_wave(app, data):
    waves, rows = results.wave_over_wave(data["programme"].id)
    assert [w.name for w in waves] == ["Wave 1", "Wave 2"]
    by_branch = {r.branch_id: r for r in rows}
    b1 = by_branch[data["b1"].id]
    assert b1.scores[data["w1"].id] == pytest.approx(30 * 5 / 7 + 70)
    assert b1.change == pytest.approx((100 + R2_SCORE) / 2 - (30 * 5 / 7 + 70))
    assert by_branch[data["b2"].id].change is None
    assert by_branch[data["b2"].id].scores[data["w1"].id] is None


def test_demo_programme(app, make_branch, make_user):
    import time

    from qms.mystery.demo import build_mystery_activity
    from qms.mystery.models import ShopAssignment, ShopItemScore, Wave

    for code in ("SH01", "BJ04", "SZ02"):
        make_branch(code=code)
    make_user("qa")
    make_user("shopper")
    started = time.perf_counter()
    counts = build_mystery_activity(seed=7, now=datetime(2026, 6, 15, 4, 0, tzinfo=UTC))
    db.session.commit()
    assert time.perf_counter() - started < 5
    assert counts["assignments"] == 12 and counts["unplaced"] == 0
    assert counts["approved"] > 0 and counts["returned"] + counts["submitted"] > 0
    assert len(db.session.scalars(db.select(Wave)).all()) == 2
    approved = db.session.scalars(db.select(ShopAssignment).where(
        ShopAssignment.status == "approved")).all()
    assert len(approved) == counts["approved"]
    items = db.session.scalar(db.select(db.func.count(ShopItemScore.id)))
    assert items == counts["approved"] * 10                 # ten scored questions each
    assert results.overall(results.ResultFilter()).reports == counts["approved"]
    statuses = {a.status for a in db.session.scalars(db.select(ShopAssignment))}
    assert statuses & {"offered", "accepted"}               # the second wave is under way

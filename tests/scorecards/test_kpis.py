"""Every KPI on the hand-computed scorecard_world (see conftest.py), the minimum sample, the
lower-is-better normalisation, and the query count that does not grow with branches/agents."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from qms.extensions import db as _db
from qms.scorecards.compute import compute_all
from qms.scorecards.kpis import KPIS, kpis_for, measure
from qms.scorecards.scorecard_models import ensure_default_models, new_version, publish_version

B1 = {
    "csat_pct": 100 * 12 / 14,              # 8 fives of A1 + 4 fours of A2 of 14 answers
    "nps": 100 * (10 - 2) / 14,            # promoters 6 + 4, detractors 2
    "ces": (10 * 6 + 4 * 5) / 14,
    "survey_response_rate": 50.0,          # 10 of 20 delivered
    "mystery_score": 85.0,                 # the submitted, unapproved report never counts
    "qa_score": (80 + 90 + 100 + 70 + 0 + 90 + 90) / 7,  # replaced and draft left out
    "qa_autofail_rate": 100 / 7,
    "complaints_per_1000": 1000 * 7 / 200,
    "complaints_closed_in_time_pct": 80.0,  # 4 of 5 (the 20-day one was late)
    "complaint_median_days_to_close": 6.0,  # median of 2, 4, 6, 8, 20
    "complaints_upheld_pct": 40.0,          # upheld + partly upheld of 5
    "audit_score": 75.0,
    "overdue_actions": 1.0,
}
A1 = {"csat_pct": 80.0, "nps": 40.0, "ces": 6.0, "survey_response_rate": 50.0,
      "mystery_score": 85.0, "qa_score": 68.0, "qa_autofail_rate": 20.0,
      "complaints_per_1000": 1000 * 6 / 120, "complaints_closed_in_time_pct": 80.0,
      "complaints_upheld_pct": 40.0}


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """The world computed once for the read-only tests of this module (one app, one DB)."""
    from tests.conftest import app_config, build_app
    from tests.scorecards.conftest import build_world

    app = build_app(app_config(tmp_path_factory.mktemp("kpis")))
    with app.app_context():
        _db.create_all()
        build_world()
        yield computed()
        _db.session.remove()
        _db.engine.dispose()


def computed(period="2026-10", now=None):
    from tests.scorecards.conftest import NOW

    versions = ensure_default_models(NOW)
    return {(e.scope, e.code): d for e, _v, d in compute_all(period, versions, now=now or NOW)}


def values(d) -> dict:
    return {k["key"]: k["value"] for k in d["kpis"]}


def kpi(d, key) -> dict:
    return next(k for k in d["kpis"] if k["key"] == key)


def test_every_branch_kpi_by_hand(results):
    got = values(results[("branch", "B1")])
    assert set(got) == set(B1)
    for key, want in B1.items():
        assert got[key] == pytest.approx(want, abs=1e-4), key


def test_every_agent_kpi_by_hand(results):
    d = results[("agent", "B1-A1")]
    got = values(d)
    assert set(got) == set(A1)  # audit KPIs are branch-only
    for key, want in A1.items():
        assert got[key] == pytest.approx(want, abs=1e-4), key
    assert kpi(d, "csat_pct")["previous"] == 100.0 and kpi(d, "csat_pct")["change"] == -20.0
    assert [p["value"] for p in kpi(d, "csat_pct")["trend"]][-2:] == [100.0, 80.0]
    assert len(kpi(d, "csat_pct")["trend"]) == 12
    assert kpi(d, "csat_pct")["trend"][0]["period"] == "2025-11"


def test_below_minimum_sample_is_insufficient_never_a_number(results):
    res = results
    a2 = res[("agent", "B1-A2")]
    csat = kpi(a2, "csat_pct")
    assert csat["sample"] == 4 and csat["min_sample"] == 10
    assert csat["value"] is None and csat["normalised"] is None and csat["rag"] == "none"
    assert not csat["sufficient"]
    qa = kpi(a2, "qa_score")
    assert qa["sample"] == 2 and qa["value"] is None
    per_1000 = kpi(a2, "complaints_per_1000")  # 1 complaint, but only 80 interactions < 100
    assert per_1000["sample"] == 80 and per_1000["value"] is None
    # nothing sufficient: no overall score and no rank
    assert a2["overall"]["score"] is None and a2["overall"]["rag"] == "none"
    assert a2["overall"]["rank"] is None and a2["overall"]["rank_in_branch"] is None
    b2 = res[("branch", "B2")]
    assert kpi(b2, "survey_response_rate")["value"] is None  # no invitation at all
    assert kpi(b2, "complaints_per_1000")["sample"] == 50


def test_a_model_may_lower_the_minimum_sample(scorecard_world):
    from tests.scorecards.conftest import NOW

    versions = ensure_default_models(NOW)
    draft = new_version(versions["agent"].model)
    draft.kpis = [{**k, "min_sample": 3} if k["key"] == "csat_pct" else k for k in draft.kpis]
    publish_version(draft, now=NOW)
    _db.session.commit()
    a2 = computed()[("agent", "B1-A2")]
    assert kpi(a2, "csat_pct")["value"] == 100.0 and kpi(a2, "csat_pct")["min_sample"] == 3
    assert a2["overall"]["score"] == 100.0  # its only sufficient KPI is at target
    assert a2["model"]["version"] == 2


def test_lower_is_better_kpis_score_against_their_target(results):
    b1 = results[("branch", "B1")]
    per_1000 = kpi(b1, "complaints_per_1000")  # 35 against a target of 1
    assert per_1000["direction"] == "lower" and per_1000["normalised"] == pytest.approx(2.86)
    assert per_1000["rag"] == "red"
    median = kpi(b1, "complaint_median_days_to_close")  # 6 days, target 10: at target
    assert median["normalised"] == 100.0 and median["rag"] == "green"
    overdue = kpi(b1, "overdue_actions")  # 1 against a target of 0: 100 / (1 + 1)
    assert overdue["normalised"] == 50.0 and overdue["rag"] == "amber"
    b2 = results[("branch", "B2")]
    assert kpi(b2, "overdue_actions")["value"] == 0.0
    assert kpi(b2, "overdue_actions")["normalised"] == 100.0


def test_overall_is_the_weighted_mean_of_sufficient_kpis(results):
    b1 = results[("branch", "B1")]
    rows = [k for k in b1["kpis"] if k["sufficient"]]
    want = sum(k["normalised"] * k["weight"] for k in rows) / sum(k["weight"] for k in rows)
    assert b1["overall"]["score"] == pytest.approx(round(want, 2))
    assert b1["overall"]["score"] == 79.6 and b1["overall"]["rag"] == "amber"
    b2 = results[("branch", "B2")]  # re-normalised over its 8 sufficient KPIs, all at 100
    assert b2["overall"]["score"] == 100.0
    assert sum(k["weight_share"] for k in b2["kpis"]) == pytest.approx(1.0, abs=1e-3)
    assert kpi(b2, "survey_response_rate")["weight_share"] == 0.0


def test_snapshot_details(results):
    b1 = results[("branch", "B1")]
    assert [(w["source"], w["key"], w["missed"], w["total"]) for w in b1["weakest_items"]] == [
        ("qa", "greeting", 3, 7), ("mystery", "explain", 1, 1), ("mystery", "greet", 1, 1),
        ("qa", "verify_id", 1, 7)]
    assert b1["weakest_items"][0]["label"] == "主动问候"
    assert b1["weakest_items"][0]["labels"]["en"] == "Greets first"
    assert b1["complaints"] == {"received": 7, "closed": 5, "closed_in_time": 4, "upheld": 2,
                                "open": 2}
    finding = b1["audit"]["open_findings"][0]
    assert finding["severity"] == "major" and finding["item"] == "现金柜上锁"
    assert b1["audit"]["overdue_actions"][0]["due"] == "2026-10-20"
    assert b1["entity"] == {"code": "B1", "name": "华东一支行", "branch_code": "B1",
                            "branch_name": "华东一支行", "region": "华东"}
    assert [a["code"] for a in b1["agents"]] == ["B1-A1", "B1-A2"]


def test_registry_entries_are_complete():
    assert {k.key for k in kpis_for("branch")} == set(B1)
    assert {k.key for k in kpis_for("agent")} == set(A1) | {"complaint_median_days_to_close"}
    for k in KPIS.values():
        assert k.direction in ("higher", "lower") and k.scope in ("branch", "agent", "both")
        assert str(k.label) and k.queries
    # measure(): the gate on the minimum sample
    csat = KPIS["csat_pct"]
    assert measure(csat, {"csat_n": 9, "csat_satisfied": 9})["value"] is None
    assert measure(csat, {"csat_n": 10, "csat_satisfied": 9})["value"] == 90.0
    assert measure(csat, None) == {"value": None, "sample": 0, "min_sample": 10,
                                   "sufficient": False}


def _count_queries(fn) -> int:
    engine = _db.engine
    seen = []

    def count(*_a, **_k):
        seen.append(1)

    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        fn()
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    return len(seen)


def test_query_count_does_not_grow_with_branches_and_agents(scorecard_world, make_branch,
                                                            make_agent):
    computed()  # seed the default models first
    _db.session.commit()
    before = _count_queries(computed)
    for _ in range(3):
        b = make_branch()
        for _ in range(4):
            make_agent(b)
    _db.session.expire_all()
    after = _count_queries(computed)
    assert before == after
    assert before < 45


@pytest.mark.postgres
def test_kpis_on_postgresql(pg_scorecard_world):
    res = computed()
    got = values(res[("branch", "B1")])
    for key, want in B1.items():
        assert got[key] == pytest.approx(want, abs=1e-4), key
    assert values(res[("agent", "B1-A1")])["complaints_per_1000"] == pytest.approx(50.0)
    assert res[("branch", "B1")]["overall"]["score"] == 79.6

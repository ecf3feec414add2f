"""Scorecard pages: who sees what (404 for another branch), the league table, the model
pages and the AHP page's refusal with its explanation."""

from __future__ import annotations

from unittest import mock

from qms.extensions import db as _db
from qms.scorecards.models import ScorecardModelVersion
from qms.scorecards.scorecard_models import active_version, ensure_default_models
from qms.scorecards.snapshots import compute_period, get_snapshot, mark_stale
from tests.scorecards.conftest import NOW

P = "?period=2026-10"


def frozen():
    return mock.patch("qms.scorecards.views.pages.now_utc", return_value=NOW)


def computed():
    compute_period("2026-10", now=NOW)
    _db.session.commit()


def test_branch_head_sees_their_branch_and_its_agents_only(scorecard_world, login, make_user):
    w = scorecard_world
    computed()
    c = login(make_user("branch_head", branch=w.b1))
    page = c.get("/scorecards/branches/B1" + P)
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "华东一支行" in text and "79.6" in text and "85.7%" in text
    assert "/scorecards/agents/B1-A1?period=2026-10" in text  # links to own agents
    assert c.get("/scorecards/agents/B1-A2" + P).status_code == 200
    other = c.get("/scorecards/branches/B2" + P)
    assert other.status_code == c.get("/scorecards/agents/B2-A3" + P).status_code == 404
    assert "华南二支行" not in other.get_data(as_text=True)
    assert c.get("/scorecards/league" + P).status_code == 403
    with frozen():
        assert c.get("/scorecards/").headers["Location"].endswith("/scorecards/branches/B1")


def test_agent_sees_only_their_own_scorecard(scorecard_world, login, make_user):
    w = scorecard_world
    computed()
    c = login(make_user("agent", branch=w.b1, agent=w.a1))
    own = c.get("/scorecards/agents/B1-A1" + P)
    assert own.status_code == 200 and "王小明" in own.get_data(as_text=True)
    assert c.get("/scorecards/agents/B1-A2" + P).status_code == 404  # a colleague
    assert c.get("/scorecards/agents/B2-A3" + P).status_code == 404
    assert c.get("/scorecards/branches/B1" + P).status_code == 403
    assert c.get("/scorecards/").headers["Location"].endswith("/scorecards/agents/B1-A1")


def test_league_table_with_region_filter_and_compute(scorecard_world, login, make_user):
    c = login(make_user("qa"))
    with frozen():
        page = c.get("/scorecards/league" + P)  # a closed month: computed on first view
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "B1 华东一支行" in text and "B2 华南二支行" in text
    assert text.index("B2 华南二支行") < text.index("B1 华东一支行")  # rank 1 first
    east = c.get("/scorecards/league" + P + "&region=华东").get_data(as_text=True)
    assert "B1 华东一支行" in east and "B2 华南二支行" not in east
    agents = c.get("/scorecards/league" + P + "&scope=agent").get_data(as_text=True)
    assert "B1-A1 王小明" in agents and "B2-A3 陈大文" in agents

    mark_stale("2026-10")
    _db.session.commit()
    assert "stale" in c.get("/scorecards/league" + P).get_data(as_text=True)
    old = get_snapshot("branch", "B1", "2026-10").id
    resp = c.post("/scorecards/compute", data={"period": "2026-10"})
    assert resp.status_code == 302
    _db.session.expire_all()
    assert get_snapshot("branch", "B1", "2026-10").id != old  # recomputed, old kept
    assert c.post("/scorecards/compute", data={"period": "2026-1"}).status_code == 302
    auditor = login(make_user("auditor"), c=c.application.test_client())
    assert auditor.get("/scorecards/league" + P).status_code == 200
    assert auditor.post("/scorecards/compute", data={"period": "2026-10"}).status_code == 403


def test_free_text_is_escaped(scorecard_world, login, make_user):
    w = scorecard_world
    w.a2.name = '<script>alert("x")</script>'
    _db.session.commit()
    computed()
    c = login(make_user("qa"))
    text = c.get("/scorecards/branches/B1" + P).get_data(as_text=True)
    assert '<script>alert("x")</script>' not in text
    assert "&lt;script&gt;" in text


def test_snapshot_history_shows_the_earlier_snapshot(scorecard_world, login, make_user):
    computed()
    old = get_snapshot("branch", "B1", "2026-10")
    mark_stale("2026-10")
    compute_period("2026-10", now=NOW.replace(day=20))
    _db.session.commit()
    c = login(make_user("qa", locale="en"))
    page = c.get(f"/scorecards/branches/B1{P}&snapshot={old.id}").get_data(as_text=True)
    assert "earlier snapshot" in page and old.content_hash[:16] in page
    assert c.get(f"/scorecards/branches/B1{P}&snapshot=999999").status_code == 404
    assert c.get("/scorecards/branches/B1?period=bad").status_code == 404


def _draft(c, scope="branch"):
    versions = ensure_default_models(NOW)
    _db.session.commit()
    model = versions[scope].model
    resp = c.post(f"/scorecards/models/{model.id}/versions")
    assert resp.status_code == 302
    draft = _db.session.query(ScorecardModelVersion).filter_by(model_id=model.id,
                                                               number=2).one()
    return model, draft


def _kpi_form(rows, green=85, amber=70) -> dict:
    data = {"overall_green": green, "overall_amber": amber}
    for i, (key, target, g, a, weight) in enumerate(rows):
        data.update({f"kpis-{i}-key": key, f"kpis-{i}-include": "y", f"kpis-{i}-target": target,
                     f"kpis-{i}-green": g, f"kpis-{i}-amber": a, f"kpis-{i}-weight": weight})
    return data


def test_model_version_edit_validate_and_publish(scorecard_world, login, make_user):
    c = login(make_user("qa", locale="en"))
    model, draft = _draft(c)
    url = f"/scorecards/models/{model.id}/versions/{draft.id}"
    assert c.get(url).status_code == 200
    bad = c.post(url, data=_kpi_form([("csat_pct", 90, 80, 85, 50)]))  # amber above green
    assert bad.status_code == 400 and "amber must not be above green" in bad.get_data(True)
    ok = c.post(url, data=_kpi_form([("csat_pct", 90, 90, 80, 60), ("qa_score", 90, 90, 80, 40)]))
    assert ok.status_code == 302
    _db.session.expire_all()
    assert [k["key"] for k in draft.kpis] == ["csat_pct", "qa_score"]
    assert c.post(url + "/publish").status_code == 302
    _db.session.expire_all()
    assert active_version("branch").id == draft.id
    assert c.post(url, data=_kpi_form([("csat_pct", 90, 90, 80, 1)])).status_code == 400
    computed()
    b1 = get_snapshot("branch", "B1", "2026-10").data
    assert [k["key"] for k in b1["kpis"]] == ["csat_pct", "qa_score"]
    assert b1["model"]["version"] == 2
    # 95.24 * 0.6 + 82.54 * 0.4
    assert b1["overall"]["score"] == round(95.24 * 0.6 + 82.54 * 0.4, 2)
    reader = login(make_user("auditor", locale="en"), c=c.application.test_client())
    assert reader.get(url).status_code == 200
    assert reader.post(url, data=_kpi_form([("csat_pct", 90, 90, 80, 1)])).status_code == 403


def test_ahp_page_refuses_inconsistent_judgements_and_explains(scorecard_world, login,
                                                               make_user):
    c = login(make_user("admin", locale="en"))
    model, draft = _draft(c)
    url = f"/scorecards/models/{model.id}/versions/{draft.id}"
    c.post(url, data=_kpi_form([("csat_pct", 90, 90, 80, 1), ("qa_score", 90, 90, 80, 1),
                                ("mystery_score", 90, 90, 80, 1),
                                ("audit_score", 90, 90, 80, 1)]))
    assert c.get(url + "/ahp").status_code == 200
    # Saaty's light example (CR 0.14): refused, version unchanged, worst judgement named
    light = {"a_0_1": "5", "a_0_2": "6", "a_0_3": "7", "a_1_2": "4", "a_1_3": "6",
             "a_2_3": "4"}
    refused = c.post(url + "/ahp", data=light)
    text = refused.get_data(as_text=True)
    assert refused.status_code == 400 and "Refused" in text and "0.145" in text
    assert "“CSAT” against “Audit score”" in text
    _db.session.expire_all()
    assert draft.weighting == "manual" and [k["weight"] for k in draft.kpis] == [1, 1, 1, 1]
    # a consistent matrix: weights 8:4:2:1
    fine = {"a_0_1": "2", "a_0_2": "4", "a_0_3": "8", "a_1_2": "2", "a_1_3": "4",
            "a_2_3": "2"}
    assert c.post(url + "/ahp", data=fine).status_code == 302
    _db.session.expire_all()
    assert draft.weighting == "ahp" and draft.ahp_cr == 0.0
    assert [k["weight"] for k in draft.kpis] == [53.33, 26.67, 13.33, 6.67]
    page = c.get(url + "/ahp").get_data(as_text=True)
    assert "53.3%" in page, page
    assert "<option selected value=\"8\">" in page
    published = active_version("branch")
    assert c.post(f"/scorecards/models/{model.id}/versions/{published.id}/ahp",
                  data=fine).status_code == 400

"""GET /api/v1/scorecards/{branches,agents}/<code>?period=: the snapshot as JSON, scoped."""

from __future__ import annotations

from unittest import mock

import sqlalchemy as sa

from qms.auth.services import create_api_token
from qms.core.api import build_openapi
from qms.extensions import db as _db
from qms.scorecards.models import ScorecardSnapshot
from qms.scorecards.snapshots import compute_period, get_snapshot
from tests.scorecards.conftest import NOW


def token(role, branch=None, region=None) -> dict:
    _row, secret = create_api_token(name=f"t-{role}", role=role,
                                    branch_code=branch.code if branch else None, region=region)
    _db.session.commit()
    return {"Authorization": f"Bearer {secret}"}


def frozen_now():
    return mock.patch("qms.scorecards.api.snapshots.now_utc", return_value=NOW)


def test_branch_snapshot_json_is_the_stored_snapshot(scorecard_world, client):
    compute_period("2026-10", now=NOW)
    _db.session.commit()
    resp = client.get("/api/v1/scorecards/branches/B1?period=2026-10", headers=token("qa"))
    assert resp.status_code == 200
    body = resp.get_json()
    snap = get_snapshot("branch", "B1", "2026-10")
    assert {k: v for k, v in body.items() if k != "snapshot"} == snap.data
    assert body["snapshot"]["content_hash"] == snap.content_hash
    assert body["snapshot"]["stale"] is False
    assert body["overall"] == {"score": 79.6, "rag": "amber", "rank": 2, "of": 2,
                               "rank_in_branch": None, "of_in_branch": None}
    kpis = {k["key"]: k for k in body["kpis"]}
    assert kpis["csat_pct"]["value"] == 85.7143 and kpis["csat_pct"]["sample"] == 14
    assert [a["code"] for a in body["agents"]] == ["B1-A1", "B1-A2"]

    agent = client.get("/api/v1/scorecards/agents/B1-A2?period=2026-10", headers=token("admin"))
    assert agent.status_code == 200
    a2 = {k["key"]: k for k in agent.get_json()["kpis"]}
    assert a2["csat_pct"]["value"] is None and a2["csat_pct"]["sufficient"] is False


def test_a_closed_month_is_computed_on_first_request(scorecard_world, client):
    auth = token("qa")
    assert _db.session.scalar(sa.select(sa.func.count(ScorecardSnapshot.id))) == 0
    with frozen_now():
        resp = client.get("/api/v1/scorecards/branches/B2?period=2026-10", headers=auth)
        assert resp.status_code == 200 and resp.get_json()["overall"]["rank"] == 1
        assert _db.session.scalar(sa.select(sa.func.count(ScorecardSnapshot.id))) == 5
        running = client.get("/api/v1/scorecards/branches/B2?period=2026-11", headers=auth)
        assert running.status_code == 404 and "computed" in running.get_json()["error"]
        default = client.get("/api/v1/scorecards/branches/B2", headers=auth)
        assert default.status_code == 200 and default.get_json()["period"] == "2026-10"
    bad = client.get("/api/v1/scorecards/branches/B2?period=2026-13", headers=auth)
    assert bad.status_code == 400 and bad.get_json()["fields"] == {"period": "YYYY-MM"}


def test_a_branch_token_gets_404_for_any_other_branch(scorecard_world, client):
    w = scorecard_world
    compute_period("2026-10", now=NOW)
    _db.session.commit()
    own = token("branch_head", branch=w.b1)
    assert client.get("/api/v1/scorecards/branches/B1?period=2026-10",
                      headers=own).status_code == 200
    assert client.get("/api/v1/scorecards/agents/B1-A2?period=2026-10",
                      headers=own).status_code == 200
    other = client.get("/api/v1/scorecards/branches/B2?period=2026-10", headers=own)
    other_agent = client.get("/api/v1/scorecards/agents/B2-A3?period=2026-10", headers=own)
    missing = client.get("/api/v1/scorecards/branches/NOPE?period=2026-10", headers=own)
    assert other.status_code == other_agent.status_code == missing.status_code == 404
    assert set(other.get_json()) == {"error", "fields"}
    assert b"B2" not in other.data and "华南".encode() not in other.data
    # a region-scoped QA token: its region only
    south = token("qa", region="华南")
    assert client.get("/api/v1/scorecards/branches/B2?period=2026-10",
                      headers=south).status_code == 200
    assert client.get("/api/v1/scorecards/branches/B1?period=2026-10",
                      headers=south).status_code == 404


def test_roles_and_tokens(scorecard_world, client):
    assert client.get("/api/v1/scorecards/branches/B1").status_code == 401
    agent = token("agent", branch=scorecard_world.b1)
    resp = client.get("/api/v1/scorecards/agents/B1-A1?period=2026-10", headers=agent)
    assert resp.status_code == 403 and set(resp.get_json()) == {"error", "fields"}


def test_openapi_describes_the_scorecard_routes(app):
    spec = build_openapi()
    for path in ("/scorecards/branches/{code}", "/scorecards/agents/{code}"):
        op = spec["paths"][path]["get"]
        assert {"200", "401", "403", "404"} <= set(op["responses"])
        assert any(p["name"] == "period" for p in op["parameters"])
    schema = spec["components"]["schemas"]["ScorecardSnapshot"]["properties"]
    assert {"overall", "kpis", "weakest_items", "audit", "complaints", "agents"} <= set(schema)

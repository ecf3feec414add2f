"""GET /api/v1/surveys/<id>/results: the service's numbers, token scope, JSON errors."""

from __future__ import annotations

import pytest

from qms.auth.services import create_api_token
from qms.extensions import db as _db
from tests.surveys import results_data


@pytest.fixture
def data(app):
    return results_data.build(_db)


def _auth(role, branch=None) -> dict:
    _token, secret = create_api_token(name=f"t-{role}", role=role,
                                      branch_code=branch.code if branch else None)
    _db.session.commit()
    return {"Authorization": f"Bearer {secret}"}


def _get(client, data, query="", headers=None):
    return client.get(f"/api/v1/surveys/{data.survey.id}/results{query}", headers=headers or {})


def test_numbers_are_the_hand_computed_ones(data, client):
    resp = _get(client, data, headers=_auth("qa"))
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["min_sample"] == 10
    s = body["summary"]
    assert s["responses"] == 10
    assert s["csat_percent"] == {"value": 50.0, "n": 10, "status": "ok"}
    assert s["nps"] == {"value": 10.0, "n": 10, "status": "ok", "promoters": 4, "passives": 3,
                        "detractors": 3}
    assert s["ces"] == {"value": 4.4, "n": 10, "status": "ok"}
    assert s["response_rate_percent"] == {"value": 43.75, "n": 16, "status": "ok",
                                          "completed": 7, "delivered": 16}
    assert [m["month"] for m in body["trend"]] == ["2025-01", "2025-02"]
    jan = body["trend"][0]
    assert jan["responses"] == 5 and jan["csat_percent"] == {"value": None, "n": 5,
                                                              "status": "insufficient"}
    assert jan["response_rate_percent"]["value"] == 40.0  # 10 invitations: enough
    assert body["breakdown"]["by"] == "branch"
    assert [(r["key"], r["label"], r["responses"]) for r in body["breakdown"]["rows"]] == [
        ("RA", "甲支行", 5), ("RB", "乙支行", 5)]
    questions = {q["key"]: q for q in body["questions"]}
    assert questions["purpose"]["label"] == "到访目的"  # zh_Hans unless lang= says otherwise
    assert [(c["key"], c["count"]) for c in questions["improve"]["counts"]] == [
        ("wait", 4), ("staff", 3), ("app", 2)]
    assert questions["grid"]["rows"][0]["mean"] == 4.0
    assert questions["nps"]["kpi"]["value"] == 10.0


def test_filters(data, client):
    auth = _auth("admin")
    vip = _get(client, data, "?segment=vip&lang=en&by=agent", auth).get_json()
    assert vip["summary"]["responses"] == 4 and vip["filters"] == {"segment": "vip"}
    assert {q["key"]: q for q in vip["questions"]}["purpose"]["label"] == "Purpose of visit"
    assert {r["key"] for r in vip["breakdown"]["rows"]} == {"RA-01", "RA-02", "RB-01"}
    feb = _get(client, data, "?from=2025-02-01&to=2025-02-28", auth).get_json()
    assert feb["summary"]["responses"] == 5 and feb["summary"]["response_rate_percent"][
        "delivered"] == 6
    jan_last = _get(client, data, "?from=2025-01-31&to=2025-01-31&branch=RA", auth).get_json()
    assert jan_last["summary"]["responses"] == 1  # 23:59:59 UTC on the 31st
    counter = _get(client, data, "?channel=counter&agent=RB-01", auth).get_json()
    assert counter["summary"]["responses"] == 1
    camp = _get(client, data, f"?campaign={data.campaigns['A'].id}", auth).get_json()
    assert camp["summary"]["response_rate_percent"]["delivered"] == 6


def test_same_numbers_as_the_page(data, client, login, make_user):
    api = _get(client, data, "?by=branch", _auth("qa")).get_json()
    page = login(make_user("qa", locale="en")).get(
        f"/surveys/results?survey={data.survey.id}").get_data(as_text=True)
    assert f'{api["summary"]["csat_percent"]["value"]:.1f}%' in page
    assert f'+{api["summary"]["nps"]["value"]:.1f}' in page
    assert f'{api["summary"]["ces"]["value"]:.2f}' in page
    assert f'{api["summary"]["response_rate_percent"]["value"]:.1f}%' in page


def test_branch_token_sees_only_its_branch(data, client):
    auth = _auth("branch_head", data.a)
    body = _get(client, data, "", auth).get_json()
    assert body["summary"]["responses"] == 5
    assert body["summary"]["response_rate_percent"]["delivered"] == 6
    assert [r["key"] for r in body["breakdown"]["rows"]] == ["RA"]
    missing = client.get("/api/v1/surveys/999999/results", headers=auth)
    for query in ("?branch=RB", "?branch=NOPE", "?agent=RB-01",
                  f"?campaign={data.campaigns['B'].id}"):
        resp = _get(client, data, query, auth)
        assert resp.status_code == 404, query
        assert resp.get_json() == missing.get_json()
        assert set(resp.get_json()) == {"error", "fields"}


def test_unauthenticated_forbidden_and_bad_input(data, client):
    resp = _get(client, data)
    assert resp.status_code == 401 and resp.headers["WWW-Authenticate"].startswith("Bearer")
    assert set(resp.get_json()) == {"error", "fields"}
    for role in ("agent", "auditor", "complaints", "shopper"):
        resp = _get(client, data, "", _auth(role, data.a if role == "agent" else None))
        assert resp.status_code == 403, role
        assert "responses" not in resp.get_data(as_text=True)
    auth = _auth("qa")
    bad = _get(client, data, "?from=yesterday&segment=gold&by=planet", auth)
    assert bad.status_code == 400
    assert set(bad.get_json()["fields"]) == {"from", "segment"}
    assert _get(client, data, "?by=planet", auth).get_json()["fields"] == {
        "by": "one of branch, agent, segment, channel, campaign"}
    assert _get(client, data, "?lang=fr", auth).status_code == 400


def test_openapi_describes_the_endpoint(app, client):
    spec = client.get("/api/v1/openapi.json").get_json()
    op = spec["paths"]["/surveys/{survey_id}/results"]["get"]
    assert {p["name"] for p in op["parameters"]} >= {
        "survey_id", "branch", "agent", "segment", "channel", "from", "to", "campaign"}
    assert set(op["responses"]) >= {"200", "400", "401", "404"}
    assert "SurveyResults" in spec["components"]["schemas"]

"""POST /api/v1/interactions and GET /api/v1/interactions/<id>: roles, scope, 201/200/400/409,
nothing stored on a refusal, and the OpenAPI description."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from qms.auth.services import create_api_token
from qms.extensions import db as _db
from qms.qa.models import Interaction
from tests.qa.interaction_support import build_world, evaluate
from tests.qa.qa_support import make_rubric

BODY = {"channel": "call", "external_ref": "CC-20260301-0001", "agent_code": "SH-01",
        "occurred_at": "2026-03-01T09:30:00+08:00", "duration_seconds": 312,
        "customer_ref": "C0001", "summary": "客户咨询信用卡分期手续费。",
        "media_url": "https://recordings.bank.test/CC-20260301-0001",
        "transcript": "坐席：您好，工号 8801……"}


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store(request):
    return request.getfixturevalue("app" if request.param == "sqlite" else "pg_app")


@pytest.fixture
def iworld(store, make_branch, make_agent, make_user):
    return build_world(make_branch, make_agent, make_user)


def token(role, branch=None, region=None) -> dict:
    _row, secret = create_api_token(name=f"t-{role}", role=role,
                                    branch_code=branch.code if branch else None, region=region)
    _db.session.commit()
    return {"Authorization": f"Bearer {secret}", "Accept-Language": "en"}


def count() -> int:
    return _db.session.scalar(sa.select(sa.func.count(Interaction.id)))


def test_create_then_read(iworld, client):
    auth = token("qa")
    resp = client.post("/api/v1/interactions", json=BODY, headers=auth)
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert resp.headers["Location"].endswith(f"/api/v1/interactions/{body['id']}")
    assert body == {**{k: BODY[k] for k in ("channel", "external_ref", "agent_code",
                                              "duration_seconds", "customer_ref", "summary",
                                              "media_url")},
                    "id": body["id"], "branch_code": "SH", "occurred_at": "2026-03-01T01:30:00Z",
                    "source": "api", "created_at": body["created_at"]}
    i = _db.session.get(Interaction, body["id"])
    assert i.transcript.startswith("坐席") and i.source == "api"
    got = client.get(f"/api/v1/interactions/{body['id']}", headers=auth)
    assert got.status_code == 200 and got.get_json() == body


def test_bad_input_is_400_with_every_field_and_stores_nothing(iworld, client):
    auth = token("admin")
    resp = client.post("/api/v1/interactions", headers=auth, json={
        **BODY, "channel": "telex", "agent_code": "NOPE", "occurred_at": "2026-13-01",
        "media_url": "javascript:alert(1)", "priority": "high"})
    assert resp.status_code == 400
    body = resp.get_json()
    assert set(body) == {"error", "fields"}
    assert set(body["fields"]) == {"channel", "agent_code", "occurred_at", "media_url",
                                   "priority"}
    assert body["fields"]["agent_code"] == "No agent has the code NOPE."
    for payload in ("not json", "[1, 2]"):
        resp = client.post("/api/v1/interactions", data=payload, headers={
            **auth, "Content-Type": "application/json"})
        assert resp.status_code == 400 and resp.get_json()["fields"] == {
            "body": "Send a JSON object."}
    assert client.post("/api/v1/interactions", json={}, headers=auth).get_json()[
        "fields"].keys() == {"channel", "external_ref", "agent_code", "occurred_at"}
    assert count() == 0


def test_sending_again_is_an_idempotent_update(iworld, client):
    auth = token("qa")
    first = client.post("/api/v1/interactions", json=BODY, headers=auth).get_json()
    again = client.post("/api/v1/interactions", json=BODY, headers=auth)
    assert again.status_code == 200 and again.get_json()["id"] == first["id"]
    later = client.post("/api/v1/interactions", headers=auth, json={
        "channel": "call", "external_ref": BODY["external_ref"], "agent_code": "SH-01",
        "occurred_at": BODY["occurred_at"], "summary": "已回访", "customer_ref": None})
    assert later.status_code == 200
    body = later.get_json()
    assert (body["summary"], body["customer_ref"], body["duration_seconds"]) == (
        "已回访", None, 312)
    assert count() == 1


def test_an_evaluated_interaction_cannot_get_another_agent(iworld, client):
    auth = token("qa")
    first = client.post("/api/v1/interactions", json=BODY, headers=auth).get_json()
    evaluate(make_rubric(), _db.session.get(Interaction, first["id"]))
    resp = client.post("/api/v1/interactions", json={**BODY, "agent_code": "SH-02"},
                       headers=auth)
    assert resp.status_code == 409
    assert set(resp.get_json()) == {"error", "fields"} and "agent_code" in resp.get_json()[
        "fields"]
    _db.session.expire_all()
    assert _db.session.get(Interaction, first["id"]).agent_id == iworld.a1.id


def test_a_branch_token_records_and_reads_its_branch_only(iworld, client):
    w = iworld
    sh = token("branch_head", branch=w.sh)
    ok = client.post("/api/v1/interactions", json=BODY, headers=sh)
    assert ok.status_code == 201
    other = client.post("/api/v1/interactions", headers=sh, json={
        **BODY, "external_ref": "LN-1", "agent_code": "LN-01"})
    assert other.status_code == 400
    assert other.get_json()["fields"] == {"agent_code": "No agent has the code LN-01."}

    ln = token("branch_head", branch=w.ln)
    ln_item = client.post("/api/v1/interactions", headers=ln, json={
        **BODY, "external_ref": "LN-1", "agent_code": "LN-01"}).get_json()
    # the other branch's reference cannot be taken over by re-sending it with an own agent
    taken = client.post("/api/v1/interactions", headers=sh, json={
        **BODY, "external_ref": "LN-1", "agent_code": "SH-01"})
    assert taken.status_code == 409
    own = client.get(f"/api/v1/interactions/{ok.get_json()['id']}", headers=sh)
    foreign = client.get(f"/api/v1/interactions/{ln_item['id']}", headers=sh)
    missing = client.get("/api/v1/interactions/999999", headers=sh)
    assert own.status_code == 200
    assert foreign.status_code == missing.status_code == 404
    assert foreign.get_json() == missing.get_json()
    # a region-scoped qa token is limited the same way
    abroad = token("qa", region="海外")
    assert client.get(f"/api/v1/interactions/{ln_item['id']}", headers=abroad).status_code == 200
    assert client.get(f"/api/v1/interactions/{ok.get_json()['id']}",
                      headers=abroad).status_code == 404


@pytest.mark.parametrize("role", ["agent", "auditor", "complaints", "shopper"])
def test_other_roles_are_refused(iworld, client, role):
    branch = iworld.sh if role == "agent" else None
    resp = client.post("/api/v1/interactions", json=BODY, headers=token(role, branch=branch))
    assert resp.status_code == 403 and set(resp.get_json()) == {"error", "fields"}
    assert count() == 0


def test_no_token_is_401(iworld, client):
    resp = client.post("/api/v1/interactions", json=BODY)
    assert resp.status_code == 401 and resp.headers["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/api/v1/interactions/1").status_code == 401


def test_a_future_time_is_refused(iworld, client):
    future = datetime.now(UTC).replace(microsecond=0).year + 1
    resp = client.post("/api/v1/interactions", headers=token("qa"), json={
        **BODY, "occurred_at": f"{future}-01-01T00:00:00+08:00"})
    assert resp.status_code == 400 and "future" in resp.get_json()["fields"]["occurred_at"]


def test_openapi_describes_the_interaction_endpoints(app, client):
    spec = client.get("/api/v1/openapi.json").get_json()
    post = spec["paths"]["/interactions"]["post"]
    assert {"201", "200", "400", "401", "403", "409"} <= set(post["responses"])
    assert "branch_head" in post["description"] and "call-centre" in post["description"]
    assert "/interactions/{interaction_id}" in spec["paths"]
    request_schema = spec["components"]["schemas"]["InteractionRequest"]
    assert request_schema["required"] == ["channel", "external_ref", "agent_code", "occurred_at"]


def test_access_decisions_are_pinned(app):
    from qms.core.permissions import Access, permission_table

    table = permission_table(app)
    reporters = frozenset({"admin", "qa", "branch_head"})
    assert table["qa_api.create_interaction"] == Access(api=True, roles=reporters)
    assert table["qa_api.get_interaction"] == Access(api=True, roles=reporters)
    assert table["qa.interactions"] == table["qa.interaction_detail"] == Access(roles=reporters)
    for e in ("interaction_new", "interaction_import", "interaction_import_template"):
        assert table[f"qa.{e}"] == Access(roles=frozenset({"admin", "qa"}))

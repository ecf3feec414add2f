"""API tokens: shown once, stored as a hash, checked on every call; the OpenAPI description."""

from __future__ import annotations

import base64
import hashlib
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from qms.auth import services
from qms.auth.models import ApiToken
from qms.extensions import db as _db


@pytest.fixture
def branches(make_branch, make_agent):
    a = make_branch(code="BA", region="华东", name="甲支行")
    b = make_branch(code="BB", region="华南", name="乙支行")
    make_agent(a, code="BA-01")
    make_agent(b, code="BB-01")
    return a, b


def cli_token(runner, *args) -> str:
    result = runner.invoke(args=["api-tokens", "create", *args])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output  # the token and nothing else
    return lines[0].strip()


def bearer(secret: str) -> dict:
    return {"Authorization": f"Bearer {secret}"}


def assert_unauthorized(resp):
    assert resp.status_code == 401
    assert resp.is_json
    body = resp.get_json()
    assert set(body) == {"error", "fields"} and body["fields"] == {}
    assert isinstance(body["error"], str) and body["error"]
    assert resp.headers.get("WWW-Authenticate", "").startswith("Bearer")


# -- creation -------------------------------------------------------------------------------

def test_cli_prints_a_strong_token_once_and_stores_only_its_hash(app, runner, branches):
    result = runner.invoke(args=["api-tokens", "create", "--name", "core banking",
                                 "--role", "qa"])
    assert result.exit_code == 0, result.output
    secret = result.output.strip()
    assert result.output.count(secret) == 1

    body = secret.removeprefix("qms_")
    assert re.fullmatch(r"[A-Za-z0-9_-]+", body)
    raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    assert len(raw) * 8 >= 128

    [row] = _db.session.scalars(sa.select(ApiToken)).all()
    assert row.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert (row.name, row.role, row.branch_id, row.revoked_at) == ("core banking", "qa", None, None)

    # The secret appears nowhere in the table, the audit log, or the database file.
    with _db.engine.connect() as conn:
        for table in ("api_tokens", "audit_log"):
            for record in conn.execute(sa.text(f"SELECT * FROM {table}")):
                assert all(secret not in str(v) for v in record), table
    db_path = Path(_db.engine.url.database)
    _db.session.remove()
    _db.engine.dispose()  # checkpoint the WAL into the file
    for path in (db_path, Path(f"{db_path}-wal")):
        if path.exists():
            assert secret.encode() not in path.read_bytes()
            assert body.encode() not in path.read_bytes()


def test_tokens_differ(app, runner):
    tokens = {cli_token(runner, "--name", f"t{i}", "--role", "auditor") for i in range(5)}
    assert len(tokens) == 5


@pytest.mark.parametrize("args", [
    ["--name", "x", "--role", "superuser"],
    ["--name", "x", "--role", "branch_head"],               # a branch role needs a branch
    ["--name", "x", "--role", "agent", "--branch", "NOPE"],
    ["--name", "x", "--role", "shopper", "--branch", "BA"],
    ["--name", " ", "--role", "qa"],
])
def test_cli_refuses_bad_input(app, runner, branches, args):
    result = runner.invoke(args=["api-tokens", "create", *args])
    assert result.exit_code == 2, result.output
    assert not re.search(r"qms_[A-Za-z0-9_-]{16,}", result.output)
    assert _db.session.scalar(sa.select(sa.func.count(ApiToken.id))) == 0


def test_admin_page_shows_a_new_token_once(app, client, login, make_user, branches):
    login(make_user("admin"))
    resp = client.post("/admin/api-tokens", data={"name": "call centre", "role": "branch_head",
                                                  "branch_code": "BA"})
    assert resp.status_code == 200
    secret = re.search(r"qms_[A-Za-z0-9_-]{20,}", resp.get_data(as_text=True)).group(0)
    row = _db.session.scalar(sa.select(ApiToken))
    assert row.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert row.branch.code == "BA"
    again = client.get("/admin/api-tokens").get_data(as_text=True)
    assert secret not in again and "call centre" in again and row.prefix in again
    assert client.get("/api/v1/branches", headers=bearer(secret)).status_code == 200


# -- checking -------------------------------------------------------------------------------

def test_missing_malformed_and_wrong_tokens_are_401_json(app, client, runner, branches):
    secret = cli_token(runner, "--name", "n", "--role", "qa")
    for headers in ({}, {"Authorization": ""}, {"Authorization": "Bearer"},
                    {"Authorization": "Bearer   "}, {"Authorization": f"Basic {secret}"},
                    {"Authorization": f"Token {secret}"}, {"Authorization": secret},
                    bearer(secret + "x"), bearer(secret[:-1]), bearer("qms_" + "A" * 32),
                    bearer(hashlib.sha256(secret.encode()).hexdigest())):  # the stored hash
        for url in ("/api/v1/branches", "/api/v1/branches/BA"):
            resp = client.get(url, headers=headers)
            assert_unauthorized(resp)
            assert b"BA" not in resp.data
    # Not from the query string either: URLs end up in logs.
    assert_unauthorized(client.get(f"/api/v1/branches?access_token={secret}"))
    # The right one, with the scheme in any case.
    assert client.get("/api/v1/branches", headers=bearer(secret)).status_code == 200
    assert client.get("/api/v1/branches",
                      headers={"Authorization": f"bearer {secret}"}).status_code == 200


def test_revoked_token_is_401(app, client, login, make_user, branches):
    row, secret = services.create_api_token(name="old", role="auditor")
    _db.session.commit()
    assert client.get("/api/v1/branches", headers=bearer(secret)).status_code == 200

    admin = login(make_user("admin"), app.test_client())
    assert admin.post(f"/admin/api-tokens/{row.id}/revoke").status_code == 302
    _db.session.expire_all()
    assert _db.session.get(ApiToken, row.id).revoked_at is not None
    assert_unauthorized(client.get("/api/v1/branches", headers=bearer(secret)))
    assert_unauthorized(client.get("/api/v1/branches/BA", headers=bearer(secret)))

    row2, secret2 = services.create_api_token(name="older", role="qa")
    services.revoke_api_token(row2, now=datetime(2026, 1, 1, tzinfo=UTC))
    _db.session.commit()
    assert services.verify_api_token(secret2) is None
    assert_unauthorized(client.get("/api/v1/branches", headers=bearer(secret2)))


def test_token_of_a_role_without_api_access_is_403_json(app, client, runner, branches):
    secret = cli_token(runner, "--name", "s", "--role", "shopper")
    resp = client.get("/api/v1/branches", headers=bearer(secret))
    assert resp.status_code == 403 and set(resp.get_json()) == {"error", "fields"}


def test_branch_token_sees_only_its_branch(app, client, runner, branches):
    secret = cli_token(runner, "--name", "b", "--role", "branch_head", "--branch", "BA")
    listed = client.get("/api/v1/branches", headers=bearer(secret)).get_json()
    assert [b["code"] for b in listed["items"]] == ["BA"] and listed["total"] == 1
    assert client.get("/api/v1/branches?q=BB", headers=bearer(secret)).get_json()["items"] == []

    own = client.get("/api/v1/branches/BA", headers=bearer(secret))
    assert own.status_code == 200 and [a["code"] for a in own.get_json()["agents"]] == ["BA-01"]
    other = client.get("/api/v1/branches/BB", headers=bearer(secret))
    assert other.status_code == 404 and other.is_json
    assert set(other.get_json()) == {"error", "fields"}
    assert "乙支行" not in other.get_data(as_text=True)
    assert other.get_json() == client.get("/api/v1/branches/NOPE", headers=bearer(secret)).get_json()


def test_global_token_sees_every_branch(app, client, runner, branches):
    secret = cli_token(runner, "--name", "g", "--role", "complaints")
    listed = client.get("/api/v1/branches", headers=bearer(secret)).get_json()
    assert [b["code"] for b in listed["items"]] == ["BA", "BB"]
    assert client.get("/api/v1/branches/BB", headers=bearer(secret)).status_code == 200
    region = client.get("/api/v1/branches?region=华南", headers=bearer(secret)).get_json()
    assert [b["code"] for b in region["items"]] == ["BB"]


# -- OpenAPI --------------------------------------------------------------------------------

def _deref(spec: dict, node: dict) -> dict:
    while isinstance(node, dict) and "$ref" in node:
        target = spec
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def _documented_properties(spec: dict, schema: dict) -> set[str]:
    schema = _deref(spec, schema)
    names = set(schema.get("properties", {}))
    for part in schema.get("allOf", []):
        names |= _documented_properties(spec, part)
    return names


def test_openapi_is_a_valid_openapi_3_document_listing_every_api_route(app, client):
    from openapi_spec_validator import validate

    resp = client.get("/api/v1/openapi.json")  # public: no token
    assert resp.status_code == 200 and resp.is_json
    spec = resp.get_json()
    assert spec["openapi"].startswith("3.")
    validate(spec)
    assert "/branches" in spec["paths"] and "get" in spec["paths"]["/branches"]
    assert "/branches/{code}" in spec["paths"]
    assert spec["components"]["securitySchemes"]["bearer"] == {"type": "http",
                                                               "scheme": "bearer"}
    base = spec["servers"][0]["url"]
    undocumented = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(base + "/"):
            continue
        path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule.removeprefix(base))
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            if method.lower() not in spec["paths"].get(path, {}):
                undocumented.append(f"{method} {rule.rule}")
    assert not undocumented, f"API routes missing from openapi.json: {undocumented}"


def test_openapi_describes_what_the_api_returns(app, client, runner, branches):
    from openapi_schema_validator import OAS30Validator

    spec = client.get("/api/v1/openapi.json").get_json()
    secret = cli_token(runner, "--name", "o", "--role", "admin")

    def check(path, url, status, headers):
        resp = client.get(url, headers=headers)
        assert resp.status_code == status
        doc = _deref(spec, spec["paths"][path]["get"]["responses"][str(status)])
        schema = doc["content"]["application/json"]["schema"]
        body = resp.get_json()
        OAS30Validator({**schema, "components": spec["components"]}).validate(body)
        return schema, body

    schema, body = check("/branches", "/api/v1/branches", 200, bearer(secret))
    item = _deref(spec, schema)["properties"]["items"]["items"]
    assert set(body["items"][0]) <= _documented_properties(spec, item)
    schema, body = check("/branches/{code}", "/api/v1/branches/BA", 200, bearer(secret))
    assert set(body) <= _documented_properties(spec, schema), "undocumented keys"
    check("/branches/{code}", "/api/v1/branches/NOPE", 404, bearer(secret))
    check("/branches", "/api/v1/branches", 401, {})

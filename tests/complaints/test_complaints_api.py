"""POST /api/v1/complaints and GET /api/v1/complaints/<reference>: 201, 400 with field errors and
nothing stored, 401/403, token scope, duplicates, attachments, and the OpenAPI description."""

# ruff: noqa: F811  (fixtures imported from intake_support are used as arguments)

from __future__ import annotations

import base64
from datetime import timedelta

import pytest
import sqlalchemy as sa

from qms.complaints.models import Complaint
from qms.core.db import now_utc
from qms.core.uploads import Attachment
from qms.extensions import db
from tests.complaints.intake_support import (  # noqa: F401
    HTML,
    PNG,
    bank,
    count,
    nothing_stored,
    token,
)

URL = "/api/v1/complaints"


def body(**kw) -> dict:
    base = {"complainant_name": "王芳", "complainant_email": "wang@example.test",
            "complainant_locale": "zh_Hans", "branch_code": "SH01", "agent_code": "SH01-007",
            "channel_code": "A05", "business_code": "B04", "cause_code": "C02",
            "product": "手机银行", "description": "转账失败但已扣款", "requested_outcome": "退款"}
    base.update(kw)
    return {k: v for k, v in base.items() if v is not None}


def test_201_with_reference_status_due_date_and_link(bank, client, token):
    resp = client.post(URL, json=body(), headers=token())
    assert resp.status_code == 201, resp.json
    data = resp.json
    assert data["reference"].startswith(f"CMP-{now_utc().year}-")
    assert data["status"] == "RECEIVED" and data["priority"] == "normal"
    assert data["due_on"] and "duplicate_of" not in data
    assert resp.headers["Location"] == f"/api/v1/complaints/{data['reference']}"
    c = db.session.scalar(sa.select(Complaint))
    assert c.reference == data["reference"] and c.intake_channel == "api"
    assert c.due_on.isoformat() == data["due_on"]
    assert c.events[0].actor_id is None and c.events[0].actor_label == "api:complaints-all"
    status_path = data["status_url"].replace("http://localhost", "")
    assert status_path.startswith("/complaint-status/")
    assert client.get(status_path).status_code == 200
    got = client.get(resp.headers["Location"], headers=token("qa"))
    assert got.status_code == 200
    assert (got.json["branch_code"], got.json["agent_code"], got.json["business_code"]) == (
        "SH01", "SH01-007", "B04")


def test_received_at_and_regulator_transfer(bank, client, token):
    received = (now_utc() - timedelta(days=3)).isoformat()
    resp = client.post(URL, json=body(received_at=received, source="regulator",
                                      regulator_ref="NFRA-2026-7"), headers=token())
    assert resp.status_code == 201
    c = db.session.scalar(sa.select(Complaint))
    assert c.received_at.isoformat() == received and c.regulator_ref == "NFRA-2026-7"
    assert resp.json["received_at"].endswith("Z")


BAD = [
    ({"description": None}, "description"),
    ({"branch_code": "NOPE"}, "branch_code"),
    ({"business_code": None}, "business_code"),
    ({"channel_code": "X1"}, "channel_code"),
    ({"received_at": "2999-01-01T00:00:00Z"}, "received_at"),
    ({"received_at": 12345}, "received_at"),
    ({"source": "regulator"}, "regulator_ref"),
    ({"severity": "urgent!!"}, "severity"),
    ({"complainant_email": "nope", "complainant_phone": None}, "complainant_email"),
    ({"descripton": "typo"}, "descripton"),
    ({"attachments": "not a list"}, "attachments"),
    ({"attachments": [{"filename": "a.png", "content_base64": "%%%"}]}, "attachments"),
    ({"attachments": [{"filename": "a.png",
                       "content_base64": base64.b64encode(HTML).decode()}]}, "attachments"),
]


@pytest.mark.parametrize("change,field", BAD, ids=[f for _c, f in BAD])
def test_400_names_the_field_and_stores_nothing(bank, client, token, change, field):
    resp = client.post(URL, json=body(**change), headers=token())
    assert resp.status_code == 400, resp.json
    assert set(resp.json) == {"error", "fields"} and field in resp.json["fields"]
    assert nothing_stored()


@pytest.mark.parametrize("raw,ctype", [("not json", "application/json"),
                                       ("[1, 2]", "application/json"),
                                       ("a=b", "application/x-www-form-urlencoded")])
def test_400_for_a_body_that_is_no_json_object(bank, client, token, raw, ctype):
    resp = client.post(URL, data=raw, content_type=ctype, headers=token())
    assert resp.status_code == 400 and resp.json["error"]
    assert nothing_stored()


def test_401_and_403_store_nothing(bank, client, token):
    resp = client.post(URL, json=body())
    assert resp.status_code == 401 and resp.headers["WWW-Authenticate"].startswith("Bearer")
    resp = client.post(URL, json=body(), headers={"Authorization": "Bearer qms_wrong"})
    assert resp.status_code == 401
    for role, branch in (("qa", None), ("auditor", None), ("branch_head", "SH01")):
        resp = client.post(URL, json=body(), headers=token(role, branch))
        assert resp.status_code == 403 and set(resp.json) == {"error", "fields"}
    assert nothing_stored()


def test_a_scoped_token_registers_only_for_its_branch(bank, client, token):
    local = token("complaints", "SH01")
    assert client.post(URL, json=body(), headers=local).status_code == 201
    resp = client.post(URL, json=body(branch_code="BJ01", agent_code="BJ01-001",
                                      complainant_email="b@example.test"), headers=local)
    assert resp.status_code == 400 and "branch_code" in resp.json["fields"]
    assert count(Complaint) == 1


def test_vip_priority_and_duplicates_are_reported(bank, client, token):
    first = client.post(URL, json=body(customer_ref="C-VIP", complainant_name=None,
                                       complainant_email=None), headers=token()).json
    assert first["priority"] == "high"
    again = client.post(URL, json=body(customer_ref="C-VIP", complainant_name=None,
                                       complainant_email=None), headers=token())
    assert again.status_code == 201
    assert again.json["duplicate_of"] == [first["reference"]]


def test_attachments_in_base64(bank, client, token):
    resp = client.post(URL, json=body(attachments=[
        {"filename": "../回单.png", "content_base64": base64.b64encode(PNG).decode()}]),
        headers=token())
    assert resp.status_code == 201
    att = db.session.scalar(sa.select(Attachment))
    assert (att.filename, att.mime, att.uploaded_by_label) == ("回单.png", "image/png",
                                                               "api:complaints-all")


def test_get_is_scoped(bank, client, token):
    ref = client.post(URL, json=body(), headers=token()).json["reference"]
    assert client.get(f"{URL}/{ref}", headers=token("branch_head", "SH01")).status_code == 200
    other = client.get(f"{URL}/{ref}", headers=token("branch_head", "BJ01"))
    missing = client.get(f"{URL}/CMP-1999-000001", headers=token("admin"))
    assert other.status_code == missing.status_code == 404
    assert set(other.json) == {"error", "fields"}
    assert client.get(f"{URL}/{ref}", headers=token("auditor")).status_code == 200
    assert client.get(f"{URL}/{ref}", headers=token("agent", "SH01")).status_code == 403
    assert client.get(f"{URL}/{ref}").status_code == 401


def test_openapi_describes_the_endpoints(app, client):
    from openapi_spec_validator import validate

    spec = client.get("/api/v1/openapi.json").json
    validate(spec)
    post = spec["paths"]["/complaints"]["post"]
    assert set(post["responses"]) >= {"201", "400", "401", "403"}
    assert "ComplaintRequest" in spec["components"]["schemas"]
    assert "/complaints/{reference}" in spec["paths"]

"""POST /api/v1/invitations: links for reported interactions, refusals, roles and scope."""

# ruff: noqa: F811  (fixtures imported from campaign_support are used as arguments)

from __future__ import annotations

import pytest
import sqlalchemy as sa

from qms.core.tokens import hash_token
from qms.extensions import db
from qms.org.models import Customer
from qms.surveys import campaigns
from qms.surveys.models import Invitation
from tests.surveys.campaign_support import (  # noqa: F401
    invitations,
    link_in,
    make_campaign,
    make_customer,
    outbox_messages,
    version,
)


@pytest.fixture
def bank(app, make_branch, make_agent):
    b1, b2 = make_branch(code="SH01"), make_branch(code="BJ01", region="华北")
    return {"b1": b1, "b2": b2, "a1": make_agent(b1, code="SH01-007"),
            "a2": make_agent(b2, code="BJ01-001")}


@pytest.fixture
def token(app):
    from qms.auth.services import create_api_token

    def make(role="qa", branch_code=None):
        _row, secret = create_api_token(name=f"{role}-{branch_code}", role=role,
                                        branch_code=branch_code)
        db.session.commit()
        return {"Authorization": f"Bearer {secret}"}

    return make


@pytest.fixture
def api_campaign(make_campaign):
    # started now (real clock): the API has no now= to pass
    from qms.core.db import now_utc

    return make_campaign(channel="api", now=now_utc())


def _body(campaign, **kw):
    body = {"campaign_id": campaign.id, "customer_ref": "C-1", "branch_code": "SH01",
            "agent_code": "SH01-007", "interaction_ref": "TX-1",
            "customer": {"name": "王芳", "email": "wang@example.test", "locale": "zh_Hant"}}
    body.update(kw)
    return {k: v for k, v in body.items() if v is not None}


def _count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_201_gives_a_personal_link_attributed_to_branch_and_agent(app, client, bank, token,
                                                                  api_campaign):
    resp = client.post("/api/v1/invitations", json=_body(api_campaign), headers=token())
    assert resp.status_code == 201, resp.json
    data = resp.json
    assert data["status"] == "sent" and data["expires_at"].endswith("Z")
    assert data["url"].startswith("http://localhost/s/") and resp.headers["Location"] == data["url"]
    secret = data["url"].rsplit("/", 1)[1]
    assert len(secret) >= 22
    inv = db.session.get(Invitation, data["id"])
    assert inv.token_hash == hash_token(secret) and secret not in inv.token_hash
    assert (inv.branch_id, inv.agent_id, inv.interaction_ref) == (bank["b1"].id,
                                                                  bank["a1"].id, "TX-1")
    assert inv.customer.name == "王芳" and inv.locale == "zh_Hant"
    assert (inv.expires_at - inv.sent_at).days == 14
    page = client.get(data["url"].replace("http://localhost", "") + "/opt-out")
    assert page.status_code == 200 and b'lang="zh-Hant"' in page.data


def test_the_same_interaction_again_returns_the_same_link(app, client, bank, token,
                                                          api_campaign):
    first = client.post("/api/v1/invitations", json=_body(api_campaign), headers=token())
    again = client.post("/api/v1/invitations", json=_body(api_campaign), headers=token())
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json["url"] == first.json["url"] and _count(Invitation) == 1


def test_400_lists_every_bad_field_and_stores_nothing(app, client, bank, token, api_campaign):
    bad = _body(api_campaign, campaign_id=9999, branch_code="NOPE", agent_code="GHOST",
                customer={"email": "not-an-email", "locale": "fr"}, customer_ref="C-NEW")
    resp = client.post("/api/v1/invitations", json=bad, headers=token())
    assert resp.status_code == 400
    assert set(resp.json["fields"]) == {"campaign_id", "branch_code", "agent_code",
                                        "customer.email", "customer.locale", "customer_ref"}
    resp = client.post("/api/v1/invitations", data="[]", headers=token(),
                       content_type="application/json")
    assert resp.status_code == 400 and resp.json["error"]
    assert client.post("/api/v1/invitations", json={}, headers=token()).json["fields"].keys() >= {
        "campaign_id", "customer_ref", "branch_code"}
    assert (_count(Invitation), _count(Customer)) == (0, 0)


def test_an_agent_of_another_branch_is_refused(app, client, bank, token, api_campaign):
    resp = client.post("/api/v1/invitations", json=_body(api_campaign, agent_code="BJ01-001"),
                       headers=token())
    assert resp.status_code == 400 and set(resp.json["fields"]) == {"agent_code"}


def test_authentication_and_roles(app, client, bank, token, api_campaign):
    body = _body(api_campaign)
    assert client.post("/api/v1/invitations", json=body).status_code == 401
    assert client.post("/api/v1/invitations", json=body,
                       headers={"Authorization": "Bearer wrong"}).status_code == 401
    for role in ("agent", "auditor", "complaints"):
        headers = token(role, "SH01" if role == "agent" else None)
        assert client.post("/api/v1/invitations", json=body, headers=headers).status_code == 403
    assert _count(Invitation) == 0


def test_a_branch_scoped_token_reports_only_its_branch(app, client, bank, token, make_campaign,
                                                       api_campaign):
    from qms.core.db import now_utc

    sh = token("branch_head", "SH01")
    other = client.post("/api/v1/invitations", headers=sh, json=_body(
        api_campaign, branch_code="BJ01", agent_code="BJ01-001"))
    assert other.status_code == 400 and set(other.json["fields"]) == {"branch_code"}
    bj_only = make_campaign(channel="api", name="BJ", branch_code="BJ01", now=now_utc())
    hidden = client.post("/api/v1/invitations", headers=sh, json=_body(bj_only))
    assert hidden.status_code == 400 and "campaign_id" in hidden.json["fields"]
    assert _count(Invitation) == 0
    assert client.post("/api/v1/invitations", headers=sh,
                       json=_body(api_campaign)).status_code == 201


def test_opted_out_and_recently_contacted_customers_get_409(app, client, bank, token,
                                                            make_campaign, make_customer,
                                                            api_campaign):
    from qms.core.db import now_utc

    make_customer(ref="OUT", opted_out_at=now_utc())
    make_customer(ref="SEEN")
    resp = client.post("/api/v1/invitations", headers=token(),
                       json=_body(api_campaign, customer_ref="OUT", customer=None))
    assert resp.status_code == 409 and resp.json["reason"] == "opted_out"
    ok = client.post("/api/v1/invitations", headers=token(),
                     json=_body(api_campaign, customer_ref="SEEN", customer=None))
    assert ok.status_code == 201
    second = make_campaign(channel="api", name="second", now=now_utc())
    resp = client.post("/api/v1/invitations", headers=token(), json=_body(
        second, customer_ref="SEEN", customer=None, interaction_ref="TX-2"))
    assert resp.status_code == 409 and resp.json["reason"] == "contacted_recently"
    assert _count(Invitation) == 1


def test_closed_or_counter_campaigns_take_no_invitations(app, client, bank, token,
                                                         make_campaign, api_campaign):
    from qms.core.db import now_utc

    campaigns.close_campaign(api_campaign)
    counter = make_campaign(channel="counter", name="counter", now=now_utc())
    db.session.commit()
    for c in (api_campaign, counter):
        resp = client.post("/api/v1/invitations", headers=token(), json=_body(c))
        assert resp.status_code == 400 and "campaign_id" in resp.json["fields"]


def test_in_an_email_campaign_the_link_is_mailed_by_the_send_job(app, client, bank, token,
                                                                 make_campaign):
    from qms.core.db import now_utc

    mailing = make_campaign(channel="email", now=now_utc())
    resp = client.post("/api/v1/invitations", headers=token(), json=_body(mailing))
    assert resp.status_code == 201
    assert resp.json["status"] == "pending" and resp.json["expires_at"] is None
    assert campaigns.send_due() == 1
    msg = outbox_messages(app)[0]
    assert str(msg["To"]) == "wang@example.test"
    assert resp.json["url"].endswith("/" + link_in(msg))
    assert invitations(mailing)[0].status == "sent"


def test_openapi_describes_the_endpoint(app, client):
    spec = client.get("/api/v1/openapi.json").json
    op = spec["paths"]["/invitations"]["post"]
    assert {"201", "400", "401", "403", "409"} <= set(op["responses"])
    assert "InvitationRequest" in spec["components"]["schemas"]

"""Closing the loop and counter links: follow-ups for detractors and unhappy customers, anonymous
QR-code responses, and the whole flow on PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from qms.core.db import now_utc
from qms.extensions import db as _db
from qms.surveys.models import FollowUp, Response
from tests.surveys.factories import sample_form
from tests.surveys.test_respond import (
    count,
    create_campaign,
    create_counter_link,
    create_personal_link,
    fresh,
    submit,
)


@pytest.fixture
def branch(make_branch):
    return make_branch()


@pytest.fixture
def link(branch, make_agent):
    return create_personal_link(branch=branch, agent=make_agent(branch))


# -- follow-ups ----------------------------------------------------------------------------------

def test_detractor_creates_one_follow_up_for_the_branch(app, client, branch, make_user):
    head = make_user("branch_head", branch=branch)
    token, _inv = create_personal_link(branch=branch)
    submit(client, token, sample_form(q_nps="6", q_why="柜台人员态度一般"))
    item = _db.session.scalar(sa.select(FollowUp))
    resp = _db.session.scalar(sa.select(Response))
    assert count(FollowUp) == 1
    assert (item.response_id, item.branch_id, item.reason, item.status, item.owner_id) == (
        resp.id, branch.id, "detractor", "open", head.id)
    days = app.config.get("FOLLOWUP_DUE_DAYS", 2)
    assert item.due_at == resp.completed_at + timedelta(days=days)


@pytest.mark.parametrize(("answers", "reason"), [
    ({"q_csat": "2", "q_nps": "8"}, "low_csat"),
    ({"q_csat": "1", "q_nps": "0", "q_why": "差"}, "detractor"),
    ({"q_csat": "3", "q_nps": "7"}, None),
    ({"q_csat": "5", "q_nps": "10"}, None),
])
def test_follow_up_reasons(client, link, answers, reason):
    token, _inv = link
    assert submit(client, token, sample_form(**answers)).status_code == 303
    assert _db.session.scalars(sa.select(FollowUp.reason)).all() == ([reason] if reason else [])


# -- counter links -------------------------------------------------------------------------------

def test_counter_link_responses_are_anonymous_and_attributed(client, branch, make_agent):
    agent = make_agent(branch)
    campaign = create_campaign(channel="counter")
    token, counter_link = create_counter_link(campaign, branch, agent)
    page = client.get(f"/c/{token}", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "How satisfied" in page and 'value="save"' not in page
    for nps in ("9", "4"):
        resp = submit(client, token, sample_form(q_nps=nps, q_why="慢"), prefix="/c")
        assert resp.status_code == 303 and resp.headers["Location"].startswith(f"/c/{token}/thanks")
    rows = _db.session.scalars(sa.select(Response).order_by(Response.id)).all()
    assert len(rows) == 2
    for r in rows:
        assert (r.branch_id, r.agent_id, r.channel, r.invitation_id, r.segment,
                r.counter_link_id) == (branch.id, agent.id, "counter", None, None, counter_link.id)
    assert count(FollowUp) == 1  # the NPS 4 one
    assert client.get(f"/c/{token}/thanks").status_code == 200


def test_counter_link_validates_and_revoked_is_closed(client, branch):
    token, counter_link = create_counter_link(create_campaign(channel="counter"), branch)
    assert submit(client, token, {"q_csat": ["7"]}, prefix="/c").status_code == 400
    assert count(Response) == 0
    counter_link = fresh(counter_link)
    counter_link.revoked_at = now_utc()
    _db.session.commit()
    assert client.get(f"/c/{token}").status_code == 410


# -- PostgreSQL -----------------------------------------------------------------------------------

@pytest.mark.postgres
def test_save_resume_submit_on_postgres(pg_app):
    from qms.org.models import Branch

    branch = Branch(code="PG1", name="测试支行", region="华东", city="上海")
    _db.session.add(branch)
    _db.session.commit()
    token, invitation = create_personal_link(branch=branch)
    client = pg_app.test_client()
    assert client.get(f"/s/{token}").status_code == 200
    assert submit(client, token, {"q_nps": ["3"], "q_why": ["<b>慢</b>"]},
                  action="save").status_code == 303
    page = client.get(f"/s/{token}").get_data(as_text=True)
    assert "&lt;b&gt;慢&lt;/b&gt;</textarea>" in page
    assert submit(client, token, sample_form(q_csat="x")).status_code == 400
    assert submit(client, token, sample_form(q_nps="3", q_why="慢")).status_code == 303
    assert submit(client, token).status_code == 409
    _db.session.expire_all()
    resp = _db.session.scalar(sa.select(Response))
    assert (resp.branch_id, resp.segment, resp.channel) == (branch.id, "vip", "email")
    assert resp.completed_at == fresh(invitation).completed_at
    assert _db.session.scalar(sa.select(FollowUp.reason)) == "detractor"
    assert count(Response) == 1

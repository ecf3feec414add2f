"""Campaign pages (roles, scope, forms), counter links with QR codes, the scheduler jobs, and
the send sweep on PostgreSQL."""

# ruff: noqa: F811  (fixtures imported from campaign_support are used as arguments)

from __future__ import annotations

import io
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from qms.core.db import now_utc
from qms.core.tokens import hash_token
from qms.extensions import db
from qms.surveys import campaigns
from qms.surveys.models import Campaign, CounterLink
from tests.surveys.campaign_support import (  # noqa: F401
    DAY0,
    day,
    invitations,
    invite,
    make_campaign,
    make_customer,
    outbox_messages,
    version,
)


@pytest.fixture
def as_role(client, login, make_user, make_branch):
    def do(*roles, **kw):
        if "branch" not in kw and "region" not in kw and set(roles) & {"branch_head", "agent"}:
            kw["branch"] = make_branch()
        return login(make_user(*roles, **kw))

    return do


def _pages(c):
    return ["/surveys/campaigns", "/surveys/campaigns/new", f"/surveys/campaigns/{c.id}",
            f"/surveys/campaigns/{c.id}/edit"]


def test_staff_pages_for_admin_and_qa_only(app, client, as_role, make_campaign):
    c = make_campaign()
    counter = make_campaign(channel="counter", name="Counter")
    anonymous = client.get("/surveys/campaigns")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    for role in ("admin", "qa"):
        as_role(role)
        for url in _pages(c) + [f"/surveys/campaigns/{counter.id}",
                                f"/surveys/campaigns/{counter.id}/counter",
                                f"/surveys/campaigns/{counter.id}/counter/print"]:
            assert client.get(url).status_code == 200, (role, url)
    for role in ("branch_head", "agent", "auditor"):
        as_role(role)
        for url in _pages(c):
            assert client.get(url).status_code == 403, (role, url)
        assert client.post(f"/surveys/campaigns/{c.id}/close").status_code == 403
    assert client.get("/surveys/campaigns/9999").status_code == 403  # role before existence


def test_another_regions_campaign_is_not_found(app, client, as_role, make_campaign,
                                               make_branch):
    east = make_branch(region="华东")
    c = make_campaign(branch_code=east.code)
    as_role("qa", region="华北")
    assert client.get(f"/surveys/campaigns/{c.id}").status_code == 404
    assert client.post(f"/surveys/campaigns/{c.id}/close").status_code == 404
    assert b"Spring CSAT" not in client.get("/surveys/campaigns").data
    as_role("qa", region="华东")
    assert client.get(f"/surveys/campaigns/{c.id}").status_code == 200


def test_create_start_upload_and_close_through_the_pages(app, client, as_role, version,
                                                         make_customer):
    make_customer(ref="R1")
    make_customer(ref="R2", opted_out_at=DAY0)
    as_role("qa")
    soon = (now_utc() + timedelta(days=2)).astimezone(ZoneInfo("Asia/Shanghai"))
    form = {"name": "Autumn", "version_id": version.id, "channel": "email",
            "link_valid_days": 7, "contact_gap_days": 30, "max_reminders": 1,
            "reminder_after_days": 3, "opens_at": f"{soon:%Y-%m-%d}T09:00",
            "closes_at": f"{soon - timedelta(days=1):%Y-%m-%d}T09:00"}
    bad = client.post("/surveys/campaigns/new", data=form)
    assert bad.status_code == 200 and db.session.query(Campaign).count() == 0
    form["closes_at"] = f"{soon + timedelta(days=30):%Y-%m-%d}T09:00"
    resp = client.post("/surveys/campaigns/new", data=form)
    assert resp.status_code == 302
    c = db.session.query(Campaign).one()
    assert c.opens_at.hour == 1  # 09:00 in Shanghai is 01:00 UTC
    upload = client.post(f"/surveys/campaigns/{c.id}/audience/upload", data={
        "file": (io.BytesIO(b"customer_ref\nR1\nR2\n"), "list.csv"),
        "encoding": "utf-8-sig"}, content_type="multipart/form-data")
    assert upload.status_code == 302
    assert [(i.status, i.error) for i in invitations(c)] == [("pending", None),
                                                             ("suppressed", "opted_out")]
    broken = client.post(f"/surveys/campaigns/{c.id}/audience/upload", data={
        "file": (io.BytesIO(b"customer_ref\nNOPE\n"), "list.csv"), "encoding": "utf-8-sig"},
        content_type="multipart/form-data")
    assert broken.status_code == 400 and b"NOPE" in broken.data
    assert client.post(f"/surveys/campaigns/{c.id}/start").status_code == 302
    db.session.expire_all()
    assert c.status == "running"
    page = client.get(f"/surveys/campaigns/{c.id}")
    assert b"<progress" in page.data
    edit = client.get(f"/surveys/campaigns/{c.id}/edit")
    assert b'name="channel"' not in edit.data  # a running campaign keeps its channel
    assert client.post(f"/surveys/campaigns/{c.id}/close").status_code == 302
    db.session.expire_all()
    assert c.status == "closed"


def test_filter_audience_through_the_page(app, client, as_role, make_campaign, make_customer,
                                          make_branch):
    b = make_branch()
    make_customer(branch=b, segment="vip")
    make_customer(branch=b)
    c = make_campaign()
    as_role("admin")
    resp = client.post(f"/surveys/campaigns/{c.id}/audience/filter",
                       data={"branch_codes": b.code, "segment": "vip"})
    assert resp.status_code == 302 and len(invitations(c)) == 1
    unknown = client.post(f"/surveys/campaigns/{c.id}/audience/filter",
                          data={"branch_codes": "NOPE"})
    assert unknown.status_code == 400


# -- counter links --------------------------------------------------------------------------

def test_counter_links_per_branch_and_agent_with_printable_qr(app, client, as_role,
                                                              make_campaign, make_branch,
                                                              make_agent):
    b1, b2 = make_branch(), make_branch()
    make_agent(b1), make_agent(b1, active=False)
    c = make_campaign(channel="counter")
    as_role("qa")
    resp = client.post(f"/surveys/campaigns/{c.id}/counter",
                       data={"branch_codes": f"{b1.code}", "per_agent": "y"})
    assert resp.status_code == 302
    assert campaigns.create_counter_links(c, branch_codes=[b1.code], per_agent=True) == 0
    assert campaigns.create_counter_links(c) == 1  # fills the gap: b2
    db.session.commit()
    printed = campaigns.printed_links(c)
    assert [(p.link.branch_id, p.link.agent_id is not None) for p in printed] == [
        (b1.id, False), (b1.id, True), (b2.id, False)]
    for p in printed:
        token = p.url.rsplit("/c/", 1)[1]
        assert p.link.token_hash == hash_token(token) and len(token) >= 22
    page = client.get(f"/surveys/campaigns/{c.id}/counter/print")
    assert page.data.count(b"<svg") == 3 and b"<script" not in page.data
    assert printed[0].url.split("/c/")[1].encode() in page.data
    one = client.get(f"/surveys/campaigns/{c.id}/counter/print?link={printed[0].link.id}")
    assert one.data.count(b"<svg") == 1
    resp = client.post(f"/surveys/campaigns/{c.id}/counter/{printed[0].link.id}/revoke")
    assert resp.status_code == 302 and len(campaigns.live_links(c)) == 2
    db.session.expire_all()
    assert db.session.get(CounterLink, printed[0].link.id).revoked_at is not None


def test_counter_links_are_for_counter_campaigns(app, client, as_role, make_campaign):
    c = make_campaign(channel="email")
    with pytest.raises(campaigns.CampaignError):
        campaigns.create_counter_links(c)
    as_role("admin")
    assert client.get(f"/surveys/campaigns/{c.id}/counter").status_code == 404


# -- jobs -----------------------------------------------------------------------------------

def test_jobs_run_the_sweeps_with_now(app, runner, make_campaign, make_customer):
    c = make_campaign(reminder_after_days=2, max_reminders=1)
    invite(c, [make_customer(), make_customer()], DAY0)
    listed = runner.invoke(args=["jobs", "list"]).output
    assert "survey-sends" in listed and "survey-reminders" in listed
    result = runner.invoke(args=["jobs", "run", "survey-sends", "--now", DAY0.isoformat()])
    assert result.exit_code == 0, result.output
    assert "survey-sends: 2 items" in result.output
    assert all(i.sent_at == DAY0 for i in invitations(c))
    early = runner.invoke(args=["jobs", "run", "survey-reminders", "--now", day(1).isoformat()])
    assert "survey-reminders: 0 items" in early.output
    due = runner.invoke(args=["jobs", "run", "survey-reminders", "--now", day(2).isoformat()])
    assert "survey-reminders: 2 items" in due.output
    assert len(outbox_messages(app)) == 4


def test_stats_on_the_campaign_page(app, client, as_role, make_campaign, make_customer):
    c = make_campaign()
    people = [make_customer() for _ in range(3)]
    invite(c, people, DAY0)
    campaigns.send_due(now=DAY0)
    inv = invitations(c)[0]
    inv.opened_at = DAY0 + timedelta(hours=1)
    people[1].opted_out_at = day(1)
    db.session.commit()
    stats = campaigns.campaign_stats(c)
    assert (stats.invited, stats.sent, stats.delivered, stats.opened, stats.opted_out,
            stats.pending, stats.progress) == (3, 3, 3, 1, 1, 0, 1.0)
    as_role("qa")
    assert client.get(f"/surveys/campaigns/{c.id}").status_code == 200


# -- PostgreSQL -----------------------------------------------------------------------------

@pytest.mark.postgres
def test_send_sweep_on_postgres(pg_app):
    from qms.org.models import Customer
    from qms.surveys import services
    from tests.surveys.factories import sample_definition

    survey = services.create_survey(title="PG", definition=sample_definition())
    v = services.publish(survey, now=DAY0 - timedelta(days=9))
    c = campaigns.create_campaign({"name": "PG", "version_id": v.id, "channel": "email",
                                   "closes_at": day(3)}, now=DAY0)
    campaigns.start_campaign(c, now=DAY0)
    people = [Customer(ref=f"P{i}", name=f"P{i}", email=f"p{i}@example.test") for i in range(3)]
    db.session.add_all(people)
    db.session.flush()
    campaigns.invite_targets(c, [campaigns.Target(p) for p in people], now=DAY0)
    db.session.commit()
    assert campaigns.send_due(now=DAY0, batch_size=2) == 3
    assert campaigns.send_due(now=DAY0) == 0
    rows = invitations(c)
    assert {i.status for i in rows} == {"sent"} and rows[0].expires_at == day(3)
    assert len(outbox_messages(pg_app)) == 3
    assert campaigns.campaign_stats(c).delivered == 3

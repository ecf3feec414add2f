"""Campaigns: lifecycle, audiences and the contact rule, the send and reminder sweeps (at most
once, against a real SMTP server), expiry, opt-out, counter links, pages and jobs."""

# ruff: noqa: F811  (fixtures imported from campaign_support are used as arguments)

from __future__ import annotations

import sqlite3
from datetime import timedelta

import pytest
import sqlalchemy as sa

from qms.core.tokens import hash_token
from qms.extensions import db
from qms.surveys import campaigns
from qms.surveys.models import Response
from tests.surveys.campaign_support import (  # noqa: F401
    DAY0,
    body_text,
    day,
    invitations,
    invite,
    link_in,
    make_campaign,
    make_customer,
    outbox_messages,
    smtp_server,
    version,
)

# -- lifecycle ------------------------------------------------------------------------------


def test_create_checks_every_field_and_start_needs_the_rules(app, version):
    with pytest.raises(campaigns.CampaignError) as exc:
        campaigns.create_campaign({"name": " ", "version_id": 999, "channel": "fax",
                                   "link_valid_days": 0, "opens_at": day(5),
                                   "closes_at": day(1)})
    assert set(exc.value.fields) == {"name", "version_id", "channel", "link_valid_days",
                                     "closes_at"}
    c = campaigns.create_campaign({"name": "A", "version_id": version.id, "channel": "email"},
                                  now=DAY0)
    assert (c.status, c.link_valid_days, c.contact_gap_days) == ("draft", 14, 30)
    campaigns.start_campaign(c, now=DAY0)
    assert c.status == "running" and c.opens_at == DAY0
    with pytest.raises(campaigns.CampaignError):
        campaigns.start_campaign(c, now=DAY0)
    campaigns.edit_campaign(c, {"channel": "api", "closes_at": day(10)}, now=DAY0)
    assert c.channel == "email" and c.closes_at == day(10)  # running: channel is kept
    campaigns.close_campaign(c, now=day(2))
    assert c.status == "closed" and c.closes_at == day(2)
    with pytest.raises(campaigns.CampaignError):
        campaigns.edit_campaign(c, {"name": "B"})


# -- audiences and the contact rule ---------------------------------------------------------

def test_csv_audience_refuses_a_bad_file_whole(app, make_campaign, make_customer, make_branch):
    c = make_campaign()
    make_customer(ref="R1")
    with pytest.raises(campaigns.AudienceRejected) as exc:
        campaigns.add_audience_csv(c, "customer_ref,branch_code\nR1,\nNOPE,\nR1,ZZZ\n", now=DAY0)
    assert [(line, col) for line, col, _m in exc.value.rows] == [(3, "customer_ref"),
                                                                  (4, "branch_code")]
    db.session.rollback()
    assert invitations() == []


def test_csv_audience_suppresses_and_records_why(app, make_campaign, make_customer, make_branch):
    b = make_branch()
    c = make_campaign()
    make_customer(ref="R1", branch=b)
    make_customer(ref="R2", opted_out_at=day(-3))
    make_customer(ref="R3", email=None)
    text = "\ufeffCustomer_Ref,interaction_ref\nR1,T-1\nR2,\nR3,\nR1,\n"
    result = campaigns.add_audience_csv(c, text, now=DAY0)
    db.session.commit()
    assert result.invited == 1 and result.suppressed == 2
    assert result.skipped["already_invited"] == 1
    by_status = {i.customer.ref: (i.status, i.error) for i in invitations(c)}
    assert by_status == {"R1": ("pending", None), "R2": ("suppressed", "opted_out"),
                         "R3": ("suppressed", "no_email")}
    assert invitations(c)[0].branch_id == b.id and invitations(c)[0].interaction_ref == "T-1"


def test_filter_audience_by_branch_and_segment(app, make_campaign, make_customer, make_branch):
    b1, b2 = make_branch(), make_branch()
    vip = make_customer(branch=b1, segment="vip")
    make_customer(branch=b1)
    make_customer(branch=b2, segment="vip")
    c = make_campaign()
    result = campaigns.add_audience_filter(c, branch_codes=[b1.code], segment="vip", now=DAY0)
    assert result.invited == 1 and invitations(c)[0].customer_id == vip.id


def test_contact_gap_spans_campaigns(app, make_campaign, make_customer):
    """Invited by A on day 0: suppressed by B on day 29, invited by B on day 31 (gap 30)."""
    alice = make_customer()
    a, b = make_campaign(name="A"), make_campaign(name="B")
    invite(a, [alice], DAY0)
    assert campaigns.send_due(now=DAY0) == 1
    assert invite(b, [alice], day(29)).skipped["contacted_recently"] == 1
    assert invitations(b)[0].status == "suppressed"
    assert invite(b, [alice], day(31)).invited == 1
    assert [i.status for i in invitations(b)] == ["pending"]  # the same row, tried again


def test_a_queued_future_invitation_also_counts(app, make_campaign, make_customer):
    bob = make_customer()
    later = make_campaign(name="later", opens_at=day(10))
    invite(later, [bob], DAY0)  # will go out on day 10
    assert invite(make_campaign(name="now"), [bob], day(1)).skipped["contacted_recently"] == 1


# -- sending --------------------------------------------------------------------------------

def test_send_due_writes_the_outbox_with_a_working_hashed_link(app, make_campaign,
                                                               make_customer):
    c = make_campaign()
    invite(c, [make_customer(), make_customer()], DAY0)
    assert campaigns.send_due(now=DAY0) == 2
    assert campaigns.send_due(now=DAY0 + timedelta(minutes=1)) == 0
    msgs = outbox_messages(app)
    assert len(msgs) == 2
    tokens = {link_in(m) for m in msgs}
    rows = invitations(c)
    assert {hash_token(t) for t in tokens} == {i.token_hash for i in rows}
    assert all(len(t) >= 22 for t in tokens)  # >= 128 bits of base64
    assert all(i.status == "sent" and i.sent_at == DAY0 and i.expires_at == day(14)
               for i in rows)
    by_to = {str(m["To"]): m for m in msgs}
    assert all(i.message_id == by_to[i.email]["Message-ID"] for i in rows)
    dump = "\n".join(str(r) for r in db.session.execute(sa.text("SELECT * FROM invitations")))
    assert not any(t in dump for t in tokens)  # only hashes are stored
    assert msgs[0]["List-Unsubscribe"].endswith("/opt-out>")


def test_link_expiry_never_passes_the_closing_time(app, make_campaign, make_customer):
    c = make_campaign(closes_at=day(5))
    invite(c, [make_customer()], DAY0)
    campaigns.send_due(now=DAY0)
    assert invitations(c)[0].expires_at == day(5)


def test_nothing_is_sent_outside_the_window(app, make_campaign, make_customer):
    draft = make_campaign(start=False, name="draft")
    future = make_campaign(name="future", opens_at=day(3))
    invite(draft, [make_customer()], DAY0)
    invite(future, [make_customer()], DAY0)
    assert campaigns.send_due(now=DAY0) == 0
    assert campaigns.send_due(now=day(3)) == 1
    campaigns.close_campaign(future, now=day(3))
    invite(draft, [make_customer()], day(3))
    db.session.commit()
    assert campaigns.send_due(now=day(4)) == 0


def test_messages_follow_the_invitation_locale(app, make_campaign, make_customer):
    c = make_campaign()
    invite(c, [make_customer(locale=loc) for loc in ("zh_Hans", "zh_Hant", "en")], DAY0)
    campaigns.send_due(now=DAY0)
    by_to = {str(m["To"]): m for m in outbox_messages(app)}
    subjects = {inv.locale: by_to[inv.email]["Subject"] for inv in invitations(c)}
    assert len(set(subjects.values())) == 3, subjects
    assert subjects["en"] == "Tell us about your visit: Branch service satisfaction survey"
    assert subjects["zh_Hant"] == "請評價您的體驗：網點服務滿意度調查"
    assert subjects["zh_Hans"] == "请评价您的体验：网点服务满意度调查"
    assert "unsubscribe" in body_text(by_to[invitations(c)[2].email]).lower()


def test_at_most_once_when_the_server_drops_the_connection(app, make_campaign, make_customer,
                                                           smtp_server):
    c = make_campaign()
    invite(c, [make_customer() for _ in range(6)], DAY0)
    smtp_server.drop_at = 3
    assert campaigns.send_due(now=DAY0, batch_size=4) == 3  # stopped at the broken connection
    statuses = [i.status for i in invitations(c)]
    assert statuses == ["sent", "sent", "sending", "pending", "pending", "pending"]
    smtp_server.drop_at = None
    assert campaigns.send_due(now=DAY0 + timedelta(minutes=1), batch_size=4) == 3
    got = smtp_server.recipients()
    assert sorted(got) == sorted(i.email for i in invitations(c))  # each exactly once
    assert len(got) == len(set(got)) == 6
    assert campaigns.send_due(now=DAY0 + timedelta(minutes=2)) == 0
    assert campaigns.campaign_stats(c).unknown == 1
    assert len(smtp_server.peers) == 2  # one per run; none when nothing is due


def test_at_most_once_when_the_sender_crashes(app, make_campaign, make_customer, smtp_server,
                                              monkeypatch):
    from qms.mail import SmtpMailer

    c = make_campaign()
    invite(c, [make_customer() for _ in range(5)], DAY0)
    real, calls = SmtpMailer.send, []

    def crashing(self, msg):
        calls.append(msg.to)
        if len(calls) == 3:
            raise KeyboardInterrupt  # the process dies with the third e-mail in hand
        return real(self, msg)

    monkeypatch.setattr(SmtpMailer, "send", crashing)
    with pytest.raises(KeyboardInterrupt):
        campaigns.send_due(now=DAY0)
    monkeypatch.setattr(SmtpMailer, "send", real)
    in_flight = invitations(c)[2]
    assert in_flight.status == "sending"
    campaigns.send_due(now=DAY0 + timedelta(minutes=1))
    got = smtp_server.recipients()
    assert len(got) == len(set(got)) == 4 and in_flight.email not in got
    assert [i.status for i in invitations(c)].count("sent") == 4


def test_when_the_server_is_down_nothing_is_lost(app, make_campaign, make_customer):
    from tests.surveys.campaign_support import free_port

    c = make_campaign()
    invite(c, [make_customer(), make_customer()], DAY0)
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=free_port(), SMTP_TIMEOUT=2)
    assert campaigns.send_due(now=DAY0) == 0
    rows = invitations(c)
    assert [i.status for i in rows] == ["pending", "pending"]
    assert "cannot connect" in rows[0].error and rows[0].sent_at is None
    app.config["SMTP_HOST"] = None
    assert campaigns.send_due(now=DAY0) == 2


def test_each_claim_is_committed_before_the_smtp_send(app, make_campaign, make_customer,
                                                      smtp_server):
    c = make_campaign()
    invite(c, [make_customer(), make_customer()], DAY0)
    path = db.engine.url.database
    seen = []

    def look(rcpt):
        with sqlite3.connect(path) as conn:
            seen.append(conn.execute("SELECT status FROM invitations WHERE email = ?",
                                     (rcpt,)).fetchone()[0])

    smtp_server.on_message = look
    campaigns.send_due(now=DAY0)
    assert seen == ["sending", "sending"]


def test_a_refusal_bounces_one_and_the_batch_goes_on(app, make_campaign, make_customer,
                                                     smtp_server):
    c = make_campaign()
    people = [make_customer() for _ in range(3)]
    smtp_server.refuse[people[1].email] = "550 5.1.1 User unknown"
    invite(c, people, DAY0)
    assert campaigns.send_due(now=DAY0) == 3
    rows = invitations(c)
    assert [i.status for i in rows] == ["sent", "bounced", "sent"]
    assert "User unknown" in rows[1].error
    assert len(smtp_server.peers) == 1 and len(smtp_server.messages) == 2
    stats = campaigns.campaign_stats(c)
    assert (stats.sent, stats.delivered, stats.bounced) == (3, 2, 1)
    assert campaigns.record_bounce(rows[0].message_id, "5.2.2 mailbox full")
    assert campaigns.campaign_stats(c).bounced == 2


# -- reminders ------------------------------------------------------------------------------

def _respond(inv):
    db.session.add(Response(version_id=inv.campaign.version_id,
                            survey_id=inv.campaign.version.survey_id,
                            campaign_id=inv.campaign_id, invitation_id=inv.id,
                            channel="email", locale=inv.locale, started_at=day(1),
                            updated_at=day(1), completed_at=day(1)))
    db.session.commit()


def test_reminders_wait_repeat_at_most_and_skip_who_should_be_skipped(app, make_campaign,
                                                                      make_customer):
    c = make_campaign(reminder_after_days=3, max_reminders=2, link_valid_days=30)
    short = make_campaign(name="short links", reminder_after_days=3, max_reminders=2,
                          link_valid_days=4, contact_gap_days=0)
    wait, answered, opted, expiring = (make_customer() for _ in range(4))
    invite(c, [wait, answered, opted], DAY0)
    invite(short, [expiring], DAY0)
    campaigns.send_due(now=DAY0)
    _respond(next(i for i in invitations(c) if i.customer_id == answered.id))
    opted.opted_out_at = day(1)
    db.session.commit()
    assert campaigns.send_reminders(now=day(2.9)) == 0
    assert campaigns.send_reminders(now=day(3)) == 2          # wait, and expiring (link open)
    assert campaigns.send_reminders(now=day(3.5)) == 0
    assert campaigns.send_reminders(now=day(6)) == 1          # expiring's link has expired
    assert campaigns.send_reminders(now=day(9)) == 0          # at most 2
    rows = {i.customer_id: i for i in invitations()}
    assert rows[wait.id].reminders_sent == 2 and rows[wait.id].last_reminded_at == day(6)
    assert rows[answered.id].reminders_sent == rows[opted.id].reminders_sent == 0
    assert rows[expiring.id].reminders_sent == 1
    reminders = [m for m in outbox_messages(app) if str(m["Subject"]).startswith(("提醒",
                                                                                   "Reminder"))]
    assert len(reminders) == 3
    assert {link_in(m) for m in reminders} <= {link_in(m) for m in outbox_messages(app)}
    assert hash_token(link_in(reminders[0])) in {i.token_hash for i in rows.values()}


def test_no_reminders_once_the_campaign_closes(app, make_campaign, make_customer):
    c = make_campaign(reminder_after_days=1, max_reminders=3)
    invite(c, [make_customer()], DAY0)
    campaigns.send_due(now=DAY0)
    campaigns.close_campaign(c, now=day(0.5))
    db.session.commit()
    assert campaigns.send_reminders(now=day(2)) == 0


# -- opt-out --------------------------------------------------------------------------------

def test_opt_out_page_is_honoured_by_later_campaigns(app, client, make_campaign,
                                                     make_customer):
    carol = make_customer(locale="zh_Hant")
    a, other = make_campaign(name="A"), make_campaign(name="other", opens_at=day(20))
    invite(a, [carol], DAY0)
    campaigns.send_due(now=DAY0)
    token = link_in(outbox_messages(app)[0])
    invite(other, [carol], day(-40))  # queued for later, before the gap rule would bite
    page = client.get(f"/s/{token}/opt-out")
    assert page.status_code == 200 and b'lang="zh-Hant"' in page.data
    assert "退訂問卷邀請" in page.get_data(as_text=True)
    assert client.post(f"/s/{token}/opt-out").status_code == 200
    db.session.expire_all()
    assert carol.opted_out_at is not None
    assert invitations(other)[0].status == "suppressed"  # queued e-mail will not go
    later = make_campaign(name="later", contact_gap_days=0)
    assert invite(later, [carol], day(60)).skipped["opted_out"] == 1
    assert client.get("/s/not-a-token/opt-out").status_code == 404


def test_opt_out_needs_the_csrf_token(app, client, make_campaign, make_customer):
    dave = make_customer()
    invite(make_campaign(), [dave], DAY0)
    campaigns.send_due(now=DAY0)
    token = link_in(outbox_messages(app)[0])
    app.config["WTF_CSRF_ENABLED"] = True
    assert client.post(f"/s/{token}/opt-out").status_code == 400
    db.session.expire_all()
    assert dave.opted_out_at is None
    page = client.get(f"/s/{token}/opt-out")
    assert b'name="csrf_token"' in page.data

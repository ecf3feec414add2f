"""Bounces after the send: reading delivery status notifications, the invitation and the
campaign's numbers, the `surveys bounces` command and POST /api/v1/bounces."""

# ruff: noqa: F811  (fixtures imported from campaign_support are used as arguments)

from __future__ import annotations

import mailbox

import pytest

from qms.core.tx import unit_of_work
from qms.extensions import db
from qms.surveys import campaigns
from qms.surveys.campaigns.bounces import Bounce, normalise_message_id, parse_dsn, record_dsn
from tests.surveys.campaign_support import (  # noqa: F401
    DAY0,
    invitations,
    invite,
    make_campaign,
    make_customer,
    version,
)
from tests.surveys.dsn_samples import sample

MID = "<177241320512.4711.9876543210@bank.test>"
RCPT = "c1@example.test"


@pytest.fixture
def sent(make_campaign, make_customer):
    """An e-mail campaign whose three invitations went out (to the outbox)."""
    campaign = make_campaign()
    invite(campaign, [make_customer() for _ in range(3)], DAY0)
    assert campaigns.send_due(now=DAY0) == 3
    rows = invitations(campaign)
    assert [i.status for i in rows] == ["sent"] * 3 and all(i.message_id for i in rows)
    return campaign, rows


def bounce_of(name: str, inv) -> bytes:
    return sample(name, inv.message_id, inv.email)


# -- reading ---------------------------------------------------------------------------------

@pytest.mark.parametrize("name, status, action, hard, diagnostic", [
    ("postfix", "5.1.1", "failed", True,
     f"550 5.1.1 <{RCPT}>: Recipient address rejected: User unknown in virtual mailbox table"),
    ("exchange", "5.1.10", "failed", True,
     "550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup"),
    ("delayed", "4.4.1", "delayed", False,
     "connect to mx.example.test[192.0.2.25]:25: Connection timed out"),
    ("exim", "5.2.1", "failed", True, f"550 5.2.1 <{RCPT}>: mailbox disabled"),
])
def test_each_kind_of_bounce_is_read(name, status, action, hard, diagnostic):
    [bounce] = parse_dsn(sample(name, MID, RCPT))
    assert bounce == Bounce(MID, RCPT, status, action, diagnostic)
    assert bounce.hard is hard


def test_a_report_on_several_recipients_gives_one_bounce_each():
    raw = sample("postfix", MID, RCPT).replace(
        b"Remote-MTA: dns; mx.example.test\n",
        b"Remote-MTA: dns; mx.example.test\n\nFinal-Recipient: rfc822; c2@example.test\n"
        b"Action: delayed\nStatus: 4.2.2 (mailbox full)\n")
    bounces = parse_dsn(raw)
    assert [(b.recipient, b.status, b.hard) for b in bounces] == [
        (RCPT, "5.1.1", True), ("c2@example.test", "4.2.2", False)]
    assert {b.message_id for b in bounces} == {MID}


@pytest.mark.parametrize("raw", [
    sample("reply", MID, RCPT),  # quotes the Message-ID and a 5.1.1, and is still no bounce
    b"",
    b"\x00\xff not mail at all",
    b"Content-Type: multipart/report; report-type=disposition-notification; boundary=x\n\n"
    b"--x\nContent-Type: message/disposition-notification\n\nDisposition: manual-action/"
    b"MDN-sent-manually; displayed\n--x--\n",
], ids=["reply", "empty", "garbage", "read-receipt"])
def test_mail_that_is_no_bounce_gives_nothing(raw):
    assert parse_dsn(raw) == []


def test_without_the_original_the_message_id_comes_from_the_reply_headers():
    raw = sample("postfix", MID, RCPT)
    raw = raw[:raw.index(b"--4Xk2Z70QH1z9sWq.1772413207/mx1.bank.test\nContent-Description: "
                         b"Undelivered")].replace(b"Auto-Submitted", b"In-Reply-To: " +
                                                  MID.encode() + b"\nAuto-Submitted")
    assert [b.message_id for b in parse_dsn(raw)] == [MID]
    no_id = raw.replace(b"In-Reply-To: " + MID.encode() + b"\n", b"")
    assert [(b.message_id, b.hard) for b in parse_dsn(no_id)] == [(None, True)]


@pytest.mark.parametrize("action, status, hard", [
    ("failed", "5.1.1", True), ("failed", None, True), (None, "5.0.0", True),
    ("failed", "4.4.7", False), ("delayed", "4.4.1", False), ("delayed", "5.0.0", False),
    ("delivered", "2.0.0", False), ("relayed", "2.0.0", False), (None, None, False),
])
def test_only_permanent_failures_are_hard(action, status, hard):
    assert Bounce(MID, RCPT, status, action, None).hard is hard


@pytest.mark.parametrize("value, expected", [
    (MID, MID), (f"  {MID} (comment)", MID), (MID[1:-1], MID), ("", None), (None, None),
    ("two words", None), ("<" + "x" * 200 + "@bank.test>", None),
])
def test_message_ids_are_compared_as_stored(value, expected):
    assert normalise_message_id(value) == expected


# -- recording -------------------------------------------------------------------------------

def test_hard_bounces_mark_the_invitation_and_count_in_the_campaign(app, sent):
    campaign, (first, second, third) = sent
    with unit_of_work():
        assert record_dsn(bounce_of("postfix", first), now=DAY0) == 1
        assert record_dsn(bounce_of("exchange", second), now=DAY0) == 1
        assert record_dsn(bounce_of("delayed", third), now=DAY0) == 0
        assert record_dsn(bounce_of("reply", third), now=DAY0) == 0
        assert record_dsn(sample("postfix", "<unknown@bank.test>", RCPT), now=DAY0) == 0
    first, second, third = invitations(campaign)
    assert (first.status, second.status, third.status) == ("bounced", "bounced", "sent")
    assert first.error == (f"550 5.1.1 <{first.email}>: Recipient address rejected: User "
                           "unknown in virtual mailbox table")
    assert second.error.startswith("550 5.1.10 RESOLVER.ADR.RecipientNotFound")
    stats = campaigns.campaign_stats(campaign)
    assert (stats.sent, stats.delivered, stats.bounced) == (3, 1, 2)


# -- the command line ------------------------------------------------------------------------

def test_cli_records_eml_files_and_directories_of_them(app, runner, sent, tmp_path):
    campaign, (first, second, third) = sent
    (tmp_path / "in" / "sub").mkdir(parents=True)
    (tmp_path / "in" / "postfix.eml").write_bytes(bounce_of("postfix", first))
    (tmp_path / "in" / "sub" / "exchange.eml").write_bytes(bounce_of("exchange", second))
    (tmp_path / "in" / "notes.txt").write_text("not mail")  # only .eml in a directory
    (tmp_path / "delayed.eml").write_bytes(bounce_of("delayed", third))
    (tmp_path / "reply.eml").write_bytes(bounce_of("reply", third))
    result = runner.invoke(args=["surveys", "bounces", str(tmp_path / "in"),
                                 str(tmp_path / "delayed.eml"), str(tmp_path / "reply.eml")])
    assert result.exit_code == 0, result.output
    assert "recorded 2 bounces from 4 messages" in result.output
    assert [i.status for i in invitations(campaign)] == ["bounced", "bounced", "sent"]


def test_cli_reads_mbox_files_and_maildirs(app, runner, sent, tmp_path):
    campaign, (first, second, third) = sent
    box = mailbox.mbox(tmp_path / "bounces.mbox")
    box.add(bounce_of("exim", first))
    box.add(bounce_of("delayed", second))
    box.close()
    maildir = mailbox.Maildir(tmp_path / "Maildir")
    maildir.add(bounce_of("exchange", third))
    result = runner.invoke(args=["surveys", "bounces", str(tmp_path / "bounces.mbox"),
                                 str(tmp_path / "Maildir")])
    assert result.exit_code == 0, result.output
    assert "recorded 2 bounces from 3 messages" in result.output
    rows = invitations(campaign)
    assert [i.status for i in rows] == ["bounced", "sent", "bounced"]
    assert rows[0].error == f"550 5.2.1 <{first.email}>: mailbox disabled"


def test_cli_refuses_a_missing_path(app, runner, tmp_path):
    result = runner.invoke(args=["surveys", "bounces", str(tmp_path / "nope.eml")])
    assert result.exit_code == 2
    assert "nope.eml" in result.output


# -- the API ---------------------------------------------------------------------------------

@pytest.fixture
def token(app):
    from qms.auth.services import create_api_token

    def make(role="admin"):
        _row, secret = create_api_token(name=f"bounces-{role}", role=role)
        db.session.commit()
        return {"Authorization": f"Bearer {secret}"}

    return make


def test_api_needs_an_admin_token(app, client, token, sent):
    _campaign, (first, *_rest) = sent
    body = {"message_id": first.message_id, "reason": "550 5.1.1 user unknown"}
    resp = client.post("/api/v1/bounces", json=body)
    assert resp.status_code == 401 and resp.headers["WWW-Authenticate"].startswith("Bearer")
    assert client.post("/api/v1/bounces", json=body, headers=token("qa")).status_code == 403
    assert invitations()[0].status == "sent"


def test_api_records_a_bounce_given_as_json(app, client, token, sent):
    campaign, (first, second, _third) = sent
    resp = client.post("/api/v1/bounces", headers=token(), json={
        "message_id": first.message_id, "reason": "550 5.1.1 user unknown"})
    assert resp.status_code == 200 and resp.json == {"recorded": 1}
    resp = client.post("/api/v1/bounces", headers=token(), json={
        "message_id": second.message_id.strip("<>")})  # a bare id, no reason
    assert resp.json == {"recorded": 1}
    resp = client.post("/api/v1/bounces", headers=token(), json={
        "message_id": "<never-sent@bank.test>", "reason": "x"})
    assert resp.status_code == 200 and resp.json == {"recorded": 0}
    rows = invitations(campaign)
    assert [(i.status, i.error) for i in rows[:2]] == [
        ("bounced", "550 5.1.1 user unknown"), ("bounced", "bounced")]
    assert campaigns.campaign_stats(campaign).bounced == 2


def test_api_records_a_raw_dsn(app, client, token, sent):
    campaign, (first, second, _third) = sent
    for raw, recorded in ((bounce_of("exchange", first), 1), (bounce_of("delayed", second), 0),
                          (bounce_of("reply", second), 0)):
        resp = client.post("/api/v1/bounces", headers=token(), data=raw,
                           content_type="message/rfc822")
        assert resp.status_code == 200 and resp.json == {"recorded": recorded}
    rows = invitations(campaign)
    assert [i.status for i in rows] == ["bounced", "sent", "sent"]
    assert "RESOLVER.ADR.RecipientNotFound" in rows[0].error


@pytest.mark.parametrize("kwargs, fields", [
    ({"json": {"reason": "550"}}, {"message_id"}),
    ({"json": {"message_id": "two words", "reason": 550}}, {"message_id", "reason"}),
    ({"json": ["<a@b>"]}, set()),
    ({"data": "{not json", "content_type": "application/json"}, set()),
    ({"data": "From: x", "content_type": "text/plain"}, {"content_type"}),
    ({"data": b"  \r\n", "content_type": "message/rfc822"}, {"body"}),
], ids=["no-message-id", "wrong-types", "not-an-object", "bad-json", "text", "empty-dsn"])
def test_api_refuses_bad_input(app, client, token, sent, kwargs, fields):
    resp = client.post("/api/v1/bounces?lang=en", headers=token(), **kwargs)
    assert resp.status_code == 400
    assert set(resp.json) == {"error", "fields"} and resp.json["error"]
    assert set(resp.json["fields"]) == fields
    assert [i.status for i in invitations()] == ["sent"] * 3


def test_openapi_describes_the_endpoint(app, client):
    op = client.get("/api/v1/openapi.json").json["paths"]["/bounces"]["post"]
    assert {"200", "400", "401", "403"} <= set(op["responses"])
    assert set(op["requestBody"]["content"]) == {"application/json", "message/rfc822"}

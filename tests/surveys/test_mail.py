"""qms.mail: MIME building, the outbox, and batches over one real SMTP connection."""

# ruff: noqa: F811  (fixtures imported from campaign_support are used as arguments)

from __future__ import annotations

from email import message_from_bytes, policy

from qms import mail
from qms.mail import Outcome, OutgoingMessage
from tests.surveys.campaign_support import free_port, outbox_messages, smtp_server  # noqa: F401


def _msgs(n, **kw):
    return [OutgoingMessage(to=f"r{i}@example.test", subject=f"调查 {i}", text=f"正文 {i}",
                            html=f"<p>正文 {i}</p>", key=i, **kw) for i in range(n)]


def test_mime_has_text_and_html_parts_and_utf8_headers(app):
    msg = OutgoingMessage(to="a@example.test", subject="請告訴我們", text="您好 https://x/s/abc",
                          html="<p>您好</p>", headers={"List-Unsubscribe": "<https://x/o>"})
    raw = mail.build_mime(msg, "QMS <survey@bank.test>").as_bytes()
    parsed = message_from_bytes(raw, policy=policy.default)
    assert parsed["Subject"] == "請告訴我們"
    assert parsed["List-Unsubscribe"] == "<https://x/o>"
    assert parsed["Message-ID"].endswith("@bank.test>")
    assert parsed.get_content_type() == "multipart/alternative"
    assert parsed.get_body(("plain",)).get_content().strip() == "您好 https://x/s/abc"
    assert "<p>您好</p>" in parsed.get_body(("html",)).get_content()


def test_without_smtp_host_messages_go_to_the_outbox(app):
    results = mail.send_batch(_msgs(3))
    assert [r.outcome for r in results] == [Outcome.SENT] * 3
    assert [r.key for r in results] == [0, 1, 2]
    msgs = outbox_messages(app)
    assert sorted(str(m["To"]) for m in msgs) == [f"r{i}@example.test" for i in range(3)]
    assert {m["Message-ID"] for m in msgs} == {r.message_id for r in results}


def test_a_batch_goes_over_one_connection(app, smtp_server):
    results = mail.send_batch(_msgs(4))
    assert [r.outcome for r in results] == [Outcome.SENT] * 4
    assert smtp_server.recipients() == [f"r{i}@example.test" for i in range(4)]
    assert len(smtp_server.peers) == 1
    assert smtp_server.messages[0]["Subject"] == "调查 0"


def test_a_refused_recipient_is_recorded_and_the_rest_go_through(app, smtp_server):
    smtp_server.refuse["r1@example.test"] = "550 5.1.1 No such mailbox"
    smtp_server.refuse["r2@example.test"] = "450 4.2.1 Mailbox busy"
    results = mail.send_batch(_msgs(4))
    assert [r.outcome for r in results] == [Outcome.SENT, Outcome.REFUSED, Outcome.DEFERRED,
                                            Outcome.SENT]
    assert "550" in results[1].error and "No such mailbox" in results[1].error
    assert smtp_server.recipients() == ["r0@example.test", "r3@example.test"]
    assert len(smtp_server.peers) == 1


def test_a_dropped_connection_makes_the_message_in_flight_unknown(app, smtp_server):
    smtp_server.drop_at = 2
    results = mail.send_batch(_msgs(4))
    assert [r.outcome for r in results] == [Outcome.SENT, Outcome.UNKNOWN, Outcome.NOT_SENT,
                                            Outcome.NOT_SENT]
    assert "connection lost" in results[1].error
    assert len(smtp_server.messages) == 2  # the server did get the one in flight


def test_no_server_listening_means_nothing_was_sent(app):
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=free_port(), SMTP_TIMEOUT=2)
    results = mail.send_batch(_msgs(2))
    assert [r.outcome for r in results] == [Outcome.NOT_SENT] * 2
    assert "cannot connect" in results[0].error

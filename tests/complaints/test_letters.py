"""Letters to the complainant: in their language, with the content each jurisdiction requires,
kept as sent, and e-mailed only after the commit (a real SMTP server on loopback, or the
outbox)."""

# ruff: noqa: F811  (fixtures imported from the support modules are used as arguments)

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from qms.complaints import letters, workflow
from qms.complaints.models import ComplaintMessage
from qms.core.tx import unit_of_work
from qms.extensions import db
from qms.jobs import run_job
from tests.complaints.workflow_support import (  # noqa: F401 - fixtures
    DECISION,
    at,
    new_complaint,
    people,
    run,
    to_response,
    translated_app,
    workflow_catalogues,
)
from tests.surveys.campaign_support import body_text, free_port, outbox_messages, smtp_server  # noqa: F401


def kept(c, kind=None) -> list[ComplaintMessage]:
    stmt = sa.select(ComplaintMessage).where(ComplaintMessage.complaint_id == c.id)
    if kind:
        stmt = stmt.where(ComplaintMessage.kind == kind)
    db.session.expire_all()
    return list(db.session.scalars(stmt.order_by(ComplaintMessage.id)))


ACK = {
    "zh_Hans": ("我们已收到您的投诉", "尊敬的", "2026年3月17日"),
    "zh_Hant": ("我們已收到您的投訴", "親愛的", "2026年3月17日"),
    "en": ("We have received your complaint", "Dear ", "March 17, 2026"),
}


@pytest.mark.parametrize("locale", sorted(ACK))
def test_the_acknowledgement_is_in_the_customers_language_and_kept(app, people, locale):
    c = new_complaint(people.branch, locale=locale)
    run(workflow.acknowledge, c, people.handler, now=at(hours=3))
    [msg] = kept(c)
    subject_part, greeting, due = ACK[locale]
    assert msg.kind == "acknowledgement" and msg.locale == locale
    assert subject_part in msg.subject and c.reference in msg.subject
    assert greeting in msg.body and due in msg.body and c.reference in msg.body
    assert msg.to_email == "customer@example.com" and msg.sent_at is not None
    [mail] = outbox_messages(app)
    assert mail["Subject"] == msg.subject and mail["Message-ID"] == msg.message_id
    assert body_text(mail).strip() == msg.body.strip()
    assert mail.get_body(("html",)) is not None


CN_DECISION = {
    "zh_Hans": ["核实情况", "处理理由", "处理依据", "核查", "30", "调解", "仲裁", "诉讼",
                "¥200.00", "部分支持", "2026年4月7日"],
    "zh_Hant": ["核實情況", "處理理由", "處理依據", "核查", "30", "調解", "仲裁", "訴訟",
                "¥200.00", "部分支持", "2026年4月7日"],
    "en": ["What we verified", "Our reasons", "The basis of our decision", "review", "30",
           "mediation", "arbitration", "lawsuit", "¥200.00", "Partly upheld", "April 7, 2026"],
}


@pytest.mark.parametrize("locale", sorted(CN_DECISION))
def test_the_cn_decision_letter_states_what_was_verified_basis_reasons_and_remedies(
        app, people, locale):
    c = to_response(new_complaint(people.branch, locale=locale), people, now=at(4))
    [msg] = kept(c, "final")
    for phrase in CN_DECISION[locale]:
        assert phrase in msg.body, (phrase, msg.body)
    for text in (DECISION["findings"], DECISION["reasons"], DECISION["basis"],
                 DECISION["remedies"]):
        assert text in msg.body
    assert "Ombudsman" not in msg.body


UK_FINAL = ["Financial Ombudsman Service", "six months", "Exchange Tower, London E14 9SR",
            "0800 023 4567", "www.financial-ombudsman.org.uk", "final response"]


def test_the_uk_final_response_gives_the_ombudsman_the_six_months_and_the_waiver(app, people):
    c = to_response(new_complaint(people.branch, policy="UK_FCA_DISP", locale="en"), people,
                    now=at(4))
    [msg] = kept(c, "final")
    for phrase in UK_FINAL:
        assert phrase in msg.body, phrase
    assert "will not have our permission to consider it" in msg.body
    assert "£200.00" in msg.body
    assert "mediation" not in msg.body
    app.config["COMPLAINT_OMBUDSMAN_WAIVER"] = True
    d = to_response(new_complaint(people.branch, policy="UK_FCA_DISP", locale="en"), people,
                    now=at(4))
    [msg] = kept(d, "final")
    assert "We consent to the Ombudsman considering your complaint" in msg.body
    assert "will not have our permission" not in msg.body


def test_the_uk_final_response_in_chinese_keeps_the_content(app, people):
    c = to_response(new_complaint(people.branch, policy="UK_FCA_DISP", locale="zh_Hant"),
                    people, now=at(4))
    [msg] = kept(c, "final")
    assert "六個月" in msg.body and "金融申訴專員服務機構" in msg.body
    assert "0800 023 4567" in msg.body


def test_the_uk_acknowledgement_gives_the_response_timetable(app, people):
    c = new_complaint(people.branch, policy="UK_FCA_DISP", locale="en")
    run(workflow.acknowledge, c, people.handler, now=at(hours=3))
    [msg] = kept(c)
    assert "March 5, 2026" in msg.body  # summary resolution: 3rd business day
    assert "April 27, 2026" in msg.body  # final response: 8 weeks
    assert "eight weeks" in msg.body and "Financial Ombudsman Service" in msg.body


def test_the_uk_summary_resolution_communication(app, people):
    c = new_complaint(people.branch, policy="UK_FCA_DISP", locale="en")
    run(workflow.summary_resolve, c, people.handler, resolution="We refunded the £25 fee.",
        now=at(1))
    [msg] = kept(c, "summary")
    assert "We refunded the £25 fee." in msg.body
    assert "six months" in msg.body and "Financial Ombudsman Service" in msg.body


@pytest.mark.parametrize(("locale", "phrases"), [
    ("zh_Hans", ["延长", "2026年4月1日", "需调取资料"]),
    ("zh_Hant", ["延長", "2026年4月1日", "需调取资料"]),
    ("en", ["extended", "April 1, 2026", "需调取资料"]),
])
def test_the_customer_is_told_of_an_extension(app, people, locale, phrases):
    from tests.complaints.workflow_support import to_investigation

    c = to_investigation(new_complaint(people.branch, locale=locale), people)
    run(workflow.request_extension, c, people.handler, reason="需调取资料", now=at(3))
    assert kept(c, "extension") == []  # not before the approval
    run(workflow.decide_approval, workflow.pending_approval(c), people.checker, approve=True,
        now=at(3))
    [msg] = kept(c, "extension")
    for phrase in phrases:
        assert phrase in msg.body, (phrase, msg.body)


def test_pause_and_holding_letters(app, people):
    from tests.complaints.workflow_support import to_investigation

    c = to_investigation(new_complaint(people.branch, locale="zh_Hans"), people)
    run(workflow.pause_external, c, people.handler, reason="委托第三方司法鉴定", now=at(3))
    [pause] = kept(c, "pause")
    assert "委托第三方司法鉴定" in pause.body and "鉴定" in pause.subject
    run(workflow.resume, c, people.handler, now=at(6))
    run(workflow.send_holding_response, c, people.handler, reason="等待银联回复", now=at(7))
    [holding] = kept(c, "holding")
    assert "等待银联回复" in holding.body and "2026年3月20日" in holding.body


def test_nothing_is_sent_when_the_unit_of_work_rolls_back(app, people):
    c = new_complaint(people.branch)
    with pytest.raises(RuntimeError):
        with unit_of_work():
            workflow.acknowledge(c, people.handler, now=at(1))
            raise RuntimeError("something failed after the letter was composed")
    assert letters.deliver_committed() == 0
    assert kept(c) == [] and outbox_messages(app) == []
    db.session.refresh(c)
    assert c.status == "RECEIVED"


def test_nothing_is_sent_before_the_commit(app, people):
    c = new_complaint(people.branch)
    with unit_of_work():
        workflow.acknowledge(c, people.handler, now=at(1))
        assert letters.deliver_committed() == 0  # still inside the unit of work
    assert outbox_messages(app) == []
    assert letters.deliver_committed() == 1
    assert len(outbox_messages(app)) == 1
    assert letters.deliver_committed() == 0


def test_without_an_address_the_letter_is_kept_but_not_sent(app, people):
    c = new_complaint(people.branch, email=None)
    run(workflow.acknowledge, c, people.handler, now=at(1))
    [msg] = kept(c)
    assert msg.to_email is None and msg.sent_at is None and msg.error == letters.NO_ADDRESS
    assert outbox_messages(app) == []


def test_letters_go_through_a_real_smtp_server(app, people, smtp_server):
    c = to_response(new_complaint(people.branch, locale="zh_Hans"), people, now=at(4))
    msgs = kept(c)
    assert [m.kind for m in msgs] == ["acknowledgement", "final"]
    assert all(m.sent_at is not None and m.error is None for m in msgs)
    assert smtp_server.recipients() == ["customer@example.com"] * 2
    received = {m["Message-ID"]: m for m in smtp_server.messages}
    final = received[msgs[1].message_id]
    assert final["Subject"] == msgs[1].subject
    assert "核实了柜台监控记录" in body_text(final)
    assert final["X-QMS-Complaint"] == c.reference
    assert "核实了柜台监控记录" in final.get_body(("html",)).get_content()


def test_a_letter_not_handed_over_is_sent_later_by_the_job(app, people, smtp_server):
    port = app.config["SMTP_PORT"]
    app.config.update(SMTP_PORT=free_port(), SMTP_TIMEOUT=2)  # nobody listens there
    c = new_complaint(people.branch)
    run(workflow.acknowledge, c, people.handler, now=at(1))
    [msg] = kept(c)
    assert msg.sent_at is None and msg.message_id is None and msg.error is None
    app.config["SMTP_PORT"] = port
    assert run_job("complaint-letters", datetime(2026, 3, 2, 4, tzinfo=UTC)) == 1
    assert run_job("complaint-letters", datetime(2026, 3, 2, 5, tzinfo=UTC)) == 0
    [msg] = kept(c)
    assert msg.sent_at is not None
    assert smtp_server.recipients() == ["customer@example.com"]


def test_a_letter_that_may_have_arrived_is_never_sent_again(app, people, smtp_server):
    smtp_server.drop_at = 1
    c = new_complaint(people.branch)
    run(workflow.acknowledge, c, people.handler, now=at(1))
    [msg] = kept(c)
    assert msg.sent_at is None and msg.error and msg.message_id
    assert run_job("complaint-letters") == 0
    assert len(smtp_server.messages) == 1

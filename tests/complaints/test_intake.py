"""Intake: what a complaint starts with, every field error (with nothing stored), the clock from
receipt, VIP priority, the duplicate warning, regulator transfers and survey follow-ups."""

# ruff: noqa: F811  (fixtures imported from intake_support are used as arguments)

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from qms.complaints import intake
from qms.complaints.models import Complaint, ComplaintEvent
from qms.core.tx import unit_of_work
from qms.extensions import db
from tests.complaints.intake_support import (  # noqa: F401
    EXE,
    HTML,
    PNG,
    T0,
    bank,
    count,
    data,
    make,
    nothing_stored,
    upload,
)


def create(payload: dict, via: str = "staff", actor=None, now=T0, **kw):
    with unit_of_work():
        return intake.create_complaint(payload, actor=actor, via=via, now=now, **kw)


def test_staff_intake_starts_the_complaint(bank):
    received = T0 - timedelta(days=2, hours=3)  # a letter opened two days late
    complaint, token = create(data(agent_code="SH01-007", product="白金信用卡",
                                   received_at=received, representative="王芳之子",
                                   attachments=[upload(PNG, "收据.png")]),
                              actor=bank.officer)
    c = db.session.get(Complaint, complaint.id)
    assert re.fullmatch(r"CMP-2026-\d{6}", c.reference) and c.reference == "CMP-2026-000001"
    assert c.status == "RECEIVED" and c.intake_channel == "staff"
    assert c.policy_code == "CN_NFRA_2020"
    assert c.received_at == received and c.clock_started_at == received
    assert c.created_at == T0  # entered later than received: the clock runs from receipt
    # received 2026-02-28 (Shanghai) + 15 days = 2026-03-15, a Sunday -> Monday 16th
    assert c.due_on == date(2026, 3, 16)
    assert (c.branch_id, c.agent_id, c.product) == (bank.sh.id, bank.agent_sh.id, "白金信用卡")
    assert c.owner_id == bank.officer.id and c.assignee_id is None
    assert c.priority == "normal" and c.segment == "standard"
    assert c.representative == "王芳之子"
    [event] = c.events
    assert (event.kind, event.from_status, event.to_status) == ("received", None, "RECEIVED")
    assert event.actor_id == bank.officer.id and event.changes["reference"] == [None, c.reference]
    assert c.history_length == 1 and c.history_head == event.hash
    assert token and len(token) >= 22 and c.status_token_hash != token
    assert intake.find_by_status_token(token).id == c.id
    assert intake.status_token_for(c) == token  # letters can print the same link again
    assert count(intake.uploads.Attachment) == 1


def test_customer_record_fills_the_complainant_and_vip_gets_priority(bank):
    c, _ = create(data(customer_ref="C-VIP", complainant_name=None, complainant_email=None),
                  actor=bank.officer)
    assert (c.customer_id, c.complainant_name, c.complainant_email) == (
        bank.vip.id, "赵先生", "zhao@example.test")
    assert c.segment == "vip" and c.priority == "high"
    assert c.complainant_locale == "zh_Hant"  # letters in the customer's language
    std, _ = create(data(customer_ref="C-STD", business_code="B02"), actor=bank.officer)
    assert std.priority == "normal"
    walk_in, _ = create(data(segment="vip", complainant_email="vip2@example.test"),
                        actor=bank.officer)
    assert walk_in.priority == "high"
    critical, _ = create(data(severity="critical", complainant_email="c@example.test"),
                         actor=bank.officer)
    assert critical.priority == "high"


def test_the_public_cannot_claim_vip_or_a_regulator_transfer(bank):
    c, _ = create(data(segment="vip", source="regulator", regulator_ref="R-1",
                       channel_code=None, business_code=None, cause_code=None), via="public")
    assert (c.segment, c.priority, c.source, c.regulator_ref) == ("standard", "normal",
                                                                 "direct", None)
    assert c.owner_id is None and c.events[0].actor_label == "public form"


FIELD_ERRORS = [
    ("complainant_name", {"complainant_name": None}, "staff"),
    ("complainant_email", {"complainant_email": "not-an-address"}, "staff"),
    ("complainant_phone", {"complainant_phone": "call me maybe"}, "staff"),
    ("complainant_locale", {"complainant_locale": "fr"}, "staff"),
    ("customer_ref", {"customer_ref": "NOBODY"}, "staff"),
    ("branch_code", {"branch_code": None}, "staff"),
    ("branch_code", {"branch_code": "XX99"}, "staff"),
    ("agent_code", {"agent_code": "BJ01-001"}, "staff"),  # an agent of another branch
    ("channel_code", {"channel_code": None}, "staff"),
    ("channel_code", {"channel_code": "Z99"}, "staff"),
    ("business_code", {"business_code": None}, "api"),
    ("business_code", {"business_code": "C01"}, "staff"),  # a code of another axis
    ("cause_code", {"cause_code": "C77"}, "staff"),
    ("severity", {"severity": "apocalyptic"}, "staff"),
    ("segment", {"segment": "gold"}, "staff"),
    ("description", {"description": "   "}, "staff"),
    ("description", {"description": "长" * 10_001}, "staff"),
    ("received_at", {"received_at": T0 + timedelta(hours=1)}, "staff"),
    ("received_at", {"received_at": "2026-03-05T09:00:00+08:00"}, "api"),
    ("received_at", {"received_at": T0 - timedelta(days=400)}, "staff"),
    ("received_at", {"received_at": "yesterday"}, "api"),
    ("regulator_ref", {"source": "regulator"}, "staff"),
    ("source", {"source": "pigeon"}, "staff"),
    ("complainant_email", {"complainant_email": None}, "public"),  # no way to answer
    ("complainant_name", {"complainant_name": 42}, "api"),
    ("attachments", {"attachments": [upload(HTML, "photo.png")]}, "staff"),
    ("attachments", {"attachments": [upload(EXE, "scan.pdf")]}, "staff"),
]


@pytest.mark.parametrize("field,change,via", FIELD_ERRORS,
                         ids=[f"{f}-{i}" for i, (f, _c, _v) in enumerate(FIELD_ERRORS)])
def test_each_bad_field_is_named_and_nothing_is_stored(bank, field, change, via):
    with pytest.raises(intake.IntakeError) as exc:
        create(data(**change), via=via, actor=bank.officer if via == "staff" else None)
    assert field in exc.value.fields, exc.value.fields
    assert nothing_stored()


def test_all_errors_come_at_once(bank):
    with pytest.raises(intake.IntakeError) as exc:
        create({"received_at": T0 + timedelta(days=1), "source": "regulator"},
               actor=bank.officer)
    assert {"complainant_name", "branch_code", "channel_code", "business_code",
            "description", "received_at", "regulator_ref"} <= set(exc.value.fields)
    assert nothing_stored()


def test_receipt_time_rules(bank):
    # a few seconds ahead of our clock is clock drift: taken as now, never stored in the future
    c, _ = create(data(received_at=T0 + timedelta(seconds=40)), actor=bank.officer)
    assert c.received_at == T0
    # a local time without a zone is read in the branch's zone (the staff form's input)
    c2, _ = create(data(received_at=datetime(2026, 3, 1, 23, 30),
                        complainant_email="x@example.test"), actor=bank.officer)
    assert c2.received_at == datetime(2026, 3, 1, 15, 30, tzinfo=UTC)
    assert c2.due_on == date(2026, 3, 16)  # 1 March + 15 days
    c3, _ = create(data(received_at="2026-03-01T09:00:00Z", complainant_email="y@ex.test"),
                   via="api", actor=None)
    assert c3.received_at == datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def test_regulator_transfer_keeps_its_reference(bank):
    c, _ = create(data(source="regulator", regulator_ref="NFRA-SH-2026-0042"),
                  actor=bank.officer)
    assert (c.source, c.regulator_ref) == ("regulator", "NFRA-SH-2026-0042")
    assert "NFRA-SH-2026-0042" in c.events[0].reason
    direct, _ = create(data(regulator_ref="ignored", complainant_email="d@example.test"),
                       actor=bank.officer)
    assert direct.regulator_ref is None


def test_a_branch_scoped_officer_registers_only_for_their_branches(bank, make_user):
    local = make_user("complaints", branch=bank.sh)
    c, _ = create(data(), actor=local)
    assert c.branch_id == bank.sh.id
    with pytest.raises(intake.IntakeError) as exc:
        create(data(branch_code="BJ01", complainant_email="b@example.test"), actor=local)
    assert exc.value.fields["branch_code"] == intake._("No open branch has this code.")


def test_retired_codes_are_refused_for_new_complaints(bank):
    from qms.complaints import codes

    row = next(c for c in codes.list_codes("A") if c.code == "A07")
    with unit_of_work():
        codes.update_code(row, labels=row.labels, sort=row.sort, active=False)
    with pytest.raises(intake.IntakeError) as exc:
        create(data(channel_code="A07"), actor=bank.officer)
    assert "channel_code" in exc.value.fields


# -- duplicates ---------------------------------------------------------------------------------

def test_duplicate_warning_for_the_same_customer_and_category(bank):
    first = make(customer_ref="C-STD", actor=bank.officer)
    again = data(customer_ref="C-STD")
    with pytest.raises(intake.PossibleDuplicate) as exc:
        create(again, actor=bank.officer)
    assert [c.reference for c in exc.value.duplicates] == [first.reference]
    assert count(Complaint) == 1 and count(ComplaintEvent) == 1
    # the officer confirms: a new complaint, and the page lists the other one
    second, _ = create(again, actor=bank.officer, confirm_duplicate=True)
    assert [c.id for c in intake.duplicates_of(second)] == [first.id]
    # another category, or another person: no warning
    create(data(customer_ref="C-STD", business_code="B01"), actor=bank.officer)
    create(data(customer_ref="C-VIP"), actor=bank.officer)
    # the same person without a customer record is recognised by e-mail (case aside)
    make(complainant_email="Same@Example.test", actor=bank.officer)
    with pytest.raises(intake.PossibleDuplicate):
        create(data(complainant_email="same@example.test"), actor=bank.officer)


def test_a_finished_complaint_is_no_duplicate(bank):
    first = make(customer_ref="C-STD", actor=bank.officer)
    first.status = "CLOSED"
    db.session.commit()
    c, _ = create(data(customer_ref="C-STD"), actor=bank.officer)
    assert c.id != first.id


def test_api_and_public_intakes_are_not_stopped_by_a_duplicate(bank):
    first = make(customer_ref="C-STD", actor=bank.officer)
    c, _ = create(data(customer_ref="C-STD"), via="api", actor=None)
    assert [d.id for d in intake.duplicates_of(c)] == [first.id]


# -- survey follow-ups --------------------------------------------------------------------------

@pytest.fixture
def follow_up(app):
    from qms.surveys.models import FollowUp
    from tests.surveys import results_data

    with unit_of_work():
        from qms.complaints import codes

        codes.seed_codes()
    d = results_data.build(db)
    # response 6: branch B, agent b1, e-mail invitation of customer C-standard, comment
    item = FollowUp(response_id=d.response_ids[5], branch_id=d.b.id, reason="detractor")
    db.session.add(item)
    db.session.commit()
    d.item = item
    return d


def test_one_click_from_a_follow_up_links_response_customer_branch_agent(follow_up,
                                                                         make_user):
    officer = make_user("complaints")
    with unit_of_work():
        c, token = intake.from_follow_up(follow_up.item, officer, now=T0)
    c = db.session.get(Complaint, c.id)
    assert c.follow_up_id == follow_up.item.id and c.intake_channel == "survey"
    assert c.customer.ref == "C-standard" and c.complainant_name == "客户standard"
    assert c.branch_id == follow_up.b.id and c.agent.code == "RB-01"
    assert "Terrible WAIT at the counter" in c.description
    assert c.received_at == T0 and c.owner_id == officer.id and token
    # not twice
    with pytest.raises(intake.AlreadyRaised) as exc:
        intake.from_follow_up(follow_up.item, officer, now=T0)
    assert exc.value.complaint.id == c.id
    assert count(Complaint) == 1


def test_follow_up_page_button_is_one_click_and_scoped(follow_up, client, login, make_user):
    officer = make_user("complaints")
    c = login(officer)
    resp = c.post(f"/complaints/from-follow-up/{follow_up.item.id}")
    assert resp.status_code == 303
    complaint = db.session.scalar(sa.select(Complaint))
    assert resp.headers["Location"].endswith(f"/complaints/{complaint.id}")
    again = c.post(f"/complaints/from-follow-up/{follow_up.item.id}")
    assert again.status_code == 303 and again.headers["Location"] == resp.headers["Location"]
    assert count(Complaint) == 1
    # a branch head of the other branch cannot see the follow-up: 404, nothing made
    head_a = make_user("branch_head", branch=follow_up.a)
    assert login(head_a).post(f"/complaints/from-follow-up/{follow_up.item.id}") \
        .status_code == 404
    assert login(officer).post("/complaints/from-follow-up/999999").status_code == 404

"""The workflow: every move of the state machine, reasons, ownership, the clock (pauses,
extensions, restarts), closure, review, reopening, merging, withdrawal."""

# ruff: noqa: F811  (fixtures imported from the support module are used as arguments)

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from flask_babel import force_locale

from qms.complaints import codes, sla, workflow
from qms.complaints.models import ComplaintApproval, ComplaintEvent, ComplaintMessage
from qms.complaints.states import REASON_REQUIRED, TRANSITIONS, IllegalTransition, Status
from qms.extensions import db
from tests.complaints.workflow_support import (
    DECISION,
    T0,
    at,
    new_complaint,
    people,  # noqa: F401 - fixture
    run,
    to_investigation,
    to_response,
)

S = Status
ALLOWED = sorted((str(a), str(b)) for a, targets in TRANSITIONS.items() for b in targets)
FORBIDDEN = sorted((str(a), str(b)) for a in S for b in S if b not in TRANSITIONS[a])


def events(c) -> list[ComplaintEvent]:
    return list(db.session.scalars(sa.select(ComplaintEvent).where(
        ComplaintEvent.complaint_id == c.id).order_by(ComplaintEvent.seq)))


def put_in(c, status: str) -> None:
    """Place a complaint in a state directly (the set-up of the table tests)."""
    c.status = status
    db.session.commit()


# -- the table --------------------------------------------------------------------------------

def test_the_table_has_the_expected_size():
    assert len(ALLOWED) == sum(len(t) for t in TRANSITIONS.values()) > 40
    assert len(ALLOWED) + len(FORBIDDEN) == len(S) ** 2


def test_every_allowed_transition_moves_and_records(app, people):
    failures = []
    for current, target in ALLOWED:
        c = new_complaint(people.branch)
        put_in(c, current)
        try:
            run(workflow.transition, c, target, actor=people.handler, reason="因为", now=at(1))
        except Exception as exc:  # noqa: BLE001 - collect them all
            failures.append(f"{current} -> {target}: {exc!r}")
            db.session.rollback()
            continue
        ev = events(c)[-1]
        if (c.status, ev.from_status, ev.to_status, ev.actor_id, c.history_length) != (
                target, current, target, people.handler.id, 2):
            failures.append(f"{current} -> {target}: recorded {ev.from_status}->{ev.to_status}")
    assert not failures, "\n".join(failures)


def test_every_forbidden_transition_is_refused_and_changes_nothing(app, people):
    c = new_complaint(people.branch)
    failures = []
    for current, target in FORBIDDEN:
        put_in(c, current)
        length, head = c.history_length, c.history_head
        with pytest.raises(IllegalTransition) as info:
            run(workflow.transition, c, target, actor=people.handler, reason="因为", now=at(1))
        db.session.expire_all()
        if (c.status, c.history_length, c.history_head) != (current, length, head):
            failures.append(f"{current} -> {target} changed the complaint")
        if (info.value.current, info.value.target) != (current, target):
            failures.append(f"{current} -> {target}: refusal names {info.value}")
    assert len(events(c)) == 1
    assert not failures, "\n".join(failures)


def test_a_refused_move_says_which_state_and_which_move(app, people):
    c = new_complaint(people.branch, locale="en")
    with pytest.raises(workflow.IllegalMove) as info:
        workflow.transition(c, "CLOSED", actor=people.handler)
    with force_locale("en"):
        text = str(info.value.message)
    assert "Received" in text and "Closed" in text
    assert isinstance(info.value, workflow.WorkflowError)
    # a service refuses the same way, naming its action
    with pytest.raises(workflow.IllegalMove) as info:
        workflow.close(c, people.handler, root_cause="R01", remediation="x", now=at(1))
    with force_locale("en"):
        assert "Close" in str(info.value.message) and "Received" in str(info.value.message)


@pytest.mark.parametrize("move", sorted((str(a), str(b)) for a, b in REASON_REQUIRED
                                        if b in TRANSITIONS[a]))
def test_moves_that_need_a_reason_refuse_without_one(app, people, move):
    current, target = move
    c = new_complaint(people.branch)
    put_in(c, current)
    for blank in (None, "", "   "):
        with pytest.raises(workflow.WorkflowError) as info:
            run(workflow.transition, c, target, actor=people.handler, reason=blank, now=at(1))
        assert "reason" in info.value.fields
        db.session.expire_all()
        assert (c.status, c.history_length) == (current, 1)
    run(workflow.transition, c, target, actor=people.handler, reason="客户来电说明", now=at(1))
    assert c.status == target and events(c)[-1].reason == "客户来电说明"


def test_non_handlers_cannot_use_the_services(app, people):
    c = new_complaint(people.branch)
    for user in (people.head, people.admin):
        with pytest.raises(workflow.WorkflowError):
            workflow.acknowledge(c, user, now=at(1))
    assert c.status == "RECEIVED"


# -- first steps and ownership ----------------------------------------------------------------

def test_acknowledge_makes_the_first_contact_owner_and_sends_the_letter(app, people):
    c = new_complaint(people.branch)
    run(workflow.acknowledge, c, people.handler, now=at(hours=2))
    assert c.status == "ACKNOWLEDGED" and c.acknowledged_at == at(hours=2)
    assert c.owner_id == c.assignee_id == people.handler.id
    msg = db.session.scalar(sa.select(ComplaintMessage).where(
        ComplaintMessage.complaint_id == c.id))
    assert msg.kind == "acknowledgement" and msg.sent_at is not None
    ev = [e for e in events(c) if e.kind == "acknowledged"][0]
    assert ev.changes["owner_id"] == [None, people.handler.id]


def test_reassigning_the_handler_keeps_the_owner_and_resets_the_declaration(app, people):
    c = new_complaint(people.branch)
    to_investigation(c, people)
    assert c.conflict_declared_at is not None
    run(workflow.assign, c, people.checker, people.reviewer, reason="休假", now=at(1))
    assert c.owner_id == people.handler.id and c.assignee_id == people.reviewer.id
    assert c.conflict_declared_at is None
    ev = events(c)[-1]
    assert ev.kind == "assigned" and ev.changes["assignee_id"] == [people.handler.id,
                                                                  people.reviewer.id]
    assert ev.actor_id == people.checker.id and ev.reason == "休假"
    # taking over the handling never changes the owner either
    run(workflow.take_ownership, c, people.checker, now=at(1))
    assert (c.owner_id, c.assignee_id) == (people.handler.id, people.checker.id)


def test_without_an_owner_the_first_to_take_it_owns_it(app, people):
    c = new_complaint(people.branch)
    run(workflow.take_ownership, c, people.checker, now=at(hours=1))
    assert c.owner_id == c.assignee_id == people.checker.id
    with pytest.raises(workflow.WorkflowError):
        workflow.take_ownership(c, people.checker, now=at(hours=1))


def test_assign_only_to_an_officer_covering_the_branch(app, people):
    c = new_complaint(people.branch)
    for who in (people.outsider, people.head, people.admin):
        with pytest.raises(workflow.WorkflowError) as info:
            workflow.assign(c, people.handler, who, now=at(1))
        assert "assignee" in info.value.fields
    run(workflow.assign, c, people.handler, people.central, now=at(1))
    assert c.assignee_id == people.central.id and c.owner_id == people.central.id


def test_triage_checks_codes_against_the_lists(app, people):
    codes.seed_codes()
    db.session.commit()
    c = new_complaint(people.branch)
    run(workflow.acknowledge, c, people.handler, now=at(hours=1))
    with pytest.raises(workflow.WorkflowError) as info:
        workflow.triage(c, people.handler, channel_code="A01", business_code="ZZ9",
                        cause_code=None, now=at(hours=1))
    assert {"business_code"} <= set(info.value.fields) or {"cause_code"} <= set(
        info.value.fields)
    run(workflow.triage, c, people.handler, channel_code="A05", business_code="B03",
        cause_code="C01", severity="high", now=at(hours=2))
    assert (c.status, c.channel_code, c.severity) == ("TRIAGED", "A05", "high")
    run(workflow.triage, c, people.handler, channel_code="A05", business_code="B04",
        cause_code="C01", now=at(hours=3))
    ev = events(c)[-1]
    assert ev.kind == "reclassified" and ev.changes == {"business_code": ["B03", "B04"]}
    assert (ev.from_status, ev.to_status) == ("TRIAGED", "TRIAGED")


def test_a_decision_needs_the_handlers_declaration_of_no_conflict(app, people):
    c = new_complaint(people.branch)
    run(workflow.acknowledge, c, people.handler, now=at(hours=1))
    run(workflow.triage, c, people.handler, channel_code="A01", business_code="B01",
        cause_code="C01", now=at(hours=1))
    run(workflow.start_investigation, c, people.handler, now=at(hours=1))
    with pytest.raises(workflow.WorkflowError) as info:
        workflow.draft_decision(c, people.handler, **DECISION, now=at(1))
    with force_locale("en"):
        assert "conflict" in str(info.value.message)
    # someone else cannot declare for the handler, nor draft
    with pytest.raises(workflow.WorkflowError):
        workflow.declare_no_conflict(c, people.checker, now=at(1))
    run(workflow.declare_no_conflict, c, people.handler, statement="与客户无亲属关系", now=at(1))
    with pytest.raises(workflow.WorkflowError):
        workflow.draft_decision(c, people.checker, **DECISION, now=at(1))
    run(workflow.draft_decision, c, people.handler, **DECISION, now=at(1))
    assert c.status == "DECISION_DRAFTED" and c.redress_amount == Decimal("200.00")
    assert c.decision_maker_id == people.handler.id


def test_a_draft_is_checked(app, people):
    c = to_investigation(new_complaint(people.branch), people)
    bad = [
        ({"outcome": "maybe"}, "outcome"),
        ({"redress_amount": "12.345"}, "redress_amount"),
        ({"redress_amount": "-1"}, "redress_amount"),
        ({"redress_amount": "abc"}, "redress_amount"),
        ({"outcome": "rejected", "redress_amount": "10"}, "redress_amount"),
        ({"reasons": ""}, "reasons"),
        ({"basis": None}, "basis"),
    ]
    for change, field in bad:
        with pytest.raises(workflow.WorkflowError) as info:
            workflow.draft_decision(c, people.handler, **{**DECISION, **change}, now=at(1))
        assert field in info.value.fields, change
    assert c.status == "IN_INVESTIGATION"


# -- the clock --------------------------------------------------------------------------------

def test_extensions_recompute_the_deadline_cn_15_30_60_days_rolled_to_a_working_day(app,
                                                                                     people):
    c = to_investigation(new_complaint(people.branch), people)
    assert c.due_on == date(2026, 3, 17)
    run(workflow.request_extension, c, people.handler, reason="需调取多家机构资料", now=at(3))
    assert c.status == "EXTENSION_PENDING" and c.due_on == date(2026, 3, 17)
    approval = workflow.pending_approval(c)
    assert (approval.kind, approval.required_role, approval.payload["level"]) == (
        "extension", "complaints", 1)
    run(workflow.decide_approval, approval, people.checker, approve=True, now=at(3, 1))
    assert (c.status, c.extension_level, c.due_on) == ("IN_INVESTIGATION", 1, date(2026, 4, 1))
    ev = [e for e in events(c) if e.kind == "extension_approved"][0]
    assert ev.changes["due_on"] == ["2026-03-17", "2026-04-01"]
    assert ev.approver_id == people.checker.id
    assert db.session.scalar(sa.select(ComplaintMessage.kind).where(
        ComplaintMessage.complaint_id == c.id).order_by(ComplaintMessage.id.desc())) \
        == "extension"

    # the last tier: 60 days from receipt = 1 May 2026, Labour Day -> the next working day
    run(workflow.request_extension, c, people.handler, reason="特别复杂", now=at(20))
    approval = workflow.pending_approval(c)
    assert approval.required_role == "admin"
    for wrong in (people.checker, people.central):  # complaint officers, not head office
        with pytest.raises(workflow.WorkflowError) as info:
            workflow.decide_approval(approval, wrong, approve=True, now=at(20))
        with force_locale("en"):
            assert "Administrator" in str(info.value.message)
    run(workflow.decide_approval, approval, people.admin, approve=True, now=at(20))
    assert (c.extension_level, c.due_on) == (2, date(2026, 5, 6))
    assert sla.is_working_day("CN", None, c.due_on)
    assert "request_extension" not in workflow.available_actions(c, people.handler, now=at(21))
    with pytest.raises(workflow.WorkflowError):
        workflow.request_extension(c, people.handler, reason="再延", now=at(21))


def test_a_rejected_extension_leaves_the_deadline(app, people):
    c = to_investigation(new_complaint(people.branch), people)
    run(workflow.request_extension, c, people.handler, reason="复杂", now=at(3))
    approval = workflow.pending_approval(c)
    with pytest.raises(workflow.WorkflowError) as info:
        workflow.decide_approval(approval, people.checker, approve=False, now=at(3))
    assert "note" in info.value.fields
    run(workflow.decide_approval, approval, people.checker, approve=False,
        note="证据已足够", now=at(3))
    assert (c.status, c.extension_level, c.due_on) == ("IN_INVESTIGATION", 0, date(2026, 3, 17))
    assert db.session.get(ComplaintApproval, approval.id).status == "rejected"


def test_a_deadline_on_a_weekend_rolls_to_monday(app, people):
    c = new_complaint(people.branch, received_at=datetime(2026, 3, 6, 2, tzinfo=UTC))
    assert c.due_on == date(2026, 3, 23)  # 15 days = Saturday 21 March


def test_a_pause_adds_the_paused_days(app, people):
    c = to_investigation(new_complaint(people.branch), people)
    run(workflow.pause_external, c, people.handler, reason="送司法鉴定", now=at(3))
    assert c.status == "PAUSED_EXTERNAL" and c.paused_since == at(3)
    assert "escalat" not in c.status
    run(workflow.resume, c, people.handler, now=at(5, 3))  # 2 days 3 hours -> 2 days
    assert (c.status, c.paused_days, c.paused_since) == ("IN_INVESTIGATION", 2, None)
    assert c.due_on == date(2026, 3, 19)
    assert c.due_on == sla.due_date("CN_NFRA_2020", "final", T0, tz="Asia/Shanghai",
                                    paused_days=2)
    ev = events(c)[-2]  # the letter comes last
    assert ev.kind == "resumed" and ev.changes["due_on"] == ["2026-03-17", "2026-03-19"]
    kinds = list(db.session.scalars(sa.select(ComplaintMessage.kind).where(
        ComplaintMessage.complaint_id == c.id).order_by(ComplaintMessage.id)))
    assert kinds == ["acknowledgement", "pause", "resume"]
    # a second pause adds up, and an extension keeps the paused days
    run(workflow.pause_external, c, people.handler, reason="再次鉴定", now=at(6))
    run(workflow.resume, c, people.handler, now=at(9))
    assert c.paused_days == 5 and c.due_on == date(2026, 3, 23)  # 22nd is a Sunday
    run(workflow.request_extension, c, people.handler, reason="复杂", now=at(9))
    run(workflow.decide_approval, workflow.pending_approval(c), people.checker, approve=True,
        now=at(9))
    assert c.due_on == date(2026, 4, 6) + timedelta(days=1)  # 1 Apr + 5 = 6 Apr, Qingming


def test_a_policy_without_pauses_refuses_a_pause(app, people):
    c = to_investigation(new_complaint(people.branch, policy="UK_FCA_DISP", locale="en"),
                         people)
    with pytest.raises(workflow.WorkflowError):
        workflow.pause_external(c, people.handler, reason="x", now=at(3))
    assert "pause_external" not in workflow.available_actions(c, people.handler, now=at(3))


def test_restart_on_new_facts_restarts_the_clock(app, people, make_user):
    c = to_investigation(new_complaint(people.branch), people)
    run(workflow.request_extension, c, people.handler, reason="复杂", now=at(3))
    run(workflow.decide_approval, workflow.pending_approval(c), people.checker, approve=True,
        now=at(3))
    assert c.due_on == date(2026, 4, 1)
    with pytest.raises(workflow.WorkflowError) as info:
        workflow.restart_clock(c, people.handler, new_facts="补充材料", received_at=at(30),
                               now=at(10))
    assert "received_at" in info.value.fields
    with pytest.raises(workflow.WorkflowError):
        workflow.restart_clock(c, people.handler, new_facts=" ", received_at=at(9), now=at(10))
    run(workflow.restart_clock, c, people.handler, new_facts="客户提交新的交易流水",
        received_at=at(9), now=at(10))
    assert c.clock_started_at == at(9) and c.extension_level == 0
    assert c.due_on == date(2026, 3, 26)  # 11 March + 15 days
    assert c.received_at == T0  # receipt itself is history
    ev = events(c)[-1]
    assert ev.kind == "clock_restarted" and ev.reason == "客户提交新的交易流水"
    assert ev.changes["due_on"] == ["2026-04-01", "2026-03-26"]


def test_uk_policy_does_not_restart(app, people):
    c = to_investigation(new_complaint(people.branch, policy="UK_FCA_DISP", locale="en"),
                         people)
    with pytest.raises(workflow.WorkflowError):
        workflow.restart_clock(c, people.handler, new_facts="x", received_at=at(2), now=at(3))


def test_a_custom_policy_overrides_a_preset_code(app, people):
    from qms.complaints.models import SlaPolicyRecord

    definition = sla.policy_to_dict(sla.PRESETS["CN_NFRA_2020"])
    definition["milestones"]["final"]["count"] = 10
    db.session.add(SlaPolicyRecord(code="CN_NFRA_2020", name="本行标准", definition=definition))
    db.session.commit()
    c = new_complaint(people.branch)
    assert c.due_on == date(2026, 3, 12)


# -- the decision and after -------------------------------------------------------------------

def test_the_whole_way_to_closure(app, people):
    codes.seed_codes()
    db.session.commit()
    c = to_response(new_complaint(people.branch), people, now=at(4))
    assert (c.status, c.approved_by_id, c.response_issued_at) == (
        "RESPONSE_ISSUED", people.checker.id, at(4))
    with pytest.raises(workflow.WorkflowError) as info:  # redress is owed
        workflow.close(c, people.handler, root_cause="R01", remediation="培训", now=at(5))
    with force_locale("en"):
        assert "redress" in str(info.value.message).lower()
    run(workflow.start_redress, c, people.handler, now=at(5))
    with pytest.raises(workflow.WorkflowError) as info:
        workflow.record_redress_paid(c, people.handler, paid_at=at(6), root_cause=None,
                                     remediation="培训", now=at(6))
    assert "root_cause" in info.value.fields
    with pytest.raises(workflow.WorkflowError) as info:
        workflow.record_redress_paid(c, people.handler, paid_at=at(6), root_cause="R02",
                                     remediation="", now=at(6))
    assert "remediation" in info.value.fields
    run(workflow.record_redress_paid, c, people.handler, paid_at=at(6), root_cause="R02",
        remediation="对柜员开展服务规范培训", now=at(6))
    assert (c.status, c.redress_paid_at, c.closed_by_id) == ("CLOSED", at(6), people.handler.id)
    assert c.owner_id == people.handler.id
    assert [e.to_status for e in events(c)[1:] if e.from_status != e.to_status] == [
        "ACKNOWLEDGED", "TRIAGED", "IN_INVESTIGATION", "DECISION_DRAFTED",
        "PENDING_APPROVAL", "RESPONSE_ISSUED", "REDRESS_PENDING", "CLOSED"]


def test_close_needs_root_cause_and_remediation(app, people):
    c = to_response(new_complaint(people.branch), people, outcome="rejected",
                    redress_amount=None)
    for cause, action, field in ((None, "培训", "root_cause"), ("", "培训", "root_cause"),
                                 ("R01", None, "remediation"), ("R01", "  ", "remediation")):
        with pytest.raises(workflow.WorkflowError) as info:
            run(workflow.close, c, people.handler, root_cause=cause, remediation=action,
                now=at(5))
        assert field in info.value.fields
        db.session.expire_all()
        assert c.status == "RESPONSE_ISSUED" and c.closed_at is None
    run(workflow.close, c, people.handler, root_cause="R01", remediation="修订流程", now=at(5))
    assert c.status == "CLOSED" and c.root_cause == "R01"


def test_review_within_the_window_by_neither_maker_nor_approver(app, people):
    c = to_response(new_complaint(people.branch), people, now=at(4))  # issued 6 March
    assert workflow.review_window_end(c) == date(2026, 4, 7)  # 5 April + roll (Qingming)
    late = at(40)
    assert "request_review" not in workflow.available_actions(c, people.handler, now=late)
    with pytest.raises(workflow.WorkflowError):
        workflow.request_review(c, people.handler, reason="不服", now=late)
    run(workflow.request_review, c, people.handler, reason="客户书面申请核查", applied_at=at(20),
        now=at(21))
    assert (c.status, c.review_requested_at) == ("REVIEW_REQUESTED", at(20))
    assert c.due_on == date(2026, 4, 21)  # 30 days from the application
    for wrong in (people.handler, people.checker):  # the maker, the approver
        with pytest.raises(workflow.WorkflowError) as info:
            workflow.start_review(c, people.central, reviewer=wrong, now=at(21))
        assert "reviewer" in info.value.fields
        with pytest.raises(workflow.WorkflowError):
            workflow.start_review(c, wrong, now=at(21))
    run(workflow.start_review, c, people.central, reviewer=people.reviewer, now=at(21))
    assert (c.status, c.reviewer_id) == ("REVIEW_IN_PROGRESS", people.reviewer.id)
    with pytest.raises(workflow.WorkflowError):  # only the reviewer decides
        workflow.review_decision(c, people.central, **DECISION, now=at(22))
    run(workflow.review_decision, c, people.reviewer, **{**DECISION, "outcome": "upheld",
                                                         "redress_amount": "500"}, now=at(25))
    assert (c.status, c.outcome, c.redress_amount) == ("RESPONSE_ISSUED", "upheld",
                                                       Decimal("500.00"))
    ev = [e for e in events(c) if e.kind == "review_decided"][0]
    assert ev.changes["outcome"] == ["partly_upheld", "upheld"]
    assert ev.changes["redress_amount"] == ["200.00", "500"]
    kinds = list(db.session.scalars(sa.select(ComplaintMessage.kind).where(
        ComplaintMessage.complaint_id == c.id).order_by(ComplaintMessage.id)))
    assert kinds[-1] == "review_decision"
    with pytest.raises(workflow.WorkflowError):  # one review only
        workflow.request_review(c, people.handler, reason="再次", now=at(26))


def test_uk_has_no_review_but_a_summary_resolution_in_three_business_days(app, people):
    c = new_complaint(people.branch, policy="UK_FCA_DISP", locale="en")
    assert "summary_resolve" in workflow.available_actions(c, people.handler, now=at(2))
    with pytest.raises(workflow.WorkflowError):
        workflow.summary_resolve(c, people.handler, resolution="Refunded the fee",
                                 now=at(4))  # Friday 6 March: after close of Thursday
    run(workflow.summary_resolve, c, people.handler, resolution="Refunded the fee", now=at(3))
    assert c.status == "SUMMARY_RESOLVED"
    cn = new_complaint(people.branch)
    with pytest.raises(workflow.WorkflowError):
        workflow.summary_resolve(cn, people.handler, resolution="x", now=at(1))
    d = to_response(new_complaint(people.branch, policy="UK_FCA_DISP", locale="en"), people)
    with pytest.raises(workflow.WorkflowError):
        workflow.request_review(d, people.handler, reason="x", now=at(3))


def test_reopen_only_within_the_window(app, people):
    app.config["COMPLAINT_REOPEN_DAYS"] = 30
    c = to_response(new_complaint(people.branch), people, outcome="rejected",
                    redress_amount=None, now=at(4))
    run(workflow.close, c, people.handler, root_cause="R01", remediation="x", now=at(5))
    assert "reopen" not in workflow.available_actions(c, people.handler, now=at(36))
    with pytest.raises(workflow.WorkflowError):
        workflow.reopen(c, people.handler, reason="客户再次来电", now=at(36))
    with pytest.raises(workflow.WorkflowError) as info:
        workflow.reopen(c, people.handler, reason=" ", now=at(20))
    assert "reason" in info.value.fields
    run(workflow.reopen, c, people.handler, reason="客户再次来电", now=at(35))
    assert (c.status, c.closed_at) == ("REOPENED", None)
    run(workflow.start_investigation, c, people.handler, now=at(35))
    assert c.status == "IN_INVESTIGATION"


def test_merge_a_repeat_of_the_same_customer(app, people):
    first = new_complaint(people.branch, email="li@example.com")
    repeat = new_complaint(people.branch, email="LI@example.com ", received_at=at(2))
    stranger = new_complaint(people.branch, email="zhao@example.com", received_at=at(2))
    with pytest.raises(workflow.WorkflowError) as info:
        workflow.merge(stranger, first, people.handler, reason="重复", now=at(3))
    assert "into" in info.value.fields
    with pytest.raises(workflow.WorkflowError):
        workflow.merge(repeat, repeat, people.handler, reason="重复", now=at(3))
    with pytest.raises(workflow.WorkflowError):
        workflow.merge(repeat, first, people.handler, reason="", now=at(3))
    run(workflow.merge, repeat, first, people.handler, reason="同一事项再次投诉，无新事实",
        now=at(3))
    assert (repeat.status, repeat.merged_into_id) == ("MERGED", first.id)
    assert events(first)[-1].kind == "merged_in"
    assert events(first)[-1].changes == {"merged": [None, repeat.reference]}
    assert first.status == "RECEIVED"
    again = new_complaint(people.branch, email="li@example.com", received_at=at(4))
    with pytest.raises(workflow.WorkflowError):  # not into a merged one
        workflow.merge(again, repeat, people.handler, reason="重复", now=at(4))


def test_withdraw_ends_a_pause_and_needs_a_reason(app, people):
    c = to_investigation(new_complaint(people.branch), people)
    run(workflow.pause_external, c, people.handler, reason="鉴定", now=at(3))
    with pytest.raises(workflow.WorkflowError):
        workflow.withdraw(c, people.handler, reason="", now=at(5))
    run(workflow.withdraw, c, people.handler, reason="客户来电撤诉", now=at(5))
    assert (c.status, c.paused_since, c.paused_days) == ("WITHDRAWN", None, 2)
    assert workflow.available_actions(c, people.handler, now=at(5)) == []


def test_not_accepted_needs_approval(app, people):
    c = new_complaint(people.branch)
    run(workflow.acknowledge, c, people.handler, now=at(hours=1))
    run(workflow.request_not_accepted, c, people.handler, reason="非本行业务", now=at(1))
    assert c.status == "PENDING_APPROVAL"
    approval = workflow.pending_approval(c)
    run(workflow.decide_approval, approval, people.checker, approve=False,
        note="属于本行代销业务", now=at(1))
    assert c.status == "ACKNOWLEDGED"
    run(workflow.request_not_accepted, c, people.handler, reason="非本行业务", now=at(1))
    run(workflow.decide_approval, workflow.pending_approval(c), people.checker, approve=True,
        now=at(2))
    assert c.status == "NOT_ACCEPTED" and c.closed_at == at(2)
    msg = db.session.scalar(sa.select(ComplaintMessage).where(
        ComplaintMessage.complaint_id == c.id, ComplaintMessage.kind == "not_accepted"))
    assert msg is not None and "非本行业务" in msg.body
    run(workflow.reopen, c, people.handler, reason="客户补充说明", now=at(10))
    assert c.status == "REOPENED"


def test_available_actions_follow_the_services(app, people):
    c = new_complaint(people.branch)
    assert workflow.available_actions(c, people.head, now=at(1)) == []
    assert workflow.available_actions(c, people.admin, now=at(1)) == []
    names = workflow.available_actions(c, people.handler, now=at(1))
    assert {"acknowledge", "take_ownership", "withdraw", "merge",
            "request_not_accepted"} <= set(names)
    assert "close" not in names and "draft_decision" not in names
    to_investigation(c, people)
    names = workflow.available_actions(c, people.handler, now=at(1))
    assert {"draft_decision", "pause_external", "request_extension", "request_info",
            "restart_clock"} <= set(names)
    assert "draft_decision" not in workflow.available_actions(c, people.checker, now=at(1))
    assert set(names) <= set(workflow.ACTION_LABELS)


def test_services_take_their_arguments_in_the_documented_order(app, people):
    c = to_investigation(new_complaint(people.branch), people)
    run(workflow.request_extension, c, people.handler, 1, "复杂", now=at(2))
    run(workflow.decide_approval, workflow.pending_approval(c), people.checker, True, "同意",
        now=at(2))
    assert c.extension_level == 1
    # a missing required input is a refusal, not a TypeError
    for service in (workflow.pause_external, workflow.request_info, workflow.withdraw):
        with pytest.raises(workflow.WorkflowError):
            service(c, people.handler, now=at(3))
    first = new_complaint(people.branch, email="a@example.com")
    repeat = new_complaint(people.branch, email="a@example.com")
    run(workflow.merge, repeat, people.handler, first, reason="重复", now=at(3))
    assert repeat.merged_into_id == first.id


def test_the_customer_progress_has_no_internal_detail(app, people):
    c = to_investigation(new_complaint(people.branch), people)
    progress = workflow.customer_progress(c)
    assert progress["status"] == "IN_INVESTIGATION" and progress["due_on"] == date(2026, 3, 17)
    assert [s["key"] for s in progress["steps"] if s["done"]] == ["received", "acknowledged"]
    assert [s["key"] for s in progress["steps"] if s["current"]] == ["investigating"]
    assert not {"assignee_id", "owner_id", "reason", "decision_reasons"} & set(progress)
    run(workflow.pause_external, c, people.handler, reason="鉴定", now=at(3))
    assert workflow.customer_progress(c)["paused"] is True

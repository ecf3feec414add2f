"""Four-eyes: a decision, an extension or a "not accepted" is approved by someone who is not
its maker, holds the required role for the branch, and says why when rejecting."""

# ruff: noqa: F811  (fixtures imported from the support module are used as arguments)

from __future__ import annotations

import pytest
import sqlalchemy as sa

from qms.complaints import workflow
from qms.complaints.models import ComplaintApproval, ComplaintEvent, ComplaintMessage
from qms.extensions import db
from tests.complaints.workflow_support import (
    DECISION,
    at,
    new_complaint,
    people,  # noqa: F401 - fixture
    run,
    to_investigation,
)


def drafted(p, maker=None, **decision):
    """A complaint whose decision `maker` drafted and submitted."""
    c = new_complaint(p.branch)
    to_investigation(c, p)
    if maker is not None and maker is not p.handler:
        run(workflow.assign, c, p.handler, maker, now=at(1))
        run(workflow.declare_no_conflict, c, maker, now=at(1))
    maker = maker or p.handler
    run(workflow.draft_decision, c, maker, **{**DECISION, **decision}, now=at(2))
    return c


def test_the_maker_cannot_approve_their_own_decision(app, people):
    c = drafted(people)
    run(workflow.submit_for_approval, c, people.handler, now=at(2))
    approval = workflow.pending_approval(c)
    assert approval.requested_by_id == people.handler.id
    assert "decide_approval" not in workflow.available_actions(c, people.handler, now=at(2))
    with pytest.raises(workflow.WorkflowError):
        run(workflow.decide_approval, approval, people.handler, approve=True, now=at(2))
    db.session.expire_all()
    assert c.status == "PENDING_APPROVAL" and approval.status == "pending"
    assert "decide_approval" in workflow.available_actions(c, people.checker, now=at(2))


def test_holding_two_roles_does_not_make_the_maker_a_checker(app, people, make_user):
    both = make_user("complaints", "admin", branch=None, name="两个角色")
    c = drafted(people, maker=both)
    run(workflow.submit_for_approval, c, both, now=at(2))
    approval = workflow.pending_approval(c)
    with pytest.raises(workflow.WorkflowError):
        workflow.decide_approval(approval, both, approve=True, now=at(2))
    assert "decide_approval" not in workflow.available_actions(c, both, now=at(2))
    # nor for an extension that needs head office (admin): the requester is the maker
    d = new_complaint(people.branch)
    to_investigation(d, people)
    run(workflow.assign, d, people.handler, both, now=at(1))
    run(workflow.request_extension, d, both, reason="复杂", now=at(2))
    run(workflow.decide_approval, workflow.pending_approval(d), people.checker, approve=True,
        now=at(2))
    run(workflow.request_extension, d, both, reason="特别复杂", now=at(3))
    tier2 = workflow.pending_approval(d)
    assert tier2.required_role == "admin"
    with pytest.raises(workflow.WorkflowError):
        workflow.decide_approval(tier2, both, approve=True, now=at(3))
    run(workflow.decide_approval, tier2, people.admin, approve=True, now=at(3))
    assert d.extension_level == 2


def test_a_draft_submitted_by_its_maker_is_not_approved_by_the_submitter(app, people):
    c = drafted(people)
    with pytest.raises(workflow.WorkflowError):  # only the maker submits
        workflow.submit_for_approval(c, people.checker, now=at(2))
    run(workflow.submit_for_approval, c, people.handler, now=at(2))
    approval = workflow.pending_approval(c)
    assert approval.payload["decision_maker_id"] == people.handler.id
    assert workflow.decide_approval.__doc__


@pytest.mark.parametrize("who", ["outsider", "head", "admin"])
def test_the_checker_needs_the_role_for_the_branch(app, people, who):
    c = drafted(people)
    run(workflow.submit_for_approval, c, people.handler, now=at(2))
    approval = workflow.pending_approval(c)
    with pytest.raises(workflow.WorkflowError):
        workflow.decide_approval(approval, getattr(people, who), approve=True, now=at(2))
    run(workflow.decide_approval, approval, people.central, approve=True, now=at(2))
    assert c.status == "RESPONSE_ISSUED" and c.approved_by_id == people.central.id


def test_the_extension_requester_cannot_approve_it(app, people):
    c = to_investigation(new_complaint(people.branch), people)
    run(workflow.request_extension, c, people.handler, reason="复杂", now=at(2))
    approval = workflow.pending_approval(c)
    with pytest.raises(workflow.WorkflowError):
        workflow.decide_approval(approval, people.handler, approve=True, now=at(2))
    for wrong in (people.head, people.outsider):
        with pytest.raises(workflow.WorkflowError):
            workflow.decide_approval(approval, wrong, approve=True, now=at(2))
    assert c.extension_level == 0


def test_not_accepted_is_not_approved_by_its_proposer(app, people):
    c = new_complaint(people.branch)
    run(workflow.request_not_accepted, c, people.handler, reason="匿名且无法核实", now=at(1))
    approval = workflow.pending_approval(c)
    with pytest.raises(workflow.WorkflowError):
        workflow.decide_approval(approval, people.handler, approve=True, now=at(1))
    run(workflow.decide_approval, approval, people.checker, approve=True, now=at(1))
    assert c.status == "NOT_ACCEPTED"


def test_a_rejected_decision_goes_back_to_its_maker_with_the_note(app, people):
    c = drafted(people)
    run(workflow.submit_for_approval, c, people.handler, now=at(2))
    approval = workflow.pending_approval(c)
    with pytest.raises(workflow.WorkflowError) as info:
        workflow.decide_approval(approval, people.checker, approve=False, note=" ",
                                 now=at(2))
    assert "note" in info.value.fields
    run(workflow.decide_approval, approval, people.checker, approve=False,
        note="补偿依据不足", now=at(2))
    assert c.status == "DECISION_DRAFTED"
    ev = db.session.scalars(sa.select(ComplaintEvent).where(
        ComplaintEvent.complaint_id == c.id).order_by(ComplaintEvent.seq.desc())).first()
    assert (ev.kind, ev.reason, ev.approver_id, ev.from_status, ev.to_status) == (
        "decision_rejected", "补偿依据不足", people.checker.id, "PENDING_APPROVAL",
        "DECISION_DRAFTED")
    with pytest.raises(workflow.WorkflowError):  # decided once
        workflow.decide_approval(approval, people.central, approve=True, now=at(2))
    run(workflow.draft_decision, c, people.handler, **{**DECISION, "redress_amount": "100"},
        now=at(3))
    redraft = db.session.scalars(sa.select(ComplaintEvent).where(
        ComplaintEvent.complaint_id == c.id).order_by(ComplaintEvent.seq.desc())).first()
    assert redraft.kind == "decision_redrafted"
    assert redraft.changes == {"redress_amount": ["200.00", "100"]}
    run(workflow.submit_for_approval, c, people.handler, now=at(3))
    second = workflow.pending_approval(c)
    assert second.id != approval.id and second.payload["redress_amount"] == "100.00"
    run(workflow.decide_approval, second, people.checker, approve=True, now=at(3))
    assert (c.status, c.approved_by_id, c.decision_maker_id) == (
        "RESPONSE_ISSUED", people.checker.id, people.handler.id)
    approved = db.session.scalar(sa.select(ComplaintEvent).where(
        ComplaintEvent.complaint_id == c.id, ComplaintEvent.kind == "decision_approved"))
    assert approved.approver_id == people.checker.id
    assert approved.changes["approved_by_id"] == [None, people.checker.id]
    assert db.session.scalar(sa.select(ComplaintMessage.kind).where(
        ComplaintMessage.complaint_id == c.id, ComplaintMessage.kind == "final")) == "final"
    statuses = list(db.session.scalars(sa.select(ComplaintApproval.status).where(
        ComplaintApproval.complaint_id == c.id).order_by(ComplaintApproval.id)))
    assert statuses == ["rejected", "approved"]


def test_by_default_every_decision_needs_approval(app, people):
    assert app.config.get("COMPLAINT_ALWAYS_APPROVE", True) is True
    c = drafted(people, redress_amount="10")
    assert "issue_decision" not in workflow.available_actions(c, people.handler, now=at(2))
    with pytest.raises(workflow.WorkflowError):
        workflow.issue_decision(c, people.handler, now=at(2))


@pytest.mark.parametrize(("decision", "needs"), [
    ({"redress_amount": "1000.00"}, False),
    ({"redress_amount": None, "outcome": "upheld"}, False),
    ({"redress_amount": "1000.01"}, True),
    ({"redress_amount": None, "outcome": "rejected"}, True),
])
def test_with_a_threshold_small_decisions_go_out_without_a_checker(app, people, decision,
                                                                   needs):
    app.config.update(COMPLAINT_ALWAYS_APPROVE=False, COMPLAINT_APPROVAL_THRESHOLD="1000")
    c = drafted(people, **decision)
    if needs:
        with pytest.raises(workflow.WorkflowError):
            workflow.issue_decision(c, people.handler, now=at(2))
        assert "submit_for_approval" in workflow.available_actions(c, people.handler, now=at(2))
        return
    with pytest.raises(workflow.WorkflowError):  # still only by the maker
        workflow.issue_decision(c, people.checker, now=at(2))
    run(workflow.issue_decision, c, people.handler, now=at(2))
    assert (c.status, c.approved_by_id) == ("RESPONSE_ISSUED", None)
    assert db.session.scalar(sa.select(ComplaintMessage.kind).where(
        ComplaintMessage.complaint_id == c.id, ComplaintMessage.kind == "final")) == "final"


def test_extensions_and_not_accepted_always_need_approval_even_with_a_threshold(app, people):
    app.config.update(COMPLAINT_ALWAYS_APPROVE=False)
    c = to_investigation(new_complaint(people.branch), people)
    run(workflow.request_extension, c, people.handler, reason="复杂", now=at(2))
    assert c.status == "EXTENSION_PENDING" and c.extension_level == 0
    d = new_complaint(people.branch)
    run(workflow.request_not_accepted, d, people.handler, reason="非投诉", now=at(1))
    assert d.status == "PENDING_APPROVAL"
    assert not hasattr(workflow, "not_accept")  # no direct way round the approval

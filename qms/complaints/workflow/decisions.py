"""The decision and four-eyes: drafting, approval requests (decision, extension, not accepted),
their approval by someone who is not the maker, issuing, summary resolution, holding replies."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from qms.complaints import letters
from qms.complaints.models import Complaint, ComplaintApproval
from qms.complaints.states import Status
from qms.complaints.workflow.core import (
    OUTCOMES,
    WorkflowError,
    apply,
    check,
    compute_due,
    decision_needs_approval,
    guard,
    in_states,
    local_date,
    milestone_due,
    policy_for,
    require,
    require_handler,
    required_text,
    setting,
    transition,
)
from qms.complaints.workflow.core import (
    note as note_event,
)
from qms.complaints.workflow.handling import first_contact, next_tier
from qms.core.db import now_utc
from qms.core.permissions import can_see_branch
from qms.extensions import db

S = Status
DECISION, EXTENSION, NOT_ACCEPTED = "decision", "extension", "not_accepted"
APPROVAL_STATES = {DECISION: S.PENDING_APPROVAL, NOT_ACCEPTED: S.PENDING_APPROVAL,
                   EXTENSION: S.EXTENSION_PENDING}
BEFORE_INVESTIGATION = (S.RECEIVED, S.ACKNOWLEDGED, S.TRIAGED)
TEXT_LIMIT = 20_000


def money(value, field: str = "redress_amount") -> Decimal | None:
    """A non-negative amount with at most two decimals, or None."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise WorkflowError(_l("Give an amount such as 1200.50."),
                            {field: _l("Give an amount such as 1200.50.")}) from None
    require(amount.is_finite() and amount >= 0 and amount.as_tuple().exponent >= -2
            and amount < Decimal("1e12"), _l("Give an amount such as 1200.50."), field)
    return amount


# -- drafting ---------------------------------------------------------------------------------

@guard("draft_decision")
def _can_draft(complaint, user, now):
    require_handler(user)
    in_states(complaint, {S.IN_INVESTIGATION, S.DECISION_DRAFTED}, _l("Draft the decision"))
    require(complaint.assignee_id == user.id, _l("Only the handler drafts the decision."))
    require(complaint.conflict_declared_at is not None,
            _l("The handler must declare no conflict of interest before drafting a decision."))


def decision_values(outcome, redress_amount, reasons, basis, remedies, findings) -> dict:
    """The checked fields of a decision (drafted or on review)."""
    require(outcome in OUTCOMES, _l("Choose the outcome."), "outcome")
    amount = money(redress_amount)
    require(not (outcome == "rejected" and amount), _l("A rejected complaint gets no redress."),
            "redress_amount")
    return {
        "outcome": outcome,
        "redress_amount": amount,
        "decision_findings": (findings or "").strip()[:TEXT_LIMIT] or None,
        "decision_reasons": required_text(reasons, "reasons", TEXT_LIMIT),
        "decision_basis": required_text(basis, "basis", TEXT_LIMIT),
        "remedies": (remedies or "").strip()[:TEXT_LIMIT] or None,
    }


def draft_decision(complaint: Complaint, actor, outcome: str | None = None, redress_amount=None,
                   reasons: str | None = None, basis: str | None = None,
                   remedies: str | None = None, findings: str | None = None, *,
                   now: datetime | None = None):
    """The handler (the maker) drafts: outcome, redress, what was verified, reasons, basis,
    remedies. From IN_INVESTIGATION it moves to DECISION_DRAFTED; a draft sent back by the
    approver is edited in place, its earlier text kept in the event."""
    now = now or now_utc()
    _can_draft(complaint, actor, now)
    values = decision_values(outcome, redress_amount, reasons, basis, remedies, findings)
    changes: dict = {}
    first_contact(complaint, actor, changes)
    apply(complaint, changes, decision_maker_id=actor.id, **values)
    if complaint.status == S.IN_INVESTIGATION:
        return transition(complaint, S.DECISION_DRAFTED, actor=actor, kind="decision_drafted",
                          changes=changes, now=now)
    require(bool(changes), _l("Nothing changed."))
    return note_event(complaint, "decision_redrafted", actor=actor, changes=changes, now=now)


@guard("return_to_investigation")
def _can_return(complaint, user, now):
    require_handler(user)
    in_states(complaint, {S.DECISION_DRAFTED}, _l("Return to investigation"))


def return_to_investigation(complaint: Complaint, actor, reason: str | None = None, *,
                            now: datetime | None = None):
    now = now or now_utc()
    _can_return(complaint, actor, now)
    return transition(complaint, S.IN_INVESTIGATION, actor=actor, kind="returned",
                      reason=required_text(reason, "reason"), now=now)


# -- approvals --------------------------------------------------------------------------------

def pending_approval(complaint: Complaint) -> ComplaintApproval | None:
    return db.session.scalar(sa.select(ComplaintApproval).where(
        ComplaintApproval.complaint_id == complaint.id, ComplaintApproval.status == "pending")
        .order_by(ComplaintApproval.id.desc()).limit(1))


def _request(complaint: Complaint, actor, kind: str, role: str, payload: dict,
             now: datetime) -> ComplaintApproval:
    require(pending_approval(complaint) is None, _l("An approval is already pending."))
    approval = ComplaintApproval(complaint_id=complaint.id, kind=kind, payload=payload,
                                 required_role=role, requested_by_id=actor.id, requested_at=now)
    db.session.add(approval)
    db.session.flush()
    return approval


def makers(approval: ComplaintApproval) -> set[int]:
    """Who may not approve: whoever asked, and for a decision whoever drafted it."""
    ids = {approval.requested_by_id}
    maker = (approval.payload or {}).get("decision_maker_id")
    if maker is not None:
        ids.add(maker)
    return ids


def check_approver(approval: ComplaintApproval, user) -> None:
    """Four-eyes: never the maker, whatever roles they hold; the tier's role, in scope."""
    require(approval.status == "pending", _l("This request has already been decided."))
    require(user is not None and user.id not in makers(approval),
            _l("The maker of a request cannot approve it."))
    role = approval.required_role or setting("COMPLAINT_APPROVER_ROLE")
    require(user.has_role(role) and can_see_branch(user, approval.complaint.branch_id, {role}),
            _l("This request needs approval by %(role)s.", role=_role_label(role)))


ROLE_NAMES = {"admin": _l("Administrator"), "complaints": _l("Complaint officer")}


def _role_label(role: str):
    return ROLE_NAMES.get(role, role)


@guard("decide_approval")
def _can_decide(complaint, user, now):
    approval = pending_approval(complaint)
    require(approval is not None, _l("Nothing is waiting for approval."))
    in_states(complaint, {APPROVAL_STATES[approval.kind]}, _l("Approve or reject"))
    check_approver(approval, user)


@guard("submit_for_approval")
def _can_submit(complaint, user, now):
    require_handler(user)
    check(complaint, S.PENDING_APPROVAL, _l("Submit for approval"))
    in_states(complaint, {S.DECISION_DRAFTED}, _l("Submit for approval"))
    require(complaint.decision_maker_id == user.id,
            _l("Only the maker submits the decision."))


def submit_for_approval(complaint: Complaint, actor, *, now: datetime | None = None):
    """DECISION_DRAFTED -> PENDING_APPROVAL with the draft as it stands."""
    now = now or now_utc()
    _can_submit(complaint, actor, now)
    approval = _request(complaint, actor, DECISION, setting("COMPLAINT_APPROVER_ROLE"),
                        _decision_payload(complaint), now)
    return transition(complaint, S.PENDING_APPROVAL, actor=actor, kind="approval_requested",
                      changes={"approval": [None, approval.id]}, now=now)


def _decision_payload(complaint: Complaint) -> dict:
    return {
        "decision_maker_id": complaint.decision_maker_id, "outcome": complaint.outcome,
        "redress_amount": str(complaint.redress_amount)
        if complaint.redress_amount is not None else None,
        "findings": complaint.decision_findings, "reasons": complaint.decision_reasons,
        "basis": complaint.decision_basis, "remedies": complaint.remedies,
    }


@guard("issue_decision")
def _can_issue(complaint, user, now):
    require_handler(user)
    in_states(complaint, {S.DECISION_DRAFTED}, _l("Issue the decision"))
    require(complaint.decision_maker_id == user.id, _l("Only the maker issues the decision."))
    require(not decision_needs_approval(complaint.outcome, complaint.redress_amount),
            _l("This decision needs approval by a second officer."))


def issue_decision(complaint: Complaint, actor, *, now: datetime | None = None):
    """Issue without a checker, only where the policy allows it (see decision_needs_approval)."""
    now = now or now_utc()
    _can_issue(complaint, actor, now)
    return _issue(complaint, actor, approver=None, now=now)


def _issue(complaint: Complaint, actor, *, approver, now: datetime, kind="response_issued"):
    changes = apply(complaint, {}, decided_at=now, response_issued_at=now,
                    approved_by_id=getattr(approver, "id", None))
    event = transition(complaint, S.RESPONSE_ISSUED, actor=actor, kind=kind, changes=changes,
                       approver=approver, now=now)
    letters.compose(complaint, "final", actor=actor, now=now)
    return event


@guard("request_extension")
def _can_extend(complaint, user, now):
    require_handler(user)
    check(complaint, S.EXTENSION_PENDING, _l("Request an extension"))
    require(next_tier(complaint) is not None,
            _l("The time limit cannot be extended any further."))


def request_extension(complaint: Complaint, actor, level: int | None = None,
                      reason: str | None = None, *, now: datetime | None = None):
    """Ask for the next time-limit tier (CN: 15 -> 30 -> 60 days); the tier says who approves."""
    now = now or now_utc()
    _can_extend(complaint, actor, now)
    reason = required_text(reason, "reason")
    new_level, name, milestone = next_tier(complaint)
    require(level is None or level == new_level,
            _l("Extensions go one tier at a time."), "level")
    role = milestone.approver_role or setting("COMPLAINT_APPROVER_ROLE")
    approval = _request(complaint, actor, EXTENSION, role,
                        {"level": new_level, "milestone": name, "reason": reason}, now)
    return transition(complaint, S.EXTENSION_PENDING, actor=actor, kind="extension_requested",
                      reason=reason, changes={"approval": [None, approval.id]}, now=now)


@guard("request_not_accepted")
def _can_not_accept(complaint, user, now):
    require_handler(user)
    in_states(complaint, BEFORE_INVESTIGATION, _l("Propose not to accept"))


def request_not_accepted(complaint: Complaint, actor, reason: str | None = None, *,
                         now: datetime | None = None):
    """Propose that the complaint is not accepted (e.g. not a complaint, not ours); approved
    by a second officer before the customer is told."""
    now = now or now_utc()
    _can_not_accept(complaint, actor, now)
    reason = required_text(reason, "reason")
    approval = _request(complaint, actor, NOT_ACCEPTED, setting("COMPLAINT_APPROVER_ROLE"),
                        {"from": complaint.status, "reason": reason}, now)
    return transition(complaint, S.PENDING_APPROVAL, actor=actor,
                      kind="not_accepted_requested", reason=reason,
                      changes={"approval": [None, approval.id]}, now=now)


def decide_approval(approval: ComplaintApproval, approver, approve: bool,
                    note: str | None = None, *, now: datetime | None = None):
    """The checker approves or rejects (a rejection says why). Never the maker.

    decision: approved -> RESPONSE_ISSUED and the decision letter; rejected -> DECISION_DRAFTED.
    extension: approved -> the next tier, deadline recomputed, customer told; either way back
    to IN_INVESTIGATION. not accepted: approved -> NOT_ACCEPTED and the letter; rejected -> the
    state it came from.
    """
    now = now or now_utc()
    complaint = approval.complaint
    _can_decide(complaint, approver, now)
    require(pending_approval(complaint).id == approval.id,
            _l("This request has already been decided."))
    note = (note or "").strip() or None
    require(approve or note, _l("Say why the request is rejected."), "note")
    apply(approval, {}, status="approved" if approve else "rejected",
          decided_by_id=approver.id, decided_at=now, note=note)
    changes = {"approval": [approval.id, "approved" if approve else "rejected"]}
    if approval.kind == DECISION:
        if approve:
            return _issue(complaint, approver, approver=approver, now=now,
                          kind="decision_approved")
        return transition(complaint, S.DECISION_DRAFTED, actor=approver, approver=approver,
                          kind="decision_rejected", reason=note, changes=changes, now=now)
    if approval.kind == EXTENSION:
        if not approve:
            return transition(complaint, S.IN_INVESTIGATION, actor=approver, approver=approver,
                              kind="extension_rejected", reason=note, changes=changes,
                              now=now)
        apply(complaint, changes, extension_level=int(approval.payload["level"]))
        apply(complaint, changes, due_on=compute_due(complaint, S.IN_INVESTIGATION))
        event = transition(complaint, S.IN_INVESTIGATION, actor=approver, approver=approver,
                           kind="extension_approved", reason=note, changes=changes,
                           now=now)
        letters.compose(complaint, "extension", actor=approver, now=now,
                        reason=approval.payload.get("reason"))
        return event
    if approve:
        apply(complaint, changes, closed_at=now, closed_by_id=approver.id,
              decided_at=now, response_issued_at=now)
        event = transition(complaint, S.NOT_ACCEPTED, actor=approver, approver=approver,
                           kind="not_accepted", reason=(approval.payload or {}).get("reason"),
                           changes=changes, now=now)
        letters.compose(complaint, "not_accepted", actor=approver, now=now,
                        reason=(approval.payload or {}).get("reason"))
        return event
    return transition(complaint, approval.payload["from"], actor=approver, approver=approver,
                      kind="not_accepted_rejected", reason=note, changes=changes, now=now)


# -- other responses --------------------------------------------------------------------------

@guard("summary_resolve")
def _can_summary(complaint, user, now):
    require_handler(user)
    check(complaint, S.SUMMARY_RESOLVED, _l("Resolve by summary resolution"))
    due = milestone_due(complaint, "summary")
    require(due is not None, _l("The complaint's time limit policy has no summary resolution."))
    require(local_date(complaint, now) <= due,
            _l("The summary resolution period ended on %(date)s.", date=due.isoformat()))


def summary_resolve(complaint: Complaint, actor, resolution: str | None = None, *,
                    now: datetime | None = None):
    """UK DISP 1.5: resolved by the third business day after receipt, with a summary
    resolution communication (the customer may still go to the Ombudsman)."""
    now = now or now_utc()
    _can_summary(complaint, actor, now)
    resolution = required_text(resolution, "resolution", TEXT_LIMIT)
    changes: dict = {}
    first_contact(complaint, actor, changes)
    apply(complaint, changes, decision_reasons=resolution, decision_maker_id=actor.id,
          decided_at=now, response_issued_at=now)
    event = transition(complaint, S.SUMMARY_RESOLVED, actor=actor, kind="summary_resolved",
                       changes=changes, now=now)
    letters.compose(complaint, "summary", actor=actor, now=now)
    return event


HOLDING_STATES = frozenset({S.ACKNOWLEDGED, S.TRIAGED, S.IN_INVESTIGATION, S.PAUSED_EXTERNAL,
                            S.AWAITING_INFO, S.EXTENSION_PENDING, S.DECISION_DRAFTED,
                            S.PENDING_APPROVAL, S.REOPENED})


@guard("send_holding_response")
def _can_hold(complaint, user, now):
    require_handler(user)
    in_states(complaint, HOLDING_STATES, _l("Send a holding response"))


def send_holding_response(complaint: Complaint, actor, reason: str | None = None, *,
                          now: datetime | None = None):
    """Tell the customer why the final response is not ready and when to expect it (UK DISP
    1.6.2R(2): with the Ombudsman referral right)."""
    now = now or now_utc()
    _can_hold(complaint, actor, now)
    reason = required_text(reason, "reason")
    event = note_event(complaint, "holding_response", actor=actor, reason=reason, now=now)
    letters.compose(complaint, "holding", actor=actor, now=now, reason=reason)
    return event


def policy_allows_review(complaint: Complaint) -> bool:
    return "review_request" in policy_for(complaint).milestones

"""After the response: review (核查), external referral, redress, closure, and the exits
(withdrawal, merge of a repeat complaint, reopening)."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l

from qms.complaints import letters
from qms.complaints.models import Complaint
from qms.complaints.states import Status
from qms.complaints.workflow.core import (
    REFERRAL_BODIES,
    apply,
    check,
    check_code,
    compute_due,
    guard,
    in_states,
    local_date,
    milestone_due,
    note,
    require,
    require_handler,
    required_text,
    setting,
    transition,
)
from qms.complaints.workflow.decisions import TEXT_LIMIT, decision_values, money
from qms.complaints.workflow.handling import _end_pause, can_handle
from qms.core.db import now_utc

S = Status
REFERRAL_LABELS = {
    "ombudsman": _l("Ombudsman"), "mediation": _l("Mediation"),
    "arbitration": _l("Arbitration"), "court": _l("Court"),
}


def redress_owed(complaint: Complaint) -> bool:
    return bool(complaint.redress_amount) and complaint.outcome != "rejected" \
        and complaint.redress_paid_at is None


# -- review (核查) ----------------------------------------------------------------------------

def review_window_end(complaint: Complaint):
    if complaint.response_issued_at is None:
        return None
    return milestone_due(complaint, "review_request", decided_at=complaint.response_issued_at)


@guard("request_review")
def _can_request_review(complaint, user, now):
    require_handler(user)
    check(complaint, S.REVIEW_REQUESTED, _l("Record a review request"))
    require(complaint.review_requested_at is None,
            _l("A review of this complaint has already been requested."))
    end = review_window_end(complaint)
    require(end is not None, _l("The complaint's time limit policy has no review."))
    require(local_date(complaint, now) <= end,
            _l("The review had to be requested by %(date)s.", date=end.isoformat()))


def request_review(complaint: Complaint, actor, reason: str | None = None,
                   applied_at: datetime | None = None, *, now: datetime | None = None):
    """Record the customer's written application for a review (核查), made within the
    policy's window from the decision; the review's own deadline starts from it."""
    now = now or now_utc()
    _can_request_review(complaint, actor, now)
    reason = (reason or "").strip() or None
    applied_at = applied_at or now
    require(applied_at.tzinfo is not None and complaint.response_issued_at <= applied_at <= now,
            _l("The application date must lie between the decision and today."), "applied_at")
    require(local_date(complaint, applied_at) <= review_window_end(complaint),
            _l("The review had to be requested by %(date)s.",
               date=review_window_end(complaint).isoformat()), "applied_at")
    changes = apply(complaint, {}, review_requested_at=applied_at, closed_at=None,
                    closed_by_id=None)
    apply(complaint, changes, due_on=compute_due(complaint, S.REVIEW_REQUESTED))
    return transition(complaint, S.REVIEW_REQUESTED, actor=actor, kind="review_requested",
                      reason=reason, changes=changes, now=now)


def _check_reviewer(complaint: Complaint, reviewer) -> None:
    require(reviewer is not None and can_handle(reviewer, complaint),
            _l("Choose a complaint officer who covers this branch."), "reviewer")
    require(reviewer.id not in {complaint.decision_maker_id, complaint.approved_by_id},
            _l("The reviewer must be neither the maker nor the approver of the decision."),
            "reviewer")


@guard("start_review")
def _can_start_review(complaint, user, now):
    require_handler(user)
    in_states(complaint, {S.REVIEW_REQUESTED}, _l("Start the review"))


def start_review(complaint: Complaint, actor, reviewer=None, *, now: datetime | None = None):
    """The review goes to someone who neither made nor approved the decision (the actor if no
    reviewer is named)."""
    now = now or now_utc()
    _can_start_review(complaint, actor, now)
    reviewer = reviewer or actor
    _check_reviewer(complaint, reviewer)
    changes = apply(complaint, {}, reviewer_id=reviewer.id)
    return transition(complaint, S.REVIEW_IN_PROGRESS, actor=actor, kind="review_started",
                      changes=changes, now=now)


@guard("review_decision")
def _can_decide_review(complaint, user, now):
    require_handler(user)
    in_states(complaint, {S.REVIEW_IN_PROGRESS}, _l("Decide the review"))
    require(complaint.reviewer_id == user.id, _l("Only the reviewer decides the review."))


def review_decision(complaint: Complaint, actor, outcome: str | None = None,
                    redress_amount=None, reasons: str | None = None, basis: str | None = None,
                    remedies: str | None = None, findings: str | None = None, *,
                    now: datetime | None = None):
    """The reviewer's decision replaces the first one (kept in the event) and goes out as a
    new letter."""
    now = now or now_utc()
    _can_decide_review(complaint, actor, now)
    values = decision_values(outcome, redress_amount, reasons, basis, remedies, findings)
    changes = apply(complaint, {}, decided_at=now, response_issued_at=now, **values)
    event = transition(complaint, S.RESPONSE_ISSUED, actor=actor, kind="review_decided",
                       changes=changes, now=now)
    letters.compose(complaint, "review_decision", actor=actor, now=now)
    return event


# -- referral and redress ---------------------------------------------------------------------

@guard("refer_external")
def _can_refer(complaint, user, now):
    require_handler(user)
    check(complaint, S.REFERRED_EXTERNAL, _l("Record an external referral"))


def refer_external(complaint: Complaint, actor, body: str | None = None,
                   reference: str | None = None, *, now: datetime | None = None):
    """The customer took the complaint to the Ombudsman, mediation, arbitration or a court."""
    now = now or now_utc()
    _can_refer(complaint, actor, now)
    require(body in REFERRAL_BODIES, _l("Not a valid choice."), "body")
    reference = required_text(reference, "reference", 64)
    changes = apply(complaint, {}, referral_body=body, referral_ref=reference, closed_at=None,
                    closed_by_id=None)
    return transition(complaint, S.REFERRED_EXTERNAL, actor=actor, kind="referred",
                      changes=changes, now=now)


@guard("start_redress")
def _can_start_redress(complaint, user, now):
    require_handler(user)
    check(complaint, S.REDRESS_PENDING, _l("Start the redress payment"))
    if complaint.status == S.RESPONSE_ISSUED:
        require(redress_owed(complaint), _l("No redress is owed on this decision."))


def start_redress(complaint: Complaint, actor, amount=None, *, now: datetime | None = None):
    """Redress to be paid: the decision's amount, or (after a referral) the amount awarded."""
    now = now or now_utc()
    _can_start_redress(complaint, actor, now)
    changes: dict = {}
    amount = money(amount, "amount")
    if amount is not None:
        apply(complaint, changes, redress_amount=amount)
    require(bool(complaint.redress_amount), _l("Give the amount to be paid."), "amount")
    return transition(complaint, S.REDRESS_PENDING, actor=actor, kind="redress_started",
                      changes=changes, now=now)


def _closure(complaint: Complaint, root_cause, remediation, changes: dict) -> None:
    """Root cause and remediation action are required to close."""
    cause = check_code("R", root_cause if root_cause is not None else complaint.root_cause,
                       "root_cause", required=True)
    action = (remediation if remediation is not None else complaint.remediation) or ""
    action = required_text(action, "remediation", TEXT_LIMIT)
    apply(complaint, changes, root_cause=cause, remediation=action)


@guard("record_redress_paid")
def _can_record_paid(complaint, user, now):
    require_handler(user)
    check(complaint, S.CLOSED, _l("Record the redress as paid"))
    in_states(complaint, {S.REDRESS_PENDING}, _l("Record the redress as paid"))


def record_redress_paid(complaint: Complaint, actor, paid_at: datetime | None = None,
                        root_cause: str | None = None, remediation: str | None = None, *,
                        now: datetime | None = None):
    """REDRESS_PENDING -> CLOSED once paid; like every closure it needs the root cause and the
    remediation action."""
    now = now or now_utc()
    _can_record_paid(complaint, actor, now)
    paid_at = paid_at or now
    require(paid_at.tzinfo is not None and paid_at <= now,
            _l("The payment cannot be in the future."), "paid_at")
    changes: dict = {}
    _closure(complaint, root_cause, remediation, changes)
    apply(complaint, changes, redress_paid_at=paid_at, closed_at=now, closed_by_id=actor.id)
    return transition(complaint, S.CLOSED, actor=actor, kind="redress_paid", changes=changes,
                      now=now)


@guard("close")
def _can_close(complaint, user, now):
    require_handler(user)
    check(complaint, S.CLOSED, _l("Close"))
    in_states(complaint, {S.RESPONSE_ISSUED, S.SUMMARY_RESOLVED, S.REFERRED_EXTERNAL},
              _l("Close"))
    require(not redress_owed(complaint), _l("Record the redress payment first."))


def close(complaint: Complaint, actor, root_cause: str | None = None,
          remediation: str | None = None, *, now: datetime | None = None):
    """Close: refused without a root cause (code list R) and a remediation action."""
    now = now or now_utc()
    _can_close(complaint, actor, now)
    changes: dict = {}
    _closure(complaint, root_cause, remediation, changes)
    apply(complaint, changes, closed_at=now, closed_by_id=actor.id)
    return transition(complaint, S.CLOSED, actor=actor, kind="closed", changes=changes, now=now)


# -- exits ------------------------------------------------------------------------------------

@guard("withdraw")
def _can_withdraw(complaint, user, now):
    require_handler(user)
    check(complaint, S.WITHDRAWN, _l("Withdraw"))


def withdraw(complaint: Complaint, actor, reason: str | None = None, *,
             now: datetime | None = None):
    """The customer withdraws the complaint (the reason says how they told us)."""
    now = now or now_utc()
    _can_withdraw(complaint, actor, now)
    reason = required_text(reason, "reason")
    changes: dict = {}
    _end_pause(complaint, changes, now)
    apply(complaint, changes, closed_at=now, closed_by_id=actor.id)
    return transition(complaint, S.WITHDRAWN, actor=actor, kind="withdrawn", reason=reason,
                      changes=changes, now=now)


def same_complainant(a: Complaint, b: Complaint) -> bool:
    if a.customer_id is not None or b.customer_id is not None:
        return a.customer_id == b.customer_id
    email_a, email_b = (a.complainant_email or "").strip().lower(), \
        (b.complainant_email or "").strip().lower()
    return bool(email_a) and email_a == email_b


@guard("merge")
def _can_merge(complaint, user, now):
    require_handler(user)
    check(complaint, S.MERGED, _l("Merge into another complaint"))


def merge(complaint: Complaint, into: Complaint, actor=None, reason: str | None = None, *,
          now: datetime | None = None):
    """A repeat of the same complaint without new facts joins the original: the repeat is
    MERGED and points at it, both histories say so. (With new facts, restart the original's
    clock instead.) Also takes (complaint, actor, into)."""
    if not isinstance(into, Complaint) and isinstance(actor, Complaint):
        into, actor = actor, into
    now = now or now_utc()
    _can_merge(complaint, actor, now)
    reason = required_text(reason, "reason")
    require(into is not None and into.id != complaint.id,
            _l("Choose another complaint."), "into")
    require(into.status not in (S.MERGED, S.WITHDRAWN),
            _l("Complaint %(ref)s was merged or withdrawn: nothing can be merged into it.",
               ref=into.reference), "into")
    require(same_complainant(complaint, into),
            _l("Only a complaint of the same customer can be merged."), "into")
    changes: dict = {}
    _end_pause(complaint, changes, now)
    apply(complaint, changes, merged_into_id=into.id, closed_at=now, closed_by_id=actor.id)
    event = transition(complaint, S.MERGED, actor=actor, kind="merged", reason=reason,
                       changes=changes, now=now)
    note(into, "merged_in", actor=actor, reason=reason,
         changes={"merged": [None, complaint.reference]}, now=now)
    return event


def reopen_window_end(complaint: Complaint):
    since = complaint.closed_at if complaint.status != S.SUMMARY_RESOLVED \
        else complaint.response_issued_at
    if since is None:
        return None
    return local_date(complaint, since) + timedelta(days=int(setting("COMPLAINT_REOPEN_DAYS")))


@guard("reopen")
def _can_reopen(complaint, user, now):
    require_handler(user)
    check(complaint, S.REOPENED, _l("Reopen"))
    end = reopen_window_end(complaint)
    require(end is not None and local_date(complaint, now) <= end,
            _l("A complaint can be reopened within %(n)d days.",
               n=int(setting("COMPLAINT_REOPEN_DAYS"))))


def reopen(complaint: Complaint, actor, reason: str | None = None, *,
           now: datetime | None = None):
    """Reopen a closed, summarily resolved or not-accepted complaint within the window."""
    now = now or now_utc()
    _can_reopen(complaint, actor, now)
    reason = required_text(reason, "reason")
    changes = apply(complaint, {}, closed_at=None, closed_by_id=None)
    return transition(complaint, S.REOPENED, actor=actor, kind="reopened", reason=reason,
                      changes=changes, now=now)

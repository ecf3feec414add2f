"""The engine under every workflow service: refusals, the checked move, the deadline, settings."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app, has_app_context
from flask_babel import lazy_gettext as _l

from qms.complaints import history, sla
from qms.complaints.models import ClassificationCode, Complaint, SlaPolicyRecord
from qms.complaints.states import (
    LABELS,
    IllegalTransition,
    Status,
    check_move,
    needs_reason,
)
from qms.core.db import now_utc
from qms.extensions import db

S = Status

# Configuration keys of the workflow with their defaults (an installation overrides them in
# instance/config.py or QMS_* variables; the lead adds them to qms/config.py).
SETTINGS: dict[str, object] = {
    "COMPLAINT_SLA_POLICY": "CN_NFRA_2020",
    # Every decision goes to a checker; False lets the threshold below decide.
    "COMPLAINT_ALWAYS_APPROVE": True,
    # Redress above this amount needs approval (when not every decision does).
    "COMPLAINT_APPROVAL_THRESHOLD": "1000",
    # The role that approves decisions and "not accepted"; extensions use the policy's tier role.
    "COMPLAINT_APPROVER_ROLE": "complaints",
    # Days after closure (or a summary resolution / not-accepted notice) a complaint may reopen.
    "COMPLAINT_REOPEN_DAYS": 30,
    # Shares of the allowed time at which the escalation job flags a complaint.
    "COMPLAINT_ESCALATION_THRESHOLDS": (50, 80, 100),
    # UK final response: whether the firm consents to the Ombudsman considering a complaint
    # referred outside the time limits (DISP 1.6.2R(1)(f)).
    "COMPLAINT_OMBUDSMAN_WAIVER": False,
    # Signature of customer letters; None uses "Customer Complaints Team".
    "COMPLAINT_LETTER_SIGNATURE": None,
}

HANDLER_ROLES = ("complaints",)
REVIEW_STATES = frozenset({S.REVIEW_REQUESTED, S.REVIEW_IN_PROGRESS})
OUTCOMES = ("upheld", "partly_upheld", "rejected")
REFERRAL_BODIES = ("ombudsman", "mediation", "arbitration", "court")


def setting(name: str):
    default = SETTINGS[name]
    if not has_app_context():
        return default
    return current_app.config.get(name, default)


# -- refusals ---------------------------------------------------------------------------------

class WorkflowError(Exception):
    """A refusal for the user: `message` for the page, `fields` field name -> message."""

    def __init__(self, message, fields: dict | None = None):
        super().__init__(str(message))
        self.message = message
        self.fields = dict(fields) if fields else {"": message}


class IllegalMove(IllegalTransition, WorkflowError):
    """A move the state machine does not allow, with a message naming the state and the move."""

    def __init__(self, current: str, target: str, action=None):
        IllegalTransition.__init__(self, current, target)
        what = action or LABELS.get(S(target), target)
        message = _l("This complaint is “%(state)s”: “%(move)s” is not possible now.",
                     state=LABELS.get(S(current), current), move=what)
        self.message = message
        self.fields = {"": message}


def require(condition: bool, message, field: str = "") -> None:
    if not condition:
        raise WorkflowError(message, {field: message})


def required_text(value: str | None, field: str, limit: int | None = None) -> str:
    text = (value or "").strip()
    require(bool(text), _l("This field is required."), field)
    if limit is not None:
        require(len(text) <= limit, _l("At most %(n)d characters.", n=limit), field)
    return text


def require_handler(actor) -> None:
    require(actor is not None and actor.has_role(*HANDLER_ROLES),
            _l("Only complaint officers may handle complaints."))


def label(status: str) -> str:
    return str(LABELS.get(S(status), status))


# -- the checked move -------------------------------------------------------------------------

def check(complaint: Complaint, target: str, action=None) -> None:
    """Refuse (IllegalMove) unless the state machine allows complaint -> target."""
    try:
        check_move(complaint.status, target)
    except IllegalTransition:
        raise IllegalMove(complaint.status, target, action) from None


def check_reason(complaint: Complaint, target: str, reason: str | None) -> str | None:
    reason = (reason or "").strip() or None
    if needs_reason(complaint.status, target) and not reason:
        raise WorkflowError(_l("Say why: this step needs a reason."),
                            {"reason": _l("Say why: this step needs a reason.")})
    return reason


def transition(complaint: Complaint, target: str, *, actor=None, actor_label: str | None = None,
               reason: str | None = None, kind: str = "transition", changes: dict | None = None,
               approver=None, now: datetime | None = None):
    """Move the complaint to `target` and append the event, or refuse and change nothing.

    The one place a status changes: IllegalMove (an IllegalTransition) for a move not in the
    table, WorkflowError when the move needs a reason and has none. The caller's `changes` are
    recorded with the status change in the same event.
    """
    check(complaint, target)
    reason = check_reason(complaint, target, reason)
    current = complaint.status
    complaint.status = str(S(target))
    return history.record(complaint, kind, actor=actor, actor_label=actor_label,
                          from_status=current, to_status=complaint.status, changes=changes,
                          reason=reason, approver=approver, now=now or now_utc())


def note(complaint: Complaint, kind: str, *, actor=None, reason: str | None = None,
         changes: dict | None = None, approver=None, now: datetime | None = None):
    """An event without a move (assignment, classification, a letter sent ...)."""
    return history.record(complaint, kind, actor=actor, from_status=complaint.status,
                          to_status=complaint.status, changes=changes, reason=reason,
                          approver=approver, now=now or now_utc())


def apply(complaint: Complaint, changes: dict, **values) -> dict:
    """Set attributes, collecting {field: [before, after]} for those that change."""
    for name, value in values.items():
        before = getattr(complaint, name)
        if before != value:
            changes[name] = [before, value]
            setattr(complaint, name, value)
    return changes


# -- the deadline -----------------------------------------------------------------------------

def policy_for(complaint: Complaint | str | None = None) -> sla.Policy:
    """The complaint's SLA policy: a custom (database) policy of that code, else the preset."""
    code = complaint if isinstance(complaint, str) or complaint is None else complaint.policy_code
    code = code or setting("COMPLAINT_SLA_POLICY")
    record = db.session.scalar(sa.select(SlaPolicyRecord).where(
        SlaPolicyRecord.code == code, SlaPolicyRecord.active.is_(True)))
    if record is not None:
        definition = dict(record.definition)
        definition.setdefault("code", code)
        return sla.policy_from_dict(definition)
    return sla.get_policy(code)


def zone_of(complaint: Complaint, policy: sla.Policy | None = None) -> ZoneInfo:
    if complaint.branch is not None and complaint.branch.timezone:
        return ZoneInfo(complaint.branch.timezone)
    return ZoneInfo((policy or policy_for(complaint)).timezone)


def tiers(policy: sla.Policy) -> tuple[str, ...]:
    return sla.extension_tiers(policy, "final")


def restarted_at(complaint: Complaint) -> datetime | None:
    started = complaint.clock_started_at
    if started is not None and complaint.received_at is not None \
            and started > complaint.received_at:
        return started
    return None


def deadline_milestone(complaint: Complaint, policy: sla.Policy, status: str | None = None) -> str:
    status = status or complaint.status
    if status in REVIEW_STATES and "review_decision" in policy.milestones \
            and complaint.review_requested_at is not None:
        return "review_decision"
    names = tiers(policy)
    return names[min(complaint.extension_level or 0, len(names) - 1)]


def clock_start(complaint: Complaint) -> datetime:
    """The moment the current deadline counts from (for the elapsed share)."""
    if complaint.status in REVIEW_STATES and complaint.review_requested_at is not None:
        return complaint.review_requested_at
    return complaint.clock_started_at or complaint.received_at


def compute_due(complaint: Complaint, status: str | None = None) -> date:
    """The deadline of the complaint in `status` (default: its own) from its policy, extension
    level, finished pauses, clock start (restarted on new facts) and the branch's zone."""
    policy = policy_for(complaint)
    restart = restarted_at(complaint) if policy.restart_on_new_facts else None
    return sla.due_date(
        policy, deadline_milestone(complaint, policy, status), complaint.received_at,
        tz=zone_of(complaint, policy), paused_days=complaint.paused_days or 0,
        restarted_at=restart, decided_at=complaint.response_issued_at,
        applied_at=complaint.review_requested_at)


def refresh_deadline(complaint: Complaint, now: datetime | None = None) -> date:
    """Set complaint.due_on (see compute_due) and return it. Records no event: callers put the
    change in their own event (intake calls this when it creates the complaint)."""
    if not complaint.policy_code:
        complaint.policy_code = policy_for(complaint).code
    if complaint.clock_started_at is None:
        complaint.clock_started_at = complaint.received_at
    complaint.due_on = compute_due(complaint)
    return complaint.due_on


def milestone_due(complaint: Complaint, name: str, **moments) -> date | None:
    """Another milestone of the complaint's policy (summary, review_request ...), or None."""
    policy = policy_for(complaint)
    if name not in policy.milestones:
        return None
    restart = restarted_at(complaint) if policy.restart_on_new_facts else None
    return sla.due_date(policy, name, complaint.received_at, tz=zone_of(complaint, policy),
                        paused_days=complaint.paused_days or 0, restarted_at=restart,
                        **moments)


def local_date(complaint: Complaint, moment: datetime) -> date:
    return moment.astimezone(zone_of(complaint)).date()


# -- four-eyes policy -------------------------------------------------------------------------

def decision_needs_approval(outcome: str | None, redress: Decimal | None) -> bool:
    """Rejections always; redress above the threshold; everything when ALWAYS_APPROVE."""
    if setting("COMPLAINT_ALWAYS_APPROVE"):
        return True
    if outcome == "rejected":
        return True
    threshold = Decimal(str(setting("COMPLAINT_APPROVAL_THRESHOLD")))
    return redress is not None and redress > threshold


# -- classification codes ---------------------------------------------------------------------

def codes(axis: str) -> list[ClassificationCode]:
    return list(db.session.scalars(sa.select(ClassificationCode).where(
        ClassificationCode.axis == axis, ClassificationCode.active.is_(True))
        .order_by(ClassificationCode.sort, ClassificationCode.code)))


def check_code(axis: str, value: str | None, field: str, *, required: bool) -> str | None:
    """A code of the axis's list when the list has entries; any short code otherwise."""
    value = (value or "").strip() or None
    if value is None:
        require(not required, _l("This field is required."), field)
        return None
    require(len(value) <= 16, _l("At most %(n)d characters.", n=16), field)
    known = codes(axis)
    if known:
        require(value in {c.code for c in known}, _l("Not a code of this list."), field)
    return value


# -- the actions a user may take now ----------------------------------------------------------

# name -> guard(complaint, user, now): raises WorkflowError when the action is not open to the
# user now. The services call their guard first, and available_actions() asks every guard, so
# the panel offers exactly what the services would accept (input aside).
GUARDS: dict[str, object] = {}


def guard(name: str):
    def decorator(func):
        if name in GUARDS:
            raise ValueError(f"guard {name} registered twice")
        GUARDS[name] = func
        return func

    return decorator


def in_states(complaint: Complaint, states, action) -> None:
    """Refuse with the state and the action's name unless the complaint is in `states`."""
    if complaint.status not in {str(s) for s in states}:
        raise IllegalMove(complaint.status, complaint.status, action)


ACTION_LABELS = {
    "acknowledge": _l("Acknowledge"),
    "take_ownership": _l("Take ownership"),
    "assign": _l("Assign handler"),
    "declare_no_conflict": _l("Declare no conflict of interest"),
    "triage": _l("Classify"),
    "start_investigation": _l("Start investigation"),
    "pause_external": _l("Pause for external appraisal"),
    "resume": _l("Resume after appraisal"),
    "request_info": _l("Ask the customer for information"),
    "info_received": _l("Information received"),
    "request_extension": _l("Request an extension"),
    "restart_clock": _l("Restart the clock (new facts)"),
    "send_holding_response": _l("Send a holding response"),
    "draft_decision": _l("Draft the decision"),
    "return_to_investigation": _l("Return to investigation"),
    "submit_for_approval": _l("Submit for approval"),
    "issue_decision": _l("Issue the decision"),
    "decide_approval": _l("Approve or reject"),
    "summary_resolve": _l("Resolve by summary resolution"),
    "request_not_accepted": _l("Propose not to accept"),
    "request_review": _l("Record a review request"),
    "start_review": _l("Start the review"),
    "review_decision": _l("Decide the review"),
    "refer_external": _l("Record an external referral"),
    "start_redress": _l("Start the redress payment"),
    "record_redress_paid": _l("Record the redress as paid"),
    "close": _l("Close"),
    "withdraw": _l("Withdraw"),
    "merge": _l("Merge into another complaint"),
    "reopen": _l("Reopen"),
}


def action_label(name: str):
    return ACTION_LABELS.get(name, name)


def is_staff_handler(user) -> bool:
    return user is not None and hasattr(user, "grants") and user.has_role(*HANDLER_ROLES)

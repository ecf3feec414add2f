"""What the complaint page shows, as plain values: deadlines with days left and RAG, what is
due next, the timeline of events with names, messages and attachments — and the complainant's
own, reduced view for the public status page (no staff names, no internal notes)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from flask_babel import format_datetime
from flask_babel import lazy_gettext as _l

from qms.auth.models import User
from qms.complaints import codes, sla
from qms.complaints.intake import PRIORITY_LABELS, SEVERITY_LABELS, SOURCE_LABELS
from qms.complaints.models import Complaint, ComplaintEvent, ComplaintMessage
from qms.complaints.states import FINAL, LABELS, OPEN, Status
from qms.core import uploads
from qms.core.db import now_utc
from qms.extensions import db
from qms.org.models import Agent, Branch, Customer

S = Status

MILESTONE_LABELS = {
    "acknowledge": _l("Acknowledgement"),
    "summary": _l("Summary resolution"),
    "final": _l("Decision and notice"),
    "final_extended": _l("Decision (extended)"),
    "final_max": _l("Decision (maximum extension)"),
    "holding": _l("Holding response"),
    "review_request": _l("Customer may apply for a review until"),
    "review_decision": _l("Review decision"),
    "ombudsman_referral": _l("Customer may refer to the Ombudsman until"),
    "records": _l("Keep records until"),
}

EVENT_LABELS = {
    "received": _l("Received"),
    "transition": _l("Status changed"),
    "assigned": _l("Assigned"),
    "classified": _l("Classified"),
    "attachment_added": _l("Attachment added"),
    "note": _l("Note"),
    "letter": _l("Letter sent"),
    "approval_requested": _l("Approval requested"),
    "approved": _l("Approved"),
    "rejected": _l("Approval refused"),
    "escalated": _l("Escalated"),
    "correction": _l("Correction"),
}

FIELD_LABELS = {
    "reference": _l("Complaint reference"), "branch_id": _l("Branch"), "agent_id": _l("Agent"),
    "customer_id": _l("Customer"), "channel_code": _l("Channel"),
    "business_code": _l("Business type"), "cause_code": _l("Cause"),
    "severity": _l("Severity"), "priority": _l("Priority"), "segment": _l("Segment"),
    "source": _l("Source"), "regulator_ref": _l("Regulator's reference"),
    "received_at": _l("Received at"), "due_on": _l("Due on"), "policy_code": _l("SLA policy"),
    "intake_channel": _l("Entered via"), "follow_up_id": _l("Survey follow-up"),
    "assignee_id": _l("Assigned to"), "outcome": _l("Outcome"),
    "redress_amount": _l("Redress"), "root_cause": _l("Root cause"),
    "extension_level": _l("Extension"), "filename": _l("File"),
}

# What the complaint waits for in each state (the staff page's "due next").
NEXT_STEP = {
    S.RECEIVED: _l("Acknowledge the complaint"),
    S.ACKNOWLEDGED: _l("Classify and assign the complaint"),
    S.TRIAGED: _l("Start the investigation"),
    S.IN_INVESTIGATION: _l("Investigate and draft the decision"),
    S.PAUSED_EXTERNAL: _l("Waiting for the external appraisal (clock paused)"),
    S.AWAITING_INFO: _l("Waiting for information from the complainant"),
    S.EXTENSION_PENDING: _l("Approve or refuse the extension"),
    S.DECISION_DRAFTED: _l("Send the decision for approval"),
    S.PENDING_APPROVAL: _l("A checker approves or returns the decision"),
    S.RESPONSE_ISSUED: _l("Close, or handle a review request"),
    S.SUMMARY_RESOLVED: _l("Close the complaint"),
    S.REDRESS_PENDING: _l("Pay the redress, then close"),
    S.REVIEW_REQUESTED: _l("Start the review"),
    S.REVIEW_IN_PROGRESS: _l("Decide the review"),
    S.REFERRED_EXTERNAL: _l("Follow the external body's decision"),
    S.REOPENED: _l("Investigate again"),
}

# The complainant's view: a few plain stages instead of the internal states.
PUBLIC_STAGES = ("received", "acknowledged", "investigating", "decided", "closed")
PUBLIC_STAGE_LABELS = {
    "received": _l("Received"),
    "acknowledged": _l("Acknowledged"),
    "investigating": _l("Being looked into"),
    "decided": _l("Answer sent"),
    "closed": _l("Closed"),
}
_PUBLIC_STAGE_OF = {
    S.RECEIVED: "received", S.ACKNOWLEDGED: "acknowledged", S.TRIAGED: "acknowledged",
    S.IN_INVESTIGATION: "investigating", S.PAUSED_EXTERNAL: "investigating",
    S.AWAITING_INFO: "investigating", S.EXTENSION_PENDING: "investigating",
    S.DECISION_DRAFTED: "investigating", S.PENDING_APPROVAL: "investigating",
    S.REOPENED: "investigating", S.REVIEW_REQUESTED: "decided",
    S.REVIEW_IN_PROGRESS: "decided", S.RESPONSE_ISSUED: "decided",
    S.SUMMARY_RESOLVED: "decided", S.REDRESS_PENDING: "decided",
    S.REFERRED_EXTERNAL: "decided", S.NOT_ACCEPTED: "decided", S.CLOSED: "closed",
    S.WITHDRAWN: "closed", S.MERGED: "closed",
}
PUBLIC_NOTES = {
    S.PAUSED_EXTERNAL: _l("An external appraisal is under way; this time does not count "
                          "towards our time limit."),
    S.AWAITING_INFO: _l("We are waiting for information from you. Please reply to our "
                        "message."),
    S.REVIEW_REQUESTED: _l("We have received your request for a review."),
    S.REVIEW_IN_PROGRESS: _l("Your request for a review is being handled."),
    S.REFERRED_EXTERNAL: _l("The complaint has been referred to an external body."),
    S.WITHDRAWN: _l("The complaint was withdrawn."),
    S.NOT_ACCEPTED: _l("We could not accept this complaint; our letter explains why."),
    S.MERGED: _l("This complaint is handled together with another complaint of yours."),
}
OUTCOME_LABELS = {"upheld": _l("Upheld"), "partly_upheld": _l("Partly upheld"),
                  "rejected": _l("Not upheld")}
MESSAGE_LABELS = {
    "acknowledgement": _l("Acknowledgement"),
    "holding": _l("Holding response"),
    "extension": _l("Extension notice"),
    "pause": _l("Pause notice"),
    "info_request": _l("Request for information"),
    "decision": _l("Decision letter"),
    "final": _l("Final response"),
    "summary": _l("Summary resolution"),
    "not_accepted": _l("Not accepted"),
    "review_decision": _l("Review decision"),
}


@dataclass(frozen=True)
class DeadlineRow:
    name: str
    label: str
    due: date
    days_left: int
    in_force: bool
    kind: str
    possible: bool = False  # an extension tier not granted (yet): the limit if it were


@dataclass(frozen=True)
class Clock:
    running: bool
    paused: bool
    due_on: date | None
    days_left: int | None
    elapsed: float | None
    rag: str | None            # green | amber | red (only while the clock runs)
    deadlines: list[DeadlineRow]
    next_step: str | None
    zone: str


@dataclass(frozen=True)
class TimelineEntry:
    seq: int
    at: datetime
    who: str | None
    kind: str
    label: str
    from_status: str | None
    to_status: str | None
    changes: list[tuple[str, str, str]]  # (field label, before, after)
    reason: str | None
    approver: str | None


def _label(mapping: dict, key: str) -> str:
    value = mapping.get(key)
    return str(value) if value is not None else key.replace("_", " ")


def status_label(status: str | None) -> str:
    if status is None:
        return ""
    try:
        return str(LABELS[S(status)])
    except ValueError:
        return status


def clock(complaint: Complaint, now: datetime | None = None) -> Clock:
    """The deadlines of the complaint's policy whose start has happened, the one in force,
    days left in the branch's zone, and red/amber/green from the share of time used (amber from
    80 %, red once passed — the escalation thresholds)."""
    from qms.complaints.workflow import core as workflow

    now = now or now_utc()
    policy = workflow.policy_for(complaint)
    tz = workflow.zone_of(complaint, policy)
    today = now.astimezone(tz).date()
    status = S(complaint.status)
    running = status in OPEN
    in_force = workflow.deadline_milestone(complaint, policy)
    restart = workflow.restarted_at(complaint) if policy.restart_on_new_facts else None
    try:
        dues = sla.deadlines(policy, complaint.received_at, tz=tz,
                             paused_days=complaint.paused_days or 0, restarted_at=restart,
                             decided_at=complaint.response_issued_at,
                             applied_at=complaint.review_requested_at)
    except ValueError:
        dues = {}
    tiers = workflow.tiers(policy)
    granted = tiers[:(complaint.extension_level or 0) + 1]
    rows = [DeadlineRow(name, _label(MILESTONE_LABELS, name), due, (due - today).days,
                        name == in_force, policy.milestones[name].kind,
                        possible=name in tiers and name not in granted)
            for name, due in dues.items()]
    due_on = complaint.due_on
    elapsed = rag = None
    days_left = (due_on - today).days if due_on is not None else None
    if running and due_on is not None:
        elapsed = sla.elapsed_fraction(workflow.clock_start(complaint), due_on, now, tz)
        rag = "red" if days_left < 0 else ("amber" if elapsed >= 0.8 else "green")
    step = NEXT_STEP.get(status)
    return Clock(running=running, paused=status is S.PAUSED_EXTERNAL, due_on=due_on,
                 days_left=days_left, elapsed=elapsed, rag=rag, deadlines=rows,
                 next_step=str(step) if step is not None else None, zone=str(tz))


def timeline(complaint: Complaint, locale: str | None) -> list[TimelineEntry]:
    """Every event in order, with people's names and readable changes."""
    events = list(db.session.scalars(sa.select(ComplaintEvent)
                                     .where(ComplaintEvent.complaint_id == complaint.id)
                                     .order_by(ComplaintEvent.seq)))
    ids = {e.actor_id for e in events} | {e.approver_id for e in events}
    names = _names(User, User.name, ids | _ids_in(events, _USER_FIELDS))
    lookups = {
        "labels": codes.all_labels(locale),
        "users": names,
        "branch_id": _names(Branch, Branch.code, _ids_in(events, ("branch_id",))),
        "agent_id": _names(Agent, Agent.code, _ids_in(events, ("agent_id",))),
        "customer_id": _names(Customer, Customer.ref, _ids_in(events, ("customer_id",))),
    }
    out = []
    for e in events:
        changes = []
        for fname, pair in (e.changes or {}).items():
            before, after = (pair + [None, None])[:2] if isinstance(pair, list) else (None, pair)
            changes.append((_label(FIELD_LABELS, fname), _show(fname, before, lookups),
                            _show(fname, after, lookups)))
        out.append(TimelineEntry(
            seq=e.seq, at=e.at, who=names.get(e.actor_id) or e.actor_label, kind=e.kind,
            label=_label(EVENT_LABELS, e.kind), from_status=e.from_status,
            to_status=e.to_status, changes=changes, reason=e.reason,
            approver=names.get(e.approver_id)))
    return out


_AXIS_FIELDS = {"channel_code": "A", "business_code": "B", "cause_code": "C", "root_cause": "R"}
_VALUE_LABELS = {
    "severity": SEVERITY_LABELS, "priority": PRIORITY_LABELS, "source": SOURCE_LABELS,
    "segment": {"standard": _l("Standard"), "vip": _l("VIP")},
    "intake_channel": {"staff": _l("Staff form"), "public": _l("Public form"),
                       "api": _l("API"), "survey": _l("Survey follow-up")},
    "outcome": OUTCOME_LABELS,
}
_USER_FIELDS = ("assignee_id", "owner_id", "decision_maker_id", "approved_by_id",
                "closed_by_id", "reviewer_id")


def _ids_in(events, fields) -> set[int]:
    found = set()
    for e in events:
        for fname in fields:
            pair = (e.changes or {}).get(fname)
            for value in (pair if isinstance(pair, list) else [pair]):
                if isinstance(value, int) and not isinstance(value, bool):
                    found.add(value)
    return found


def _names(model, column, ids: set) -> dict:
    ids = {i for i in ids if i is not None}
    if not ids:
        return {}
    return {i: n for i, n in db.session.execute(sa.select(model.id, column)
                                                .where(model.id.in_(ids)))}


def _show(field: str, value, lookups: dict) -> str:
    """A recorded value as people read it: codes with labels, names for ids, local times."""
    if value is None or value == "":
        return "—"
    axis = _AXIS_FIELDS.get(field)
    if axis is not None:
        return f"{value} {lookups['labels'].get(axis, {}).get(value, '')}".strip()
    if field in _USER_FIELDS:
        return lookups["users"].get(value, str(value))
    if field in ("branch_id", "agent_id", "customer_id"):
        return lookups[field].get(value, str(value))
    if field == "status":
        return status_label(value)
    labels = _VALUE_LABELS.get(field)
    if labels is not None and value in labels:
        return str(labels[value])
    if isinstance(value, str) and field.endswith("_at"):
        try:
            return format_datetime(datetime.fromisoformat(value), "short")
        except ValueError:
            return value
    return str(value)


def messages(complaint: Complaint) -> list[ComplaintMessage]:
    return list(db.session.scalars(sa.select(ComplaintMessage)
                                   .where(ComplaintMessage.complaint_id == complaint.id)
                                   .order_by(ComplaintMessage.created_at, ComplaintMessage.id)))


def attachments(complaint: Complaint) -> list[uploads.Attachment]:
    return uploads.attachments_of("complaint", complaint.id)


def get_attachment(complaint: Complaint, attachment_id: int) -> uploads.Attachment | None:
    att = db.session.get(uploads.Attachment, attachment_id)
    if att is None or att.owner_type != "complaint" or att.owner_id != complaint.id:
        return None
    return att


# -- the complainant's view ---------------------------------------------------------------------

@dataclass(frozen=True)
class PublicStage:
    key: str
    label: str
    done: bool
    current: bool
    on: date | None


@dataclass(frozen=True)
class PublicProgress:
    reference: str
    received_on: date
    business: str | None
    stages: list[PublicStage]
    note: str | None
    answer_by: date | None
    letters: list[tuple[str, date]]  # (what, sent on)
    finished: bool


def public_progress(complaint: Complaint, locale: str) -> PublicProgress:
    """Only what the complainant may see: stages and dates, the promised answer date, the
    letters sent to them. No people, no internal notes, no internal states."""
    from qms.complaints import workflow

    tz = workflow.zone_of(complaint)
    status = S(complaint.status)
    current = _PUBLIC_STAGE_OF.get(status, "investigating")
    reached = PUBLIC_STAGES.index(current)
    dates = {
        "received": complaint.received_at,
        "acknowledged": complaint.acknowledged_at,
        "decided": complaint.response_issued_at,
        "closed": complaint.closed_at,
    }
    stages = [PublicStage(key, str(PUBLIC_STAGE_LABELS[key]), i <= reached, key == current,
                          dates[key].astimezone(tz).date() if dates.get(key) else None)
              for i, key in enumerate(PUBLIC_STAGES)]
    letters = [(_label(MESSAGE_LABELS, m.kind), m.sent_at.astimezone(tz).date())
               for m in messages(complaint) if m.sent_at is not None]
    business = None
    if complaint.business_code:
        business = codes.labels_for("B", locale).get(complaint.business_code)
    note = PUBLIC_NOTES.get(status)
    return PublicProgress(
        reference=complaint.reference,
        received_on=complaint.received_at.astimezone(tz).date(), business=business,
        stages=stages, note=str(note) if note is not None else None,
        answer_by=complaint.due_on if status in OPEN or status is S.PAUSED_EXTERNAL else None,
        letters=letters, finished=status in FINAL)

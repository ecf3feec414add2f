"""What a user may do with a complaint now, and what the customer's status page shows."""

from __future__ import annotations

from datetime import datetime

from qms.complaints.models import Complaint
from qms.complaints.states import LABELS, Status
from qms.complaints.workflow.core import ACTION_LABELS, GUARDS, WorkflowError
from qms.core.db import now_utc

S = Status


def available_actions(complaint: Complaint, user, now: datetime | None = None) -> list[str]:
    """Names of the actions `user` may take on `complaint` now, in the panel's order.

    Each action's guard is the one its service applies, so an offered action is refused only
    for its input (a missing reason, a date outside a window ...).
    """
    if complaint is None or user is None or not getattr(user, "is_authenticated", True):
        return []
    now = now or now_utc()
    names = []
    for name in ACTION_LABELS:
        check = GUARDS.get(name)
        if check is None:
            continue
        try:
            check(complaint, user, now)
        except WorkflowError:
            continue
        names.append(name)
    return names


# Steps of the customer's status page, in order; each with the state(s) that reach it.
_PROGRESS = (
    ("received", {S.RECEIVED}),
    ("acknowledged", {S.ACKNOWLEDGED, S.TRIAGED}),
    ("investigating", {S.IN_INVESTIGATION, S.PAUSED_EXTERNAL, S.AWAITING_INFO,
                       S.EXTENSION_PENDING, S.DECISION_DRAFTED, S.PENDING_APPROVAL, S.REOPENED}),
    ("responded", {S.RESPONSE_ISSUED, S.SUMMARY_RESOLVED, S.REDRESS_PENDING,
                   S.REVIEW_REQUESTED, S.REVIEW_IN_PROGRESS, S.REFERRED_EXTERNAL,
                   S.NOT_ACCEPTED}),
    ("closed", {S.CLOSED, S.WITHDRAWN, S.MERGED}),
)


def customer_progress(complaint: Complaint) -> dict:
    """Plain values for the public status page: the steps done, the current state's label,
    the deadline, and whether the clock is paused. Nothing internal (no names, no notes)."""
    current = next(i for i, (_key, states) in enumerate(_PROGRESS)
                   if complaint.status in {str(s) for s in states})
    return {
        "reference": complaint.reference,
        "status": complaint.status,
        "status_label": LABELS.get(S(complaint.status), complaint.status),
        "steps": [{"key": key, "done": i < current, "current": i == current}
                  for i, (key, _states) in enumerate(_PROGRESS)],
        "received_at": complaint.received_at,
        "acknowledged_at": complaint.acknowledged_at,
        "due_on": complaint.due_on if complaint.status not in {
            S.CLOSED, S.WITHDRAWN, S.MERGED, S.NOT_ACCEPTED, S.RESPONSE_ISSUED,
            S.SUMMARY_RESOLVED, S.REDRESS_PENDING, S.REFERRED_EXTERNAL} else None,
        "paused": complaint.status == S.PAUSED_EXTERNAL,
        "response_issued_at": complaint.response_issued_at,
        "closed_at": complaint.closed_at,
    }

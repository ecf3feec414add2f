"""The complaint state machine: states, the moves allowed between them, and what each needs.

Breach, warning and escalation are flags and events, not states (DOMAIN.md).
"""

from __future__ import annotations

import enum

from flask_babel import lazy_gettext as _l


class Status(enum.StrEnum):
    RECEIVED = "RECEIVED"
    ACKNOWLEDGED = "ACKNOWLEDGED"
    TRIAGED = "TRIAGED"
    IN_INVESTIGATION = "IN_INVESTIGATION"
    PAUSED_EXTERNAL = "PAUSED_EXTERNAL"
    AWAITING_INFO = "AWAITING_INFO"
    EXTENSION_PENDING = "EXTENSION_PENDING"
    DECISION_DRAFTED = "DECISION_DRAFTED"
    PENDING_APPROVAL = "PENDING_APPROVAL"
    RESPONSE_ISSUED = "RESPONSE_ISSUED"
    SUMMARY_RESOLVED = "SUMMARY_RESOLVED"
    REDRESS_PENDING = "REDRESS_PENDING"
    CLOSED = "CLOSED"
    REVIEW_REQUESTED = "REVIEW_REQUESTED"
    REVIEW_IN_PROGRESS = "REVIEW_IN_PROGRESS"
    REFERRED_EXTERNAL = "REFERRED_EXTERNAL"
    REOPENED = "REOPENED"
    WITHDRAWN = "WITHDRAWN"
    NOT_ACCEPTED = "NOT_ACCEPTED"
    MERGED = "MERGED"


S = Status

LABELS = {
    S.RECEIVED: _l("Received"),
    S.ACKNOWLEDGED: _l("Acknowledged"),
    S.TRIAGED: _l("Triaged"),
    S.IN_INVESTIGATION: _l("In investigation"),
    S.PAUSED_EXTERNAL: _l("Paused for external appraisal"),
    S.AWAITING_INFO: _l("Awaiting information"),
    S.EXTENSION_PENDING: _l("Extension awaiting approval"),
    S.DECISION_DRAFTED: _l("Decision drafted"),
    S.PENDING_APPROVAL: _l("Awaiting approval"),
    S.RESPONSE_ISSUED: _l("Response issued"),
    S.SUMMARY_RESOLVED: _l("Resolved (summary resolution)"),
    S.REDRESS_PENDING: _l("Redress being paid"),
    S.CLOSED: _l("Closed"),
    S.REVIEW_REQUESTED: _l("Review requested"),
    S.REVIEW_IN_PROGRESS: _l("Review in progress"),
    S.REFERRED_EXTERNAL: _l("Referred externally"),
    S.REOPENED: _l("Reopened"),
    S.WITHDRAWN: _l("Withdrawn"),
    S.NOT_ACCEPTED: _l("Not accepted"),
    S.MERGED: _l("Merged"),
}

# Moves anyone with the complaint in hand may make (subject to the service's own checks).
# A move to a state reached only through approval (RESPONSE_ISSUED from PENDING_APPROVAL,
# NOT_ACCEPTED) is made by the approval service, never directly.
TRANSITIONS: dict[Status, frozenset[Status]] = {
    S.RECEIVED: frozenset({S.ACKNOWLEDGED, S.SUMMARY_RESOLVED, S.PENDING_APPROVAL,
                           S.WITHDRAWN, S.MERGED}),
    S.ACKNOWLEDGED: frozenset({S.TRIAGED, S.SUMMARY_RESOLVED, S.PENDING_APPROVAL,
                               S.WITHDRAWN, S.MERGED}),
    S.TRIAGED: frozenset({S.IN_INVESTIGATION, S.PENDING_APPROVAL, S.WITHDRAWN, S.MERGED}),
    S.IN_INVESTIGATION: frozenset({S.PAUSED_EXTERNAL, S.AWAITING_INFO, S.EXTENSION_PENDING,
                                   S.DECISION_DRAFTED, S.WITHDRAWN, S.MERGED}),
    S.PAUSED_EXTERNAL: frozenset({S.IN_INVESTIGATION, S.WITHDRAWN}),
    S.AWAITING_INFO: frozenset({S.IN_INVESTIGATION, S.WITHDRAWN}),
    S.EXTENSION_PENDING: frozenset({S.IN_INVESTIGATION}),
    S.DECISION_DRAFTED: frozenset({S.PENDING_APPROVAL, S.IN_INVESTIGATION, S.RESPONSE_ISSUED}),
    S.PENDING_APPROVAL: frozenset({S.RESPONSE_ISSUED, S.DECISION_DRAFTED, S.NOT_ACCEPTED,
                                   S.IN_INVESTIGATION, S.RECEIVED, S.ACKNOWLEDGED,
                                   S.TRIAGED}),
    S.RESPONSE_ISSUED: frozenset({S.REDRESS_PENDING, S.CLOSED, S.REVIEW_REQUESTED,
                                  S.REFERRED_EXTERNAL}),
    S.SUMMARY_RESOLVED: frozenset({S.CLOSED, S.REOPENED}),
    S.REDRESS_PENDING: frozenset({S.CLOSED}),
    S.CLOSED: frozenset({S.REVIEW_REQUESTED, S.REFERRED_EXTERNAL, S.REOPENED}),
    S.REVIEW_REQUESTED: frozenset({S.REVIEW_IN_PROGRESS}),
    S.REVIEW_IN_PROGRESS: frozenset({S.RESPONSE_ISSUED, S.CLOSED}),
    S.REFERRED_EXTERNAL: frozenset({S.REDRESS_PENDING, S.CLOSED}),
    S.REOPENED: frozenset({S.IN_INVESTIGATION}),
    S.WITHDRAWN: frozenset(),
    S.NOT_ACCEPTED: frozenset({S.REOPENED}),
    S.MERGED: frozenset(),
}

# States in which the complaint's clock is running against its decision deadline.
OPEN = frozenset(set(S) - {S.RESPONSE_ISSUED, S.SUMMARY_RESOLVED, S.REDRESS_PENDING, S.CLOSED,
                           S.REFERRED_EXTERNAL, S.WITHDRAWN, S.NOT_ACCEPTED, S.MERGED,
                           S.PAUSED_EXTERNAL})
FINAL = frozenset({S.CLOSED, S.WITHDRAWN, S.NOT_ACCEPTED, S.MERGED})

# Moves that must say why.
REASON_REQUIRED = frozenset({
    (S.IN_INVESTIGATION, S.PAUSED_EXTERNAL), (S.IN_INVESTIGATION, S.AWAITING_INFO),
    (S.IN_INVESTIGATION, S.EXTENSION_PENDING), (S.DECISION_DRAFTED, S.IN_INVESTIGATION),
    (S.PENDING_APPROVAL, S.DECISION_DRAFTED), (S.CLOSED, S.REOPENED),
    (S.SUMMARY_RESOLVED, S.REOPENED), (S.NOT_ACCEPTED, S.REOPENED),
} | {(s, S.WITHDRAWN) for s in S} | {(s, S.MERGED) for s in S})


class IllegalTransition(Exception):
    def __init__(self, current: str, target: str):
        super().__init__(f"{current} -> {target}")
        self.current, self.target = current, target


def check_move(current: str, target: str) -> None:
    if Status(target) not in TRANSITIONS[Status(current)]:
        raise IllegalTransition(current, target)


def needs_reason(current: str, target: str) -> bool:
    return (Status(current), Status(target)) in REASON_REQUIRED

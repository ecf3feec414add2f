"""Handling a complaint up to the decision: ownership, classification, investigation, the clock."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from qms.complaints import letters, sla
from qms.complaints.models import Complaint, ComplaintEscalation
from qms.complaints.states import FINAL, Status
from qms.complaints.workflow.core import (
    HANDLER_ROLES,
    apply,
    check,
    check_code,
    guard,
    in_states,
    note,
    policy_for,
    refresh_deadline,
    require,
    require_handler,
    required_text,
    tiers,
    transition,
    zone_of,
)
from qms.core.db import now_utc
from qms.core.permissions import can_see_branch
from qms.extensions import db

S = Status
SEVERITIES = ("low", "medium", "high", "critical")
PRIORITIES = ("normal", "high")
# Where an officer may still change who handles the complaint or how it is classified.
HANDLING = frozenset({S.RECEIVED, S.ACKNOWLEDGED, S.TRIAGED, S.IN_INVESTIGATION,
                      S.PAUSED_EXTERNAL, S.AWAITING_INFO, S.DECISION_DRAFTED, S.REOPENED})
RESTARTABLE = frozenset({S.RECEIVED, S.ACKNOWLEDGED, S.TRIAGED, S.IN_INVESTIGATION,
                         S.AWAITING_INFO, S.DECISION_DRAFTED, S.REOPENED})


def first_contact(complaint: Complaint, user, changes: dict) -> None:
    """首问负责制: the first officer to take the complaint in hand owns it until closure."""
    if complaint.owner_id is None and user is not None:
        apply(complaint, changes, owner_id=user.id)


def can_handle(user, complaint: Complaint) -> bool:
    return (user is not None and getattr(user, "active", False) and user.has_role(*HANDLER_ROLES)
            and can_see_branch(user, complaint.branch_id, set(HANDLER_ROLES)))


def eligible_handlers(complaint: Complaint) -> list:
    """Active complaint officers whose scope includes the complaint's branch."""
    from qms.auth.models import RoleGrant, User

    users = db.session.scalars(
        sa.select(User).join(RoleGrant).where(RoleGrant.role.in_(HANDLER_ROLES),
                                              User.active.is_(True))
        .distinct().order_by(User.name))
    return [u for u in users if can_handle(u, complaint)]


def _set_handler(complaint: Complaint, user, changes: dict) -> None:
    if complaint.assignee_id != user.id:
        # 回避 is personal: a new handler declares for themselves.
        apply(complaint, changes, assignee_id=user.id, conflict_declared_at=None)


# -- ownership --------------------------------------------------------------------------------

@guard("take_ownership")
def _can_take(complaint, user, now):
    require_handler(user)
    in_states(complaint, HANDLING, _l("Take ownership"))
    require(complaint.owner_id is None or complaint.assignee_id != user.id,
            _l("You already handle this complaint."))


def take_ownership(complaint: Complaint, actor, *, now: datetime | None = None):
    """The actor takes the complaint in hand: its handler, and its owner if it has none (the
    first contact owns it until closure; a later taker handles it, the owner stays)."""
    now = now or now_utc()
    _can_take(complaint, actor, now)
    changes: dict = {}
    first_contact(complaint, actor, changes)
    _set_handler(complaint, actor, changes)
    return note(complaint, "ownership", actor=actor, changes=changes, now=now)


@guard("assign")
def _can_assign(complaint, user, now):
    require_handler(user)
    in_states(complaint, HANDLING, _l("Assign handler"))


def assign(complaint: Complaint, actor, assignee, reason: str | None = None, *,
           now: datetime | None = None):
    """Give the complaint a handler. The owner stays; without one, the handler becomes it."""
    now = now or now_utc()
    _can_assign(complaint, actor, now)
    require(assignee is not None and can_handle(assignee, complaint),
            _l("Choose a complaint officer who covers this branch."), "assignee")
    changes: dict = {}
    if complaint.owner_id is None:
        apply(complaint, changes, owner_id=assignee.id)
    _set_handler(complaint, assignee, changes)
    require(bool(changes), _l("This officer already handles the complaint."), "assignee")
    return note(complaint, "assigned", actor=actor, changes=changes,
                reason=(reason or "").strip() or None, now=now)


@guard("declare_no_conflict")
def _can_declare(complaint, user, now):
    require_handler(user)
    in_states(complaint, HANDLING - {S.RECEIVED}, _l("Declare no conflict of interest"))
    require(complaint.assignee_id == user.id,
            _l("Only the handler declares for themselves."))
    require(complaint.conflict_declared_at is None, _l("The handler has already declared."))


def declare_no_conflict(complaint: Complaint, actor, statement: str | None = None, *,
                        now: datetime | None = None):
    """回避: the handler declares no direct interest in the matter (needed before a decision)."""
    now = now or now_utc()
    _can_declare(complaint, actor, now)
    changes = apply(complaint, {}, conflict_declared_at=now)
    return note(complaint, "no_conflict_declared", actor=actor, changes=changes,
                reason=(statement or "").strip() or None, now=now)


# -- first steps ------------------------------------------------------------------------------

@guard("acknowledge")
def _can_acknowledge(complaint, user, now):
    require_handler(user)
    check(complaint, S.ACKNOWLEDGED, _l("Acknowledge"))
    in_states(complaint, {S.RECEIVED}, _l("Acknowledge"))


def acknowledge(complaint: Complaint, actor, *, now: datetime | None = None):
    """RECEIVED -> ACKNOWLEDGED; the acknowledgement letter (UK: with the timetable) goes out."""
    now = now or now_utc()
    _can_acknowledge(complaint, actor, now)
    changes: dict = {}
    first_contact(complaint, actor, changes)
    if complaint.assignee_id is None:
        _set_handler(complaint, actor, changes)
    apply(complaint, changes, acknowledged_at=now)
    event = transition(complaint, S.ACKNOWLEDGED, actor=actor, kind="acknowledged",
                       changes=changes, now=now)
    letters.compose(complaint, "acknowledgement", actor=actor, now=now)
    return event


@guard("triage")
def _can_triage(complaint, user, now):
    require_handler(user)
    in_states(complaint, {S.ACKNOWLEDGED, S.TRIAGED, S.IN_INVESTIGATION, S.AWAITING_INFO,
                          S.PAUSED_EXTERNAL, S.REOPENED}, _l("Classify"))


def triage(complaint: Complaint, actor, channel_code: str | None = None,
           business_code: str | None = None, cause_code: str | None = None,
           severity: str | None = None, priority: str | None = None,
           product: str | None = None, *, now: datetime | None = None):
    """Classify on the JR/T 0169 axes (A channel, B business, C cause); from ACKNOWLEDGED this
    is the move to TRIAGED, later a reclassification recorded with what it was before."""
    now = now or now_utc()
    _can_triage(complaint, actor, now)
    values = {
        "channel_code": check_code("A", channel_code, "channel_code", required=True),
        "business_code": check_code("B", business_code, "business_code", required=True),
        "cause_code": check_code("C", cause_code, "cause_code", required=True),
    }
    if severity is not None:
        require(severity in SEVERITIES, _l("Not a valid choice."), "severity")
        values["severity"] = severity
    if priority is not None:
        require(priority in PRIORITIES, _l("Not a valid choice."), "priority")
        values["priority"] = priority
    if product is not None:
        require(len(product.strip()) <= 100, _l("At most %(n)d characters.", n=100), "product")
        values["product"] = product.strip() or None
    changes: dict = {}
    first_contact(complaint, actor, changes)
    apply(complaint, changes, **values)
    if complaint.status == S.ACKNOWLEDGED:
        return transition(complaint, S.TRIAGED, actor=actor, kind="triaged", changes=changes,
                          now=now)
    require(bool(changes), _l("Nothing changed."))
    return note(complaint, "reclassified", actor=actor, changes=changes, now=now)


@guard("start_investigation")
def _can_start(complaint, user, now):
    require_handler(user)
    in_states(complaint, {S.TRIAGED, S.REOPENED}, _l("Start investigation"))


def start_investigation(complaint: Complaint, actor, *, now: datetime | None = None):
    """TRIAGED or REOPENED -> IN_INVESTIGATION; an unassigned complaint goes to the actor."""
    now = now or now_utc()
    _can_start(complaint, actor, now)
    changes: dict = {}
    first_contact(complaint, actor, changes)
    if complaint.assignee_id is None:
        _set_handler(complaint, actor, changes)
    return transition(complaint, S.IN_INVESTIGATION, actor=actor, kind="investigation_started",
                      changes=changes, now=now)


# -- the clock: pauses, information, restarts -------------------------------------------------

@guard("pause_external")
def _can_pause(complaint, user, now):
    require_handler(user)
    check(complaint, S.PAUSED_EXTERNAL, _l("Pause for external appraisal"))
    require(bool(policy_for(complaint).pauses),
            _l("The complaint's time limit policy allows no pause."))


def pause_external(complaint: Complaint, actor, reason: str | None = None, *,
                   now: datetime | None = None):
    """Stop the clock for an external appraisal, testing or assessment; the customer is told."""
    now = now or now_utc()
    _can_pause(complaint, actor, now)
    reason = required_text(reason, "reason")
    changes = apply(complaint, {}, paused_since=now)
    event = transition(complaint, S.PAUSED_EXTERNAL, actor=actor, kind="paused",
                       reason=reason, changes=changes, now=now)
    letters.compose(complaint, "pause", actor=actor, now=now, reason=reason)
    return event


def _end_pause(complaint: Complaint, changes: dict, now: datetime) -> None:
    if complaint.paused_since is None:
        return
    days = sla.pause_days([(complaint.paused_since, now)], now, zone_of(complaint))
    apply(complaint, changes, paused_days=(complaint.paused_days or 0) + days,
          paused_since=None)


@guard("resume")
def _can_resume(complaint, user, now):
    require_handler(user)
    in_states(complaint, {S.PAUSED_EXTERNAL}, _l("Resume after appraisal"))


def resume(complaint: Complaint, actor, note: str | None = None, *,
           now: datetime | None = None):
    """Restart the clock after the appraisal: the whole days paused move the deadline."""
    now = now or now_utc()
    _can_resume(complaint, actor, now)
    changes: dict = {}
    _end_pause(complaint, changes, now)
    before = complaint.due_on
    refresh_deadline(complaint, now)
    if complaint.due_on != before:
        changes["due_on"] = [before, complaint.due_on]
    event = transition(complaint, S.IN_INVESTIGATION, actor=actor, kind="resumed",
                       reason=(note or "").strip() or None, changes=changes, now=now)
    letters.compose(complaint, "resume", actor=actor, now=now)
    return event


@guard("request_info")
def _can_request_info(complaint, user, now):
    require_handler(user)
    check(complaint, S.AWAITING_INFO, _l("Ask the customer for information"))


def request_info(complaint: Complaint, actor, reason: str | None = None, *,
                 now: datetime | None = None):
    """Ask the customer for what is missing (the request is the letter's text)."""
    now = now or now_utc()
    _can_request_info(complaint, actor, now)
    reason = required_text(reason, "reason")
    event = transition(complaint, S.AWAITING_INFO, actor=actor, kind="info_requested",
                       reason=reason, now=now)
    letters.compose(complaint, "info_request", actor=actor, now=now, reason=reason)
    return event


@guard("info_received")
def _can_info_received(complaint, user, now):
    require_handler(user)
    in_states(complaint, {S.AWAITING_INFO}, _l("Information received"))


def info_received(complaint: Complaint, actor, note: str | None = None, *,
                  now: datetime | None = None):
    now = now or now_utc()
    _can_info_received(complaint, actor, now)
    return transition(complaint, S.IN_INVESTIGATION, actor=actor, kind="info_received",
                      reason=(note or "").strip() or None, now=now)


@guard("restart_clock")
def _can_restart(complaint, user, now):
    require_handler(user)
    in_states(complaint, RESTARTABLE, _l("Restart the clock (new facts)"))
    require(policy_for(complaint).restart_on_new_facts,
            _l("The complaint's time limit policy does not restart the clock on new facts."))


def restart_clock(complaint: Complaint, actor, new_facts: str | None = None,
                  received_at: datetime | None = None, *, now: datetime | None = None):
    """New facts on the same complaint: the clock restarts from receipt of the new material.

    Pauses and extensions belonged to the old clock and start again from zero, and so do the
    escalation flags (their events stay in the history).
    """
    now = now or now_utc()
    _can_restart(complaint, actor, now)
    new_facts = required_text(new_facts, "new_facts")
    require(received_at is not None and received_at.tzinfo is not None,
            _l("This field is required."), "received_at")
    require(received_at <= now, _l("The new material cannot be received in the future."),
            "received_at")
    require(received_at >= (complaint.clock_started_at or complaint.received_at),
            _l("The new material must come after the current clock start."), "received_at")
    changes = apply(complaint, {}, clock_started_at=received_at, paused_days=0,
                    extension_level=0, escalated_pct=0)
    before = complaint.due_on
    refresh_deadline(complaint, now)
    if complaint.due_on != before:
        changes["due_on"] = [before, complaint.due_on]
    db.session.execute(sa.delete(ComplaintEscalation).where(
        ComplaintEscalation.complaint_id == complaint.id))
    return note(complaint, "clock_restarted", actor=actor, reason=new_facts, changes=changes,
                now=now)


def next_tier(complaint: Complaint):
    """(level, milestone name, Milestone) of the next extension, or None at the last tier."""
    policy = policy_for(complaint)
    names = tiers(policy)
    level = (complaint.extension_level or 0) + 1
    if level >= len(names):
        return None
    return level, names[level], policy.milestone(names[level])


def final_or_open(complaint: Complaint) -> bool:
    return complaint.status in {str(s) for s in FINAL}

"""Corrective actions: created with each finding, worked on by the owner at the branch, closed
only by an effectiveness check made by someone who is not the owner; overdue ones escalate.

States: open -> done (the owner says it is fixed) -> closed (checked effective). A check that
finds it not effective sends it back to open with a note and a new due date (a new commitment,
so the escalation ladder starts again). The finding closes with its action; the audit closes
when its last finding does. Functions flush; the caller's unit of work commits.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l

from qms.audits import access, evidence
from qms.audits.access import AuditWorkError
from qms.audits.models import ActionNote, Audit, CorrectiveAction, Finding
from qms.auth.models import RoleGrant, User
from qms.core.db import now_utc
from qms.extensions import db

DEFAULT_DUE_DAYS = {"critical": 7, "major": 30, "minor": 90}
NOTE_MAX = 4000

STATUS_LABELS = {"open": _l("Open"), "done": _l("Done, to be checked"),
                 "closed": _l("Closed")}
NOTE_LABELS = {"progress": _l("Progress"), "done": _l("Marked done"),
               "verified": _l("Checked effective"), "reopened": _l("Not effective: reopened"),
               "escalated": _l("Escalated"), "owner": _l("Owner changed")}


def due_days(severity: str) -> int:
    """Days allowed for an action by the finding's severity (AUDIT_ACTION_DUE_DAYS)."""
    configured = current_app.config.get("AUDIT_ACTION_DUE_DAYS") or {}
    return int(configured.get(severity, DEFAULT_DUE_DAYS.get(severity, 30)))


def due_date(severity: str, start: datetime) -> datetime:
    return start + timedelta(days=due_days(severity))


def branch_heads(branch_id: int, *, region: bool = False) -> list[User]:
    """Active branch heads granted for the branch (and, with region=True, for its region)."""
    from qms.org.models import Branch

    cond = RoleGrant.branch_id == branch_id
    if region:
        reg = db.session.scalar(sa.select(Branch.region).where(Branch.id == branch_id))
        if reg:
            cond = sa.or_(cond, sa.and_(RoleGrant.branch_id.is_(None), RoleGrant.region == reg))
    return list(db.session.scalars(
        sa.select(User).join(RoleGrant, RoleGrant.user_id == User.id)
        .where(RoleGrant.role == "branch_head", cond, User.active.is_(True))
        .distinct().order_by(User.id)))


def default_owner(branch_id: int) -> User | None:
    heads = branch_heads(branch_id)
    return heads[0] if heads else None


def open_action(finding: Finding, *, now: datetime) -> CorrectiveAction:
    """The corrective action a new finding gets (called by submit, in its unit of work)."""
    owner = default_owner(finding.branch_id)
    action = CorrectiveAction(finding_id=finding.id, branch_id=finding.branch_id,
                              owner_id=owner.id if owner else None,
                              due_at=due_date(finding.severity, now), status="open",
                              escalation_level=0, created_at=now)
    db.session.add(action)
    db.session.flush()
    return action


def _note(action: CorrectiveAction, kind: str, text: str, author, now: datetime) -> ActionNote:
    note = ActionNote(action_id=action.id, author_id=getattr(author, "id", None), kind=kind,
                      text=text, created_at=now)
    db.session.add(note)
    return note


def _clean(text: str | None, field: str, *, required: bool = False) -> str:
    text = (text or "").strip()
    if required and not text:
        raise AuditWorkError({field: _l("This field is required.")})
    if len(text) > NOTE_MAX:
        raise AuditWorkError({field: _l("At most %(n)d characters.", n=NOTE_MAX)})
    return text


def _require_worker(action: CorrectiveAction, user) -> None:
    if not access.can_work_on(user, action):
        raise AuditWorkError(_l("Only the owner or a head of the branch works on this action."),
                             status=403)


def record_progress(action: CorrectiveAction, user, *, correction: str | None = None,
                    corrective: str | None = None, note: str | None = None, files=(),
                    now: datetime | None = None) -> CorrectiveAction:
    """The owner's update: the correction, the corrective action, a progress note and evidence
    files of the fix, all at once. Refused once the action is closed."""
    now = now or now_utc()
    _require_worker(action, user)
    if action.status == "closed":
        raise AuditWorkError(_l("This action is closed."), status=409)
    if correction is not None:
        action.correction = _clean(correction, "correction") or None
    if corrective is not None:
        action.action = _clean(corrective, "action") or None
    text = _clean(note, "note")
    if text:
        _note(action, "progress", text, user, now)
    for f in files:
        evidence.store_action_evidence(action, f, user)
    db.session.flush()
    return action


def mark_done(action: CorrectiveAction, user, *, note: str | None = None,
              now: datetime | None = None) -> CorrectiveAction:
    """The owner says the fix is in place: needs the correction and the corrective action."""
    now = now or now_utc()
    _require_worker(action, user)
    if action.status != "open":
        raise AuditWorkError(_l("Only an open action can be marked done."), status=409)
    missing = {}
    if not (action.correction or "").strip():
        missing["correction"] = _l("Describe the correction before marking the action done.")
    if not (action.action or "").strip():
        missing["action"] = _l("Describe the corrective action before marking it done.")
    if missing:
        raise AuditWorkError(missing)
    action.status = "done"
    action.done_at = now
    _note(action, "done", _clean(note, "note") or str(_l("Marked done.")), user, now)
    db.session.flush()
    return action


def verify(action: CorrectiveAction, user, *, effective: bool, note: str | None = None,
           new_due_at: datetime | None = None, now: datetime | None = None) -> CorrectiveAction:
    """The effectiveness check. Effective: the action, its finding and (when it was the last
    open one) its audit close. Not effective: a note is required and the action reopens with a
    new due date (default: the severity's days from now)."""
    now = now or now_utc()
    refusal = access.verify_refusal(user, action)
    if refusal:
        raise AuditWorkError(refusal, status=403)
    if action.status != "done":
        raise AuditWorkError(_l("Only an action marked done can be checked."), status=409)
    text = _clean(note, "note", required=not effective)
    action.verified_by_id = user.id
    action.verified_at = now
    action.effective = effective
    if effective:
        action.status = "closed"
        action.closed_at = now
        _note(action, "verified", text or str(_l("Checked: effective.")), user, now)
        _close_finding(action.finding, now)
    else:
        due = new_due_at or due_date(action.finding.severity, now)
        if due <= now:
            raise AuditWorkError({"due_at": _l("The new due date must be in the future.")})
        action.status = "open"
        action.done_at = None
        action.due_at = due
        action.escalation_level = 0
        _note(action, "reopened", text, user, now)
    db.session.flush()
    return action


def _close_finding(finding: Finding, now: datetime) -> None:
    finding.status = "closed"
    finding.closed_at = now
    db.session.flush()
    audit = finding.audit
    still_open = db.session.scalar(sa.select(sa.func.count(Finding.id)).where(
        Finding.audit_id == audit.id, Finding.status != "closed"))
    if not still_open and audit.status == "submitted":
        audit.status = "closed"


def assign_owner(action: CorrectiveAction, owner: User, by, *,
                 now: datetime | None = None) -> CorrectiveAction:
    """Hand an action to a branch head of its branch (qa/admin/auditor)."""
    now = now or now_utc()
    if by is None or not by.has_role(*access.VERIFIERS):
        raise AuditWorkError(_l("Only QA, an administrator or an auditor assigns owners."),
                             status=403)
    if action.status == "closed":
        raise AuditWorkError(_l("This action is closed."), status=409)
    if owner.id not in {u.id for u in branch_heads(action.branch_id, region=True)}:
        raise AuditWorkError({"owner_id": _l("The owner must be a head of the branch.")})
    action.owner_id = owner.id
    _note(action, "owner", owner.name, by, now)
    db.session.flush()
    return action


def owner_choices(action: CorrectiveAction) -> list[tuple[int, str]]:
    return [(u.id, u.name) for u in branch_heads(action.branch_id, region=True)]


def notes_of(action: CorrectiveAction) -> list[ActionNote]:
    return list(db.session.scalars(sa.select(ActionNote).where(
        ActionNote.action_id == action.id).order_by(ActionNote.created_at, ActionNote.id)))


def names(*user_ids) -> dict[int, str]:
    wanted = {i for i in user_ids if i}
    if not wanted:
        return {}
    return dict(db.session.execute(sa.select(User.id, User.name).where(User.id.in_(wanted))).all())


def audit_of(action: CorrectiveAction) -> Audit:
    return action.finding.audit


def escalate_overdue(now: datetime | None = None) -> int:
    """The "audit-actions-escalation" job (see qms.audits.escalation)."""
    from qms.audits.escalation import escalate_overdue as run

    return run(now)

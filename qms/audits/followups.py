"""Follow-up audits of critical findings: an ad-hoc audit of the same branch against the same
checklist version, at most one per finding (Audit.follow_up_of_id is unique)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from qms.audits import access
from qms.audits.access import AuditWorkError
from qms.audits.models import Audit, Finding
from qms.auth.models import RoleGrant, User
from qms.core.db import now_utc
from qms.extensions import db


def follow_up_of(finding: Finding) -> Audit | None:
    return db.session.scalar(sa.select(Audit).where(Audit.follow_up_of_id == finding.id))


def auditor_choices(branch_id: int) -> list[tuple[int, str]]:
    """Active auditors with no grant at the audited branch (objectivity)."""
    own = sa.select(RoleGrant.user_id).where(RoleGrant.branch_id == branch_id)
    users = db.session.scalars(
        sa.select(User).join(RoleGrant, RoleGrant.user_id == User.id)
        .where(RoleGrant.role == "auditor", User.active.is_(True), User.id.not_in(own))
        .distinct().order_by(User.name, User.id))
    return [(u.id, u.name) for u in users]


def schedule_follow_up(finding: Finding, by, due_at: datetime, *, auditor: User | None = None,
                       now: datetime | None = None) -> Audit:
    """Create the follow-up audit of a critical finding (planned now, due `due_at`), assigned
    to `auditor` (default: the auditor of the original audit)."""
    now = now or now_utc()
    if by is None or not by.has_role(*access.VERIFIERS):
        raise AuditWorkError(_l("Only QA, an administrator or an auditor schedules follow-up "
                                "audits."), status=403)
    if finding.severity != "critical":
        raise AuditWorkError(_l("Follow-up audits are for critical findings."), status=409)
    if follow_up_of(finding) is not None:
        raise AuditWorkError(_l("This finding has a follow-up audit already."), status=409)
    if due_at <= now:
        raise AuditWorkError({"due_at": _l("The due date must be in the future.")})
    original = finding.audit
    auditor_id = auditor.id if auditor is not None else original.auditor_id
    if auditor_id is not None and auditor_id not in {
            uid for uid, _name in auditor_choices(finding.branch_id)}:
        raise AuditWorkError({"auditor_id": _l(
            "Choose an active auditor who does not work at the audited branch.")})
    audit = Audit(programme_id=None, template_version_id=original.template_version_id,
                  branch_id=finding.branch_id, period=f"F{finding.id}", auditor_id=auditor_id,
                  status="planned", planned_at=now, due_at=due_at, follow_up_of_id=finding.id,
                  answers={}, comments={}, created_at=now)
    try:
        with db.session.begin_nested():
            db.session.add(audit)
    except sa.exc.IntegrityError:  # a concurrent request scheduled it first
        raise AuditWorkError(_l("This finding has a follow-up audit already."),
                             status=409) from None
    return audit

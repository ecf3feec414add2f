"""Who may see and do what with audits, findings and corrective actions (object-level rules).

Seeing follows the branch scope of the grants that open the page (a branch head: own branch;
qa/admin/auditor: their scope, bank-wide when unscoped); an auditor also always sees the audits
assigned to them. Performing: the assigned auditor, or qa/admin. Working on an action: its
owner, a branch head of its branch, or an administrator. The effectiveness check: qa, admin or
an auditor who is neither the owner nor the person who marked the action done.
"""

from __future__ import annotations

import sqlalchemy as sa

from qms.audits.models import ActionNote, Audit, CorrectiveAction, Finding
from qms.core.permissions import branch_scope, can_see_branch
from qms.extensions import db

PERFORMERS = ("admin", "qa")        # may perform any audit in scope, not only their own
VERIFIERS = ("admin", "qa", "auditor")
VIEWERS = ("admin", "qa", "auditor", "branch_head")


class AuditWorkError(Exception):
    """A refused step: `fields` maps an item key or form field ("" for the whole) to a message
    meant for people; `status` the HTTP status a page answers with."""

    def __init__(self, fields: dict | str, status: int = 400):
        if not isinstance(fields, dict):
            fields = {"": fields}
        super().__init__("; ".join(f"{k}: {v}" if k else str(v) for k, v in fields.items()))
        self.fields = {k: str(v) for k, v in fields.items()}
        self.status = status

    @property
    def message(self) -> str:
        return "; ".join(self.fields.values())


def _roles(user, roles) -> set[str]:
    return set(user.roles) if roles is None else set(user.roles) & set(roles)


def can_see_audit(user, audit: Audit, roles=None) -> bool:
    if user is None:
        return False
    if audit.auditor_id == user.id and "auditor" in _roles(user, roles):
        return True
    return can_see_branch(user, audit.branch_id, roles)


def find_audit(audit_id: int, user, roles=None) -> Audit | None:
    audit = db.session.get(Audit, audit_id)
    return audit if audit is not None and can_see_audit(user, audit, roles) else None


def find_finding(finding_id: int, user, roles=None) -> Finding | None:
    finding = db.session.get(Finding, finding_id)
    if finding is None or not can_see_audit(user, finding.audit, roles):
        return None
    return finding


def find_action(action_id: int, user, roles=None) -> CorrectiveAction | None:
    action = db.session.get(CorrectiveAction, action_id)
    if action is None or not can_see_audit(user, action.finding.audit, roles):
        return None
    return action


def can_perform(user, audit: Audit) -> bool:
    """The assigned auditor, or qa/admin with the branch in scope."""
    if user is None:
        return False
    if audit.auditor_id == user.id and user.has_role("auditor", *PERFORMERS):
        return True
    return user.has_role(*PERFORMERS) and can_see_branch(user, audit.branch_id, PERFORMERS)


def heads_scope(user) -> set[int] | None:
    return branch_scope(user, {"branch_head"}) if user.has_role("branch_head") else set()


def can_work_on(user, action: CorrectiveAction) -> bool:
    """The owner, a branch head of the action's branch, or an administrator."""
    if user is None:
        return False
    if action.owner_id == user.id:
        return True
    if user.has_role("admin"):
        return True
    scope = heads_scope(user)
    return scope is None or action.branch_id in scope


def marked_done_by(action: CorrectiveAction) -> int | None:
    """Who marked the action done last (the latest "done" note's author)."""
    return db.session.scalar(
        sa.select(ActionNote.author_id).where(ActionNote.action_id == action.id,
                                              ActionNote.kind == "done")
        .order_by(ActionNote.created_at.desc(), ActionNote.id.desc()).limit(1))


def verify_refusal(user, action: CorrectiveAction) -> str | None:
    """Why `user` may not make the effectiveness check of `action` (None: they may)."""
    from flask_babel import lazy_gettext as _l

    if user is None or not user.has_role(*VERIFIERS):
        return str(_l("Only QA, an administrator or an auditor checks effectiveness."))
    if not can_see_branch(user, action.branch_id, VERIFIERS) \
            and action.finding.audit.auditor_id != user.id:
        return str(_l("This branch is outside your scope."))
    if action.owner_id == user.id:
        return str(_l("The owner of an action cannot check its effectiveness."))
    if marked_done_by(action) == user.id:
        return str(_l("Whoever marked the action done cannot check its effectiveness."))
    return None

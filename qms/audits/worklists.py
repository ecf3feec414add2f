"""Read-side lists for the findings pages: a branch's findings with their actions, the branches
a user may pick, and the plain values the audit pages show."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from qms.audits import checklists
from qms.audits.models import Audit, CorrectiveAction, Finding
from qms.auth.models import User
from qms.core.permissions import branch_scope
from qms.extensions import db
from qms.org.models import Branch

STATES = ("open", "closed", "all")


@dataclass(frozen=True)
class FindingRow:
    finding_id: int
    audit_id: int
    branch: str
    period: str
    item: str
    section: str
    severity: str
    status: str
    created_at: datetime
    action_status: str | None
    due_at: datetime | None
    owner: str | None
    escalation_level: int
    overdue: bool


def visible_branches(user, roles) -> list[tuple[int, str]]:
    scope = branch_scope(user, roles)
    stmt = sa.select(Branch.id, Branch.code, Branch.name).order_by(Branch.code)
    if scope is not None:
        stmt = stmt.where(Branch.id.in_(scope))
    return [(bid, f"{code} {name}") for bid, code, name in db.session.execute(stmt)]


def finding_rows(user, roles, *, branch_id: int | None = None, state: str = "open",
                 now: datetime, locale: str = "zh_Hans", limit: int = 500) -> list[FindingRow]:
    """Findings in the user's scope (optionally one branch), newest first, with their action."""
    scope = branch_scope(user, roles)
    ca = CorrectiveAction
    stmt = (sa.select(Finding, Audit.period, Audit.template_version_id, Branch.code,
                      Branch.name, ca.status, ca.due_at, ca.escalation_level, User.name)
            .join(Audit, Audit.id == Finding.audit_id)
            .join(Branch, Branch.id == Finding.branch_id)
            .outerjoin(ca, ca.finding_id == Finding.id)
            .outerjoin(User, User.id == ca.owner_id)
            .order_by(Finding.created_at.desc(), Finding.id.desc()).limit(limit))
    if scope is not None:
        stmt = stmt.where(Finding.branch_id.in_(scope))
    if branch_id is not None:
        stmt = stmt.where(Finding.branch_id == branch_id)
    if state in ("open", "closed"):
        stmt = stmt.where(Finding.status == state)
    rows = db.session.execute(stmt).all()
    metas = _metas({r[2] for r in rows})
    out = []
    for f, period, vid, code, name, a_status, due, level, owner in rows:
        meta = metas.get(vid, {}).get(f.item_key, {})
        out.append(FindingRow(
            f.id, f.audit_id, f"{code} {name}", period,
            checklists.text(meta.get("label"), locale) or f.item_key,
            checklists.text(meta.get("section_label"), locale) or f.section_key,
            f.severity, f.status, f.created_at, a_status, due, owner, level or 0,
            bool(a_status == "open" and due is not None and due < now)))
    return out


def _metas(version_ids) -> dict[int, dict]:
    from qms.audits.models import AuditTemplateVersion

    if not version_ids:
        return {}
    return {vid: checklists.item_meta(d) for vid, d in db.session.execute(
        sa.select(AuditTemplateVersion.id, AuditTemplateVersion.definition)
        .where(AuditTemplateVersion.id.in_(version_ids)))}


def user_names(*ids) -> dict[int, str]:
    wanted = {i for i in ids if i}
    if not wanted:
        return {}
    return dict(db.session.execute(sa.select(User.id, User.name).where(User.id.in_(wanted))).all())


def branch_label(branch_id: int) -> str:
    b = db.session.get(Branch, branch_id)
    return f"{b.code} {b.name}" if b else ""

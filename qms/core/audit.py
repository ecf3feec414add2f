"""Security audit log: logins, failed logins, role changes, exports."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from qms.core.db import UTCDateTime, now_utc
from qms.extensions import db


class AuditLog(db.Model):
    __tablename__ = "audit_log"
    __table_args__ = (sa.Index("ix_audit_log_action_subject_at", "action", "subject", "created_at"),
                      sa.Index("ix_audit_log_action_ip_at", "action", "ip", "created_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(sa.String(40))
    subject: Mapped[str | None] = mapped_column(sa.String(254))
    ip: Mapped[str | None] = mapped_column(sa.String(64))
    details: Mapped[dict | None] = mapped_column(sa.JSON)


def record(action: str, *, actor=None, subject: str | None = None, ip: str | None = None,
           details: dict | None = None, now: datetime | None = None) -> AuditLog:
    """Add an audit entry to the current unit of work (the caller commits)."""
    entry = AuditLog(
        action=action,
        actor_id=getattr(actor, "id", None) if actor is not None and hasattr(actor, "email") else None,
        subject=subject,
        ip=ip,
        details=details,
        created_at=now or now_utc(),
    )
    db.session.add(entry)
    return entry


def recent_count(action: str, *, since: datetime, subject: str | None = None,
                 ip: str | None = None) -> int:
    q = sa.select(sa.func.count(AuditLog.id)).where(
        AuditLog.action == action, AuditLog.created_at >= since
    )
    if subject is not None:
        q = q.where(AuditLog.subject == subject)
    if ip is not None:
        q = q.where(AuditLog.ip == ip)
    return db.session.scalar(q) or 0


def recent_times(action: str, *, since: datetime, subject: str | None = None,
                 ip: str | None = None) -> list[datetime]:
    """Times of matching entries since `since`, oldest first."""
    q = sa.select(AuditLog.created_at).where(
        AuditLog.action == action, AuditLog.created_at >= since).order_by(AuditLog.created_at)
    if subject is not None:
        q = q.where(AuditLog.subject == subject)
    if ip is not None:
        q = q.where(AuditLog.ip == ip)
    return list(db.session.scalars(q))


def list_entries(*, action: str | None = None, limit: int = 200) -> list[AuditLog]:
    q = sa.select(AuditLog).order_by(AuditLog.id.desc()).limit(limit)
    if action:
        q = q.where(AuditLog.action == action)
    return list(db.session.scalars(q))

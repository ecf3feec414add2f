"""Evidence files of an audit, per checklist item, and of a corrective action.

The files themselves are core Attachments (content-checked, size-limited, stored by SHA-256):
owner_type "audit" with the audit's id, or "corrective_action" with the action's id. An
Attachment has no place for the checklist item, so `AuditEvidence` ties each audit attachment
to its item key (a table of its own, additive: the lead's migration creates it).
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column

from qms.core import uploads
from qms.core.db import UTCDateTime, now_utc
from qms.core.uploads import Attachment
from qms.extensions import db

AUDIT_OWNER = "audit"
ACTION_OWNER = "corrective_action"
DEFAULT_MAX_PER_ITEM = 10


class AuditEvidence(db.Model):
    __tablename__ = "audit_evidence"
    __table_args__ = (sa.Index("ix_audit_evidence_audit_item", "audit_id", "item_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    audit_id: Mapped[int] = mapped_column(sa.ForeignKey("audits.id"))
    item_key: Mapped[str] = mapped_column(sa.String(64))
    attachment_id: Mapped[int] = mapped_column(sa.ForeignKey("attachments.id"), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)


def max_per_item() -> int:
    return int(current_app.config.get("AUDIT_MAX_EVIDENCE_PER_ITEM") or DEFAULT_MAX_PER_ITEM)


def store_item_evidence(audit, item_key: str, file_storage, actor) -> Attachment:
    """Check and store one file for one item of an audit (raises uploads.UploadError)."""
    have = db.session.scalar(sa.select(sa.func.count(AuditEvidence.id)).where(
        AuditEvidence.audit_id == audit.id, AuditEvidence.item_key == item_key))
    if have >= max_per_item():
        raise uploads.UploadError(_l("An item takes at most %(n)d files.", n=max_per_item()))
    att = uploads.store_upload(file_storage, AUDIT_OWNER, audit.id, actor=actor)
    db.session.add(AuditEvidence(audit_id=audit.id, item_key=item_key, attachment_id=att.id))
    db.session.flush()
    return att


def evidence_by_item(audit) -> dict[str, list[Attachment]]:
    rows = db.session.execute(
        sa.select(AuditEvidence.item_key, Attachment)
        .join(Attachment, Attachment.id == AuditEvidence.attachment_id)
        .where(AuditEvidence.audit_id == audit.id).order_by(Attachment.id)).all()
    out: dict[str, list[Attachment]] = {}
    for key, att in rows:
        out.setdefault(key, []).append(att)
    return out


def audit_attachment(audit, attachment_id: int) -> Attachment | None:
    att = db.session.get(Attachment, attachment_id)
    if att is None or att.owner_type != AUDIT_OWNER or att.owner_id != audit.id:
        return None
    return att


def remove_item_evidence(audit, attachment_id: int) -> bool:
    """Unlink a file from an audit still being performed (the content-addressed blob stays)."""
    att = audit_attachment(audit, attachment_id)
    if att is None:
        return False
    db.session.execute(sa.delete(AuditEvidence).where(AuditEvidence.attachment_id == att.id))
    db.session.delete(att)
    db.session.flush()
    return True


def store_action_evidence(action, file_storage, actor) -> Attachment:
    return uploads.store_upload(file_storage, ACTION_OWNER, action.id, actor=actor)


def action_evidence(action) -> list[Attachment]:
    return uploads.attachments_of(ACTION_OWNER, action.id)


def action_attachment(action, attachment_id: int) -> Attachment | None:
    att = db.session.get(Attachment, attachment_id)
    if att is None or att.owner_type != ACTION_OWNER or att.owner_id != action.id:
        return None
    return att

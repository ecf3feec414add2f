"""Audit tables: checklist templates with versions, programmes (what is audited when, by whom),
audits unique on (programme, branch, period), findings and corrective actions with notes."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from qms.core.db import UTCDateTime, now_utc
from qms.extensions import db
from qms.org.models import Branch

SEVERITIES = ("minor", "major", "critical")
RECURRENCES = ("monthly", "quarterly", "yearly", "cron")
SCOPES = ("all", "region", "list")
AUDIT_STATES = ("planned", "in_progress", "submitted", "closed", "cancelled")
FINDING_STATES = ("open", "closed")
ACTION_STATES = ("open", "done", "closed")  # done = owner says fixed; closed = verified effective


class AuditTemplate(db.Model):
    __tablename__ = "audit_templates"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    versions: Mapped[list[AuditTemplateVersion]] = relationship(
        back_populates="template", order_by="AuditTemplateVersion.number")


class AuditTemplateVersion(db.Model):
    """A checklist: the shared scoring format (qms.analytics.scoring rubric dict) whose criteria
    also carry `severity` (what a failure creates), `evidence_required` and `guidance`, with
    labels in three languages. Immutable once published."""

    __tablename__ = "audit_template_versions"
    __table_args__ = (sa.UniqueConstraint("template_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    template_id: Mapped[int] = mapped_column(sa.ForeignKey("audit_templates.id"), index=True)
    number: Mapped[int]
    definition: Mapped[dict] = mapped_column(sa.JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime, active_history=True)

    template: Mapped[AuditTemplate] = relationship(back_populates="versions")

    @property
    def is_published(self) -> bool:
        return self.published_at is not None


programme_branches = sa.Table(
    "audit_programme_branches", db.metadata,
    sa.Column("programme_id", sa.ForeignKey("audit_programmes.id", ondelete="CASCADE"),
              primary_key=True),
    sa.Column("branch_id", sa.ForeignKey("branches.id", ondelete="CASCADE"), primary_key=True),
)


class AuditProgramme(db.Model):
    """Which branches are audited against which template, how often, by whom, in how long."""

    __tablename__ = "audit_programmes"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    template_id: Mapped[int] = mapped_column(sa.ForeignKey("audit_templates.id"))
    recurrence: Mapped[str] = mapped_column(sa.String(10), default="monthly")  # RECURRENCES
    cron: Mapped[str | None] = mapped_column(sa.String(100))   # when recurrence == "cron"
    scope: Mapped[str] = mapped_column(sa.String(10), default="all")  # SCOPES
    region: Mapped[str | None] = mapped_column(sa.String(100))  # when scope == "region"
    auditor_ids: Mapped[list | None] = mapped_column(sa.JSON)  # None: every auditor-role user
    rotation_cursor: Mapped[int] = mapped_column(default=0)    # round robin position
    days_allowed: Mapped[int] = mapped_column(default=14)
    starts_on: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)  # no period before
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)

    template: Mapped[AuditTemplate] = relationship()
    branches: Mapped[list[Branch]] = relationship(secondary=programme_branches)


class Audit(db.Model):
    """One audit of one branch for one period of a programme: created exactly once."""

    __tablename__ = "audits"
    __table_args__ = (
        sa.UniqueConstraint("programme_id", "branch_id", "period"),
        sa.Index("ix_audits_branch_submitted", "branch_id", "submitted_at"),
        sa.Index("ix_audits_status_due", "status", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # NULL for an ad-hoc or follow-up audit (then period is unique per follow-up: "F<finding id>")
    programme_id: Mapped[int | None] = mapped_column(sa.ForeignKey("audit_programmes.id"))
    template_version_id: Mapped[int] = mapped_column(sa.ForeignKey("audit_template_versions.id"))
    branch_id: Mapped[int] = mapped_column(sa.ForeignKey("branches.id"))
    period: Mapped[str] = mapped_column(sa.String(20))  # 2026-11 | 2026-Q4 | 2026 | 2026-11-28T02:00
    auditor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    status: Mapped[str] = mapped_column(sa.String(16), default="planned")  # AUDIT_STATES
    planned_at: Mapped[datetime] = mapped_column(UTCDateTime)   # start of the period
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # a follow-up audit of a critical finding: at most one per finding
    follow_up_of_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("audit_findings.id", use_alter=True), unique=True)
    answers: Mapped[dict] = mapped_column(sa.JSON, default=dict)   # item key -> answer
    comments: Mapped[dict] = mapped_column(sa.JSON, default=dict)  # item key -> text
    score: Mapped[float | None] = mapped_column(sa.Float)          # shared scoring function
    auto_failed: Mapped[bool] = mapped_column(default=False)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)

    programme: Mapped[AuditProgramme | None] = relationship()
    template_version: Mapped[AuditTemplateVersion] = relationship()
    branch: Mapped[Branch] = relationship()


class Finding(db.Model):
    """A failed checklist item of a submitted audit, with the severity the item declares."""

    __tablename__ = "audit_findings"
    __table_args__ = (sa.UniqueConstraint("audit_id", "item_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    audit_id: Mapped[int] = mapped_column(sa.ForeignKey("audits.id"), index=True)
    branch_id: Mapped[int] = mapped_column(sa.ForeignKey("branches.id"), index=True)
    section_key: Mapped[str] = mapped_column(sa.String(64))
    item_key: Mapped[str] = mapped_column(sa.String(64))
    severity: Mapped[str] = mapped_column(sa.String(10))  # SEVERITIES
    description: Mapped[str | None] = mapped_column(sa.Text)
    status: Mapped[str] = mapped_column(sa.String(10), default="open")  # FINDING_STATES
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    audit: Mapped[Audit] = relationship(foreign_keys=[audit_id])
    branch: Mapped[Branch] = relationship()


class CorrectiveAction(db.Model):
    """Correction plus corrective action for one finding; closed only by an effectiveness check
    made by someone who is not the owner."""

    __tablename__ = "corrective_actions"
    __table_args__ = (sa.Index("ix_corrective_actions_branch_status_due",
                               "branch_id", "status", "due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    finding_id: Mapped[int] = mapped_column(sa.ForeignKey("audit_findings.id"), unique=True)
    branch_id: Mapped[int] = mapped_column(sa.ForeignKey("branches.id"))
    owner_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    correction: Mapped[str | None] = mapped_column(sa.Text)  # the immediate fix
    action: Mapped[str | None] = mapped_column(sa.Text)      # removing the cause
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(sa.String(10), default="open")  # ACTION_STATES
    escalation_level: Mapped[int] = mapped_column(default=0)  # 0 none, 1 owner, 2 head, 3 QA
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    verified_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    effective: Mapped[bool | None]
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)

    finding: Mapped[Finding] = relationship()
    branch: Mapped[Branch] = relationship()
    notes: Mapped[list[ActionNote]] = relationship(
        back_populates="corrective_action", order_by="ActionNote.created_at")


class ActionNote(db.Model):
    __tablename__ = "corrective_action_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    action_id: Mapped[int] = mapped_column(sa.ForeignKey("corrective_actions.id"), index=True)
    author_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(sa.String(20), default="progress")
    # progress|done|verified|reopened|escalated
    text: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)

    corrective_action: Mapped[CorrectiveAction] = relationship(back_populates="notes")

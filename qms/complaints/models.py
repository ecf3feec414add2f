"""Complaint tables: the complaint, its append-only hash-chained history, approvals,
communications, classification code lists, custom SLA policies and reference counters."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from qms.core.db import UTCDateTime, now_utc
from qms.extensions import db
from qms.org.models import Agent, Branch, Customer


class Complaint(db.Model):
    __tablename__ = "complaints"
    __table_args__ = (
        sa.Index("ix_complaints_status_due", "status", "due_on"),
        sa.Index("ix_complaints_branch_received", "branch_id", "received_at"),
        sa.Index("ix_complaints_customer_status", "customer_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(sa.String(32), unique=True)  # CMP-2026-000123
    status: Mapped[str] = mapped_column(sa.String(24), default="RECEIVED")
    policy_code: Mapped[str] = mapped_column(sa.String(32))

    # complainant: a known customer, or a person entered with the complaint
    customer_id: Mapped[int | None] = mapped_column(sa.ForeignKey("customers.id"))
    complainant_name: Mapped[str] = mapped_column(sa.String(200))
    complainant_email: Mapped[str | None] = mapped_column(sa.String(254))
    complainant_phone: Mapped[str | None] = mapped_column(sa.String(32))
    complainant_locale: Mapped[str] = mapped_column(sa.String(10), default="zh_Hans")
    representative: Mapped[str | None] = mapped_column(sa.String(200))  # agent/representative
    segment: Mapped[str | None] = mapped_column(sa.String(20))           # VIP gets priority

    branch_id: Mapped[int | None] = mapped_column(sa.ForeignKey("branches.id"))
    agent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("agents.id"), index=True)
    product: Mapped[str | None] = mapped_column(sa.String(100))
    # JR/T 0169 axes: A channel, B business type, C cause (codes from classification_codes)
    channel_code: Mapped[str | None] = mapped_column(sa.String(16))
    business_code: Mapped[str | None] = mapped_column(sa.String(16))
    cause_code: Mapped[str | None] = mapped_column(sa.String(16))
    severity: Mapped[str] = mapped_column(sa.String(12), default="medium")  # low..critical
    priority: Mapped[str] = mapped_column(sa.String(12), default="normal")  # normal|high

    description: Mapped[str] = mapped_column(sa.Text)          # what happened
    requested_outcome: Mapped[str | None] = mapped_column(sa.Text)  # what the customer asks
    source: Mapped[str] = mapped_column(sa.String(20), default="direct")  # direct|regulator
    regulator_ref: Mapped[str | None] = mapped_column(sa.String(64))
    intake_channel: Mapped[str] = mapped_column(sa.String(20), default="staff")  # staff|public|api|survey
    follow_up_id: Mapped[int | None] = mapped_column(sa.ForeignKey("follow_ups.id"), unique=True)
    status_token_hash: Mapped[str | None] = mapped_column(sa.String(64), unique=True)

    # the clock: runs from receipt (or from new material on a restart), in the branch's zone
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    clock_started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    extension_level: Mapped[int] = mapped_column(default=0)  # 0 final, 1 extended, 2 max
    paused_days: Mapped[int] = mapped_column(default=0)       # whole days of finished pauses
    paused_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    due_on: Mapped[date | None] = mapped_column(sa.Date)      # the current decision deadline
    escalated_pct: Mapped[int] = mapped_column(default=0)     # highest threshold flagged

    # people: 首问负责制 — the first contact owns it until closure
    owner_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    assignee_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    conflict_declared_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    # the decision (drafted by a maker, approved by someone else)
    outcome: Mapped[str | None] = mapped_column(sa.String(16))  # upheld|partly_upheld|rejected
    redress_amount: Mapped[Decimal | None] = mapped_column(sa.Numeric(14, 2))
    decision_reasons: Mapped[str | None] = mapped_column(sa.Text)
    decision_basis: Mapped[str | None] = mapped_column(sa.Text)
    decision_findings: Mapped[str | None] = mapped_column(sa.Text)  # what was verified (CN)
    remedies: Mapped[str | None] = mapped_column(sa.Text)
    decision_maker_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    approved_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    response_issued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    redress_paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    review_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reviewer_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    referral_body: Mapped[str | None] = mapped_column(sa.String(40))  # ombudsman|mediation|...
    referral_ref: Mapped[str | None] = mapped_column(sa.String(64))
    merged_into_id: Mapped[int | None] = mapped_column(sa.ForeignKey("complaints.id"))

    root_cause: Mapped[str | None] = mapped_column(sa.String(16))
    remediation: Mapped[str | None] = mapped_column(sa.Text)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    # head of the history chain: lets `complaints verify` notice a cut-off tail
    history_length: Mapped[int] = mapped_column(default=0)
    history_head: Mapped[str | None] = mapped_column(sa.String(64))

    customer: Mapped[Customer | None] = relationship()
    branch: Mapped[Branch | None] = relationship()
    agent: Mapped[Agent | None] = relationship()
    events: Mapped[list[ComplaintEvent]] = relationship(
        back_populates="complaint", order_by="ComplaintEvent.seq", viewonly=True)


class ComplaintEvent(db.Model):
    """One change, never updated or deleted; each carries the SHA-256 of its content and of
    the previous event of the same complaint."""

    __tablename__ = "complaint_events"
    __table_args__ = (sa.UniqueConstraint("complaint_id", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(sa.ForeignKey("complaints.id"))
    seq: Mapped[int]
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    actor_label: Mapped[str | None] = mapped_column(sa.String(200))  # "public form", "api:NAME"
    kind: Mapped[str] = mapped_column(sa.String(40))
    from_status: Mapped[str | None] = mapped_column(sa.String(24))
    to_status: Mapped[str | None] = mapped_column(sa.String(24))
    changes: Mapped[dict | None] = mapped_column(sa.JSON)  # field -> [from, to]
    reason: Mapped[str | None] = mapped_column(sa.Text)
    approver_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    prev_hash: Mapped[str | None] = mapped_column(sa.String(64))
    hash: Mapped[str] = mapped_column(sa.String(64))

    complaint: Mapped[Complaint] = relationship(back_populates="events")


class ComplaintApproval(db.Model):
    """Four-eyes: a request by a maker, decided by someone who is not the maker."""

    __tablename__ = "complaint_approvals"

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(sa.ForeignKey("complaints.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(24))  # decision|extension|not_accepted|...
    payload: Mapped[dict | None] = mapped_column(sa.JSON)
    required_role: Mapped[str | None] = mapped_column(sa.String(20))
    requested_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    status: Mapped[str] = mapped_column(sa.String(12), default="pending")  # pending|approved|rejected
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    note: Mapped[str | None] = mapped_column(sa.Text)

    complaint: Mapped[Complaint] = relationship()


class ComplaintMessage(db.Model):
    """A communication to the complainant, kept as sent."""

    __tablename__ = "complaint_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(sa.ForeignKey("complaints.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(32))  # acknowledgement|holding|final|...
    locale: Mapped[str] = mapped_column(sa.String(10))
    to_email: Mapped[str | None] = mapped_column(sa.String(254))
    subject: Mapped[str] = mapped_column(sa.String(300))
    body: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    message_id: Mapped[str | None] = mapped_column(sa.String(200))
    error: Mapped[str | None] = mapped_column(sa.String(500))


class ComplaintEscalation(db.Model):
    """One row per (complaint, threshold, level): the unique key makes 'once per threshold'
    hold even when the escalation job runs twice or concurrently."""

    __tablename__ = "complaint_escalations"
    __table_args__ = (sa.UniqueConstraint("complaint_id", "threshold", "level"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(sa.ForeignKey("complaints.id"))
    threshold: Mapped[int]          # 50, 80, 100
    level: Mapped[str] = mapped_column(sa.String(12))  # assignee|supervisor
    notified_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class ClassificationCode(db.Model):
    """Editable code lists: axis A channel, B business type, C cause, R root cause, P product."""

    __tablename__ = "classification_codes"
    __table_args__ = (sa.UniqueConstraint("axis", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    axis: Mapped[str] = mapped_column(sa.String(2))
    code: Mapped[str] = mapped_column(sa.String(16))
    labels: Mapped[dict] = mapped_column(sa.JSON)  # {zh_Hans, zh_Hant, en}
    sort: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)


class SlaPolicyRecord(db.Model):
    """A custom SLA policy (the presets live in code); definition as qms.complaints.sla dicts."""

    __tablename__ = "sla_policies"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(32), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    definition: Mapped[dict] = mapped_column(sa.JSON)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)


class ReferenceCounter(db.Model):
    """Per-year counters for human references; incremented with a single UPDATE so that
    concurrent intakes never get the same number."""

    __tablename__ = "reference_counters"

    name: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    year: Mapped[int] = mapped_column(primary_key=True)
    value: Mapped[int] = mapped_column(default=0)

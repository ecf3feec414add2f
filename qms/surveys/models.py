"""Survey tables. Answers are a long table so that every KPI is a SQL aggregate."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from qms.core.db import UTCDateTime, now_utc
from qms.extensions import db
from qms.org.models import Agent, Branch, Customer


class SurveyKind(enum.StrEnum):
    SATISFACTION = "satisfaction"
    MYSTERY_SHOP = "mystery_shop"


class Survey(db.Model):
    __tablename__ = "surveys"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(20), default=SurveyKind.SATISFACTION)
    title: Mapped[str] = mapped_column(sa.String(200))  # internal name; labels live in versions
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    versions: Mapped[list[SurveyVersion]] = relationship(
        back_populates="survey", order_by="SurveyVersion.number")


class SurveyVersion(db.Model):
    """One version of a survey's definition; immutable once published_at is set."""

    __tablename__ = "survey_versions"
    __table_args__ = (sa.UniqueConstraint("survey_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(sa.ForeignKey("surveys.id"), index=True)
    number: Mapped[int]
    definition: Mapped[dict] = mapped_column(sa.JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    # active_history: the old value is loaded before a change, so the immutability check
    # in services sees "was published" even on an expired instance (no schema change).
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime, active_history=True)
    published_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    survey: Mapped[Survey] = relationship(back_populates="versions")

    @property
    def is_published(self) -> bool:
        return self.published_at is not None


class Channel(enum.StrEnum):
    EMAIL = "email"
    COUNTER = "counter"
    API = "api"


class Campaign(db.Model):
    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    version_id: Mapped[int] = mapped_column(sa.ForeignKey("survey_versions.id"), index=True)
    channel: Mapped[str] = mapped_column(sa.String(20))
    status: Mapped[str] = mapped_column(sa.String(20), default="draft")  # draft|running|closed
    opens_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closes_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    link_valid_days: Mapped[int] = mapped_column(default=14)
    reminder_after_days: Mapped[int | None] = mapped_column()
    max_reminders: Mapped[int] = mapped_column(default=0)
    contact_gap_days: Mapped[int] = mapped_column(default=30)
    branch_id: Mapped[int | None] = mapped_column(sa.ForeignKey("branches.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    version: Mapped[SurveyVersion] = relationship()
    branch: Mapped[Branch | None] = relationship()


class InvitationStatus(enum.StrEnum):
    PENDING = "pending"      # created, waiting for the send job
    SENDING = "sending"      # claimed by a send; if a crash leaves it here it is never resent
    SENT = "sent"
    BOUNCED = "bounced"      # refused by SMTP or reported back as a bounce
    FAILED = "failed"
    SUPPRESSED = "suppressed"  # opted out or contacted too recently when it was due


class Invitation(db.Model):
    __tablename__ = "invitations"
    __table_args__ = (
        sa.Index("ix_invitations_campaign_status", "campaign_id", "status"),
        sa.Index("ix_invitations_customer_sent", "customer_id", "sent_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(sa.ForeignKey("campaigns.id"))
    customer_id: Mapped[int | None] = mapped_column(sa.ForeignKey("customers.id"))
    branch_id: Mapped[int | None] = mapped_column(sa.ForeignKey("branches.id"), index=True)
    agent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("agents.id"), index=True)
    interaction_ref: Mapped[str | None] = mapped_column(sa.String(100))
    email: Mapped[str | None] = mapped_column(sa.String(254))
    locale: Mapped[str] = mapped_column(sa.String(10), default="zh_Hans")
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    status: Mapped[str] = mapped_column(sa.String(20), default=InvitationStatus.PENDING)
    error: Mapped[str | None] = mapped_column(sa.String(500))
    message_id: Mapped[str | None] = mapped_column(sa.String(200), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    send_after: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reminders_sent: Mapped[int] = mapped_column(default=0)
    last_reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    campaign: Mapped[Campaign] = relationship()
    customer: Mapped[Customer | None] = relationship()
    branch: Mapped[Branch | None] = relationship()
    agent: Mapped[Agent | None] = relationship()


class CounterLink(db.Model):
    """An anonymous link (printed as a QR code) that attributes answers to a branch/agent."""

    __tablename__ = "counter_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(sa.ForeignKey("campaigns.id"), index=True)
    branch_id: Mapped[int] = mapped_column(sa.ForeignKey("branches.id"), index=True)
    agent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("agents.id"))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    campaign: Mapped[Campaign] = relationship()
    branch: Mapped[Branch] = relationship()
    agent: Mapped[Agent | None] = relationship()


class Response(db.Model):
    """One respondent's answers to one version; attribution is copied in for fast aggregates."""

    __tablename__ = "responses"
    __table_args__ = (
        sa.Index("ix_responses_version_completed", "version_id", "completed_at"),
        sa.Index("ix_responses_branch_completed", "branch_id", "completed_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(sa.ForeignKey("survey_versions.id"))
    survey_id: Mapped[int] = mapped_column(sa.ForeignKey("surveys.id"), index=True)
    campaign_id: Mapped[int | None] = mapped_column(sa.ForeignKey("campaigns.id"), index=True)
    # unique: one response per personal link, whatever races happen
    invitation_id: Mapped[int | None] = mapped_column(sa.ForeignKey("invitations.id"), unique=True)
    counter_link_id: Mapped[int | None] = mapped_column(sa.ForeignKey("counter_links.id"))
    branch_id: Mapped[int | None] = mapped_column(sa.ForeignKey("branches.id"))
    agent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("agents.id"), index=True)
    channel: Mapped[str] = mapped_column(sa.String(20))
    segment: Mapped[str | None] = mapped_column(sa.String(20))
    locale: Mapped[str] = mapped_column(sa.String(10))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    score: Mapped[float | None] = mapped_column(sa.Float)

    version: Mapped[SurveyVersion] = relationship()
    answers: Mapped[list[Answer]] = relationship(
        back_populates="response", cascade="all, delete-orphan")


class Answer(db.Model):
    """One value: a number, a text, or one chosen option (multiple choice: one row per option;
    matrix: one row per row of the grid). qtype is copied from the definition so that KPIs
    (CSAT, NPS, CES) aggregate without reading JSON."""

    __tablename__ = "answers"
    __table_args__ = (
        sa.Index("ix_answers_qtype_response", "qtype", "response_id", "num_value"),
        sa.Index("ix_answers_response_question", "response_id", "question_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(sa.ForeignKey("responses.id", ondelete="CASCADE"))
    question_key: Mapped[str] = mapped_column(sa.String(64))
    qtype: Mapped[str] = mapped_column(sa.String(20))
    row_key: Mapped[str | None] = mapped_column(sa.String(64))
    choice_key: Mapped[str | None] = mapped_column(sa.String(64))
    num_value: Mapped[float | None] = mapped_column(sa.Float)
    text_value: Mapped[str | None] = mapped_column(sa.Text)

    response: Mapped[Response] = relationship(back_populates="answers")


class FollowUp(db.Model):
    """Close the loop: a detractor or a low CSAT creates an item for the branch."""

    __tablename__ = "follow_ups"

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(sa.ForeignKey("responses.id"), unique=True)
    branch_id: Mapped[int | None] = mapped_column(sa.ForeignKey("branches.id"), index=True)
    reason: Mapped[str] = mapped_column(sa.String(40))  # detractor | low_csat
    status: Mapped[str] = mapped_column(sa.String(20), default="open")  # open|in_progress|closed
    owner_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    note: Mapped[str | None] = mapped_column(sa.Text)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    response: Mapped[Response] = relationship()
    branch: Mapped[Branch | None] = relationship()

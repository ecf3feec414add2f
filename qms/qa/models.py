"""QA tables: interactions, rubrics and their versions, sampling rules, evaluations with a long
table of criterion scores (for SQL reports), revisions, disputes and calibration sessions."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from qms.core.db import UTCDateTime, now_utc
from qms.extensions import db
from qms.org.models import Agent, Branch

CHANNELS = ("call", "branch_visit", "chat", "email")


class Interaction(db.Model):
    __tablename__ = "interactions"
    __table_args__ = (
        sa.UniqueConstraint("channel", "external_ref"),
        sa.Index("ix_interactions_agent_occurred", "agent_id", "occurred_at"),
        sa.Index("ix_interactions_branch_occurred", "branch_id", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(sa.String(20))
    external_ref: Mapped[str] = mapped_column(sa.String(100))
    agent_id: Mapped[int] = mapped_column(sa.ForeignKey("agents.id"))
    branch_id: Mapped[int] = mapped_column(sa.ForeignKey("branches.id"))
    customer_id: Mapped[int | None] = mapped_column(sa.ForeignKey("customers.id"))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    duration_seconds: Mapped[int | None]
    summary: Mapped[str | None] = mapped_column(sa.Text)
    media_url: Mapped[str | None] = mapped_column(sa.String(500))  # recording / transcript link
    transcript: Mapped[str | None] = mapped_column(sa.Text)
    source: Mapped[str] = mapped_column(sa.String(20), default="manual")  # csv|api|manual
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)

    agent: Mapped[Agent] = relationship()
    branch: Mapped[Branch] = relationship()


class Rubric(db.Model):
    __tablename__ = "rubrics"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    channel: Mapped[str | None] = mapped_column(sa.String(20))  # the channel it is meant for
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    versions: Mapped[list[RubricVersion]] = relationship(
        back_populates="rubric", order_by="RubricVersion.number")


class RubricVersion(db.Model):
    """A rubric's sections and criteria as qms.analytics.scoring dicts plus labels and guidance;
    never changed once published (a change is a new version; old evaluations keep theirs)."""

    __tablename__ = "rubric_versions"
    __table_args__ = (sa.UniqueConstraint("rubric_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    rubric_id: Mapped[int] = mapped_column(sa.ForeignKey("rubrics.id"), index=True)
    number: Mapped[int]
    definition: Mapped[dict] = mapped_column(sa.JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    rubric: Mapped[Rubric] = relationship(back_populates="versions")


class SamplingRule(db.Model):
    """N random interactions per agent per week or month, filtered, seeded and reproducible."""

    __tablename__ = "sampling_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    rubric_id: Mapped[int] = mapped_column(sa.ForeignKey("rubrics.id"))
    period: Mapped[str] = mapped_column(sa.String(10), default="month")  # week|month
    per_agent: Mapped[int] = mapped_column(default=4)
    channels: Mapped[list | None] = mapped_column(sa.JSON)
    min_duration: Mapped[int | None]
    max_duration: Mapped[int | None]
    branch_ids: Mapped[list | None] = mapped_column(sa.JSON)       # None: every branch
    evaluator_ids: Mapped[list | None] = mapped_column(sa.JSON)    # None: every QA user
    seed: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)

    rubric: Mapped[Rubric] = relationship()


class Evaluation(db.Model):
    """One grader's scoring of one interaction against one rubric version. A queue item is an
    evaluation in status 'assigned'; calibration scores carry their session and never count."""

    __tablename__ = "evaluations"
    __table_args__ = (
        sa.UniqueConstraint("sampling_rule_id", "period", "interaction_id"),
        sa.UniqueConstraint("calibration_session_id", "interaction_id", "evaluator_id"),
        sa.Index("ix_evaluations_agent_status", "agent_id", "status"),
        sa.Index("ix_evaluations_branch_submitted", "branch_id", "submitted_at"),
        sa.Index("ix_evaluations_evaluator_status", "evaluator_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    interaction_id: Mapped[int] = mapped_column(sa.ForeignKey("interactions.id"))
    rubric_version_id: Mapped[int] = mapped_column(sa.ForeignKey("rubric_versions.id"))
    evaluator_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    agent_id: Mapped[int] = mapped_column(sa.ForeignKey("agents.id"))
    branch_id: Mapped[int] = mapped_column(sa.ForeignKey("branches.id"))
    sampling_rule_id: Mapped[int | None] = mapped_column(sa.ForeignKey("sampling_rules.id"))
    period: Mapped[str | None] = mapped_column(sa.String(10))  # 2026-03 or 2026-W12
    calibration_session_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("calibration_sessions.id"), index=True)
    # assigned|draft|submitted|acknowledged|replaced (released = submitted: the agent sees it)
    status: Mapped[str] = mapped_column(sa.String(16), default="assigned")
    answers: Mapped[dict | None] = mapped_column(sa.JSON)  # criterion -> {score|'na', comment}
    feedback: Mapped[str | None] = mapped_column(sa.Text)
    total: Mapped[float | None] = mapped_column(sa.Float)
    auto_failed: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    replaced_reason: Mapped[str | None] = mapped_column(sa.Text)
    replaced_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("evaluations.id"))
    locked: Mapped[bool] = mapped_column(default=False)  # after a dispute is decided

    interaction: Mapped[Interaction] = relationship()
    rubric_version: Mapped[RubricVersion] = relationship()
    agent: Mapped[Agent] = relationship()
    scores: Mapped[list[CriterionScore]] = relationship(
        back_populates="evaluation", cascade="all, delete-orphan")


class CriterionScore(db.Model):
    """The long table behind the reports: one row per criterion of a submitted evaluation."""

    __tablename__ = "criterion_scores"
    __table_args__ = (sa.Index("ix_criterion_scores_criterion", "criterion_key", "failed"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    evaluation_id: Mapped[int] = mapped_column(
        sa.ForeignKey("evaluations.id", ondelete="CASCADE"), index=True)
    section_key: Mapped[str] = mapped_column(sa.String(64))
    criterion_key: Mapped[str] = mapped_column(sa.String(64))
    earned: Mapped[float | None] = mapped_column(sa.Float)   # None when N/A
    possible: Mapped[float] = mapped_column(sa.Float)
    na: Mapped[bool] = mapped_column(default=False)
    failed: Mapped[bool] = mapped_column(default=False)       # below full marks

    evaluation: Mapped[Evaluation] = relationship(back_populates="scores")


class EvaluationRevision(db.Model):
    """A re-score keeps what stood before (after an accepted dispute, or a correction)."""

    __tablename__ = "evaluation_revisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    evaluation_id: Mapped[int] = mapped_column(sa.ForeignKey("evaluations.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(sa.Text)
    old_answers: Mapped[dict | None] = mapped_column(sa.JSON)
    old_total: Mapped[float | None] = mapped_column(sa.Float)
    old_auto_failed: Mapped[bool] = mapped_column(default=False)
    new_total: Mapped[float | None] = mapped_column(sa.Float)


class Dispute(db.Model):
    __tablename__ = "disputes"

    id: Mapped[int] = mapped_column(primary_key=True)
    evaluation_id: Mapped[int] = mapped_column(sa.ForeignKey("evaluations.id"), index=True)
    raised_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    criteria: Mapped[list] = mapped_column(sa.JSON)  # criterion keys below full marks
    comment: Mapped[str] = mapped_column(sa.Text)
    status: Mapped[str] = mapped_column(sa.String(20), default="open")  # open|accepted|partly_accepted|rejected
    reviewer_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_note: Mapped[str | None] = mapped_column(sa.Text)

    evaluation: Mapped[Evaluation] = relationship()


class CalibrationSession(db.Model):
    __tablename__ = "calibration_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    rubric_version_id: Mapped[int] = mapped_column(sa.ForeignKey("rubric_versions.id"))
    benchmark_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    interaction_ids: Mapped[list] = mapped_column(sa.JSON)
    grader_ids: Mapped[list] = mapped_column(sa.JSON)
    deadline: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)

    rubric_version: Mapped[RubricVersion] = relationship()

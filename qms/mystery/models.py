"""Mystery-shopping tables: programmes and waves, shoppers' declared conflicts, assignments
(the shopper's report lives on its assignment), review events, and a long table of item scores
written when a report is approved (so results are SQL aggregates)."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from qms.core.db import UTCDateTime, now_utc
from qms.extensions import db
from qms.org.models import Agent, Branch

# offered -> accepted | declined; accepted -> in_progress (saved) -> submitted;
# submitted -> approved | returned | rejected; returned -> submitted; approved is locked
ASSIGNMENT_STATES = ("offered", "accepted", "declined", "in_progress", "submitted", "returned",
                     "approved", "rejected", "cancelled")
REVIEW_DECISIONS = ("approve", "return", "reject", "correction")
CHANNELS = ("branch_visit", "phone")


class ShopProgramme(db.Model):
    """A mystery-shopping programme (e.g. a quarter) on one mystery_shop survey."""

    __tablename__ = "shop_programmes"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    survey_id: Mapped[int] = mapped_column(sa.ForeignKey("surveys.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)


class Wave(db.Model):
    """Which branches (and agents / phone lines) are shopped how often in a period, with which
    scenarios; generates assignments under the rotation, conflict, cap and spread rules."""

    __tablename__ = "shop_waves"

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(sa.ForeignKey("shop_programmes.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    version_id: Mapped[int] = mapped_column(sa.ForeignKey("survey_versions.id"))  # published
    starts_on: Mapped[date] = mapped_column(sa.Date)
    ends_on: Mapped[date] = mapped_column(sa.Date)
    channel: Mapped[str] = mapped_column(sa.String(20), default="branch_visit")  # CHANNELS
    branch_ids: Mapped[list | None] = mapped_column(sa.JSON)   # None: every active branch
    agent_ids: Mapped[list | None] = mapped_column(sa.JSON)    # phone lines / agents shopped
    visits_per_branch: Mapped[int] = mapped_column(default=1)
    scenarios: Mapped[list] = mapped_column(sa.JSON, default=list)  # scenario keys of the survey
    shopper_ids: Mapped[list | None] = mapped_column(sa.JSON)  # None: every active shopper
    rotation_days: Mapped[int] = mapped_column(default=90)  # same shopper, same branch
    daily_cap: Mapped[int] = mapped_column(default=3)       # visits per shopper per day
    days_to_submit: Mapped[int] = mapped_column(default=2)  # after the visit window closes
    status: Mapped[str] = mapped_column(sa.String(12), default="draft")  # draft|open|closed
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)

    programme: Mapped[ShopProgramme] = relationship()


class ShopperConflict(db.Model):
    """A shopper declares they must not shop a branch (relative works there, own bank, ...)."""

    __tablename__ = "shopper_conflicts"
    __table_args__ = (sa.UniqueConstraint("shopper_id", "branch_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    shopper_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    branch_id: Mapped[int] = mapped_column(sa.ForeignKey("branches.id"))
    reason: Mapped[str | None] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)


class ShopAssignment(db.Model):
    """One visit or call by one shopper, and the report filled for it."""

    __tablename__ = "shop_assignments"
    __table_args__ = (
        sa.Index("ix_shop_assignments_shopper_status", "shopper_id", "status"),
        sa.Index("ix_shop_assignments_branch_approved", "branch_id", "approved_at"),
        sa.Index("ix_shop_assignments_wave_branch", "wave_id", "branch_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    wave_id: Mapped[int] = mapped_column(sa.ForeignKey("shop_waves.id"))
    version_id: Mapped[int] = mapped_column(sa.ForeignKey("survey_versions.id"))
    shopper_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    branch_id: Mapped[int] = mapped_column(sa.ForeignKey("branches.id"))
    agent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("agents.id"), index=True)
    scenario: Mapped[str | None] = mapped_column(sa.String(64))
    window_start: Mapped[datetime] = mapped_column(UTCDateTime)
    window_end: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)       # report due
    status: Mapped[str] = mapped_column(sa.String(12), default="offered")  # ASSIGNMENT_STATES
    override_warning: Mapped[str | None] = mapped_column(sa.Text)  # rules a planner overrode
    decline_reason: Mapped[str | None] = mapped_column(sa.String(500))
    answers: Mapped[dict] = mapped_column(sa.JSON, default=dict)   # question key -> value
    visit_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    visit_ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    score: Mapped[float | None] = mapped_column(sa.Float)
    auto_failed: Mapped[bool] = mapped_column(default=False)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # only approved counts
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)

    wave: Mapped[Wave] = relationship()
    branch: Mapped[Branch] = relationship()
    agent: Mapped[Agent | None] = relationship()


class ShopReview(db.Model):
    """A reviewer's decision on a submitted report, with comments per question. Append-only: a
    change to an approved report is a new 'correction' event, never an edit of the old one."""

    __tablename__ = "shop_reviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(sa.ForeignKey("shop_assignments.id"), index=True)
    reviewer_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    decision: Mapped[str] = mapped_column(sa.String(12))  # REVIEW_DECISIONS
    comment: Mapped[str | None] = mapped_column(sa.Text)
    question_comments: Mapped[dict] = mapped_column(sa.JSON, default=dict)  # key -> text
    score_before: Mapped[float | None] = mapped_column(sa.Float)
    score_after: Mapped[float | None] = mapped_column(sa.Float)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)


class ShopItemScore(db.Model):
    """Per-item outcome of an approved report (rewritten on a correction): most-missed items,
    section and question results are SQL aggregates over this table."""

    __tablename__ = "shop_item_scores"
    __table_args__ = (sa.UniqueConstraint("assignment_id", "item_key"),
                      sa.Index("ix_shop_item_scores_branch", "branch_id", "item_key"))

    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(
        sa.ForeignKey("shop_assignments.id", ondelete="CASCADE"))
    branch_id: Mapped[int] = mapped_column(sa.ForeignKey("branches.id"))
    agent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("agents.id"))
    section_key: Mapped[str] = mapped_column(sa.String(64))
    item_key: Mapped[str] = mapped_column(sa.String(64))
    earned: Mapped[float | None] = mapped_column(sa.Float)    # None when N/A
    possible: Mapped[float | None] = mapped_column(sa.Float)  # None when N/A
    missed: Mapped[bool] = mapped_column(default=False)       # earned < possible
    critical_failed: Mapped[bool] = mapped_column(default=False)

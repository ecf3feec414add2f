"""Scorecard tables: scorecard models with published versions (KPIs, targets, RAG thresholds,
weights typed in or derived by AHP) and the immutable snapshots of computed periods."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from qms.core.db import UTCDateTime, now_utc
from qms.extensions import db

SCOPES = ("branch", "agent")
WEIGHTINGS = ("manual", "ahp")


class ScorecardModel(db.Model):
    """Which KPIs a branch or an agent is judged on; the content lives in its versions."""

    __tablename__ = "scorecard_models"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    scope: Mapped[str] = mapped_column(sa.String(10))  # SCOPES
    active: Mapped[bool] = mapped_column(default=False)  # at most one active per scope
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)

    versions: Mapped[list[ScorecardModelVersion]] = relationship(
        back_populates="model", order_by="ScorecardModelVersion.number")


class ScorecardModelVersion(db.Model):
    """One version of a model: `kpis` is [{key, target, green, amber, weight, min_sample?}];
    immutable once published_at is set (a change is a new version; snapshots name theirs)."""

    __tablename__ = "scorecard_model_versions"
    __table_args__ = (sa.UniqueConstraint("model_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    model_id: Mapped[int] = mapped_column(sa.ForeignKey("scorecard_models.id"), index=True)
    number: Mapped[int]
    kpis: Mapped[list] = mapped_column(sa.JSON, default=list)
    weighting: Mapped[str] = mapped_column(sa.String(10), default="manual")  # WEIGHTINGS
    ahp_matrix: Mapped[list | None] = mapped_column(sa.JSON)  # n x n, in the order of kpis
    ahp_cr: Mapped[float | None] = mapped_column(sa.Float)
    # RAG of the overall score (0..100): green at or above, amber at or above, else red
    overall_green: Mapped[float] = mapped_column(sa.Float, default=85.0)
    overall_amber: Mapped[float] = mapped_column(sa.Float, default=70.0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime, active_history=True)

    model: Mapped[ScorecardModel] = relationship(back_populates="versions")

    @property
    def is_published(self) -> bool:
        return self.published_at is not None


class ScorecardSnapshot(db.Model):
    """A computed scorecard of one branch or agent for one month, as shown and sent.

    `data` is never updated: a recompute whose content differs writes a new row and points
    the old one at it (superseded_by_id). `stale` says late data arrived after `cutoff_at`.
    """

    __tablename__ = "scorecard_snapshots"
    __table_args__ = (
        # at most one current snapshot per entity and period, on SQLite and PostgreSQL
        sa.Index("uq_scorecard_snapshots_current", "scope", "entity_code", "period",
                 unique=True, sqlite_where=sa.text("superseded_by_id IS NULL"),
                 postgresql_where=sa.text("superseded_by_id IS NULL")),
        sa.Index("ix_scorecard_snapshots_period_scope", "period", "scope"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(sa.String(10))  # branch | agent
    branch_id: Mapped[int] = mapped_column(sa.ForeignKey("branches.id"), index=True)
    agent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("agents.id"))
    entity_code: Mapped[str] = mapped_column(sa.String(32))
    period: Mapped[str] = mapped_column(sa.String(7))  # YYYY-MM (UTC month)
    model_version_id: Mapped[int] = mapped_column(sa.ForeignKey("scorecard_model_versions.id"))
    data: Mapped[dict] = mapped_column(sa.JSON)
    content_hash: Mapped[str] = mapped_column(sa.String(64))
    cutoff_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    stale: Mapped[bool] = mapped_column(default=False)
    superseded_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("scorecard_snapshots.id"))

    model_version: Mapped[ScorecardModelVersion] = relationship()

    @property
    def is_current(self) -> bool:
        return self.superseded_by_id is None

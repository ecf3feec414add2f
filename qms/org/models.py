"""Organisation: branches, agents and customers."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from qms.core.db import UTCDateTime, now_utc
from qms.extensions import db

SEGMENTS = ("standard", "vip")


class Branch(db.Model):
    __tablename__ = "branches"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(32), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    region: Mapped[str] = mapped_column(sa.String(100), index=True)
    city: Mapped[str] = mapped_column(sa.String(100))
    timezone: Mapped[str] = mapped_column(sa.String(64), default="Asia/Shanghai")
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)

    agents: Mapped[list[Agent]] = relationship(back_populates="branch")

    def __repr__(self) -> str:
        return f"<Branch {self.code}>"


class Agent(db.Model):
    __tablename__ = "agents"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(32), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    branch_id: Mapped[int] = mapped_column(sa.ForeignKey("branches.id"), index=True)
    team: Mapped[str | None] = mapped_column(sa.String(100))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)

    branch: Mapped[Branch] = relationship(back_populates="agents")

    def __repr__(self) -> str:
        return f"<Agent {self.code}>"


class Customer(db.Model):
    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(sa.String(64), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    email: Mapped[str | None] = mapped_column(sa.String(254), index=True)
    phone: Mapped[str | None] = mapped_column(sa.String(32))
    segment: Mapped[str] = mapped_column(sa.String(20), default="standard")
    locale: Mapped[str] = mapped_column(sa.String(10), default="zh_Hans")
    home_branch_id: Mapped[int | None] = mapped_column(sa.ForeignKey("branches.id"), index=True)
    opted_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)

    home_branch: Mapped[Branch | None] = relationship()

    def __repr__(self) -> str:
        return f"<Customer {self.ref}>"

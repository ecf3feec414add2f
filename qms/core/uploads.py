"""Uploaded files: checked by content and size, stored under their SHA-256, never served from a
path the uploader chose. Shared by complaints, mystery shopping and audits."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from qms.core.db import UTCDateTime, now_utc
from qms.extensions import db


class Attachment(db.Model):
    __tablename__ = "attachments"
    __table_args__ = (sa.Index("ix_attachments_owner", "owner_type", "owner_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_type: Mapped[str] = mapped_column(sa.String(32))   # "complaint", "shop_report", ...
    owner_id: Mapped[int]
    sha256: Mapped[str] = mapped_column(sa.String(64), index=True)
    size: Mapped[int]
    mime: Mapped[str] = mapped_column(sa.String(100))         # from the content, not the client
    filename: Mapped[str] = mapped_column(sa.String(200))     # display name only, sanitised
    uploaded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    uploaded_by_label: Mapped[str | None] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)

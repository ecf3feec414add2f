"""Which branch head was sent which scorecard snapshot by e-mail: one row per (snapshot, user).

The monthly job claims the row before sending (insert-or-ignore on the unique pair), so a
second, late or concurrent run sends nothing twice. A message that was never handed over
(no connection, or a temporary refusal) gives its claim back for the next run; one that may
have arrived (the connection broke mid-way) is never sent again.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from qms.core.db import UTCDateTime, now_utc
from qms.extensions import db

CLAIMED, SENT, REFUSED, UNKNOWN = "claimed", "sent", "refused", "unknown"


class ScorecardDelivery(db.Model):
    __tablename__ = "scorecard_deliveries"
    __table_args__ = (sa.UniqueConstraint("snapshot_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    snapshot_id: Mapped[int] = mapped_column(
        sa.ForeignKey("scorecard_snapshots.id"), index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"),
                                         index=True)
    status: Mapped[str] = mapped_column(sa.String(10), default=CLAIMED)
    error: Mapped[str | None] = mapped_column(sa.String(300))
    message_id: Mapped[str | None] = mapped_column(sa.String(200))
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

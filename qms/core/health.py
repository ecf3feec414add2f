"""Health probe used by /healthz and by load balancers."""

from __future__ import annotations

import sqlalchemy as sa

from qms.extensions import db


def check_database() -> tuple[bool, str]:
    try:
        db.session.execute(sa.text("SELECT 1"))
        return True, "ok"
    except Exception as exc:  # noqa: BLE001 - any failure means unhealthy
        db.session.rollback()
        return False, type(exc).__name__

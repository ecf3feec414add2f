"""The DB base: UTC datetimes, naming convention, SQLite pragmas, health check."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from qms.core.audit import AuditLog, record
from qms.core.db import now_utc


def test_utc_datetime_round_trips_aware(db):
    shanghai = timezone(timedelta(hours=8))
    local = datetime(2026, 3, 1, 9, 30, tzinfo=shanghai)
    entry = record("login", subject="x@bank.test", now=local)
    db.session.commit()
    db.session.expire_all()
    got = db.session.get(AuditLog, entry.id).created_at
    assert got.tzinfo is not None
    assert got == datetime(2026, 3, 1, 1, 30, tzinfo=UTC)


def test_naive_datetimes_are_refused(db):
    record("login", subject="x", now=datetime(2026, 1, 1, 12, 0))
    with pytest.raises(sa.exc.StatementError, match="naive datetime"):
        db.session.flush()
    db.session.rollback()


def test_now_utc_is_aware():
    assert now_utc().tzinfo is UTC


def test_sqlite_pragmas(db):
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000


def test_foreign_keys_enforced(db):
    from qms.org.models import Agent

    db.session.add(Agent(code="X1", name="nobody", branch_id=999))
    with pytest.raises(sa.exc.IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_constraint_names_follow_the_convention(db):
    insp = sa.inspect(db.engine)
    fks = insp.get_foreign_keys("agents")
    assert any(fk["name"] == "fk_agents_branch_id_branches" for fk in fks)


def test_healthz_reports_database(client):
    resp = client.get("/healthz")
    assert resp.status_code == 200
    assert resp.get_json() == {"status": "ok", "database": "ok"}


def test_healthz_fails_when_database_is_gone(app, client, db, monkeypatch):
    def broken(*a, **kw):
        raise sa.exc.OperationalError("SELECT 1", {}, Exception("unable to open database"))

    monkeypatch.setattr(db.session, "execute", broken)
    resp = client.get("/healthz")
    assert resp.status_code == 503
    assert resp.get_json()["status"] == "error"

"""Migrations: one head, an empty database upgrades to it, and the models match (no drift)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory
from flask_migrate import downgrade, upgrade

from qms import create_app
from qms.config import ROOT
from tests.conftest import app_config


def _alembic_config(app):
    return app.extensions["migrate"].migrate.get_config(str(ROOT / "migrations"))


def _check_no_drift(app):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from qms.extensions import db

    with db.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True, "render_as_batch": True})
        diff = compare_metadata(ctx, db.metadata)
    assert diff == [], f"models and migrations differ: {diff}"


def test_single_head(tmp_path):
    app = create_app(app_config(tmp_path))
    with app.app_context():
        script = ScriptDirectory.from_config(_alembic_config(app))
        assert len(script.get_heads()) == 1


def assert_upgrades_cleanly(app):
    from qms.extensions import db

    with app.app_context():
        upgrade()
        tables = set(sa.inspect(db.engine).get_table_names())
        assert {"branches", "agents", "customers", "users", "role_grants", "api_tokens",
                "audit_log", "alembic_version"} <= tables
        _check_no_drift(app)
        downgrade(revision="base")
        assert sa.inspect(db.engine).get_table_names() == ["alembic_version"]
        upgrade()
        db.engine.dispose()


def test_upgrade_empty_sqlite_to_head_without_drift(tmp_path):
    assert_upgrades_cleanly(create_app(app_config(tmp_path)))


@pytest.mark.postgres
def test_upgrade_empty_postgres_to_head_without_drift(tmp_path, pg_database):
    assert_upgrades_cleanly(create_app(app_config(tmp_path, SQLALCHEMY_DATABASE_URI=pg_database)))


def test_flask_db_check_command(tmp_path):
    app = create_app(app_config(tmp_path))
    runner = app.test_cli_runner()
    assert runner.invoke(args=["db", "upgrade"]).exit_code == 0
    result = runner.invoke(args=["db", "check"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        from qms.extensions import db

        db.engine.dispose()


def assert_history_is_append_only(app):
    """The migration adds triggers: even SQL that bypasses the ORM cannot change an event."""
    from qms.complaints import history
    from qms.complaints.models import Complaint
    from qms.core.db import now_utc
    from qms.extensions import db

    with app.app_context():
        upgrade()
        now = now_utc()
        c = Complaint(reference="CMP-2026-000001", status="RECEIVED", policy_code="CN_NFRA_2020",
                      complainant_name="王女士", complainant_locale="zh_Hans",
                      description="排队太久", received_at=now, clock_started_at=now,
                      severity="medium", priority="normal", source="direct",
                      intake_channel="staff", extension_level=0, paused_days=0,
                      escalated_pct=0, history_length=0)
        db.session.add(c)
        db.session.flush()
        history.record(c, "received", to_status="RECEIVED", now=now)
        db.session.commit()
        for sql in ("UPDATE complaint_events SET reason = 'edited'",
                    "DELETE FROM complaint_events"):
            with pytest.raises(sa.exc.DatabaseError, match="append-only"):
                db.session.execute(sa.text(sql))
            db.session.rollback()
        assert db.session.scalar(sa.text("SELECT count(*) FROM complaint_events")) == 1
        db.session.remove()
        downgrade(revision="base")
        db.engine.dispose()


def test_complaint_history_is_append_only_in_sqlite(tmp_path):
    assert_history_is_append_only(create_app(app_config(tmp_path)))


@pytest.mark.postgres
def test_complaint_history_is_append_only_in_postgres(tmp_path, pg_database):
    assert_history_is_append_only(
        create_app(app_config(tmp_path, SQLALCHEMY_DATABASE_URI=pg_database)))

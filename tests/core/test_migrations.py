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


def _upgrade_and_check(app):
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
    _upgrade_and_check(create_app(app_config(tmp_path)))


@pytest.mark.postgres
def test_upgrade_empty_postgres_to_head_without_drift(tmp_path, pg_database):
    _upgrade_and_check(create_app(app_config(tmp_path, SQLALCHEMY_DATABASE_URI=pg_database)))


def test_flask_db_check_command(tmp_path):
    app = create_app(app_config(tmp_path))
    runner = app.test_cli_runner()
    assert runner.invoke(args=["db", "upgrade"]).exit_code == 0
    result = runner.invoke(args=["db", "check"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        from qms.extensions import db

        db.engine.dispose()

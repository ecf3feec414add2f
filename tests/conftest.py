"""Shared fixtures: an app on a real SQLite file (or PostgreSQL), clients, user factories."""

from __future__ import annotations

import os
import uuid

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from qms import create_app
from qms.extensions import db as _db

PG_URL = os.environ.get("QMS_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def app_config(tmp_path, **extra) -> dict:
    cfg = {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'qms.sqlite'}",
        "WTF_CSRF_ENABLED": False,
        "SESSION_COOKIE_SECURE": False,
        "REMEMBER_COOKIE_SECURE": False,
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",  # fast in tests; scrypt in production
        "OUTBOX_DIR": str(tmp_path / "outbox"),
        "UPLOAD_DIR": str(tmp_path / "uploads"),
        "SCHEDULER_ENABLED": False,
        "SMTP_HOST": None,
    }
    cfg.update(extra)
    return cfg


def pg_available() -> bool:
    try:
        engine = sa.create_engine(PG_URL, connect_args={"connect_timeout": 2})
        with engine.connect():
            pass
        engine.dispose()
        return True
    except Exception:
        return False


@pytest.fixture(scope="session")
def pg_database():
    """A scratch PostgreSQL database for this run, dropped afterwards; skip when none answers."""
    if not pg_available():
        pytest.skip("PostgreSQL is not reachable at " + PG_URL)
    name = f"qms_test_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.engine.make_url(PG_URL).set(database=name)
    yield url.render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(sa.text(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"), {"n": name})
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


@pytest.fixture(params=["sqlite"])
def backend(request):
    return request.param


class FreshContextClient(FlaskClient):
    """Each request gets its own app context, as in production.

    The test body holds an app context (for db.session); without this, Flask would reuse it for
    every request and `g` (the signed-in user, the API principal, the cached locale) would leak
    from one request into the next.
    """

    def open(self, *args, **kwargs):
        with self.application.app_context():
            return super().open(*args, **kwargs)


def build_app(config: dict):
    app = create_app(config)
    app.test_client_class = FreshContextClient
    return app


@pytest.fixture
def app(tmp_path, request):
    """The app on a fresh SQLite file with every table created."""
    extra = getattr(request, "param", None) or {}
    app = build_app(app_config(tmp_path, **extra))
    with app.app_context():
        _db.create_all()
        yield app
        _db.session.remove()
        _db.engine.dispose()


@pytest.fixture
def pg_app(tmp_path, pg_database):
    app = build_app(app_config(tmp_path, SQLALCHEMY_DATABASE_URI=pg_database))
    with app.app_context():
        _db.drop_all()
        _db.create_all()
        yield app
        _db.session.remove()
        _db.drop_all()
        _db.engine.dispose()


@pytest.fixture
def db(app):
    return _db


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def make_branch(app):
    from qms.org.models import Branch

    counter = iter(range(1, 10_000))

    def make(code=None, region="华东", city="上海", **kw):
        n = next(counter)
        b = Branch(code=code or f"B{n:03d}", name=kw.pop("name", f"测试支行{n}"), region=region,
                   city=city, **kw)
        _db.session.add(b)
        _db.session.commit()
        return b

    return make


@pytest.fixture
def make_agent(app):
    from qms.org.models import Agent

    counter = iter(range(1, 10_000))

    def make(branch, code=None, **kw):
        n = next(counter)
        a = Agent(code=code or f"{branch.code}-A{n:02d}", name=kw.pop("name", f"坐席{n}"),
                  branch=branch, **kw)
        _db.session.add(a)
        _db.session.commit()
        return a

    return make


PASSWORD = "correct horse battery"


@pytest.fixture
def make_user(app):
    """make_user("qa"), make_user("branch_head", branch=b), make_user("admin", "qa")."""
    from qms.auth.services import GrantSpec, create_user

    counter = iter(range(1, 10_000))

    def make(*roles, branch=None, region=None, email=None, password=PASSWORD, agent=None, **kw):
        n = next(counter)
        grants = []
        for role in roles:
            code = branch.code if branch is not None and role != "shopper" else None
            grants.append(GrantSpec(role, code, region if role != "shopper" and not code else None))
        user = create_user(email=email or f"user{n}-{'-'.join(roles) or 'none'}@bank.test",
                           name=kw.pop("name", f"User {n}"), password=password, grants=grants,
                           agent_code=agent.code if agent is not None else None, **kw)
        _db.session.commit()
        return user

    return make


@pytest.fixture
def login(app, client):
    """Sign a user in through the session (no password hashing cost).

    Session protection is "strong", so the session must carry the identifier Flask-Login
    derives from the client's address and user agent (the test client's defaults).
    """
    from qms.extensions import login_manager

    def do(user, c=None):
        c = c or client
        from importlib.metadata import version

        environ = {"REMOTE_ADDR": "127.0.0.1",
                   "HTTP_USER_AGENT": f"Werkzeug/{version('werkzeug')}"}
        with app.test_request_context(environ_base=environ):
            ident = login_manager._session_identifier_generator()
        with c.session_transaction() as sess:
            sess["_user_id"] = str(user.id)
            sess["_fresh"] = True
            sess["_id"] = ident
        return c

    return do

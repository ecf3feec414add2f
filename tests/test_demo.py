"""The demo bank: realistic size, one login per role, deterministic for a seed."""

from __future__ import annotations

import sqlalchemy as sa

from qms.auth.models import User
from qms.auth.services import authenticate
from qms.demo import DemoRefused, build_demo
from qms.org.models import Agent, Branch, Customer


def _snapshot(db):
    return (
        [(b.code, b.name, b.region, b.city) for b in db.session.scalars(sa.select(Branch).order_by(Branch.code))],
        [(a.code, a.name, a.team) for a in db.session.scalars(sa.select(Agent).order_by(Agent.code))],
        [(c.ref, c.name, c.segment, c.locale) for c in db.session.scalars(
            sa.select(Customer).order_by(Customer.ref).limit(300))],
    )


def test_demo_bank_shape_and_logins(app, db):
    logins = build_demo(seed=5, customers=5000)
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count(Branch.id))) == 12
    assert len(set(db.session.scalars(sa.select(Branch.city)))) == 3
    assert db.session.scalar(sa.select(sa.func.count(Agent.id))) == 120
    assert db.session.scalar(sa.select(sa.func.count(Customer.id))) == 5000
    vip = db.session.scalar(sa.select(sa.func.count(Customer.id)).where(Customer.segment == "vip"))
    assert 300 < vip < 900
    roles = {role for role, _e, _p in logins}
    assert roles == {"admin", "qa", "auditor", "complaints", "branch_head", "agent", "shopper"}
    for role, email, password in logins:
        user = authenticate(email, password, ip="127.0.0.1")
        assert role in user.roles
    agent_user = db.session.scalar(sa.select(User).where(User.email == "agent@demo.qms"))
    assert agent_user.agent is not None and agent_user.agent.branch.code == "SH01"


def test_demo_is_deterministic_for_a_seed(tmp_path):
    from qms import create_app
    from qms.extensions import db
    from tests.conftest import app_config

    results = []
    for name, seed in (("a", 11), ("b", 11), ("c", 12)):
        (tmp_path / name).mkdir()
        app = create_app(app_config(tmp_path / name))
        with app.app_context():
            db.create_all()
            logins = build_demo(seed=seed, customers=300)
            db.session.commit()
            results.append((logins, _snapshot(db)))
            db.session.remove()
            db.engine.dispose()
    assert results[0] == results[1]
    assert results[0] != results[2]


def test_demo_refuses_a_database_with_data(app, db, make_branch, runner):
    make_branch()
    try:
        build_demo(seed=1, customers=10)
    except DemoRefused:
        pass
    else:
        raise AssertionError("demo data went into a non-empty database")
    db.session.rollback()
    result = runner.invoke(args=["demo", "--if-empty"])
    assert result.exit_code == 0 and "skipped" in result.output
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 1
    assert db.session.scalar(sa.select(sa.func.count(Agent.id))) == 0

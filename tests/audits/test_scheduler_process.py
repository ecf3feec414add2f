"""The real scheduler process: `flask --app qms scheduler` creating a large batch of audits is
killed with SIGKILL mid-run, started again, and in the end no audit is duplicated and none is
missing.

A small module loaded through QMS_JOB_MODULES slows each (programme, period) batch down a
little, so the kill reliably lands between batches of a run that is still going."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from qms.audits.models import Audit
from qms.core.db import now_utc
from qms.extensions import db

BRANCHES = 60
PERIODS = 12          # monthly, the last 12 months: the catch-up bound

SLOW_MODULE = '''
import os, time
from qms.audits import scheduling

_create_period = scheduling._create_period


def _slow(*args, **kwargs):
    created = _create_period(*args, **kwargs)
    time.sleep(float(os.environ.get("AUDIT_BATCH_DELAY", "0")))
    return created


scheduling._create_period = _slow
'''


def start_scheduler(app, tmp_path, delay: float):
    root = Path(__file__).resolve().parents[2]
    (tmp_path / "slow_audits.py").write_text(SLOW_MODULE)
    env = dict(os.environ, QMS_DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
               QMS_SECRET_KEY="test", QMS_JOB_MODULES="slow_audits",
               AUDIT_BATCH_DELAY=str(delay), QMS_OUTBOX_DIR=str(tmp_path / "outbox"),
               QMS_SMTP_HOST="", PYTHONPATH=os.pathsep.join([str(tmp_path), str(root)]))
    return subprocess.Popen([sys.executable, "-m", "flask", "--app", "qms", "scheduler",
                             "--only", "audits-create"], cwd=root, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def count() -> int:
    db.session.rollback()  # a fresh read of what the other process committed
    return db.session.scalar(sa.select(sa.func.count()).select_from(Audit))


def outcomes() -> list[str]:
    from qms.core.jobruns import JobRun

    db.session.rollback()
    return list(db.session.scalars(sa.select(JobRun.outcome)
                                   .where(JobRun.job_id == "audits-create")
                                   .order_by(JobRun.id)))


def wait_until(predicate, proc, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            out = proc.communicate()[0].decode(errors="replace")
            pytest.fail(f"waited for {what}: {count()} audits, runs {outcomes()}\n{out}")
        time.sleep(0.05)


def test_sigkill_mid_run_then_restart_creates_every_audit_once(
        app, tmp_path, make_branch, make_user, make_template, make_programme):
    for _ in range(BRANCHES):
        make_branch(created_at=datetime(2019, 1, 1, tzinfo=UTC))
    for _ in range(3):
        make_user("auditor")
    # eleven months back: with this month, PERIODS monthly periods are due now
    now = now_utc()
    months = now.year * 12 + now.month - 1 - (PERIODS - 1)
    starts_on = datetime(months // 12, months % 12 + 1, 10, tzinfo=UTC)
    programme_id = make_programme(make_template(), starts_on=starts_on).id
    total = BRANCHES * PERIODS
    db.session.remove()

    proc = start_scheduler(app, tmp_path, delay=0.4)
    try:
        wait_until(lambda: count() >= BRANCHES, proc, 30, "the first batch")
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        proc.kill()
    partial = count()
    assert 0 < partial < total          # killed mid-run, whole batches committed
    assert partial % BRANCHES == 0      # never half a period
    assert outcomes() == ["running"]    # nobody could record the outcome

    proc = start_scheduler(app, tmp_path, delay=0)
    try:
        wait_until(lambda: outcomes()[-1:] == ["ok"], proc, 30, "the run after the restart")
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)
    finally:
        proc.kill()
    runs = outcomes()
    assert runs[0] == "abandoned" and set(runs[1:]) == {"ok"}  # the killed run, then good ones

    rows = db.session.execute(sa.select(Audit.programme_id, Audit.branch_id, Audit.period,
                                        Audit.auditor_id)).all()
    keys = [(p, b, k) for p, b, k, _a in rows]
    assert len(keys) == len(set(keys)) == total     # none duplicated, none missing
    per_period = {}
    for _p, b, k in keys:
        per_period.setdefault(k, set()).add(b)
    assert len(per_period) == PERIODS
    assert all(len(branches) == BRANCHES for branches in per_period.values())
    assert {p for p, _b, _k in keys} == {programme_id}
    assert all(a is not None for *_k, a in rows)

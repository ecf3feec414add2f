"""Due-date reminders to shoppers (once per assignment, a second run changes nothing) and the
overdue list for planners."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from qms.extensions import db as _db
from qms.mystery import reminders
from qms.mystery.models import ShopAssignment
from tests.surveys.campaign_support import body_text, outbox_messages

NOW = datetime(2026, 3, 3, 1, 0, tzinfo=UTC)


def test_reminders_go_once_per_assignment(app, make_assignment, make_shopper):
    ann = make_shopper(name="Ann", email="ann@shop.test")
    bob = make_shopper(name="Bob", email="bob@shop.test", locale="en")
    due_soon = make_assignment(shopper=ann, status="accepted", due_at=NOW + timedelta(hours=10))
    returned = make_assignment(shopper=bob, status="returned", due_at=NOW + timedelta(hours=23))
    make_assignment(shopper=ann, status="in_progress", due_at=NOW + timedelta(hours=30))
    make_assignment(shopper=ann, status="submitted", due_at=NOW + timedelta(hours=5))
    make_assignment(shopper=ann, status="offered", due_at=NOW + timedelta(hours=5))
    late = make_assignment(shopper=bob, status="accepted", due_at=NOW - timedelta(hours=1))

    assert reminders.remind_due(NOW) == 2
    msgs = outbox_messages(app)
    assert sorted(m["To"] for m in msgs) == ["ann@shop.test", "bob@shop.test"]
    to_bob = next(m for m in msgs if m["To"] == "bob@shop.test")
    assert "Your report for" in body_text(to_bob)  # Bob reads English
    assert f"/mystery/my/{returned.id}" in body_text(to_bob)
    _db.session.expire_all()
    stamped = {a.id for a in _db.session.scalars(
        sa.select(ShopAssignment).where(ShopAssignment.reminded_at.is_not(None)))}
    assert stamped == {due_soon.id, returned.id}
    assert _db.session.get(ShopAssignment, late.id).reminded_at is None

    # A second run, and one an hour later, change nothing.
    before = {a.id: a.reminded_at for a in _db.session.scalars(sa.select(ShopAssignment))}
    assert reminders.remind_due(NOW) == 0
    assert reminders.remind_due(NOW + timedelta(hours=1)) == 0
    _db.session.expire_all()
    assert {a.id: a.reminded_at for a in _db.session.scalars(sa.select(ShopAssignment))} == before
    assert len(outbox_messages(app)) == 2


def test_the_scheduler_job_runs_the_same_sweep(app, make_assignment):
    from qms import jobs

    a = make_assignment(status="in_progress", due_at=NOW + timedelta(hours=2))
    assert jobs.JOBS["mystery-reminders"].func.__module__ == "qms.jobs"
    assert jobs.run_job("mystery-reminders", now=NOW) == 1
    assert jobs.run_job("mystery-reminders", now=NOW) == 0
    _db.session.expire_all()
    assert _db.session.get(ShopAssignment, a.id).reminded_at == NOW
    assert len(outbox_messages(app)) == 1


def test_overdue_list_for_planners(app, make_assignment, make_user, login):
    late = make_assignment(status="accepted", due_at=NOW - timedelta(days=1))
    make_assignment(status="submitted", due_at=NOW - timedelta(days=1))
    make_assignment(status="accepted", due_at=NOW + timedelta(days=1))
    qa = make_user("qa")
    assert [a.id for a in reminders.overdue(qa, now=NOW)] == [late.id]
    # the page uses the real clock: everything in 2026-03 is overdue by now or not
    page = login(qa).get("/mystery/overdue")
    assert page.status_code == 200 and late.branch.name in page.get_data(as_text=True)
    assert login(make_user("shopper")).get("/mystery/overdue").status_code == 403

"""Escalation: 50 / 80 / 100 % of the time flag a complaint once per threshold, tell the
handler, and at 100 % the supervisors; running the job twice (or concurrently) adds nothing."""

# ruff: noqa: F811  (fixtures imported from the support module are used as arguments)

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from email import policy as email_policy
from email.parser import BytesParser
from pathlib import Path

import pytest
import sqlalchemy as sa

from qms.complaints import escalation, history, workflow
from qms.complaints.models import Complaint, ComplaintEscalation, ComplaintEvent
from qms.core.tx import unit_of_work
from qms.extensions import db
from qms.jobs import JOBS, run_job
from tests.complaints.workflow_support import (
    T0,
    at,
    build_people,
    new_complaint,
    people,  # noqa: F401 - fixture
    run,
    to_investigation,
)

# T0 + 15 days is due 17 March, which ends at midnight in Shanghai (16:00 UTC): 374 hours.
ALLOWED = timedelta(days=15, hours=14)


def share(fraction: float) -> datetime:
    return T0 + ALLOWED * fraction


def outbox(app) -> list[tuple[str, str]]:
    """(recipient, subject) of every staff e-mail written to the outbox (not the letters)."""
    folder = Path(app.config["OUTBOX_DIR"])
    if not folder.exists():
        return []
    mails = []
    for path in sorted(folder.glob("*.eml")):
        msg = BytesParser(policy=email_policy.default).parsebytes(path.read_bytes())
        if str(msg["To"]).endswith("@bank.test"):
            mails.append((str(msg["To"]), str(msg["Subject"])))
    return mails


def flags(c) -> list[tuple[int, str]]:
    return list(tuple(r) for r in db.session.execute(sa.select(
        ComplaintEscalation.threshold, ComplaintEscalation.level).where(
        ComplaintEscalation.complaint_id == c.id).order_by(
        ComplaintEscalation.threshold, ComplaintEscalation.level)))


def escalation_events(c) -> list[ComplaintEvent]:
    return list(db.session.scalars(sa.select(ComplaintEvent).where(
        ComplaintEvent.complaint_id == c.id, ComplaintEvent.kind == "escalated")
        .order_by(ComplaintEvent.seq)))


def escalate(now) -> int:
    with unit_of_work():
        return escalation.run(now)


def test_the_job_is_registered_hourly():
    job = JOBS["complaints-escalation"]
    assert job.trigger == "interval" and job.trigger_args == {"hours": 1}


def test_once_per_threshold_even_when_the_job_runs_twice(app, people):
    c = to_investigation(new_complaint(people.branch), people)
    assert escalate(share(0.49)) == 0
    assert escalate(share(0.51)) == 1
    assert escalate(share(0.52)) == 0  # the same hour again
    assert flags(c) == [(50, "assignee")]
    db.session.refresh(c)
    assert c.escalated_pct == 50
    mails = outbox(app)
    assert [to for to, _s in mails] == [people.handler.email]
    assert c.reference in mails[0][1]

    assert escalate(share(0.81)) == 1
    assert escalate(share(0.81)) == 0
    assert escalate(share(1.0)) == 2  # the handler, and the supervisors
    assert escalate(share(1.5)) == 0
    assert flags(c) == [(50, "assignee"), (80, "assignee"), (100, "assignee"),
                        (100, "supervisor")]
    events = escalation_events(c)
    assert [e.changes["escalated_pct"] for e in events] == [[0, 50], [50, 80], [80, 100]]
    assert all(e.from_status == e.to_status == "IN_INVESTIGATION" for e in events)
    recipients = sorted(to for to, _s in outbox(app))
    # supervisors: the branch's head and the bank-wide complaint officer, not the handler,
    # not another branch's officer, not the administrator
    assert recipients == sorted([people.handler.email] * 3 + [people.head.email,
                                                               people.central.email])
    assert history.verify_all() == []


def test_a_late_first_run_flags_every_threshold_reached_once(app, people):
    c = to_investigation(new_complaint(people.branch), people)
    assert escalate(share(1.2)) == 4
    assert escalate(share(1.3)) == 0
    assert [e.changes["escalated_pct"] for e in escalation_events(c)] == [
        [0, 50], [50, 80], [80, 100]]


def test_paused_and_finished_complaints_are_not_escalated(app, people):
    paused = to_investigation(new_complaint(people.branch), people)
    run(workflow.pause_external, paused, people.handler, reason="鉴定", now=at(1))
    gone = new_complaint(people.branch)
    run(workflow.withdraw, gone, people.handler, reason="撤诉", now=at(1))
    assert escalate(share(2)) == 0
    assert outbox(app) == []
    assert flags(paused) == [] and flags(gone) == []


def test_an_unassigned_complaint_tells_its_owner_or_nobody(app, people):
    c = new_complaint(people.branch)  # nobody has taken it yet
    assert escalate(share(0.6)) == 1
    assert flags(c) == [(50, "assignee")]
    assert escalate(share(0.6)) == 0


def test_supervisors_are_defined_by_branch_and_scope(app, people, make_user):
    region_head = make_user("branch_head", region="华东", name="区域负责人")
    other_head = make_user("branch_head", branch=people.other)
    c = to_investigation(new_complaint(people.branch), people)
    names = {u.id for u in escalation.supervisors(c)}
    assert names == {people.head.id, people.central.id, region_head.id}
    assert other_head.id not in names and people.handler.id not in names
    run(workflow.assign, c, people.handler, people.central, now=at(1))
    assert people.central.id not in {u.id for u in escalation.supervisors(c)}


def test_after_an_extension_no_threshold_fires_twice(app, people):
    c = to_investigation(new_complaint(people.branch), people)
    assert escalate(share(0.55)) == 1
    run(workflow.request_extension, c, people.handler, reason="复杂", now=share(0.56))
    run(workflow.decide_approval, workflow.pending_approval(c), people.checker, approve=True,
        now=share(0.56))
    assert escalate(share(0.6)) == 0  # now well below 50 % of 30 days; 50 stays done


def test_a_restarted_clock_escalates_afresh(app, people):
    c = to_investigation(new_complaint(people.branch), people)
    assert escalate(share(0.9)) == 2
    run(workflow.restart_clock, c, people.handler, new_facts="新材料", received_at=at(14),
        now=at(14))
    assert flags(c) == [] and c.escalated_pct == 0
    assert escalate(at(14) + timedelta(days=8)) == 1
    assert len(escalation_events(c)) == 3 and history.verify_all() == []


def test_flask_jobs_run_twice_escalates_once(app, people, runner):
    c = to_investigation(new_complaint(people.branch), people)
    now = share(0.85).isoformat()
    first = runner.invoke(args=["jobs", "run", "complaints-escalation", "--now", now])
    assert first.exit_code == 0, first.output
    assert "complaints-escalation: 2 items" in first.output
    second = runner.invoke(args=["jobs", "run", "complaints-escalation", "--now", now])
    assert "complaints-escalation: 0 items" in second.output
    assert flags(c) == [(50, "assignee"), (80, "assignee")]
    assert len(outbox(app)) == 2
    cli = runner.invoke(args=["complaints", "escalate", "--now", now])
    assert cli.exit_code == 0 and "0 new escalations" in cli.output


def _concurrently(app, now, n=2) -> tuple[list[int], list[BaseException]]:
    barrier = threading.Barrier(n)
    results, errors = [], []

    def work():
        with app.app_context():
            try:
                barrier.wait()
                results.append(run_job("complaints-escalation", now))
            except BaseException as exc:  # noqa: BLE001 - reported by the test
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=work) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results, errors


def _many(p, count):
    cs = [new_complaint(p.branch) for _ in range(count)]
    for c in cs:
        run(workflow.take_ownership, c, p.handler, now=at(hours=1))
    return cs


def test_two_threads_on_one_sqlite_file_escalate_once(app, people):
    assert app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///")
    cs = _many(people, 12)
    db.session.commit()
    results, errors = _concurrently(app, share(1.1))
    assert not errors, errors
    assert sorted(results) == [0, 12 * 4] or sum(results) == 12 * 4
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ComplaintEscalation)) \
        == 12 * 4
    for c in cs:
        assert len(escalation_events(c)) == 3
    assert history.verify_all() == []
    handler_mails = [to for to, _s in outbox(app) if to == people.handler.email]
    assert len(handler_mails) == 12 * 3


@pytest.mark.postgres
def test_concurrent_runs_on_postgresql_escalate_once(pg_app):
    p = build_people()
    _many(p, 8)
    results, errors = _concurrently(pg_app, share(1.1), n=3)
    assert not errors, errors
    assert sum(results) == 8 * 4
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ComplaintEscalation)) \
        == 8 * 4
    assert history.verify_all() == []
    assert all(c.escalated_pct == 100 for c in db.session.scalars(sa.select(Complaint)))


def test_escalation_uses_the_branch_time_zone(app, people, make_branch):
    london = make_branch(code="LDN", region="UK", city="London", timezone="Europe/London")
    c = new_complaint(london, policy="UK_FCA_DISP", locale="en",
                      received_at=datetime(2026, 3, 2, 9, tzinfo=UTC))
    assert c.due_on == datetime(2026, 4, 27).date()  # 8 weeks
    end = datetime(2026, 4, 27, 23, tzinfo=UTC)  # midnight BST ends the due day
    assert escalate(end - timedelta(hours=2)) == 2  # 50 and 80, not yet 100
    assert escalate(end) == 2

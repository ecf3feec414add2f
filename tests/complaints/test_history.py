"""History: every service call appends hash-chained events (who, when, from -> to, why,
approver); nothing updates or deletes one; `flask complaints verify` finds every tampering."""

# ruff: noqa: F811  (fixtures imported from the support module are used as arguments)

from __future__ import annotations

import pytest
import sqlalchemy as sa

from qms.complaints import history, workflow
from qms.complaints.models import ComplaintEvent
from qms.extensions import db
from tests.complaints.workflow_support import (
    DECISION,
    at,
    new_complaint,
    people,  # noqa: F401 - fixture
    run,
    to_investigation,
    to_response,
)


def chain(c) -> list[ComplaintEvent]:
    return list(db.session.scalars(sa.select(ComplaintEvent).where(
        ComplaintEvent.complaint_id == c.id).order_by(ComplaintEvent.seq)))


def verify(runner):
    return runner.invoke(args=["complaints", "verify"])


def test_every_service_call_appends_a_linked_event(app, people):
    c = new_complaint(people.branch)
    calls = [
        (workflow.acknowledge, (c, people.handler), {}, ("RECEIVED", "ACKNOWLEDGED")),
        (workflow.triage, (c, people.handler), dict(channel_code="A01", business_code="B01",
                                                   cause_code="C01"),
         ("ACKNOWLEDGED", "TRIAGED")),
        (workflow.start_investigation, (c, people.handler), {},
         ("TRIAGED", "IN_INVESTIGATION")),
        (workflow.declare_no_conflict, (c, people.handler), {},
         ("IN_INVESTIGATION", "IN_INVESTIGATION")),
        (workflow.request_info, (c, people.handler), dict(reason="请提供流水"),
         ("IN_INVESTIGATION", "AWAITING_INFO")),
        (workflow.info_received, (c, people.handler), {}, ("AWAITING_INFO", "IN_INVESTIGATION")),
        (workflow.draft_decision, (c, people.handler), DECISION,
         ("IN_INVESTIGATION", "DECISION_DRAFTED")),
        (workflow.submit_for_approval, (c, people.handler), {},
         ("DECISION_DRAFTED", "PENDING_APPROVAL")),
    ]
    for service, args, kwargs, (before, after) in calls:
        length = c.history_length
        run(service, *args, **kwargs, now=at(1))
        new = [e for e in chain(c) if e.seq > length]
        main = next(e for e in new if e.kind != "letter")
        assert (main.from_status, main.to_status) == (before, after), service.__name__
        assert main.actor_id == people.handler.id and main.at == at(1)
    run(workflow.decide_approval, workflow.pending_approval(c), people.checker, approve=True,
        now=at(2))
    approved = [e for e in chain(c) if e.kind == "decision_approved"][0]
    assert (approved.from_status, approved.to_status, approved.approver_id) == (
        "PENDING_APPROVAL", "RESPONSE_ISSUED", people.checker.id)
    events = chain(c)
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert events[0].prev_hash is None
    assert all(b.prev_hash == a.hash for a, b in zip(events, events[1:], strict=False))
    assert all(history.event_hash(e) == e.hash for e in events)
    assert (c.history_length, c.history_head) == (len(events), events[-1].hash)
    assert history.verify_all() == []


def test_the_orm_refuses_to_update_or_delete_an_event(app, people):
    c = to_investigation(new_complaint(people.branch), people)
    ev = chain(c)[1]
    ev.reason = "改写"
    with pytest.raises(history.HistoryIsAppendOnly):
        db.session.flush()
    db.session.rollback()
    ev = chain(c)[1]
    db.session.delete(ev)
    with pytest.raises(history.HistoryIsAppendOnly):
        db.session.flush()
    db.session.rollback()
    assert history.verify_all() == []


@pytest.fixture
def three(app, people):
    """Three complaints with histories of some length; the middle one gets tampered with."""
    cs = [to_response(new_complaint(people.branch, received_at=at(i)), people, now=at(i + 3))
          for i in range(3)]
    return cs


def test_verify_passes_on_a_clean_database(app, runner, three):
    result = verify(runner)
    assert result.exit_code == 0, result.output
    assert "all 3 chains intact" in result.output


def test_verify_passes_with_no_complaints(app, runner):
    result = verify(runner)
    assert result.exit_code == 0 and "all 0 chains intact" in result.output


def _tamper(sql: str, **params) -> None:
    db.session.execute(sa.text(sql), params)
    db.session.commit()


def assert_broken(runner, victim, others, word):
    result = verify(runner)
    assert result.exit_code == 1, result.output
    out = result.output
    assert victim.reference in out and word in out, out
    assert not any(o.reference in out for o in others), out


@pytest.mark.parametrize(("column", "value"), [
    ("reason", "'已按客户要求处理'"), ("to_status", "'CLOSED'"), ("actor_id", "NULL"),
    ("changes", "'{}'"), ("at", "'2026-01-01 00:00:00'"),
])
def test_verify_names_a_complaint_with_an_edited_event(app, runner, three, column, value):
    victim = three[1]
    _tamper(f"UPDATE complaint_events SET {column} = {value} "
            "WHERE complaint_id = :c AND seq = 4", c=victim.id)
    assert_broken(runner, victim, [three[0], three[2]], "altered")


def test_verify_names_a_complaint_with_a_deleted_middle_event(app, runner, three):
    victim = three[1]
    _tamper("DELETE FROM complaint_events WHERE complaint_id = :c AND seq = 3", c=victim.id)
    assert_broken(runner, victim, [three[0], three[2]], "removed")


def test_verify_names_a_complaint_whose_tail_was_cut(app, runner, three):
    victim = three[1]
    _tamper("DELETE FROM complaint_events WHERE complaint_id = :c AND seq = "
            "(SELECT MAX(seq) FROM complaint_events WHERE complaint_id = :c)", c=victim.id)
    assert_broken(runner, victim, [three[0], three[2]], "cut")


def test_verify_names_a_complaint_whose_whole_history_was_deleted(app, runner, three):
    victim = three[2]
    _tamper("DELETE FROM complaint_events WHERE complaint_id = :c", c=victim.id)
    assert_broken(runner, victim, three[:2], "cut")


def test_verify_names_a_complaint_with_a_reordered_chain(app, runner, three):
    victim = three[1]
    # swap seq 2 and 3 through a free number (the pair is unique)
    _tamper("UPDATE complaint_events SET seq = -1 WHERE complaint_id = :c AND seq = 2",
            c=victim.id)
    _tamper("UPDATE complaint_events SET seq = 2 WHERE complaint_id = :c AND seq = 3",
            c=victim.id)
    _tamper("UPDATE complaint_events SET seq = 3 WHERE complaint_id = :c AND seq = -1",
            c=victim.id)
    assert_broken(runner, victim, [three[0], three[2]], "does not follow")


def test_verify_names_every_broken_complaint(app, runner, three):
    _tamper("UPDATE complaint_events SET reason = 'x' WHERE complaint_id = :c AND seq = 2",
            c=three[0].id)
    _tamper("DELETE FROM complaint_events WHERE complaint_id = :c AND seq = 5", c=three[2].id)
    result = verify(runner)
    assert result.exit_code == 1
    assert three[0].reference in result.output and three[2].reference in result.output
    assert three[1].reference not in result.output
    assert "2 of 3 chains broken" in result.output

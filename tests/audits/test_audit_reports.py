"""Audit reports on a small data set computed by hand (see the table in `data`)."""

# ruff: noqa: F811  (the world fixture is imported from the support module)

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from qms.audits import reports
from qms.audits.models import Audit, CorrectiveAction, Finding
from qms.extensions import db
from tests.audits.work_support import world  # noqa: F401 - fixture


def d(month: int, day: int) -> datetime:
    return datetime(2026, month, day, 2, 0, tzinfo=UTC)


def _audit(w, branch, score, submitted, status="submitted", period="2026-01"):
    a = Audit(programme_id=None, template_version_id=w.version.id, branch_id=branch.id,
              period=period, auditor_id=w.auditor.id, status=status, planned_at=d(1, 1),
              due_at=d(1, 28), score=score, submitted_at=submitted, answers={}, comments={})
    db.session.add(a)
    db.session.flush()
    return a


def _finding(audit, key, section, severity, created, closed=None):
    f = Finding(audit_id=audit.id, branch_id=audit.branch_id, section_key=section,
                item_key=key, severity=severity, status="closed" if closed else "open",
                created_at=created, closed_at=closed)
    db.session.add(f)
    db.session.flush()
    return f


def _action(finding, due, *, closed=None, done=None):
    a = CorrectiveAction(finding_id=finding.id, branch_id=finding.branch_id, due_at=due,
                         status="closed" if closed else ("done" if done else "open"),
                         created_at=finding.created_at, closed_at=closed, done_at=done or closed)
    db.session.add(a)
    db.session.flush()
    return a


@pytest.fixture
def data(world):
    """Branch A: Jan audits 80 and 90, Feb 70. Branch B: Jan 60; an unsubmitted audit.
    f1 A critical cash Jan 10, closed Jan 15; action due Jan 17, closed Jan 15 (on time)
    f2 A minor premises Jan 20, open;         action due Apr 20, open (not due yet)
    f3 B major cash Jan 15, closed Feb 20;    action due Feb 14, closed Feb 20 (late)
    f4 B minor premises Jan 15, open;         action due Feb 1, open (overdue)"""
    w = world
    a1 = _audit(w, w.branch, 80.0, d(1, 10))
    a2 = _audit(w, w.branch, 90.0, d(1, 20), period="2026-01b")
    _audit(w, w.branch, 70.0, d(2, 5), status="closed", period="2026-02")
    b1 = _audit(w, w.other, 60.0, d(1, 15))
    _audit(w, w.other, None, None, status="in_progress", period="2026-02")
    f1 = _finding(a1, "dual_control", "cash", "critical", d(1, 10), closed=d(1, 15))
    f2 = _finding(a2, "signage", "premises", "minor", d(1, 20))
    f3 = _finding(b1, "cash_count", "cash", "major", d(1, 15), closed=d(2, 20))
    f4 = _finding(b1, "signage", "premises", "minor", d(1, 15))
    acts = [_action(f1, d(1, 17), closed=d(1, 15)), _action(f2, d(4, 20)),
            _action(f3, d(2, 14), closed=d(2, 20)), _action(f4, d(2, 1))]
    db.session.commit()
    return w, acts


def test_scores_by_branch_and_month(data):
    w, _acts = data
    rows = [(r.code, r.month, r.audits, r.average)
            for r in reports.scores_by_branch_month(d(1, 1), d(4, 1))]
    assert rows == [("AA1", "2026-01", 2, 85.0), ("AA1", "2026-02", 1, 70.0),
                    ("BB1", "2026-01", 1, 60.0)]
    only_b = reports.scores_by_branch_month(d(1, 1), d(4, 1), [w.other.id])
    assert [(r.code, r.average) for r in only_b] == [("BB1", 60.0)]
    assert reports.scores_by_branch_month(d(2, 1), d(3, 1))[0].average == 70.0


def test_findings_by_severity_and_section(data):
    w, _acts = data
    assert reports.findings_by_severity() == {
        "critical": {"open": 0, "closed": 1}, "major": {"open": 0, "closed": 1},
        "minor": {"open": 2, "closed": 0}}
    sections = reports.findings_by_section(locale="en")
    assert [(r.section_key, r.label, r.critical, r.major, r.minor, r.total)
            for r in sections] == [("cash", "Cash handling", 1, 1, 0, 2),
                                   ("premises", "Premises", 0, 0, 2, 2)]
    only_a = reports.findings_by_section(branch_ids=[w.branch.id])
    assert [(r.section_key, r.total) for r in only_a] == [("cash", 1), ("premises", 1)]


def test_action_closure_on_time(data):
    closure = reports.action_closure(d(1, 1), d(5, 1), now=d(3, 1))
    # due by Mar 1: a1 (on time), a3 (late), a4 (open); a2 is not due yet
    assert (closure.due, closure.on_time, closure.late, closure.open) == (3, 1, 1, 1)
    assert closure.on_time_share == pytest.approx(1 / 3)
    later = reports.action_closure(d(1, 1), d(5, 1), now=d(5, 1))
    assert (later.due, later.on_time, later.open) == (4, 1, 2)


def test_overdue_actions_as_of_a_date(data):
    _w, acts = data
    rows = reports.overdue_actions(d(3, 1))
    assert [(r.action_id, r.days_overdue, r.severity) for r in rows] == [(acts[3].id, 28, "minor")]
    # on Feb 16, f3's action (due Feb 14, closed Feb 20) was overdue too
    assert [r.action_id for r in reports.overdue_actions(d(2, 16))] == [acts[3].id, acts[2].id]
    assert reports.count_overdue(d(1, 16)) == 0


def test_branch_audit_summary_for_the_scorecards(data):
    w, _acts = data
    a_jan = reports.branch_audit_summary(w.branch.id, "2026-01")
    assert a_jan["audits"] == 2 and a_jan["score_average"] == 85.0
    assert a_jan["as_of"] == datetime(2026, 2, 1, tzinfo=UTC)
    assert (a_jan["findings_raised"], a_jan["open_findings"], a_jan["overdue_actions"]) == \
        (2, 1, 0)
    assert (a_jan["actions_due"], a_jan["closure_on_time"]) == (1, 1.0)
    b_feb = reports.branch_audit_summary(w.other.id, "2026-02")
    assert b_feb["audits"] == 0 and b_feb["score_average"] is None
    assert (b_feb["open_findings"], b_feb["overdue_actions"]) == (1, 1)
    assert (b_feb["actions_due"], b_feb["actions_closed_on_time"], b_feb["closure_on_time"]) \
        == (2, 0, 0.0)
    q1 = reports.branch_audit_summary(w.branch.id, "2026-Q1", as_of=d(3, 1))
    assert q1["audits"] == 3 and q1["score_average"] == pytest.approx(80.0)


@pytest.mark.parametrize(("period", "start", "end"), [
    ("2026-12", datetime(2026, 12, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)),
    ("2026-Q4", datetime(2026, 10, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)),
    ("2026", datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)),
])
def test_period_bounds(period, start, end):
    assert reports.month_bounds(period) == (start, end)


@pytest.mark.parametrize("bad", ["2026-13", "2026-Q5", "26-01", "", "F12"])
def test_bad_periods_are_refused(bad):
    with pytest.raises(ValueError):
        reports.month_bounds(bad)


# -- the demo data ------------------------------------------------------------------------

def _bare_bank():
    """The demo's twelve branches, one head, one auditor, one QA."""
    from qms.auth.services import GrantSpec, create_user
    from qms.demo import CITIES
    from qms.org.models import Branch

    for region, city, rows in CITIES:
        for code, name in rows:
            db.session.add(Branch(code=code, name=name, region=region, city=city))
    db.session.flush()
    for role, branch in (("auditor", None), ("branch_head", "SH01"), ("qa", None)):
        create_user(email=f"{role}@demo.qms", name=role, password="demo-password-1",
                    grants=[GrantSpec(role, branch)])
    db.session.commit()


def _wipe_demo_audits():
    import sqlalchemy as sa

    from qms.audits.models import (
        ActionNote,
        AuditProgramme,
        AuditTemplate,
        AuditTemplateVersion,
        programme_branches,
    )
    from qms.auth.models import RoleGrant, User

    for table in (ActionNote.__table__, CorrectiveAction.__table__):
        db.session.execute(sa.delete(table))
    db.session.execute(sa.update(Audit).values(follow_up_of_id=None))
    for table in (Finding.__table__, Audit.__table__, programme_branches,
                  AuditProgramme.__table__, AuditTemplateVersion.__table__,
                  AuditTemplate.__table__):
        db.session.execute(sa.delete(table))
    added = sa.select(User.id).where(User.email.not_in(
        ["auditor@demo.qms", "branch_head@demo.qms", "qa@demo.qms"]))
    db.session.execute(sa.delete(RoleGrant).where(RoleGrant.user_id.in_(added)))
    db.session.execute(sa.delete(User).where(User.id.in_(added.scalar_subquery())))
    db.session.commit()


def _demo_digest(now) -> tuple:
    import sqlalchemy as sa

    from qms.audits.demo import build_audit_activity
    from qms.auth.models import User
    from qms.org.models import Branch

    counts = build_audit_activity(seed=7, now=now)
    db.session.commit()
    audits = db.session.execute(sa.select(
        Branch.code, Audit.period, Audit.status, Audit.score, Audit.answers, User.email)
        .join(Branch, Branch.id == Audit.branch_id).join(User, User.id == Audit.auditor_id)
        .order_by(Audit.planned_at, Branch.code, Audit.period)).all()
    actions = db.session.execute(sa.select(
        Finding.item_key, Finding.severity, Finding.status, CorrectiveAction.status,
        CorrectiveAction.due_at, CorrectiveAction.escalation_level,
        CorrectiveAction.closed_at).join(CorrectiveAction)
        .order_by(Finding.created_at, Finding.item_key)).all()
    averages = dict(db.session.execute(sa.select(Branch.code, sa.func.avg(Audit.score))
                                       .join(Audit).group_by(Branch.code)).all())
    return counts, [tuple(r) for r in audits], [tuple(r) for r in actions], averages


def test_the_demo_is_deterministic_and_has_every_state(app):
    now = datetime(2026, 11, 28, 4, 0, tzinfo=UTC)
    _bare_bank()
    first = _demo_digest(now)
    _wipe_demo_audits()
    assert db.session.scalar(sa.select(sa.func.count(Audit.id))) == 0
    assert _demo_digest(now) == first
    counts, audits, actions, averages = first
    assert counts["audits"] == len(audits) - 1 == 12 * 12  # and one follow-up audit
    assert counts["findings"] == len(actions) > 50
    assert {a[2] for a in audits} >= {"planned", "in_progress", "submitted", "closed"}
    assert {a[3] for a in actions} == {"open", "done", "closed"}
    assert {a[5] for a in actions} == {0, 1, 2, 3}  # every escalation level
    assert {a[1] for a in actions} == {"minor", "major", "critical"}
    assert max(averages.values()) - min(averages.values()) > 5  # branches differ
    assert averages["SH01"] > averages["BJ04"]  # as in the survey and QA demos

"""Corrective actions: the owner's work, the effectiveness check by a non-owner, escalation
once per level (run twice, after downtime, from two threads on one SQLite file), follow-ups."""

# ruff: noqa: F811  (the world fixture is imported from the support module)

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta
from email import policy as email_policy
from email.parser import BytesParser
from pathlib import Path

import pytest
import sqlalchemy as sa

from qms.audits import actions, evidence, followups
from qms.audits.access import AuditWorkError
from qms.audits.escalation import escalate_overdue
from qms.audits.models import ActionNote, Audit, CorrectiveAction, Finding
from qms.extensions import db
from qms.jobs import run_job
from tests.audits.work_support import (
    T0,
    performed,
    run,
    upload,
    world,  # noqa: F401 - fixture
)
from tests.surveys.campaign_support import smtp_server  # noqa: F401 - fixture

FAILING = {"dual_control": "pass", "cash_count": 2, "signage": "fail"}  # major + minor


def outbox(app) -> list[tuple[str, str]]:
    folder = Path(app.config["OUTBOX_DIR"])
    out = []
    for path in sorted(folder.glob("*.eml")) if folder.exists() else []:
        msg = BytesParser(policy=email_policy.default).parsebytes(path.read_bytes())
        out.append((str(msg["To"]), str(msg["Subject"])))
    return out


def one_action(w, answers=None):
    audit, findings = performed(w, answers or {"dual_control": "pass", "cash_count": 5,
                                               "signage": "fail"})
    action = db.session.scalar(sa.select(CorrectiveAction).where(
        CorrectiveAction.finding_id == findings[0].id))
    return audit, findings[0], action


def fix(action, user):
    run(actions.record_progress, action, user, correction="已补挂收费公示牌",
        corrective="每日开门前检查公示牌", note="已整改", files=[upload()], now=T0)
    run(actions.mark_done, action, user, now=T0 + timedelta(days=1))


def test_owner_records_the_fix_and_marks_it_done(world):
    w = world
    _audit, _finding, action = one_action(w)
    with pytest.raises(AuditWorkError) as exc:
        run(actions.mark_done, action, w.head)
    assert set(exc.value.fields) == {"correction", "action"}
    with pytest.raises(AuditWorkError) as exc:  # another branch's head
        run(actions.record_progress, action, w.other_head, note="x")
    assert exc.value.status == 403
    fix(action, w.head)
    assert action.status == "done" and action.done_at == T0 + timedelta(days=1)
    assert [n.kind for n in actions.notes_of(action)] == ["progress", "done"]
    files = evidence.action_evidence(action)
    assert [(f.owner_type, f.mime) for f in files] == [("corrective_action", "image/png")]


def test_the_owner_cannot_check_effectiveness(world, make_user):
    w = world
    owner = make_user("branch_head", "qa", branch=w.branch, name="Head and QA")
    _audit, _finding, action = one_action(w)
    run(actions.assign_owner, action, owner, w.qa, now=T0)
    fix(action, owner)
    with pytest.raises(AuditWorkError) as exc:
        run(actions.verify, action, owner, effective=True)
    assert exc.value.status == 403
    assert db.session.get(CorrectiveAction, action.id).status == "done"


def test_whoever_marked_it_done_cannot_check_it_either(world):
    w = world
    _audit, _finding, action = one_action(w)
    run(actions.record_progress, action, w.admin, correction="c", corrective="a")
    run(actions.mark_done, action, w.admin)
    with pytest.raises(AuditWorkError) as exc:
        run(actions.verify, action, w.admin, effective=True)
    assert exc.value.status == 403
    with pytest.raises(AuditWorkError):  # a branch head is no checker at all
        run(actions.verify, action, w.head, effective=True)


def test_an_effective_check_closes_action_finding_and_audit(world):
    w = world
    audit, finding, action = one_action(w)
    with pytest.raises(AuditWorkError) as exc:  # not done yet
        run(actions.verify, action, w.auditor, effective=True)
    assert exc.value.status == 409
    fix(action, w.head)
    now = T0 + timedelta(days=3)
    run(actions.verify, action, w.auditor, effective=True, note="现场复核已整改", now=now)
    assert (action.status, action.effective, action.verified_by_id, action.closed_at) == \
        ("closed", True, w.auditor.id, now)
    assert (finding.status, finding.closed_at) == ("closed", now)
    assert db.session.get(Audit, audit.id).status == "closed"


def test_not_effective_reopens_with_a_note_and_a_new_due_date(world):
    w = world
    audit, finding, action = one_action(w, FAILING)
    fix(action, w.head)
    with pytest.raises(AuditWorkError) as exc:
        run(actions.verify, action, w.qa, effective=False, note="  ")
    assert "note" in exc.value.fields
    action.escalation_level = 2
    db.session.commit()
    now = T0 + timedelta(days=5)
    run(actions.verify, action, w.qa, effective=False, note="抽查仍有缺失", now=now)
    assert action.status == "open" and action.effective is False and action.done_at is None
    assert action.due_at == now + timedelta(days=actions.due_days(finding.severity))
    assert action.escalation_level == 0
    assert finding.status == "open" and db.session.get(Audit, audit.id).status == "submitted"
    assert actions.notes_of(action)[-1].kind == "reopened"


def _levels():
    return dict(db.session.execute(sa.select(CorrectiveAction.id,
                                             CorrectiveAction.escalation_level)).all())


def test_escalation_once_per_level_to_owner_head_and_qa(app, world, make_user):
    w = world
    region_head = make_user("branch_head", region="华东", name="Regional head")
    _audit, _finding, action = one_action(w, {"dual_control": "pass", "cash_count": 2,
                                               "signage": "pass"})  # major: 30 days
    due = action.due_at
    seen: Counter = Counter()

    def new_mail() -> list[str]:
        now = Counter(to for to, _s in outbox(app))
        fresh = now - seen
        seen.update(fresh)
        return sorted(fresh.elements())

    assert escalate_overdue(due - timedelta(seconds=1)) == 0
    assert escalate_overdue(due) == 1
    assert escalate_overdue(due + timedelta(hours=1)) == 0  # the same level again: nothing
    assert new_mail() == [w.head.email]
    assert "甲支行" in outbox(app)[0][1]
    assert escalate_overdue(due + timedelta(days=6)) == 0
    assert escalate_overdue(due + timedelta(days=7)) == 1
    assert new_mail() == sorted([w.head.email, region_head.email])
    assert escalate_overdue(due + timedelta(days=14)) == 1
    assert escalate_overdue(due + timedelta(days=30)) == 0
    assert new_mail() == [w.qa.email]
    assert _levels() == {action.id: 3}
    notes = db.session.scalars(sa.select(ActionNote.kind).where(
        ActionNote.action_id == action.id)).all()
    assert notes.count("escalated") == 3


def test_after_downtime_every_due_level_is_taken_once(app, world):
    w = world
    _audit, _finding, action = one_action(w, FAILING)
    late = max(a.due_at for a in db.session.scalars(sa.select(CorrectiveAction)))
    assert escalate_overdue(late + timedelta(days=20)) == 6  # two actions x three levels
    assert escalate_overdue(late + timedelta(days=21)) == 0
    assert set(_levels().values()) == {3}
    assert len(outbox(app)) == 2 * 3  # owner, head, qa (one each here) per action


def test_done_and_closed_actions_do_not_escalate(app, world):
    w = world
    _audit, _finding, action = one_action(w)
    fix(action, w.head)
    assert escalate_overdue(action.due_at + timedelta(days=30)) == 0
    assert outbox(app) == []


def test_two_threads_on_one_sqlite_file_escalate_each_level_once(app, world):
    """Through the scheduler's job, as two scheduler runs racing each other would."""
    assert app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///")
    w = world
    for _ in range(4):
        performed(w, FAILING)
    db.session.commit()
    count = db.session.scalar(sa.select(sa.func.count(CorrectiveAction.id)))
    latest = db.session.scalar(sa.select(sa.func.max(CorrectiveAction.due_at)))
    barrier = threading.Barrier(2)
    results, errors = [], []

    def work():
        with app.app_context():
            try:
                barrier.wait()
                results.append(run_job("audit-actions-escalation", latest + timedelta(days=15)))
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    assert sum(results) == count * 3
    db.session.expire_all()
    assert set(_levels().values()) == {3}
    assert db.session.scalar(sa.select(sa.func.count(ActionNote.id)).where(
        ActionNote.kind == "escalated")) == count * 3
    assert len(outbox(app)) == count * 3


def test_follow_up_audit_for_a_critical_finding(world):
    w = world
    audit, findings = performed(w, {"dual_control": "fail", "cash_count": 2, "signage": "pass"})
    critical = next(f for f in findings if f.severity == "critical")
    major = next(f for f in findings if f.severity == "major")
    due = T0 + timedelta(days=10)
    with pytest.raises(AuditWorkError):
        run(followups.schedule_follow_up, major, w.qa, due, now=T0)
    with pytest.raises(AuditWorkError) as exc:
        run(followups.schedule_follow_up, critical, w.head, due, now=T0)
    assert exc.value.status == 403
    follow = run(followups.schedule_follow_up, critical, w.qa, due, auditor=w.auditor2, now=T0)
    assert (follow.programme_id, follow.period, follow.follow_up_of_id) == \
        (None, f"F{critical.id}", critical.id)
    assert follow.template_version_id == audit.template_version_id
    assert (follow.branch_id, follow.auditor_id, follow.status, follow.due_at) == \
        (w.branch.id, w.auditor2.id, "planned", due)
    with pytest.raises(AuditWorkError) as exc:
        run(followups.schedule_follow_up, critical, w.qa, due, now=T0)
    assert exc.value.status == 409
    assert db.session.scalar(sa.select(sa.func.count(Audit.id)).where(
        Audit.follow_up_of_id.is_not(None))) == 1
    assert db.session.get(Finding, critical.id).status == "open"


def test_escalation_mail_goes_over_smtp_with_a_link(app, world, smtp_server):
    w = world
    _audit, finding, action = one_action(w)
    assert escalate_overdue(action.due_at + timedelta(days=1)) == 1
    assert smtp_server.recipients() == [w.head.email]
    msg = smtp_server.messages[0]
    assert str(msg["Subject"]) == "Corrective action overdue: AA1 甲支行, Fee board displayed"
    body = msg.get_body(("plain",)).get_content()
    assert "A corrective action you own is overdue." in body
    assert "1 day overdue" in body and "Minor" in body
    assert f"/audits/findings/{finding.id}" in body

"""Performing an audit: start, save and resume with the partial score, evidence per item,
submit (shared scoring, findings with severity, actions with severity-based due dates, lock)."""

# ruff: noqa: F811  (the world fixture is imported from the support module)

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask_babel import force_locale

from qms.analytics import scoring
from qms.audits import checklists, evidence, performing
from qms.audits.access import AuditWorkError
from qms.audits.models import CorrectiveAction, Finding
from qms.core.uploads import Attachment, UploadError
from qms.extensions import db
from tests.audits.work_support import (
    ALL_PASS,
    HTML_AS_JPG,
    PDF,
    T0,
    new_audit,
    performed,
    run,
    upload,
    world,  # noqa: F401 - fixture
)


def test_only_the_assigned_auditor_or_qa_admin_starts(world):
    w = world
    audit = new_audit(w)
    for outsider in (w.auditor2, w.head, w.agent):
        with pytest.raises(AuditWorkError) as exc:
            run(performing.start_audit, audit, outsider, now=T0)
        assert exc.value.status == 403
    assert db.session.get(type(audit), audit.id).status == "planned"
    run(performing.start_audit, audit, w.auditor, now=T0)
    assert audit.status == "in_progress" and audit.started_at == T0
    other = new_audit(w, period="2026-04")
    run(performing.start_audit, other, w.qa, now=T0)
    assert other.status == "in_progress"


def test_save_and_resume_with_the_partial_score(world):
    w = world
    audit = new_audit(w, status="in_progress")
    prog = run(performing.save_answers, audit, w.auditor, answers={"dual_control": "pass"},
               comments={"dual_control": "两人双锁"})
    # only the cash section applies so far: 2/2 points, re-normalised to the whole score
    assert (prog.answered, prog.total) == (1, 3)
    assert prog.result.total == pytest.approx(100.0)
    assert prog.result.missing == ["cash_count", "signage"]
    db.session.expire_all()
    audit = db.session.get(type(audit), audit.id)
    assert audit.answers == {"dual_control": "pass"}
    assert audit.comments == {"dual_control": "两人双锁"}
    # resume: the next item is merged, the first kept
    prog = run(performing.save_answers, audit, w.auditor, answers={"signage": "fail"})
    assert audit.answers == {"dual_control": "pass", "signage": "fail"}
    assert prog.result.total == pytest.approx(60.0)  # cash 100 x 60% + premises 0 x 40%
    # an empty answer clears the item
    run(performing.save_answers, audit, w.auditor, answers={"signage": None})
    assert audit.answers == {"dual_control": "pass"}


def test_unfit_answers_are_refused_and_nothing_is_written(world):
    w = world
    audit = new_audit(w, status="in_progress", answers={"signage": "pass"})
    for bad in ({"cash_count": 7}, {"dual_control": "na"}, {"dual_control": "yes"},
                {"nope": "pass"}):
        with pytest.raises(AuditWorkError) as exc:
            run(performing.save_answers, audit, w.auditor, answers={"signage": "fail", **bad})
        assert set(exc.value.fields) == set(bad)
        db.session.expire_all()
        assert db.session.get(type(audit), audit.id).answers == {"signage": "pass"}


def test_a_planned_audit_is_not_answered_before_it_starts(world):
    w = world
    audit = new_audit(w)
    with pytest.raises(AuditWorkError) as exc:
        run(performing.save_answers, audit, w.auditor, answers={"signage": "pass"})
    assert exc.value.status == 409


def test_submit_scores_with_the_shared_function_creates_findings_and_locks(world):
    w = world
    answers = {"dual_control": "pass", "cash_count": 2, "signage": "fail"}
    audit, findings = performed(w, answers, comments={"signage": "收费公示牌缺失"})
    # cash: (2 + 2) / (2 + 5) = 57.14 % x 60; premises 0 x 40 -> 34.29
    rubric = checklists.to_scoring(w.version.definition)
    shared = scoring.score(rubric, {"dual_control": "yes", "cash_count": 2, "signage": "no"})
    assert audit.score == pytest.approx(round(shared.total, 2))
    assert audit.score == pytest.approx(34.29, abs=0.005)
    assert audit.status == "submitted" and audit.submitted_at == T0 and not audit.auto_failed
    by_item = {f.item_key: f for f in findings}
    assert set(by_item) == {"cash_count", "signage"}  # 2 is below the pass mark 3
    assert by_item["cash_count"].severity == "major" and by_item["cash_count"].section_key == "cash"
    assert by_item["signage"].severity == "minor"
    assert by_item["signage"].description == "收费公示牌缺失"
    acts = {a.finding_id: a for a in db.session.scalars(sa.select(CorrectiveAction))}
    assert acts[by_item["cash_count"].id].due_at == T0 + timedelta(days=30)
    assert acts[by_item["signage"].id].due_at == T0 + timedelta(days=90)
    assert {a.owner_id for a in acts.values()} == {w.head.id}  # the audited branch's head
    assert all(a.status == "open" and a.branch_id == w.branch.id for a in acts.values())
    # locked
    with pytest.raises(AuditWorkError) as exc:
        run(performing.save_answers, audit, w.auditor, answers={"signage": "pass"})
    assert exc.value.status == 409
    with pytest.raises(AuditWorkError):
        run(performing.submit_audit, audit, w.auditor)
    assert db.session.scalar(sa.select(sa.func.count(Finding.id))) == 2


def test_a_critical_failure_zeroes_its_section_and_gets_a_seven_day_action(world):
    w = world
    audit, findings = performed(w, {"dual_control": "fail", "cash_count": 5,
                                    "signage": "pass"})
    assert audit.score == pytest.approx(40.0)  # cash zeroed by the critical item
    assert [(f.item_key, f.severity) for f in findings] == [("dual_control", "critical")]
    action = db.session.scalar(sa.select(CorrectiveAction))
    assert action.due_at == T0 + timedelta(days=7)


def test_due_days_are_configurable(app, world):
    app.config["AUDIT_ACTION_DUE_DAYS"] = {"critical": 2, "major": 10, "minor": 20}
    performed(world, {"dual_control": "fail", "cash_count": 1, "signage": "fail"})
    due = dict(db.session.execute(sa.select(Finding.severity, CorrectiveAction.due_at)
                                  .join(CorrectiveAction)).all())
    assert due == {"critical": T0 + timedelta(days=2), "major": T0 + timedelta(days=10),
                   "minor": T0 + timedelta(days=20)}


def test_an_audit_without_failures_closes_at_once(world):
    audit, findings = performed(world, dict(ALL_PASS))
    assert findings == [] and audit.status == "closed" and audit.score == pytest.approx(100.0)


def test_submit_names_missing_items_and_missing_evidence(world):
    w = world
    audit = new_audit(w, status="in_progress", answers={"dual_control": "fail"})
    with force_locale("en"), pytest.raises(AuditWorkError) as exc:
        run(performing.submit_audit, audit, w.auditor)
    assert set(exc.value.fields) == {"dual_control", "cash_count", "signage"}
    assert "evidence" in exc.value.fields["dual_control"]
    run(performing.save_answers, audit, w.auditor, answers={"cash_count": "na",
                                                             "signage": "pass"},
        files={"dual_control": [upload(PDF, "vault.pdf", "application/pdf")]})
    findings = run(performing.submit_audit, audit, w.auditor)
    assert [f.item_key for f in findings] == ["dual_control"]
    assert audit.status == "submitted" and audit.score == pytest.approx(40.0)


def test_evidence_is_checked_by_content_and_kept_per_item(app, world):
    w = world
    audit = new_audit(w, status="in_progress")
    with pytest.raises(UploadError):
        run(performing.save_answers, audit, w.auditor, answers={"signage": "pass"},
            files={"signage": [upload(HTML_AS_JPG, "photo.jpg", "image/jpeg")]})
    assert db.session.scalar(sa.select(sa.func.count(Attachment.id))) == 0
    db.session.expire_all()
    assert db.session.get(type(audit), audit.id).answers == {}  # nothing half-written
    app.config["UPLOAD_MAX_BYTES"] = 32
    with pytest.raises(UploadError) as exc:
        run(performing.save_answers, audit, w.auditor, files={"signage": [upload()]})
    assert exc.value.status == 413
    app.config["UPLOAD_MAX_BYTES"] = 1024
    run(performing.save_answers, audit, w.auditor, files={"signage": [upload()],
                                                          "dual_control": [upload(PDF)]})
    files = evidence.evidence_by_item(audit)
    assert {k: [a.mime for a in v] for k, v in files.items()} == {
        "signage": ["image/png"], "dual_control": ["application/pdf"]}
    att = files["signage"][0]
    assert att.owner_type == "audit" and att.owner_id == audit.id
    assert att.uploaded_by_id == w.auditor.id
    assert run(performing.remove_evidence, audit, w.auditor, att.id) is True
    assert "signage" not in evidence.evidence_by_item(audit)


def test_two_submits_at_once_create_the_findings_once(app, world):
    """A double click or two tabs: one submit wins, the other is refused; one set of findings."""
    import threading

    w = world
    audit = new_audit(w, status="in_progress",
                      answers={"dual_control": "pass", "cash_count": 1, "signage": "fail"})
    ids = (audit.id, w.auditor.id)
    barrier = threading.Barrier(2)
    outcomes, errors = [], []

    def work():
        from qms.auth.models import User
        from qms.core.tx import unit_of_work

        with app.app_context():
            try:
                a, user = db.session.get(type(audit), ids[0]), db.session.get(User, ids[1])
                barrier.wait()
                with unit_of_work():
                    outcomes.append(len(performing.submit_audit(a, user, now=T0)))
            except AuditWorkError as exc:
                outcomes.append(exc.status)
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
    assert sorted(outcomes) == [2, 409]
    assert db.session.scalar(sa.select(sa.func.count(Finding.id))) == 2
    assert db.session.scalar(sa.select(sa.func.count(CorrectiveAction.id))) == 2

"""The audit pages: performing on the web (save, evidence, submit), branch scope (another
branch's audit, finding or action is a 404), working on and checking actions, lists, reports."""

# ruff: noqa: F811  (the world fixture is imported from the support module)

from __future__ import annotations

import io
from datetime import timedelta

import sqlalchemy as sa

from qms.audits.models import Audit, CorrectiveAction, Finding
from qms.core.db import now_utc
from qms.core.uploads import Attachment
from qms.extensions import db
from tests.audits.work_support import (
    HTML_AS_JPG,
    PNG,
    new_audit,
    performed,
    world,  # noqa: F401 - fixture
)

FAILING = {"dual_control": "pass", "cash_count": 2, "signage": "fail"}


def _form(answers: dict, **extra) -> dict:
    data = {f"a_{k}": str(v) for k, v in answers.items()}
    data.update(extra)
    return data


def test_performing_an_audit_on_the_web(world, client, login):
    w = world
    audit = new_audit(w)
    c = login(w.auditor)
    page = c.get(f"/audits/{audit.id}")
    assert page.status_code == 200 and "甲支行" in page.get_data(as_text=True)
    assert c.post(f"/audits/{audit.id}/start").status_code == 303
    form = c.get(f"/audits/{audit.id}/perform").get_data(as_text=True)
    assert "Vault under dual control" in form and 'name="a_cash_count"' in form
    # a disguised HTML file is refused and nothing of that save is kept
    bad = c.post(f"/audits/{audit.id}/perform", data=_form(
        FAILING, e_signage=(io.BytesIO(HTML_AS_JPG), "photo.jpg")),
        content_type="multipart/form-data")
    assert bad.status_code == 400 and "not accepted" in bad.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Audit, audit.id).answers == {}
    assert db.session.scalar(sa.select(sa.func.count(Attachment.id))) == 0
    saved = c.post(f"/audits/{audit.id}/perform", data=_form(
        FAILING, c_signage="公示牌缺失", e_signage=(io.BytesIO(PNG), "sign.png")),
        content_type="multipart/form-data")
    assert saved.status_code == 303
    db.session.expire_all()
    audit = db.session.get(Audit, audit.id)
    assert audit.answers == {"dual_control": "pass", "cash_count": 2, "signage": "fail"}
    assert audit.comments == {"signage": "公示牌缺失"}
    preview = c.post(f"/audits/{audit.id}/preview", data=_form({"dual_control": "pass"}))
    assert preview.get_json()["answered"] == 1 and preview.get_json()["score"] == 100.0
    done = c.post(f"/audits/{audit.id}/perform", data=_form(FAILING, submit_audit="1"))
    assert done.status_code == 303
    db.session.expire_all()
    audit = db.session.get(Audit, audit.id)
    assert audit.status == "submitted" and audit.score == 34.29
    assert sorted(db.session.scalars(sa.select(Finding.item_key))) == ["cash_count", "signage"]
    # locked: the form is no longer offered
    assert c.get(f"/audits/{audit.id}/perform").status_code == 303


def test_submit_with_missing_answers_shows_the_items(world, client, login):
    w = world
    audit = new_audit(w, status="in_progress")
    c = login(w.auditor)
    resp = c.post(f"/audits/{audit.id}/perform", data=_form({"dual_control": "fail"},
                                                            submit_audit="1"))
    assert resp.status_code == 400
    body = resp.get_data(as_text=True)
    assert "A failed item needs evidence" in body and "Answer this item." in body
    db.session.expire_all()
    assert db.session.get(Audit, audit.id).status == "in_progress"


def test_who_may_open_and_perform(world, client, login):
    w = world
    audit = new_audit(w, status="in_progress")
    assert login(w.auditor2).get(f"/audits/{audit.id}").status_code == 200  # bank-wide view
    assert login(w.auditor2).get(f"/audits/{audit.id}/perform").status_code == 403
    assert login(w.head).get(f"/audits/{audit.id}").status_code == 200
    assert login(w.head).get(f"/audits/{audit.id}/perform").status_code == 403
    assert login(w.other_head).get(f"/audits/{audit.id}").status_code == 404
    assert login(w.agent).get(f"/audits/{audit.id}").status_code == 403
    assert login(w.qa).get(f"/audits/{audit.id}/perform").status_code == 200


def test_another_branch_sees_404_for_findings_actions_and_files(world, client, login):
    w = world
    audit, findings = performed(w, {"dual_control": "fail", "cash_count": 5,
                                    "signage": "pass"})
    finding = findings[0]
    action = db.session.scalar(sa.select(CorrectiveAction))
    att = db.session.scalar(sa.select(Attachment))
    c = login(w.other_head)
    for url in (f"/audits/findings/{finding.id}",
                f"/audits/{audit.id}/evidence/{att.id}"):
        assert c.get(url).status_code == 404, url
    assert c.post(f"/audits/actions/{action.id}/update", data={"note": "x"}).status_code == 404
    assert c.post(f"/audits/actions/{action.id}/done").status_code == 404
    listing = c.get("/audits/findings?state=all").get_data(as_text=True)
    assert "甲支行" not in listing
    own = login(w.head)
    assert own.get(f"/audits/findings/{finding.id}").status_code == 200
    download = own.get(f"/audits/{audit.id}/evidence/{att.id}")
    assert download.status_code == 200 and download.data == PNG
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert "甲支行" in own.get("/audits/findings").get_data(as_text=True)


def test_owner_works_and_a_non_owner_checks(world, client, login, make_user):
    w = world
    _audit, findings = performed(w, {"dual_control": "pass", "cash_count": 5,
                                     "signage": "fail"})
    action = db.session.scalar(sa.select(CorrectiveAction))
    head = login(w.head)
    resp = head.post(f"/audits/actions/{action.id}/update", data={
        "correction": "已补挂", "action": "每日检查", "note": "完成",
        "files": (io.BytesIO(PNG), "fixed.png")}, content_type="multipart/form-data")
    assert resp.status_code == 303
    assert head.post(f"/audits/actions/{action.id}/done", data={"note": ""}).status_code == 303
    db.session.expire_all()
    assert db.session.get(CorrectiveAction, action.id).status == "done"
    # a head may not check at all; the auditor closes it
    assert head.post(f"/audits/actions/{action.id}/verify",
                     data={"effective": "yes"}).status_code == 403
    page = login(w.auditor).get(f"/audits/findings/{findings[0].id}").get_data(as_text=True)
    assert "Record the check" in page
    resp = login(w.auditor).post(f"/audits/actions/{action.id}/verify",
                                 data={"effective": "no", "note": ""})
    assert resp.status_code == 400  # a note is required to reopen
    resp = login(w.auditor).post(f"/audits/actions/{action.id}/verify",
                                 data={"effective": "yes", "note": "复核有效"})
    assert resp.status_code == 303
    db.session.expire_all()
    assert db.session.get(CorrectiveAction, action.id).status == "closed"
    assert db.session.get(Finding, findings[0].id).status == "closed"


def test_the_owner_with_a_qa_role_is_refused_the_check(world, client, login):
    w = world
    from qms.auth.services import GrantSpec, set_grants

    _audit, findings = performed(w, {"dual_control": "pass", "cash_count": 5,
                                     "signage": "fail"})
    action = db.session.scalar(sa.select(CorrectiveAction))
    action.status, action.correction, action.action = "done", "c", "a"
    set_grants(w.head, [GrantSpec("branch_head", w.branch.code), GrantSpec("qa", None)])
    db.session.commit()
    resp = login(w.head).post(f"/audits/actions/{action.id}/verify",
                              data={"effective": "yes", "note": "ok"})
    assert resp.status_code == 303
    db.session.expire_all()
    assert db.session.get(CorrectiveAction, action.id).status == "done"
    page = login(w.head).get(f"/audits/findings/{findings[0].id}").get_data(as_text=True)
    assert "The owner of an action cannot check its effectiveness." in page


def test_overdue_list_and_reports_page(world, client, login):
    w = world
    performed(w, FAILING)
    performed(w, {"dual_control": "pass", "cash_count": 5, "signage": "pass"},
              branch=w.other)
    due = {sev: a for sev, a in db.session.execute(
        sa.select(Finding.severity, CorrectiveAction).join(Finding)).all()}
    due["major"].due_at = now_utc() - timedelta(days=20)
    due["minor"].due_at = now_utc() + timedelta(days=10)
    db.session.commit()
    c = login(w.qa)
    overdue = c.get("/audits/overdue").get_data(as_text=True)
    assert "Cash count matches the ledger" in overdue and "甲支行" in overdue
    assert "Fee board displayed" not in overdue  # the minor action is not due yet
    report = c.get("/audits/reports?from=2026-01-01&to=2026-12-31").get_data(as_text=True)
    assert "34.3" in report and "100.0" in report and "Cash handling" in report
    assert c.get("/audits/reports?from=nope").status_code == 200
    head = login(w.other_head).get("/audits/reports?from=2026-01-01").get_data(as_text=True)
    assert "100.0" in head and "34.3" not in head

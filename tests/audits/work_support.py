"""Shared set-up for the performing / actions / reports / views tests: two branches with their
heads, an auditor, QA and an administrator, a published sample checklist (conftest's
SAMPLE_DEFINITION) and audits created directly (A1's scheduler is tested elsewhere).

Sample checklist: cash (weight 60) = dual_control (pass/fail, 2 points, critical for its
section, severity critical, evidence required) + cash_count (score 0..5, pass mark 3, major,
N/A allowed); premises (weight 40) = signage (pass/fail, 1 point, minor).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from werkzeug.datastructures import FileStorage

from qms.audits.models import Audit
from qms.core.tx import unit_of_work
from qms.extensions import db

T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.4\n%test\n"
HTML_AS_JPG = b"<!doctype html><script>alert(1)</script>"

ALL_PASS = {"dual_control": "pass", "cash_count": 5, "signage": "pass"}


@dataclass
class World:
    branch: object
    other: object
    auditor: object
    auditor2: object
    head: object  # all of them read English pages
    other_head: object
    qa: object
    admin: object
    agent: object
    version: object


@pytest.fixture
def world(app, make_branch, make_user, make_template) -> World:
    branch = make_branch(code="AA1", region="华东", name="甲支行")
    other = make_branch(code="BB1", region="华南", name="乙支行")
    template = make_template(name="Branch service standards", now=T0 - timedelta(days=30))
    version = template.versions[-1]
    return World(
        branch=branch, other=other,
        auditor=make_user("auditor", name="Auditor One", locale="en"),
        auditor2=make_user("auditor", name="Auditor Two", locale="en"),
        head=make_user("branch_head", branch=branch, name="Head A", locale="en"),
        other_head=make_user("branch_head", branch=other, name="Head B", locale="en"),
        qa=make_user("qa", name="QA Person", locale="en"), admin=make_user("admin", name="Admin", locale="en"),
        agent=make_user("agent", branch=branch, name="Agent", locale="en"), version=version)


def new_audit(w: World, *, branch=None, auditor=None, period="2026-03", status="planned",
              answers=None, now=T0) -> Audit:
    audit = Audit(programme_id=None, template_version_id=w.version.id,
                  branch_id=(branch or w.branch).id, period=period,
                  auditor_id=(auditor or w.auditor).id, status=status, planned_at=now,
                  due_at=now + timedelta(days=14), answers=dict(answers or {}), comments={},
                  started_at=now if status == "in_progress" else None)
    db.session.add(audit)
    db.session.commit()
    return audit


def upload(data: bytes = PNG, name: str = "photo.png", mime: str = "image/png") -> FileStorage:
    return FileStorage(stream=io.BytesIO(data), filename=name, content_type=mime)


def run(fn, *args, **kwargs):
    """Call a service in its own unit of work (as the pages and jobs do)."""
    with unit_of_work():
        return fn(*args, **kwargs)


def performed(w: World, answers: dict, *, branch=None, evidence_for=("dual_control",),
              now=T0, comments=None):
    """An audit started, answered (with a PNG for each failed evidence item) and submitted."""
    from qms.audits import performing

    audit = new_audit(w, branch=branch, now=now)
    run(performing.start_audit, audit, w.auditor, now=now)
    files = {k: [upload()] for k in evidence_for if answers.get(k) == "fail"}
    run(performing.save_answers, audit, w.auditor, answers=answers, comments=comments or {},
        files=files, now=now)
    findings = run(performing.submit_audit, audit, w.auditor, now=now)
    return audit, findings

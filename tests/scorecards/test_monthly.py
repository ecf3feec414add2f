"""The monthly run: last month computed, each branch head e-mailed their branch's PDF once."""

from __future__ import annotations

import email
import email.policy
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from qms.extensions import db
from qms.scorecards.deliveries import SENT, ScorecardDelivery
from qms.scorecards.models import ScorecardSnapshot
from qms.scorecards.monthly import run_monthly

NOW = datetime(2026, 4, 1, 3, 0, tzinfo=UTC)


def outbox(app) -> list[email.message.EmailMessage]:
    folder = Path(app.config["OUTBOX_DIR"])
    return [email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
            for p in sorted(folder.glob("*.eml"))] if folder.exists() else []


def pdf_of(message) -> tuple[str, bytes]:
    parts = [p for p in message.iter_attachments() if p.get_content_type() == "application/pdf"]
    assert len(parts) == 1
    return parts[0].get_filename(), parts[0].get_content()


def pdf_text(pdf: bytes) -> str:
    return subprocess.run(["pdftotext", "-enc", "UTF-8", "-", "-"], input=pdf,
                          capture_output=True, check=True).stdout.decode()


@pytest.fixture
def heads(app, make_branch, make_agent, make_user):
    a = make_branch(code="BA", name="甲支行", region="华东")
    b = make_branch(code="BB", name="乙支行", region="华南")
    agent = make_agent(a, code="BA-01")
    head_a = make_user("branch_head", branch=a, email="head-a@bank.test", locale="en")
    head_b = make_user("branch_head", branch=b, email="head-b@bank.test", locale="zh_Hans")
    gone = make_user("branch_head", branch=b, email="gone@bank.test")
    gone.active = False
    make_user("agent", branch=a, agent=agent, email="agent@bank.test")
    make_user("qa", email="qa@bank.test")
    db.session.commit()
    return {"a": a, "b": b, "head_a": head_a, "head_b": head_b}


def test_each_branch_head_gets_their_branchs_pdf_exactly_once_per_snapshot(app, heads):
    # no SMTP server answers: nothing handed over, so the claims are given back
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=1, SMTP_TIMEOUT=2)
    assert run_monthly(NOW) == 0
    assert db.session.query(ScorecardDelivery).count() == 0
    snaps = db.session.query(ScorecardSnapshot).filter_by(period="2026-03", scope="branch")
    assert {s.entity_code for s in snaps} == {"BA", "BB"}  # March, the month just ended

    app.config.update(SMTP_HOST=None)  # to the outbox
    assert run_monthly(NOW) == 2
    mails = outbox(app)
    assert sorted(m["To"] for m in mails) == ["head-a@bank.test", "head-b@bank.test"]
    by_to = {m["To"]: m for m in mails}

    name, pdf = pdf_of(by_to["head-a@bank.test"])
    assert name == "scorecard-BA-2026-03.pdf"
    text = pdf_text(pdf)
    assert "甲支行" in text and "2026-03" in text and "乙支行" not in text
    assert "Key performance indicators" in text  # in the head's language (en)
    assert "甲支行" in by_to["head-a@bank.test"]["Subject"]
    assert "Attached is the quality scorecard" in by_to["head-a@bank.test"].get_body(
        ("plain",)).get_content()

    name, pdf = pdf_of(by_to["head-b@bank.test"])
    assert name == "scorecard-BB-2026-03.pdf"
    text = pdf_text(pdf)
    assert "乙支行" in text and "甲支行" not in text
    assert "2026年4月1日" in text  # dates in Simplified Chinese

    rows = db.session.query(ScorecardDelivery).all()
    assert len(rows) == 2 and {r.status for r in rows} == {SENT}
    assert all(r.sent_at == NOW and r.message_id for r in rows)

    # a second (late, repeated) run sends nothing
    assert run_monthly(NOW) == 0
    assert len(outbox(app)) == 2

    # late data: the month is marked stale and recomputed into new snapshots, sent again
    db.session.query(ScorecardSnapshot).filter_by(period="2026-03").update({"stale": True})
    db.session.commit()
    assert run_monthly(NOW.replace(day=2)) == 2
    assert len(outbox(app)) == 4
    assert db.session.query(ScorecardDelivery).count() == 4

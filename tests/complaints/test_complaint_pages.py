"""The staff pages: the intake form (errors, duplicate confirmation, attachments) and the
complaint page (summary, deadlines, next step, timeline, messages, attachments, actions)."""

# ruff: noqa: F811  (fixtures imported from intake_support are used as arguments)

from __future__ import annotations

import io
from datetime import timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from qms.complaints import history
from qms.complaints.models import Complaint, ComplaintMessage
from qms.core.db import now_utc
from qms.core.tx import unit_of_work
from qms.extensions import db
from tests.complaints.intake_support import PDF, bank, count, make, nothing_stored  # noqa: F401

FORM = {"complainant_name": "王芳", "complainant_email": "w@example.test",
        "complainant_locale": "zh_Hans", "segment": "standard", "branch_code": "SH01",
        "agent_code": "SH01-007", "product": "信用卡", "channel_code": "A01",
        "business_code": "B03", "cause_code": "C01", "severity": "medium", "source": "direct",
        "description": "年费未经同意扣收", "requested_outcome": "退还年费"}


def post(c, **changes):
    data = {**FORM, **changes}
    return c.post("/complaints/new", data={k: v for k, v in data.items() if v is not None},
                  content_type="multipart/form-data")


def test_intake_form_registers_and_opens_the_complaint(bank, client, login):
    c = login(bank.officer)
    page = c.get("/complaints/new")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "A01 Branch counter" in html and "SH01 上海陆家嘴支行" in html
    assert "BJ01" in html  # a bank-wide officer may register for any branch
    # received yesterday evening in the branch's local time
    local = (now_utc() - timedelta(days=1)).astimezone(ZoneInfo("Asia/Shanghai"))
    resp = post(c, received_at=local.strftime("%Y-%m-%dT%H:%M"),
                attachments=(io.BytesIO(PDF), "证明.pdf"))
    assert resp.status_code == 303
    complaint = db.session.scalar(sa.select(Complaint))
    assert resp.headers["Location"].endswith(f"/complaints/{complaint.id}")
    assert complaint.received_at.astimezone(ZoneInfo("Asia/Shanghai")).strftime(
        "%Y-%m-%dT%H:%M") == local.strftime("%Y-%m-%dT%H:%M")
    detail = c.get(resp.headers["Location"]).get_data(as_text=True)
    assert complaint.reference in detail and "registered" in detail  # the flash
    assert "证明.pdf" in detail


def test_form_shows_each_error_next_to_its_field(bank, client, login):
    c = login(bank.officer)
    future = (now_utc() + timedelta(days=2)).astimezone(ZoneInfo("Asia/Shanghai"))
    resp = post(c, complainant_name="", description="", source="regulator",
                received_at=future.strftime("%Y-%m-%dT%H:%M"), branch_code="")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400
    for field in ("complainant_name", "description", "regulator_ref", "received_at",
                  "branch_code"):
        assert f'id="{field}-error"' in html, field
    assert "cannot be in the future" in html and "regulator" in html
    assert nothing_stored()


def test_duplicate_warning_then_confirmation(bank, client, login):
    first = make(actor=bank.officer, customer_ref="C-STD")
    c = login(bank.officer)
    resp = post(c, customer_ref="C-STD", complainant_name="", complainant_email="")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and 'id="duplicate-warning"' in html
    assert first.reference in html and 'name="confirm_duplicate"' in html
    assert count(Complaint) == 1
    confirmed = post(c, customer_ref="C-STD", complainant_name="", complainant_email="",
                     confirm_duplicate="y")
    assert confirmed.status_code == 303 and count(Complaint) == 2
    second = db.session.scalar(sa.select(Complaint).order_by(Complaint.id.desc()))
    page = c.get(f"/complaints/{second.id}").get_data(as_text=True)
    assert "Possible duplicate" in page and first.reference in page


def test_only_officers_and_admins_register(bank, client, login):
    for who in (bank.qa, bank.auditor, bank.head_sh, bank.agent_user):
        assert login(who).get("/complaints/new").status_code == 403
    assert login(bank.admin).get("/complaints/new").status_code == 200
    client.post("/logout")
    anon = client.application.test_client()
    assert anon.get("/complaints/new").status_code in (302, 303)


def test_complaint_page_shows_the_whole_case(bank, client, login):
    c = make(actor=bank.officer, agent_code="SH01-007", now=now_utc() - timedelta(days=2))
    with unit_of_work():
        c.status, c.assignee_id = "IN_INVESTIGATION", bank.officer2.id
        history.record(c, "transition", actor=bank.officer2, from_status="RECEIVED",
                       to_status="IN_INVESTIGATION", reason="开始调查",
                       changes={"assignee_id": [None, bank.officer2.id]})
        db.session.add(ComplaintMessage(complaint_id=c.id, kind="acknowledgement",
                                        locale="zh_Hans", to_email="w@example.test",
                                        subject="您的投诉已受理", body="尊敬的客户……",
                                        sent_at=now_utc()))
    page = login(bank.officer).get(f"/complaints/{c.id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert c.reference in html and "In investigation" in html
    assert "SH01-007" in html and "B03 Bank cards" in html
    assert "Decision and notice" in html and "days left" in html and "rag-green" in html
    assert "Investigate and draft the decision" in html  # due next
    assert "Received" in html and "开始调查" in html and "复核专员" in html  # the timeline
    assert "您的投诉已受理" in html  # messages
    assert 'class="actions-panel"' in html  # the workflow's panel is included
    assert "/complaint-status/" in html  # the link to give the complainant


def test_overdue_complaint_is_red(bank, client, login):
    c = make(actor=bank.officer, now=now_utc() - timedelta(days=40))
    html = login(bank.officer).get(f"/complaints/{c.id}").get_data(as_text=True)
    assert "rag-red" in html and "overdue" in html


def test_complaint_page_for_readers_and_not_others(bank, client, login):
    c = make(actor=bank.officer)
    for who in (bank.qa, bank.auditor, bank.head_sh, bank.admin):
        resp = login(who).get(f"/complaints/{c.id}")
        assert resp.status_code == 200
        assert "/complaint-status/" not in resp.get_data(as_text=True) or who is bank.admin
    assert login(bank.agent_user).get(f"/complaints/{c.id}").status_code == 403
    assert login(bank.officer).get("/complaints/999999").status_code == 404


def test_chinese_page(bank, client, login, make_user):
    chinese = make_user("complaints", locale="zh_Hant")
    c = make(actor=bank.officer, now=now_utc())
    html = login(chinese).get(f"/complaints/{c.id}").get_data(as_text=True)
    assert 'lang="zh-Hant"' in html and "銀行卡" in html  # code labels in the reader's language

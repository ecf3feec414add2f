"""The public complaint form and the private status page: reference and link, the complainant's
language, nothing internal, attachments, CSRF and the rate limits."""

# ruff: noqa: F811  (fixtures imported from intake_support are used as arguments)

from __future__ import annotations

import io
import re
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from qms.complaints import intake
from qms.complaints.models import Complaint
from qms.core.tx import unit_of_work
from qms.extensions import db
from tests.complaints.intake_support import HTML, PNG, bank, count, make, nothing_stored  # noqa: F401

FORM = {"complainant_name": "陳大文", "complainant_email": "chan@example.test",
        "branch_code": "SH01", "channel_code": "A05", "business_code": "B03",
        "description": "手機銀行轉賬失敗但已扣款", "requested_outcome": "退回款項"}


def submit(client, lang="zh_Hant", **changes):
    data = {**FORM, **changes, "lang": lang}
    return client.post("/complaint", data={k: v for k, v in data.items() if v is not None},
                       content_type="multipart/form-data")


def test_form_in_the_visitors_language(bank, client):
    page = client.get("/complaint?lang=zh_Hant")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'lang="zh-Hant"' in html
    assert "手機銀行（流動客戶端）" in html  # the channel list in Traditional Chinese
    assert "上海陆家嘴支行" in html
    assert page.headers["Cache-Control"] == "no-store"
    en = client.get("/complaint?lang=en").get_data(as_text=True)
    assert 'lang="en"' in en and "Mobile banking app" in en


def test_submission_gives_reference_and_private_link(bank, client):
    resp = submit(client)
    assert resp.status_code == 303
    location = resp.headers["Location"]
    m = re.search(r"/complaint-status/([A-Za-z0-9_\-]+)\?", location)
    assert m and "new=1" in location
    token = m.group(1)
    c = db.session.scalar(sa.select(Complaint))
    assert c.intake_channel == "public" and c.complainant_locale == "zh_Hant"
    assert c.owner_id is None and c.status == "RECEIVED" and c.due_on is not None
    assert c.status_token_hash != token and intake.find_by_status_token(token).id == c.id
    page = client.get(location)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'lang="zh-Hant"' in html
    assert c.reference in html and f"/complaint-status/{token}" in html
    assert page.headers["Referrer-Policy"] == "no-referrer"
    # reloading the thank-you page files nothing new
    client.get(location)
    assert count(Complaint) == 1


def test_bad_input_is_shown_on_the_form_and_nothing_is_stored(bank, client):
    resp = submit(client, lang="en", description="", complainant_email="", complainant_phone="")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert "Give an e-mail address or a phone number" in html
    assert 'id="description-error"' in html
    assert FORM["complainant_name"] in html  # what they typed is kept
    assert nothing_stored()


def test_attachments_are_checked(bank, client):
    resp = submit(client, lang="en", attachments=(io.BytesIO(HTML), "receipt.png"))
    assert resp.status_code == 400 and "not accepted" in resp.get_data(as_text=True)
    assert nothing_stored()
    ok = submit(client, attachments=(io.BytesIO(PNG), "../../收據.png"))
    assert ok.status_code == 303
    c = db.session.scalar(sa.select(Complaint))
    [att] = intake.uploads.attachments_of("complaint", c.id)
    assert att.filename == "收據.png" and att.uploaded_by_id is None


@pytest.mark.parametrize("app", [{"WTF_CSRF_ENABLED": True}], indirect=True)
def test_the_form_is_csrf_protected(bank, client):
    resp = submit(client)
    assert resp.status_code == 400 and nothing_stored()
    page = client.get("/complaint?lang=en").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    assert submit(client, csrf_token=token).status_code == 303
    assert count(Complaint) == 1


def test_submissions_are_rate_limited(bank, app, client):
    app.config["RATELIMIT_COMPLAINT"] = "2/minute"
    assert submit(client, complainant_email="a@example.test").status_code == 303
    assert submit(client, complainant_email="b@example.test", business_code="B01") \
        .status_code == 303
    refused = submit(client, complainant_email="c@example.test", business_code="B02")
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
    assert count(Complaint) == 2
    assert client.get("/complaint").status_code == 200  # reading the form is a separate limit


def test_every_public_page_is_rate_limited(bank, app, client):
    app.config["RATELIMIT_PUBLIC"] = "3/minute"
    codes = [client.get("/complaint-status/nope").status_code for _ in range(4)]
    assert codes == [404, 404, 404, 429]


def test_default_submission_limit_is_set(app):
    assert app.config["RATELIMIT_COMPLAINT"] == "10/hour"


# -- the status page ----------------------------------------------------------------------------

@pytest.fixture
def handled(bank):
    """A complaint in the middle of its handling, with internal data that must not leak."""
    from qms.complaints import history

    received = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
    with unit_of_work():
        c, token = intake.create_complaint(
            {"complainant_name": "陳大文", "complainant_email": "chan@example.test",
             "complainant_locale": "zh_Hant", "branch_code": "SH01", "channel_code": "A05",
             "business_code": "B03", "description": "手機銀行轉賬失敗"},
            actor=bank.officer, via="staff", now=received)
        c.assignee_id = bank.officer2.id
        c.status = "IN_INVESTIGATION"
        c.acknowledged_at = received
        c.decision_reasons = "内部备注：客户曾多次投诉，注意措辞"
        history.record(c, "note", actor=bank.officer2, reason="内部：核查监控录像",
                       from_status="IN_INVESTIGATION", to_status="IN_INVESTIGATION",
                       now=received)
    return c, token


def test_status_page_in_the_complainants_language_without_internal_data(handled, client):
    c, token = handled
    page = client.get(f"/complaint-status/{token}", headers={"Accept-Language": "en"})
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'lang="zh-Hant"' in html  # their language, not the browser's
    assert c.reference in html
    assert "銀行卡" in html  # the business type in Traditional Chinese
    assert "2026年3月2日" in html  # received, as dates are written in zh_Hant
    assert f"{c.due_on.year}年{c.due_on.month}月{c.due_on.day}日" in html  # the answer date
    assert 'aria-current="step"' in html
    for secret in ("投诉专员", "复核专员", "内部备注", "核查监控录像", "chan@example.test"):
        assert secret not in html
    # the switch on the page may change the language
    en = client.get(f"/complaint-status/{token}?lang=en").get_data(as_text=True)
    assert 'lang="en"' in en and "Bank cards" in en and "Mar 2, 2026" in en


def test_status_page_follows_the_stages(handled, client):
    c, token = handled
    c.status, c.response_issued_at = "RESPONSE_ISSUED", datetime(2026, 3, 10, 2, tzinfo=UTC)
    db.session.commit()
    html = client.get(f"/complaint-status/{token}?lang=en").get_data(as_text=True)
    current = re.search(r'<li class="[^"]*current"[^>]*>\s*<span class="stage-label">([^<]+)',
                        html).group(1)
    assert current == "Answer sent"
    assert "Mar 10, 2026" in html


def test_unknown_or_mangled_tokens_are_404(handled, client):
    _c, token = handled
    assert client.get("/complaint-status/" + token[:-1] + "x").status_code == 404
    assert client.get("/complaint-status/" + "a" * 300).status_code == 404
    assert client.get(f"/complaint-status/{token}").status_code == 200


def test_staff_intake_gives_a_status_link_too(bank, client, login):
    c = make(actor=bank.officer)
    token = intake.status_token_for(c)
    assert client.get(f"/complaint-status/{token}").status_code == 200
    page = login(bank.officer).get(f"/complaints/{c.id}").get_data(as_text=True)
    assert f"/complaint-status/{token}" in page

"""A customer answers a survey on a phone in Simplified Chinese: a validation error, then a
display condition, then the thank-you page — and the response is in the database."""

from __future__ import annotations

import sqlalchemy as sa

from qms.extensions import db as _db
from qms.surveys.models import Answer, FollowUp, Response
from tests.surveys.test_respond import create_personal_link


def test_answer_a_survey_on_a_phone_in_simplified_chinese(app, live_server, phone, make_branch):
    token, invitation = create_personal_link(branch=make_branch(), locale="zh_Hans")
    page = phone
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    # (the 400 of the refused submission is logged as a failed load: that one is expected)
    page.on("console", lambda msg: msg.type == "error" and "status of 400" not in msg.text
            and errors.append(msg.text))

    page.goto(f"{live_server}/s/{token}")
    assert page.locator("html").get_attribute("lang") == "zh-Hans"
    assert page.title() == "网点服务满意度调查"
    fits = page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert fits, "no sideways scrolling on a phone"

    # Sending without the required answers: the server's messages, next to the fields.
    page.locator("#q_csat_4").check()
    page.get_by_role("button", name="提交").click()
    page.wait_for_selector("#error-summary")
    assert page.locator("#err-nps").inner_text().endswith("此题为必答题。")
    assert page.locator("#q_nps_3").get_attribute("aria-describedby").endswith("err-nps")
    assert page.evaluate("document.activeElement.id") == "error-summary"
    assert page.locator("#q_csat_4").is_checked(), "what was answered is kept"
    page.locator("#error-summary a[href='#q-nps']").click()
    assert page.evaluate("document.activeElement.id") == "q_nps_0"

    # A detractor's score brings up the 'why' question (display condition, in the browser).
    why = page.locator("#q-why")
    assert why.is_hidden()
    page.locator("#q_nps_3").check()
    assert why.is_visible()
    page.locator("#q_nps_9").check()
    assert why.is_hidden()
    page.locator("#q_nps_3").check()
    page.get_by_label("请告诉我们原因。").fill("排队等了四十分钟。")
    page.locator("#q_purpose_deposit").check()
    # the keyboard works on the scales: arrow keys move along the radio group
    page.locator("#q_ces_5").focus()
    page.keyboard.press("ArrowRight")
    assert page.locator("#q_ces_6").is_checked()

    page.get_by_role("button", name="提交").click()
    page.wait_for_url(f"**/s/{token}/thanks**")
    assert "感谢您的反馈！" in page.locator("main").inner_text()
    assert not errors, errors

    _db.session.expire_all()
    response = _db.session.scalar(sa.select(Response))
    assert response is not None and response.invitation_id == invitation.id
    assert response.completed_at is not None and response.locale == "zh_Hans"
    answers = {a.question_key: a for a in _db.session.scalars(
        sa.select(Answer).where(Answer.response_id == response.id))}
    assert answers["why"].text_value == "排队等了四十分钟。"
    assert (answers["nps"].num_value, answers["csat"].num_value) == (3.0, 4.0)
    assert answers["ces"].num_value == 6.0
    assert _db.session.scalar(sa.select(FollowUp.reason)) == "detractor"


def test_the_survey_works_without_javascript(app, live_server, browser, make_branch):
    """No script: the server shows the question a detractor's score brings up before it
    completes the response."""
    token, _inv = create_personal_link(branch=make_branch(), locale="zh_Hans")
    context = browser.new_context(viewport={"width": 390, "height": 844},
                                  java_script_enabled=False, locale="zh-CN")
    page = context.new_page()
    try:
        page.goto(f"{live_server}/s/{token}")
        page.locator("#q_csat_2").check()
        page.locator("#q_nps_5").check()
        page.locator("#q_purpose_loan").check()
        assert page.locator("#q-why").is_hidden()
        page.get_by_role("button", name="提交").click()
        page.wait_for_load_state()
        assert page.locator("#q-why").is_visible()
        assert page.locator("#q_nps_5").is_checked()
        page.get_by_label("请告诉我们原因。").fill("没有人引导。")
        page.get_by_role("button", name="提交").click()
        page.wait_for_url(f"**/s/{token}/thanks**")
    finally:
        context.close()
    _db.session.expire_all()
    why = _db.session.scalar(sa.select(Answer.text_value).where(Answer.question_key == "why"))
    assert why == "没有人引导。"

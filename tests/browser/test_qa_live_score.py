"""A QA evaluator scores a call in Chromium: the live score follows each answer (the page's
script posts the form with its CSRF token), a failed critical item shows the auto-fail, and
the draft keeps what was chosen."""

# ruff: noqa: F811  (fixtures imported from qa_support are used as arguments)

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from qms.extensions import db as _db
from qms.qa.models import Evaluation
from tests.conftest import PASSWORD
from tests.qa.qa_support import make_evaluation, make_interaction, qa_world  # noqa: F401


@pytest.mark.parametrize("app", [{"WTF_CSRF_ENABLED": True}], indirect=True)
def test_the_score_follows_the_answers(app, live_server, browser, qa_world):
    from playwright.sync_api import expect

    w = qa_world
    item = make_evaluation(w.version, make_interaction(
        w.agent_a, at=datetime(2026, 3, 10, 2, tzinfo=UTC)), w.qa1)
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    context.set_default_timeout(10_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    # (the browser's own request for /favicon.ico, which the site does not have, is no error)
    page.on("console", lambda msg: msg.type == "error"
            and not msg.location.get("url", "").endswith("/favicon.ico")
            and errors.append(msg.text))
    try:
        page.goto(f"{live_server}/login")
        page.get_by_label("E-mail").fill(w.qa1.email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{live_server}/")

        page.goto(f"{live_server}/qa/evaluations/{item.id}")
        page.wait_for_url(f"**/qa/evaluations/{item.id}/score")
        score = page.locator("#live-score")
        assert score.inner_text() == "No score yet."
        # the interaction sits beside the rubric on a wide screen
        left = page.locator(".qa-interaction").bounding_box()
        right = page.locator(".qa-rubric").bounding_box()
        assert left["x"] + left["width"] <= right["x"]

        page.locator("#score-solve-5").check()            # 6 of 10
        expect(score).to_have_text(re.compile(r"^Score: 60\.0 "))
        assert "3 criteria not scored yet." in score.inner_text()
        assert page.locator("[data-section-score='resolution']").inner_text() == "60.0"
        page.locator("#score-greet_name-1").check()       # 5 of 5
        page.locator("#score-recap-na").check()           # N/A
        expect(score).to_have_text(re.compile(r"^Score: 72\.0 "))
        page.locator("#score-verify_id-2").check()        # no: a fail-all critical item
        expect(score).to_contain_text("Auto-fail")
        assert score.inner_text().startswith("Score: 0.0")
        page.locator("#score-verify_id-1").check()        # yes
        expect(score).to_have_text("Score: 72.0")

        page.get_by_role("button", name="Save draft").click()
        page.wait_for_selector(".flash-success")
        assert page.locator("#live-score").inner_text() == "Score: 72.0"
        assert page.locator("#score-solve-5").is_checked()
        assert not errors, errors
    finally:
        context.close()
    _db.session.expire_all()
    saved = _db.session.get(Evaluation, item.id)
    assert saved.status == "draft" and saved.answers["solve"]["score"] == 6

"""Evaluations: answers checked against the version, the score and criterion rows stored, the
live preview endpoint, release e-mails (real SMTP server and outbox), acknowledging."""

# ruff: noqa: F811  (fixtures imported from qa_support are used as arguments)

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from flask_babel import force_locale

from qms.extensions import db as _db
from qms.qa import evaluations as svc
from qms.qa import notices
from qms.qa.models import CriterionScore
from tests.qa.qa_support import (  # noqa: F401
    RELEASED_AT,
    answers,
    make_evaluation,
    make_interaction,
    qa_world,
    released,
)
from tests.surveys.campaign_support import body_text, outbox_messages, smtp_server  # noqa: F401

EN = {"Accept-Language": "en"}
AT = datetime(2026, 3, 10, 2, tzinfo=UTC)


@pytest.fixture
def item(qa_world):
    """An open queue item of agent BA-01 assigned to qa1."""
    interaction = make_interaction(qa_world.agent_a, at=AT)
    return make_evaluation(qa_world.version, interaction, qa_world.qa1)


def form_data(given: dict, feedback: str = "", action: str = "save") -> dict:
    data = {"feedback": feedback, action: "1"}
    for key, value in given.items():
        score = value["score"]
        data[f"score-{key}"] = {"yes": "5", "no": "0"}.get(score, str(score)) \
            if score is not None else ""
        data[f"comment-{key}"] = value.get("comment", "")
    return data


def refresh(obj):
    _db.session.expire_all()
    return _db.session.get(type(obj), obj.id)


# -- answers against the version --------------------------------------------------------------

@pytest.mark.parametrize("key, score, message", [
    ("verify_id", "na", "N/A is not allowed"),
    ("greet_name", 6, "from 0 to 5"),
    ("greet_name", -1, "from 0 to 5"),
    ("greet_name", 2.5, "from 0 to 5"),
    ("greet_name", "many", "from 0 to 5"),
    ("verify_id", 3, "yes or no"),
    ("verify_id", "maybe", "yes or no"),
])
def test_answers_that_the_version_cannot_take(app, qa_world, key, score, message):
    clean, errors = svc.clean_answers(qa_world.version.definition, answers(**{key: score}),
                                      complete=True)
    with force_locale("en"):
        assert list(errors) == [f"score-{key}"] and message in str(errors[f"score-{key}"])


def test_allowed_answers_are_stored_as_numbers(app, qa_world):
    given = answers(greet_name="na", verify_id="yes", solve="7", recap=3.0)
    clean, errors = svc.clean_answers(qa_world.version.definition, given, complete=True)
    assert errors == {}
    assert {k: v["score"] for k, v in clean.items()} == {
        "greet_name": "na", "verify_id": 5, "solve": 7, "recap": 3}
    assert clean["solve"]["comment"] == "comment on solve"


def test_a_draft_may_be_incomplete_a_submission_not(app, qa_world, item):
    partial = {"solve": {"score": 8, "comment": ""}}
    svc.save_draft(item, qa_world.qa1, partial, "先存草稿")
    _db.session.commit()
    assert (item.status, item.answers["solve"]["score"], item.feedback) == ("draft", 8, "先存草稿")
    assert item.total is None and item.submitted_at is None

    with pytest.raises(svc.EvaluationError) as exc:
        svc.submit_evaluation(item, qa_world.qa1, partial, "")
    assert set(exc.value.fields) == {"score-greet_name", "score-verify_id", "score-recap"}
    _db.session.rollback()
    with pytest.raises(svc.EvaluationError) as exc:
        svc.save_draft(item, qa_world.qa1, {"nope": {"score": 1}}, "")
    assert "" in exc.value.fields
    _db.session.rollback()
    assert refresh(item).status == "draft"


# -- the stored score -------------------------------------------------------------------------

@pytest.mark.parametrize("given, total, auto_failed", [
    # greeting 10/10 × 30 + resolution 6/10 (recap N/A) × 70 = 30 + 42
    (answers(solve=6, recap="na"), 72.0, False),
    # a critical "all" item answered no: everything is 0
    (answers(verify_id="no"), 0.0, True),
    # recap 2 < threshold 3 fails the resolution section: 30 + 0
    (answers(recap=2), 30.0, False),
    # greet N/A: greeting 5/5; resolution 14/15
    (answers(greet_name="na", solve=9), 30 + 70 * 14 / 15, False),
])
def test_submitting_stores_total_auto_fail_and_criterion_rows(app, qa_world, item, given, total,
                                                               auto_failed):
    now = datetime(2026, 3, 20, 8, tzinfo=UTC)
    svc.submit_evaluation(item, qa_world.qa1, given, "继续保持", now=now)
    _db.session.commit()
    item = refresh(item)
    assert item.status == "submitted" and item.submitted_at == now
    assert item.total == pytest.approx(total, abs=1e-3) and item.auto_failed is auto_failed
    assert item.feedback == "继续保持"
    rows = {r.criterion_key: r for r in _db.session.scalars(
        sa.select(CriterionScore).where(CriterionScore.evaluation_id == item.id))}
    assert list(rows) == ["greet_name", "verify_id", "solve", "recap"]
    for key, row in rows.items():
        score = item.answers[key]["score"]
        assert row.section_key == ("greeting" if key in ("greet_name", "verify_id")
                                   else "resolution")
        assert row.possible == {"greet_name": 5, "verify_id": 5, "solve": 10, "recap": 5}[key]
        assert row.na is (score == "na")
        assert row.earned == (None if score == "na" else float(score))
        assert row.failed is (score != "na" and score < row.possible)


def test_one_submission_only_and_only_by_the_assigned_evaluator(app, qa_world, item):
    with pytest.raises(svc.EvaluationError):
        svc.submit_evaluation(item, qa_world.qa2, answers(), "")  # assigned to qa1
    _db.session.rollback()
    svc.submit_evaluation(item, qa_world.qa1, answers(), "")
    _db.session.commit()
    with pytest.raises(svc.EvaluationError):
        svc.submit_evaluation(item, qa_world.qa1, answers(solve=1), "")
    _db.session.rollback()
    assert refresh(item).total == 100.0


def test_an_unassigned_item_goes_to_whoever_saves_it(app, qa_world):
    item = make_evaluation(qa_world.version, make_interaction(qa_world.agent_a, at=AT))
    svc.save_draft(item, qa_world.qa2, {}, "")
    _db.session.commit()
    assert refresh(item).evaluator_id == qa_world.qa2.id
    assert not svc.can_score(qa_world.qa1, refresh(item))


def test_nobody_evaluates_their_own_interaction(app, qa_world, make_user):
    grader = make_user("qa", email="self@bank.test")
    qa_world.agent_user_a.agent_id = None
    _db.session.flush()
    grader.agent_id = qa_world.agent_a.id
    _db.session.commit()
    item = make_evaluation(qa_world.version, make_interaction(qa_world.agent_a, at=AT), grader)
    with pytest.raises(svc.EvaluationError) as exc:
        svc.submit_evaluation(item, grader, answers(), "")
    with force_locale("en"):
        assert "own" in str(exc.value.fields[""])


# -- the pages --------------------------------------------------------------------------------

def test_the_form_shows_the_interaction_beside_the_rubric(app, login, qa_world, item):
    page = login(qa_world.qa1).get(f"/qa/evaluations/{item.id}", headers=EN,
                                   follow_redirects=True)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    for text in ("客户咨询信用卡账单分期。", "https://recordings.bank.test/r/1", "坐席：您好……",
                 "5:00", "BA-01", "Greets by name", "Warm greeting by name", 'name="score-greet_name"',
                 'value="na"', 'name="comment-solve"', 'name="feedback"',
                 "Critical: fails the whole evaluation", 'data-preview-url="/qa/evaluations/'):
        assert text in html, text
    # yes/no items offer yes (max points) and no; N/A only where allowed
    assert 'id="score-verify_id-na"' not in html
    assert re.search(r'<script src="/static/qa_score.js"', html)
    assert "<script>" not in html and "style=" not in html  # CSP: 'self' scripts and styles
    assert page.headers["Content-Security-Policy"].count("script-src 'self'") == 1


def test_save_draft_then_the_score_shows_without_javascript(app, login, qa_world, item):
    c = login(qa_world.qa1)
    resp = c.post(f"/qa/evaluations/{item.id}/score",
                  data=form_data(answers(solve=6, recap="na")), headers=EN)
    assert resp.status_code == 302
    assert refresh(item).status == "draft"
    page = c.get(f"/qa/evaluations/{item.id}/score", headers=EN).get_data(as_text=True)
    assert "Score: 72.0" in page
    assert 'value="6" checked' in page


def test_a_bad_answer_is_shown_beside_its_criterion(app, login, qa_world, item):
    c = login(qa_world.qa1)
    data = form_data(answers())
    data["score-verify_id"] = "na"
    resp = c.post(f"/qa/evaluations/{item.id}/score", data=data, headers=EN)
    assert resp.status_code == 400
    html = resp.get_data(as_text=True)
    assert 'id="score-verify_id-error"' in html and "N/A is not allowed" in html
    assert refresh(item).status == "assigned"


def test_live_preview_endpoint(app, login, qa_world, item):
    c = login(qa_world.qa1)
    url = f"/qa/evaluations/{item.id}/preview"
    partial = c.post(url, data={"score-solve": "6", "score-greet_name": "5"}, headers=EN)
    assert partial.status_code == 200 and partial.is_json
    body = partial.get_json()
    # greeting 5/5 (verify unanswered), resolution 6/10 (recap unanswered): 30 + 42
    assert body["total"] == 72.0 and body["auto_failed"] is False
    assert body["missing"] == ["verify_id", "recap"]
    assert "Score: 72.0" in body["text"] and "2 criteria not scored yet" in body["text"]
    assert body["sections"] == {"greeting": "100.0", "resolution": "60.0"}

    failed = c.post(url, data=form_data(answers(verify_id="no")), headers=EN).get_json()
    assert failed["total"] == 0 and failed["auto_failed"] is True
    assert "Auto-fail" in failed["text"]

    bad = c.post(url, data={"score-greet_name": "9"}, headers=EN)
    assert bad.status_code == 400
    assert set(bad.get_json()) == {"error", "fields"}
    assert "score-greet_name" in bad.get_json()["fields"]
    assert refresh(item).status == "assigned" and refresh(item).answers is None


@pytest.mark.parametrize("app", [{"WTF_CSRF_ENABLED": True}], indirect=True)
def test_live_preview_needs_the_forms_csrf_token(app, login, qa_world, item):
    c = login(qa_world.qa1)
    page = c.get(f"/qa/evaluations/{item.id}/score").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page) or \
        re.search(r'name="csrf_token" value="([^"]+)"', page)
    url = f"/qa/evaluations/{item.id}/preview"
    assert c.post(url, data={"score-solve": "6"}).status_code == 400
    ok = c.post(url, data={"score-solve": "6"}, headers={"X-CSRFToken": token.group(1)})
    assert ok.status_code == 200 and ok.get_json()["total"] == 60.0
    in_form = c.post(url, data={"score-solve": "6", "csrf_token": token.group(1)})
    assert in_form.status_code == 200


def test_the_script_is_served(app, client):
    js = client.get("/static/qa_score.js")
    assert js.status_code == 200 and b"data-preview-url" in js.data and b"X-CSRFToken" in js.data


# -- release e-mails --------------------------------------------------------------------------

def test_submitting_emails_the_agent_over_smtp_after_the_commit(app, login, qa_world, item,
                                                               smtp_server):
    qa_world.agent_user_a.locale = "en"
    _db.session.commit()
    resp = login(qa_world.qa1).post(f"/qa/evaluations/{item.id}/score",
                                    data=form_data(answers(solve=6), "很好", "submit"))
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/qa/queue")
    assert refresh(item).status == "submitted"
    assert smtp_server.recipients() == ["agent.a@bank.test"]
    msg = smtp_server.messages[0]
    assert msg["Subject"] == "Your QA evaluation is ready"
    assert msg["X-QMS-Evaluation"] == str(item.id)
    text = body_text(msg)
    assert f"/qa/evaluations/{item.id}" in text and "Score: " in text
    assert "dispute it until" in text


def test_without_smtp_the_email_goes_to_the_outbox(app, qa_world, item):
    released_item = item
    svc.submit_evaluation(released_item, qa_world.qa1, answers(), "")
    assert outbox_messages(app) == []   # nothing before the commit
    _db.session.commit()
    assert notices.send_notices() == 1
    msgs = outbox_messages(app)
    assert [str(m["To"]) for m in msgs] == ["agent.a@bank.test"]
    assert notices.send_notices() == 0


def test_a_rolled_back_submission_sends_nothing(app, qa_world, item):
    svc.submit_evaluation(item, qa_world.qa1, answers(), "")
    _db.session.rollback()
    assert notices.send_notices() == 0 and outbox_messages(app) == []


def test_an_agent_without_a_login_gets_no_email(app, qa_world):
    item = make_evaluation(qa_world.version, make_interaction(qa_world.agent_a2, at=AT),
                           qa_world.qa1)
    qa_world.agent_user_a2.agent_id = None
    _db.session.commit()
    svc.submit_evaluation(item, qa_world.qa1, answers(), "")
    _db.session.commit()
    assert notices.send_notices() == 0


# -- the agent's side -------------------------------------------------------------------------

def test_the_agent_sees_the_release_in_the_app_and_acknowledges_it(app, login, qa_world):
    w = qa_world
    ev = released(w.version, make_interaction(w.agent_a, at=AT), w.qa1, answers(solve=6))
    c = login(w.agent_user_a)
    listing = c.get("/qa/queue", headers=EN).get_data(as_text=True)
    assert "1 new evaluation to read and acknowledge." in listing
    assert f"/qa/evaluations/{ev.id}" in listing
    page = c.get(f"/qa/evaluations/{ev.id}", headers=EN).get_data(as_text=True)
    assert "I have read this evaluation" in page and "总体不错" in page
    assert "comment on solve" in page and "Below full marks" in page
    resp = c.post(f"/qa/evaluations/{ev.id}/acknowledge")
    assert resp.status_code == 303
    ev = refresh(ev)
    assert ev.status == "acknowledged" and ev.acknowledged_at is not None
    again = c.post(f"/qa/evaluations/{ev.id}/acknowledge", headers=EN, follow_redirects=True)
    assert "not waiting for your acknowledgement" in again.get_data(as_text=True)
    assert "new evaluation" not in c.get("/qa/queue", headers=EN).get_data(as_text=True)


def test_only_the_evaluated_agent_acknowledges(app, login, qa_world):
    w = qa_world
    ev = released(w.version, make_interaction(w.agent_a, at=AT), w.qa1, answers())
    other = login(w.agent_user_a2).post(f"/qa/evaluations/{ev.id}/acknowledge")
    assert other.status_code == 404
    with pytest.raises(svc.EvaluationError):
        svc.acknowledge_evaluation(ev, w.agent_user_a2)
    _db.session.rollback()
    assert login(w.qa1, app.test_client()).post(
        f"/qa/evaluations/{ev.id}/acknowledge").status_code == 403
    assert refresh(ev).status == "submitted"


def test_an_unreleased_evaluation_cannot_be_acknowledged(app, qa_world, item):
    with pytest.raises(svc.EvaluationError):
        svc.acknowledge_evaluation(item, qa_world.agent_user_a)
    _db.session.rollback()


def test_the_queue_lists_the_graders_open_items(app, login, qa_world, item):
    w = qa_world
    other = make_evaluation(w.version, make_interaction(w.agent_b, at=AT), w.qa2)
    c = login(w.qa1)
    mine = c.get("/qa/queue").get_data(as_text=True)
    assert f"/qa/evaluations/{item.id}\"" in mine and f"/qa/evaluations/{other.id}\"" not in mine
    everyone = c.get("/qa/queue?assignee=all").get_data(as_text=True)
    assert f"/qa/evaluations/{other.id}\"" in everyone
    done = c.get("/qa/queue?status=released").get_data(as_text=True)
    assert f"/qa/evaluations/{item.id}\"" not in done
    by_agent = c.get("/qa/queue?assignee=all&q=BB-01").get_data(as_text=True)
    assert f"/qa/evaluations/{other.id}\"" in by_agent
    assert f"/qa/evaluations/{item.id}\"" not in by_agent
    assert RELEASED_AT  # the shared release time is used by the dispute tests

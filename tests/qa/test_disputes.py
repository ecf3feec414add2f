"""Disputes: the window (QA_DISPUTE_DAYS, the bank's calendar), only criteria below full marks,
a comment, one at a time; accepted and partly accepted re-score with history, rejected leaves
the score; the evaluator never reviews their own; after a decision the evaluation is locked."""

# ruff: noqa: F811  (fixtures imported from qa_support are used as arguments)

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from qms.extensions import db as _db
from qms.qa import disputes as dsp
from qms.qa import evaluations as svc
from qms.qa.models import CriterionScore, Dispute, EvaluationRevision
from tests.qa.qa_support import (  # noqa: F401
    RELEASED_AT,
    answers,
    make_interaction,
    qa_world,
    released,
)
from tests.surveys.campaign_support import body_text, outbox_messages

EN = {"Accept-Language": "en"}
SOON = RELEASED_AT + timedelta(days=1)

# Released at 10:00 on 2 April 2026 in Shanghai (02:00 UTC): 14 days end with 16 April.
DAY_14_LATE = datetime(2026, 4, 16, 15, 30, tzinfo=UTC)    # 23:30 on 16 April in Shanghai
DAY_15_EARLY = datetime(2026, 4, 16, 16, 30, tzinfo=UTC)   # 00:30 on 17 April in Shanghai


@pytest.fixture
def scored(qa_world):
    """Agent BA-01's evaluation by qa1: solve 6/10 and recap 4/5 below full marks, greet N/A.
    Total: greeting 5/5 × 30 + resolution 10/15 × 70 = 76.67."""
    w = qa_world
    interaction = make_interaction(w.agent_a, at=datetime(2026, 3, 20, 2, tzinfo=UTC))
    return released(w.version, interaction, w.qa1, answers(greet_name="na", solve=6, recap=4))


@pytest.fixture
def scored_lately(qa_world):
    """As `scored`, released an hour ago by the real clock (the pages use it)."""
    from qms.core.db import now_utc

    w = qa_world
    interaction = make_interaction(w.agent_a, at=datetime(2026, 3, 20, 2, tzinfo=UTC))
    return released(w.version, interaction, w.qa1, answers(greet_name="na", solve=6, recap=4),
                    at=now_utc() - timedelta(hours=1))


def raise_(evaluation, user, criteria=("solve",), comment="客户问题已经解决，应给满分", now=SOON):
    dispute = dsp.raise_dispute(evaluation, user, list(criteria), comment, now=now)
    _db.session.commit()
    return dispute


def refused(func, *args, **kw) -> dict:
    """The refusal's field messages, rendered in English for the assertions."""
    from flask_babel import force_locale

    with pytest.raises(dsp.DisputeError) as exc:
        func(*args, **kw)
    _db.session.rollback()
    with force_locale("en"):
        return {k: str(v) for k, v in exc.value.fields.items()}


def fresh(obj):
    _db.session.expire_all()
    return _db.session.get(type(obj), obj.id)


# -- raising ----------------------------------------------------------------------------------

def test_day_14_is_in_time_day_15_is_not(app, qa_world, scored):
    w = qa_world
    assert dsp.dispute_deadline(scored).isoformat() == "2026-04-16"
    late = refused(dsp.raise_dispute, scored, w.agent_user_a, ["solve"], "迟到", now=DAY_15_EARLY)
    assert "passed" in str(late[""])
    dispute = raise_(scored, w.agent_user_a, now=DAY_14_LATE)
    assert dispute.status == "open" and dispute.raised_at == DAY_14_LATE


@pytest.mark.parametrize("app", [{"QA_DISPUTE_DAYS": 3}], indirect=True)
def test_the_window_is_configurable(app, qa_world, scored):
    assert dsp.dispute_deadline(scored).isoformat() == "2026-04-05"
    assert refused(dsp.raise_dispute, scored, qa_world.agent_user_a, ["solve"], "x",
                   now=RELEASED_AT + timedelta(days=4))
    assert raise_(scored, qa_world.agent_user_a, now=RELEASED_AT + timedelta(days=3))


def test_only_criteria_below_full_marks(app, qa_world, scored):
    user = qa_world.agent_user_a
    assert dsp.disputable_criteria(scored) == ["solve", "recap"]
    for criteria in (["verify_id"], ["greet_name"], ["solve", "verify_id"], ["nope"]):
        fields = refused(dsp.raise_dispute, scored, user, criteria, "不同意", now=SOON)
        assert "criteria" in fields, criteria
    assert "criteria" in refused(dsp.raise_dispute, scored, user, [], "不同意", now=SOON)
    dispute = raise_(scored, user, criteria=("recap", "solve"))
    assert dispute.criteria == ["solve", "recap"]  # rubric order


def test_a_comment_is_required(app, qa_world, scored):
    for comment in (None, "", "   "):
        fields = refused(dsp.raise_dispute, scored, qa_world.agent_user_a, ["solve"], comment,
                         now=SOON)
        assert "comment" in fields
    assert _db.session.scalar(sa.select(sa.func.count()).select_from(Dispute)) == 0


def test_only_the_evaluated_agent_and_one_open_dispute_at_a_time(app, qa_world, scored):
    w = qa_world
    for user in (w.agent_user_a2, w.qa2, w.head_a):
        assert "" in refused(dsp.raise_dispute, scored, user, ["solve"], "x", now=SOON)
    raise_(scored, w.agent_user_a)
    again = refused(dsp.raise_dispute, scored, w.agent_user_a, ["recap"], "还有", now=SOON)
    assert "already open" in str(again[""])


def test_a_full_marks_evaluation_has_nothing_to_dispute(app, qa_world):
    w = qa_world
    perfect = released(w.version, make_interaction(w.agent_a, at=RELEASED_AT), w.qa1, answers())
    assert "nothing to dispute" in str(refused(dsp.raise_dispute, perfect, w.agent_user_a,
                                               ["solve"], "x", now=SOON)[""])


# -- deciding ---------------------------------------------------------------------------------

def test_accepting_re_scores_and_keeps_the_old_score(app, qa_world, scored):
    w = qa_world
    dispute = raise_(scored, w.agent_user_a, criteria=("solve",))
    old_total, old_answers = scored.total, dict(scored.answers)
    assert old_total == pytest.approx(30 + 70 * 10 / 15)
    decided_at = SOON + timedelta(days=1)
    dsp.decide_dispute(dispute, w.qa2, "accepted", {"solve": {"score": 10, "comment": "复核后满分"}},
                       "录音显示问题已解决", now=decided_at)
    _db.session.commit()
    ev, dispute = fresh(scored), fresh(dispute)
    assert ev.total == pytest.approx(30 + 70 * 14 / 15) and ev.locked
    assert ev.answers["solve"] == {"score": 10, "comment": "复核后满分"}
    assert ev.answers["recap"] == old_answers["recap"]
    assert (dispute.status, dispute.reviewer_id, dispute.decided_at, dispute.decision_note) == (
        "accepted", w.qa2.id, decided_at, "录音显示问题已解决")
    [rev] = _db.session.scalars(sa.select(EvaluationRevision)).all()
    assert (rev.evaluation_id, rev.by_id, rev.old_total, rev.new_total, rev.old_auto_failed) == (
        ev.id, w.qa2.id, old_total, ev.total, False)
    assert rev.old_answers == old_answers
    solve = _db.session.scalar(sa.select(CriterionScore).where(
        CriterionScore.evaluation_id == ev.id, CriterionScore.criterion_key == "solve"))
    assert (solve.earned, solve.failed) == (10.0, False)
    assert _db.session.scalar(sa.select(sa.func.count()).select_from(CriterionScore)) == 4


def test_partly_accepting_changes_some_of_the_disputed_criteria(app, qa_world, scored):
    w = qa_world
    dispute = raise_(scored, w.agent_user_a, criteria=("solve", "recap"))
    dsp.decide_dispute(dispute, w.qa2, "partly_accepted", {"solve": {"score": 8}},
                       "解决部分属实，复述不完整", now=SOON)
    _db.session.commit()
    ev = fresh(scored)
    assert ev.answers["solve"]["score"] == 8 and ev.answers["recap"]["score"] == 4
    assert ev.answers["solve"]["comment"] == "comment on solve"  # kept when none given
    assert ev.total == pytest.approx(30 + 70 * 12 / 15) and ev.locked
    assert fresh(dispute).status == "partly_accepted"
    assert len(dsp.revisions_of(ev)) == 1


def test_accepting_without_a_change_or_beyond_the_dispute_is_refused(app, qa_world, scored):
    w = qa_world
    dispute = raise_(scored, w.agent_user_a, criteria=("solve",))
    assert "outcome" in refused(dsp.decide_dispute, dispute, w.qa2, "accepted", {}, "好")
    assert "outcome" in refused(dsp.decide_dispute, dispute, w.qa2, "accepted",
                                {"solve": {"score": 6}}, "好")
    assert "" in refused(dsp.decide_dispute, dispute, w.qa2, "accepted",
                         {"recap": {"score": 5}}, "好")
    assert "score-solve" in refused(dsp.decide_dispute, dispute, w.qa2, "accepted",
                                    {"solve": {"score": 11}}, "好")
    assert "note" in refused(dsp.decide_dispute, dispute, w.qa2, "rejected", None, " ")
    assert "outcome" in refused(dsp.decide_dispute, dispute, w.qa2, "maybe", None, "好")
    assert fresh(dispute).status == "open" and not fresh(scored).locked


def test_rejecting_leaves_the_score_and_locks(app, qa_world, scored):
    w = qa_world
    dispute = raise_(scored, w.agent_user_a)
    before = (scored.total, dict(scored.answers))
    dsp.decide_dispute(dispute, w.qa2, "rejected", {"solve": {"score": 10}}, "评分无误",
                       now=SOON)
    _db.session.commit()
    ev = fresh(scored)
    assert (ev.total, ev.answers) == before and ev.locked
    assert fresh(dispute).status == "rejected"
    assert dsp.revisions_of(ev) == []


def test_the_evaluator_never_reviews_their_own(app, qa_world, scored, make_user):
    w = qa_world
    dispute = raise_(scored, w.agent_user_a)
    for reviewer in (w.qa1, w.agent_user_a, w.head_a, make_user("auditor")):
        assert "" in refused(dsp.decide_dispute, dispute, reviewer, "rejected", None, "无误")
    south = make_user("qa", region="华南", email="south@bank.test")  # BA is not in their scope
    assert "" in refused(dsp.decide_dispute, dispute, south, "rejected", None, "无误")
    admin = make_user("admin")
    dsp.decide_dispute(dispute, admin, "rejected", None, "无误", now=SOON)
    _db.session.commit()
    assert fresh(dispute).reviewer_id == admin.id


def test_a_dispute_is_decided_once(app, qa_world, scored, make_user):
    w = qa_world
    dispute = raise_(scored, w.agent_user_a)
    dsp.decide_dispute(dispute, w.qa2, "rejected", None, "无误", now=SOON)
    _db.session.commit()
    assert "" in refused(dsp.decide_dispute, dispute, make_user("admin"), "accepted",
                         {"solve": {"score": 10}}, "改判")
    assert fresh(dispute).status == "rejected"


def test_a_locked_evaluation_refuses_disputes_and_edits(app, qa_world, scored):
    w = qa_world
    dispute = raise_(scored, w.agent_user_a)
    dsp.decide_dispute(dispute, w.qa2, "rejected", None, "无误", now=SOON)
    _db.session.commit()
    locked = refused(dsp.raise_dispute, scored, w.agent_user_a, ["recap"], "再申诉", now=SOON)
    assert "locked" in str(locked[""])
    with pytest.raises(svc.EvaluationError):
        svc.save_draft(scored, w.qa1, answers(), "")
    _db.session.rollback()
    assert not svc.can_score(w.qa1, fresh(scored))


# -- pages ------------------------------------------------------------------------------------

def test_the_agent_raises_a_dispute_from_the_evaluation_page(app, login, qa_world,
                                                             scored_lately):
    w, scored = qa_world, scored_lately
    c = login(w.agent_user_a)
    page = c.get(f"/qa/evaluations/{scored.id}", headers=EN).get_data(as_text=True)
    assert "Dispute a score" in page and 'value="solve"' in page and 'value="recap"' in page
    assert 'value="verify_id"' not in page
    missing = c.post(f"/qa/evaluations/{scored.id}/dispute", data={"criteria": ["solve"]},
                     headers=EN)
    assert missing.status_code == 400
    assert "Explain why you dispute the score." in missing.get_data(as_text=True)
    ok = c.post(f"/qa/evaluations/{scored.id}/dispute",
                data={"criteria": ["solve"], "comment": "问题已解决"})
    assert ok.status_code == 303
    page = c.get(f"/qa/evaluations/{scored.id}", headers=EN).get_data(as_text=True)
    assert "already open" in page and "Dispute a score" not in page


def test_the_reviewer_decides_on_the_review_page_and_the_agent_is_told(app, login, qa_world,
                                                                        scored_lately):
    w, scored = qa_world, scored_lately
    w.agent_user_a.locale = "en"
    _db.session.commit()
    dispute = raise_(scored, w.agent_user_a, criteria=("solve", "recap"), now=None)
    own = login(w.qa1)
    assert own.get(f"/qa/disputes/{dispute.id}").status_code == 403
    listing = own.get("/qa/disputes", headers=EN).get_data(as_text=True)
    assert "another reviewer decides" in listing

    c = login(w.qa2, app.test_client())
    assert f"/qa/disputes/{dispute.id}" in c.get("/qa/disputes").get_data(as_text=True)
    page = c.get(f"/qa/disputes/{dispute.id}", headers=EN).get_data(as_text=True)
    assert "问题已经解决" in page or "客户问题已经解决" in page
    assert 'name="score-solve"' in page and 'type="hidden" name="score-verify_id"' in page
    no_note = c.post(f"/qa/disputes/{dispute.id}",
                     data={"outcome": "accepted", "score-solve": "10", "score-recap": "4"},
                     headers=EN)
    assert no_note.status_code == 400
    assert "Give the reasons for the decision." in no_note.get_data(as_text=True)
    done = c.post(f"/qa/disputes/{dispute.id}", data={
        "outcome": "partly_accepted", "score-solve": "10", "score-recap": "4",
        "comment-solve": "复核", "comment-recap": "", "note": "解决属实"})
    assert done.status_code == 303
    ev = fresh(scored)
    assert ev.locked and ev.answers["solve"]["score"] == 10
    msgs = [m for m in outbox_messages(app)
            if m["Subject"] == "The decision on your QA evaluation dispute"]
    assert [str(m["To"]) for m in msgs] == ["agent.a@bank.test"]
    assert "Partly accepted" in body_text(msgs[0]) and "解决属实" in body_text(msgs[0])
    # the history is on the evaluation page, and the review page now leads there
    history = c.get(f"/qa/evaluations/{scored.id}", headers=EN).get_data(as_text=True)
    assert "Re-scored" in history and "解决属实" in history and "Locked" in history
    assert c.get(f"/qa/disputes/{dispute.id}").status_code == 302


def test_dispute_pages_are_for_reviewers(app, login, qa_world, scored):
    w = qa_world
    dispute = raise_(scored, w.agent_user_a)
    for user in (w.agent_user_a, w.head_a):
        c = login(user, app.test_client())
        assert c.get("/qa/disputes").status_code == 403
        assert c.get(f"/qa/disputes/{dispute.id}").status_code == 403
    other = login(w.agent_user_a2, app.test_client())
    assert other.post(f"/qa/evaluations/{scored.id}/dispute",
                      data={"criteria": ["solve"], "comment": "x"}).status_code == 404

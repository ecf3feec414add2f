"""Review of mystery-shop reports: only approved reports count; an approved report is locked;
a correction is a new event that keeps the history; a returned report is corrected and sent
again by its shopper."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from qms.auth.models import User
from qms.core.tx import unit_of_work
from qms.extensions import db as _db
from qms.mystery import portal, review
from qms.mystery.models import ShopAssignment, ShopItemScore, ShopReview
from tests.mystery.test_portal import fresh, full_form

NOW = datetime(2026, 3, 4, 8, 0, tzinfo=UTC)


@pytest.fixture
def submitted(make_assignment):
    """submitted(**answers) -> a report submitted with full marks but for the overrides."""

    def make(assignment=None, **overrides):
        a = assignment or make_assignment(status="accepted")
        with unit_of_work():
            portal.submit_report(a, _db.session.get(User, a.shopper_id), full_form(**overrides),
                                 now=NOW)
        return fresh(a)

    return make


def items(a) -> dict[str, ShopItemScore]:
    _db.session.expire_all()
    return {r.item_key: r for r in _db.session.scalars(
        sa.select(ShopItemScore).where(ShopItemScore.assignment_id == a.id))}


def test_only_approved_reports_count(make_user, submitted):
    qa = make_user("qa")
    waiting = submitted(greet="no")
    rejected = submitted()
    approved = submitted(greet="no", product="fair")
    assert waiting.score is not None and items(waiting) == {}  # scored, but not counted

    with unit_of_work():
        review.reject_report(rejected, qa, "The visit was outside the window.", now=NOW)
        review.approve_report(approved, qa, now=NOW)
    assert fresh(rejected).status == "rejected" and fresh(rejected).approved_at is None
    assert items(rejected) == {}
    a = fresh(approved)
    assert a.status == "approved" and a.approved_at == NOW
    rows = items(a)
    assert set(rows) == {"greet", "wait_ok", "clean", "needs", "disclosure", "product",
                         "followup"}
    assert rows["greet"].missed and rows["greet"].earned == 0 and rows["greet"].possible == 2
    assert rows["product"].earned == pytest.approx(1.5) and rows["product"].missed
    assert not rows["disclosure"].missed and rows["disclosure"].branch_id == a.branch_id
    # only the approved report has item rows: results over them count it alone
    counted = _db.session.scalars(sa.select(ShopItemScore.assignment_id).distinct()).all()
    assert counted == [a.id]
    # a rejected report needs a reason
    with pytest.raises(review.ReviewError):
        review.reject_report(fresh(waiting), qa, "  ")


def test_an_approved_report_is_locked(make_user, submitted):
    qa, other_qa = make_user("qa"), make_user("qa")
    a = submitted()
    shopper = _db.session.get(User, a.shopper_id)
    with unit_of_work():
        review.approve_report(a, qa, now=NOW)
    for attempt in (lambda: portal.save_report(fresh(a), shopper, full_form(greet="no")),
                    lambda: portal.submit_report(fresh(a), shopper, full_form(greet="no"))):
        with pytest.raises(portal.PortalError):
            attempt()
    for attempt in (lambda: review.approve_report(fresh(a), other_qa),
                    lambda: review.return_report(fresh(a), other_qa, "again", {}),
                    lambda: review.reject_report(fresh(a), other_qa, "no")):
        with pytest.raises(review.ReviewError):
            attempt()
    _db.session.rollback()
    assert fresh(a).status == "approved" and fresh(a).answers["greet"] is True
    assert len(review.history(fresh(a))) == 1


def test_a_correction_is_a_new_event_and_keeps_the_history(make_user, submitted, login):
    qa, corrector = make_user("qa"), make_user("qa")
    a = submitted()
    with unit_of_work():
        first = review.approve_report(a, qa, now=NOW)
    assert fresh(a).score == pytest.approx(100.0)
    first_row = (first.id, first.decision, first.score_after, first.comment)

    later = datetime(2026, 3, 5, 8, 0, tzinfo=UTC)
    with pytest.raises(review.ReviewError):   # a correction needs its reason
        review.correct_report(fresh(a), corrector, full_form(greet="no"), "")
    with pytest.raises(review.ReviewError):   # and a change
        review.correct_report(fresh(a), corrector, full_form(), "nothing")
    _db.session.rollback()
    with unit_of_work():
        review.correct_report(fresh(a), corrector, full_form(greet="no"),
                              "The CCTV shows no greeting.", now=later)
    corrected = fresh(a)
    assert corrected.status == "approved" and corrected.answers["greet"] is False
    assert corrected.approved_at == NOW  # still approved from the first decision
    assert corrected.score < 100
    assert items(corrected)["greet"].missed

    history = review.history(corrected)
    assert [r.decision for r in history] == ["approve", "correction"]
    kept = history[0]
    assert (kept.id, kept.decision, kept.score_after, kept.comment) == first_row
    fix = history[1]
    assert fix.reviewer_id == corrector.id and fix.created_at == later
    assert fix.score_before == pytest.approx(100.0)
    assert fix.score_after == pytest.approx(corrected.score)
    assert fix.question_comments == {"greet": "yes → no"}

    # The report page shows the trail; a further correction goes through the web form.
    c = login(qa)
    page = c.get(f"/mystery/review/{a.id}").get_data(as_text=True)
    assert "The CCTV shows no greeting." in page and "yes → no" in page
    form = c.get(f"/mystery/review/{a.id}/correct")
    assert form.status_code == 200 and 'id="q_greet_no" value="no" checked' in form.get_data(
        as_text=True)
    resp = c.post(f"/mystery/review/{a.id}/correct", data={**full_form(greet="no", wait_ok="2"),
                                                          "reason": ""})
    assert resp.status_code == 400 and fresh(a).answers["wait_ok"] == 4
    resp = c.post(f"/mystery/review/{a.id}/correct",
                  data={**full_form(greet="no", wait_ok="2"), "reason": "Timed on video."})
    assert resp.status_code == 303 and fresh(a).answers["wait_ok"] == 2
    assert [r.decision for r in review.history(fresh(a))] == ["approve", "correction",
                                                               "correction"]
    assert review.history(fresh(a))[1].question_comments == {"greet": "yes → no"}


def test_return_then_resubmit_then_approve(make_user, submitted, login):
    qa = make_user("qa")
    a = submitted(greet="no")
    shopper = _db.session.get(User, a.shopper_id)
    with pytest.raises(review.ReviewError):  # returning needs a comment
        review.return_report(a, qa, "", {})
    c = login(qa)
    resp = c.post(f"/mystery/review/{a.id}/decide",
                  data={"decision": "return", "comment": "",
                        "c_greet": "The photo shows the greeter at the door: check again."})
    assert resp.status_code == 303
    returned = fresh(a)
    assert returned.status == "returned"
    [ret] = review.history(returned)
    assert ret.decision == "return"
    assert ret.question_comments == {
        "greet": "The photo shows the greeter at the door: check again."}

    sc = login(shopper, c)
    page = sc.get(f"/mystery/my/{a.id}/report").get_data(as_text=True)
    assert "The photo shows the greeter at the door: check again." in page
    resp = sc.post(f"/mystery/my/{a.id}/report", data={"action": "save", **full_form()})
    assert resp.status_code == 303 and fresh(a).status == "returned"  # saved, still returned
    resp = sc.post(f"/mystery/my/{a.id}/report", data={"action": "submit", **full_form()})
    assert resp.status_code == 303
    again = fresh(a)
    assert again.status == "submitted" and again.answers["greet"] is True

    qc = login(qa, c)
    assert qc.post(f"/mystery/review/{a.id}/decide",
                   data={"decision": "approve"}).status_code == 303
    done = fresh(a)
    assert done.status == "approved" and done.score == pytest.approx(100.0)
    assert [r.decision for r in review.history(done)] == ["return", "approve"]
    assert _db.session.scalar(sa.select(sa.func.count()).select_from(ShopReview)) == 2


def test_the_queue_filters_and_scopes_reports(make_user, submitted, make_branch,
                                              make_assignment, login):
    far = make_branch(region="华南")
    here = submitted()
    there = submitted(assignment=make_assignment(status="accepted", branch=far))
    make_assignment(status="accepted")  # never submitted: not in any queue
    everyone = make_user("qa")
    regional = make_user("qa", region="华东")
    assert {x.id for x in review.review_queue(everyone)} == {here.id, there.id}
    assert [x.id for x in review.review_queue(regional)] == [here.id]
    assert [x.id for x in review.review_queue(everyone, branch_id=far.id)] == [there.id]
    assert review.review_queue(everyone, status="approved") == []
    page = login(regional).get("/mystery/review").get_data(as_text=True)
    assert here.branch.name in page and far.name not in page
    assert login(regional).get(f"/mystery/review/{there.id}").status_code == 404
    assert login(everyone).get(f"/mystery/review/{there.id}").status_code == 200
    _db.session.expire_all()
    assert _db.session.get(ShopAssignment, there.id).status == "submitted"

"""The shopper portal: a shopper reaches only their own assignments; accept / decline; save
and resume; submit checks every answer against the survey version."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from qms.core.tx import unit_of_work
from qms.extensions import db as _db
from qms.mystery import portal
from qms.mystery.models import ShopAssignment


def full_form(**overrides) -> dict[str, list[str]]:
    """The form fields of a complete, full-marks report (tests.mystery.support.FULL_MARKS)."""
    form = {"q_greet": ["yes"], "q_wait_ok": ["4"], "q_clean": ["yes"], "q_needs": ["5"],
            "q_disclosure": ["yes"], "q_product": ["good"], "q_followup": ["yes"],
            "q_visit_start": ["2026-03-02T10:00"], "q_visit_end": ["2026-03-02T10:25"],
            "q_wait_minutes": ["5"]}
    for key, value in overrides.items():
        if value is None:
            form.pop(f"q_{key}", None)
        else:
            form[f"q_{key}"] = value if isinstance(value, list) else [value]
    return form


def fresh(a: ShopAssignment) -> ShopAssignment:
    _db.session.expire_all()
    return _db.session.get(ShopAssignment, a.id)


def test_a_shopper_reaches_only_their_own_assignments(client, login, make_assignment,
                                                      make_shopper, make_user):
    mine = make_assignment(status="accepted")
    other = make_shopper(name="Other shopper")
    theirs = make_assignment(shopper=other, status="accepted")
    me = _db.session.get(type(other), mine.shopper_id)

    c = login(me)
    listing = c.get("/mystery/my")
    assert listing.status_code == 200
    page = listing.get_data(as_text=True)
    assert mine.branch.name in page and theirs.branch.name not in page
    assert c.get(f"/mystery/my/{mine.id}").status_code == 200
    # Someone else's assignment is as missing as an id that does not exist.
    for url in (f"/mystery/my/{theirs.id}", f"/mystery/my/{theirs.id}/report",
                "/mystery/my/999999"):
        assert c.get(url).status_code == 404, url
    assert c.post(f"/mystery/my/{theirs.id}/accept").status_code == 404
    assert c.post(f"/mystery/my/{theirs.id}/report",
                  data={"action": "save", "q_greet": "no"}).status_code == 404
    assert fresh(theirs).answers in ({}, None)
    # ... and the service refuses it too, whoever calls it.
    with pytest.raises(portal.PortalError):
        portal.save_report(theirs, me, full_form())
    assert portal.own_assignment(me, theirs.id) is None
    # Staff roles do not get the portal; a shopper does not get the review pages.
    assert login(make_user("qa")).get("/mystery/my").status_code == 403
    assert login(me).get("/mystery/review").status_code == 403


def test_accept_and_decline_an_offered_assignment(client, login, make_assignment):
    offered = make_assignment()
    shopper_id = offered.shopper_id
    from qms.auth.models import User

    shopper = _db.session.get(User, shopper_id)
    c = login(shopper)
    detail = c.get(f"/mystery/my/{offered.id}").get_data(as_text=True)
    assert "询问三个月定期存款利率" in detail or "three-month" in detail  # the scenario script
    resp = c.post(f"/mystery/my/{offered.id}/accept")
    assert resp.status_code == 303 and fresh(offered).status == "accepted"
    # accepted is not offered any more: declining it now is refused
    with pytest.raises(portal.PortalError):
        portal.decline_assignment(fresh(offered), shopper, "ill")

    second = make_assignment(shopper=shopper)
    resp = c.post(f"/mystery/my/{second.id}/decline", data={"reason": "  "})
    assert resp.status_code == 400 and fresh(second).status == "offered"
    resp = c.post(f"/mystery/my/{second.id}/decline", data={"reason": "I bank there"})
    assert resp.status_code == 303 and fresh(second).status == "declined"
    with pytest.raises(portal.PortalError):
        portal.accept_assignment(fresh(second), shopper)
    # a declined assignment takes no report
    assert c.get(f"/mystery/my/{second.id}/report").status_code == 303


def test_save_and_resume_keeps_partial_answers(client, login, make_assignment):
    a = make_assignment(status="accepted")
    from qms.auth.models import User

    c = login(_db.session.get(User, a.shopper_id))
    resp = c.post(f"/mystery/my/{a.id}/report",
                  data={"action": "save", "q_greet": "yes", "q_wait_ok": "3",
                        "q_clean": "na", "q_staff": "王芳"})
    assert resp.status_code == 303
    saved = fresh(a)
    assert saved.status == "in_progress"
    assert saved.answers == {"greet": True, "wait_ok": 3, "clean": "na", "staff": "王芳"}
    page = c.get(f"/mystery/my/{a.id}/report").get_data(as_text=True)
    assert 'id="q_greet_yes" value="yes" checked' in page
    assert 'value="王芳"' in page

    # A wrong value is refused and nothing of that save is kept.
    resp = c.post(f"/mystery/my/{a.id}/report",
                  data={"action": "save", "q_greet": "no", "q_wait_ok": "9"})
    assert resp.status_code == 400
    assert fresh(a).answers["greet"] is True


def test_submit_checks_every_answer_against_the_version(app, make_assignment):
    a = make_assignment(status="in_progress")
    from qms.auth.models import User

    shopper = _db.session.get(User, a.shopper_id)
    cases = [
        (full_form(disclosure=None), "disclosure"),          # a required answer missing
        (full_form(wait_ok="7"), "wait_ok"),                 # off the 0..4 scale
        (full_form(greet="na"), "greet"),                    # N/A where it is not allowed
        (full_form(visit_end="2026-03-02T09:00"), "visit_end"),  # ends before it started
        (full_form(photos=["12345"]), "photos"),             # a file that is not this report's
        ({**full_form(), "q_bogus": ["1"]}, "q_bogus"),      # not a question of the survey
    ]
    for form, key in cases:
        with pytest.raises(portal.InvalidReport) as exc, unit_of_work():
            portal.submit_report(fresh(a), shopper, form)
        assert key in exc.value.errors, (key, exc.value.errors)
        assert fresh(a).status == "in_progress" and fresh(a).submitted_at is None

    now = datetime(2026, 3, 2, 4, 0, tzinfo=UTC)
    with unit_of_work():
        portal.submit_report(fresh(a), shopper, full_form(clean="na"), now=now)
    done = fresh(a)
    assert done.status == "submitted" and done.submitted_at == now
    assert done.score == pytest.approx(100.0) and done.auto_failed is False
    assert done.answers["clean"] == "na"
    # visit times are the branch's local time (Asia/Shanghai, UTC+8), stored in UTC
    assert done.visit_started_at == datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
    assert done.visit_ended_at == datetime(2026, 3, 2, 2, 25, tzinfo=UTC)
    # submitted: no more edits by the shopper
    with pytest.raises(portal.PortalError):
        portal.save_report(done, shopper, full_form(greet="no"))
    assert fresh(a).answers["greet"] is True


def test_a_failed_critical_item_is_scored_at_submission(app, make_assignment):
    a = make_assignment(status="accepted")
    from qms.auth.models import User

    with unit_of_work():
        portal.submit_report(a, _db.session.get(User, a.shopper_id),
                             full_form(disclosure="no"))
    done = fresh(a)
    assert done.auto_failed is True and done.score == 0

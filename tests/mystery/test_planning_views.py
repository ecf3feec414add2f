"""Planning and results pages: who may open them, and that they call the services."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from qms.extensions import db
from qms.mystery.models import ShopAssignment, ShopProgramme, Wave
from tests.mystery.support import FULL_MARKS, write_approved

AT = datetime(2026, 3, 20, 9, 0, tzinfo=UTC)


def test_planner_creates_programme_wave_and_generates(app, client, login, make_user,
                                                      make_mystery_survey, make_branch,
                                                      make_shopper):
    version = make_mystery_survey()
    b1, b2 = make_branch(), make_branch()
    s1, s2 = make_shopper(name="Shopper One"), make_shopper(name="Shopper Two")
    login(make_user("qa", locale="en"))
    assert client.get("/mystery/programmes/new").status_code == 200
    r = client.post("/mystery/programmes/new", data={"name": "Q1 2026",
                                                     "survey_id": version.survey_id})
    assert r.status_code == 302
    programme = db.session.scalar(db.select(ShopProgramme))
    assert programme.name == "Q1 2026"
    bad = client.post(f"/mystery/programmes/{programme.id}/waves/new", data={
        "name": "W1", "version_id": version.id, "starts_on": "2026-03-13",
        "ends_on": "2026-03-02", "channel": "branch_visit", "scenarios": ["deposit"],
        "visits_per_branch": 1, "rotation_days": 90, "daily_cap": 3, "days_to_submit": 2})
    assert bad.status_code == 400 and "cannot end before it starts" in bad.get_data(as_text=True)
    r = client.post(f"/mystery/programmes/{programme.id}/waves/new", data={
        "name": "W1", "version_id": version.id, "starts_on": "2026-03-02",
        "ends_on": "2026-03-13", "channel": "branch_visit", "scenarios": ["deposit", "card"],
        "branch_ids": [b1.id, b2.id], "shopper_ids": [s1.id, s2.id],
        "visits_per_branch": 2, "rotation_days": 90, "daily_cap": 3, "days_to_submit": 2})
    assert r.status_code == 302
    wave = db.session.scalar(db.select(Wave))
    assert wave.branch_ids == sorted([b1.id, b2.id]) and wave.scenarios == ["deposit", "card"]
    r = client.post(f"/mystery/waves/{wave.id}/generate", data={"seed": "3"})
    assert r.status_code == 200
    assert "4 assignments created" in r.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(ShopAssignment.id))) == 4
    page = client.get(f"/mystery/waves/{wave.id}?shopper={s1.id}").get_data(as_text=True)
    assert "<td>Shopper One" in page and "<td>Shopper Two" not in page
    r = client.post(f"/mystery/waves/{wave.id}/generate", data={"seed": "3"})
    assert "0 assignments created, 4 kept" in r.get_data(as_text=True)
    assert client.post(f"/mystery/waves/{wave.id}/status",
                       data={"status": "closed"}).status_code == 302
    db.session.refresh(wave)
    assert wave.status == "closed"
    client.post(f"/mystery/waves/{wave.id}/generate", data={"seed": "3"})
    assert db.session.scalar(db.select(db.func.count(ShopAssignment.id))) == 4
    index = client.get("/mystery/planning").get_data(as_text=True)
    assert "Q1 2026" in index and f"/mystery/waves/{wave.id}" in index
    some = db.session.scalar(db.select(ShopAssignment).limit(1))
    assert client.get(f"/mystery/assignments/{some.id}/reassign").status_code == 200


def test_reassign_warns_then_overrides(app, client, login, make_user, make_wave,
                                       make_branch, make_shopper, make_assignment):
    from qms.mystery import waves

    b = make_branch()
    s1, s2 = make_shopper(), make_shopper(name="Conflicted")
    waves.declare_conflict(s2, b, "cousin")
    db.session.commit()
    a = make_assignment(wave=make_wave(branches=[b]), shopper=s1, branch=b)
    login(make_user("admin", locale="en"))
    r = client.post(f"/mystery/assignments/{a.id}/reassign", data={"shopper_id": s2.id})
    assert r.status_code == 400
    assert "declared a conflict" in r.get_data(as_text=True)
    db.session.refresh(a)
    assert a.shopper_id == s1.id
    r = client.post(f"/mystery/assignments/{a.id}/reassign",
                    data={"shopper_id": s2.id, "force": "y"})
    assert r.status_code == 302
    db.session.refresh(a)
    assert a.shopper_id == s2.id and a.override_warning == "conflict"
    page = client.get("/mystery/conflicts").get_data(as_text=True)
    assert "Conflicted" in page and "cousin" in page
    assert client.post(f"/mystery/assignments/{a.id}/cancel").status_code == 302
    db.session.refresh(a)
    assert a.status == "cancelled"


@pytest.fixture
def shops(make_wave, make_branch, make_shopper, make_assignment):
    b1, b2 = make_branch(code="R01", name="Riverside"), make_branch(code="H02", name="Harbour")
    wave = make_wave(branches=[b1, b2])
    s = make_shopper()
    write_approved(make_assignment(wave=wave, shopper=s, branch=b1), FULL_MARKS, AT)
    write_approved(make_assignment(wave=wave, shopper=s, branch=b2),
                   dict(FULL_MARKS, greet=False), AT)
    write_approved(make_assignment(wave=wave, shopper=s, branch=b2), FULL_MARKS, AT,
                   status="submitted")
    return b1, b2, wave


def test_results_by_role_and_scope(app, client, login, make_user, shops):
    b1, b2, wave = shops
    login(make_user("qa"))
    page = client.get(f"/mystery/results?wave={wave.id}").get_data(as_text=True)
    assert "R01 Riverside" in page and "H02 Harbour" in page
    for by in ("agent", "scenario", "wave", "section", "question"):
        assert client.get(f"/mystery/results?by={by}&programme={wave.programme_id}"
                          ).status_code == 200
    page = client.get("/mystery/results?by=question").get_data(as_text=True)
    assert "员工是否主动问候？" in page   # the label in the reader's language (zh_Hans)
    head = make_user("branch_head", branch=b1)
    c2 = app.test_client()
    login(head, c2)
    page = c2.get("/mystery/results").get_data(as_text=True)
    assert "R01 Riverside" in page and "Harbour" not in page
    assert c2.get(f"/mystery/results/branches/{b1.id}").status_code == 200
    assert c2.get(f"/mystery/results/branches/{b2.id}").status_code == 404
    assert c2.get(f"/mystery/results?branch={b2.id}").status_code == 404
    assert c2.get("/mystery/planning").status_code == 403
    c3 = app.test_client()
    login(make_user("auditor"), c3)
    assert c3.get(f"/mystery/results/branches/{b2.id}").status_code == 200
    c4 = app.test_client()
    login(make_user("shopper"), c4)
    assert c4.get("/mystery/results").status_code == 403
    assert c4.get(f"/mystery/results/branches/{b1.id}").status_code == 403
    assert c4.get("/mystery/planning").status_code == 403

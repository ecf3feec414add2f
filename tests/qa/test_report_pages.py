"""QA report and calibration pages, and GET /api/v1/qa/reports: who sees what.

An agent sees only their own evaluations; a branch head only their branch (another branch's
agent is a 404); calibration results appear only after the deadline.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from qms.auth.services import create_api_token
from qms.core.db import now_utc
from qms.extensions import db as _db
from qms.qa import calibration as svc
from tests.qa.reports_support import make_interaction
from tests.qa.test_reports import build_set

ALL = {"from": "2026-01-01", "to": "2026-12-31"}


@pytest.fixture
def qa_set(app, make_branch, make_agent, make_user):
    return build_set(make_branch, make_agent, make_user)


def _token(role, branch=None):
    _row, secret = create_api_token(name=f"t-{role}", role=role,
                                    branch_code=branch.code if branch else None)
    _db.session.commit()
    return {"Authorization": f"Bearer {secret}"}


def test_qa_sees_every_branch(qa_set, client, login):
    c = login(qa_set.g1)
    resp = c.get("/qa/reports", query_string=ALL | {"by": "branch"})
    assert resp.status_code == 200
    page = resp.get_data(as_text=True)
    assert "BA" in page and "BB" in page and "甲支行" in page and "乙支行" in page
    assert "Explains clearly" in page or "explain" in page.lower()
    resp = c.get("/qa/reports", query_string=ALL | {"by": "grader", "team": "柜面"})
    assert resp.status_code == 200 and "Grader Two" in resp.get_data(as_text=True)


def test_default_period_and_bad_filters(qa_set, client, login):
    c = login(qa_set.g1)
    assert c.get("/qa/reports").status_code == 200
    assert c.get("/qa/reports", query_string={"from": "soon"}).status_code == 400
    assert c.get("/qa/reports", query_string={"channel": "fax"}).status_code == 400
    assert c.get("/qa/reports", query_string={"agent": "NOPE"}).status_code == 404


def test_branch_head_sees_only_their_branch(qa_set, client, login, make_user):
    head = make_user("branch_head", branch=qa_set.a)
    c = login(head)
    resp = c.get("/qa/reports", query_string=ALL | {"by": "agent"})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "BA-01" in page and "BA-02" in page and "BB-01" not in page
    assert c.get("/qa/reports", query_string=ALL | {"agent": "BB-01"}).status_code == 404
    assert c.get("/qa/reports", query_string=ALL | {"branch": "BB"}).status_code == 404
    assert c.get("/qa/reports", query_string=ALL | {"agent": "BA-02"}).status_code == 200


def test_agent_sees_only_themselves(qa_set, client, login):
    c = login(qa_set.agent_user)  # agent BA-01
    resp = c.get("/qa/reports", query_string=ALL)
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "BA-02" not in page and "BB-01" not in page
    assert ">3<" in page  # e1, e2, e3: the evaluations card
    assert c.get("/qa/reports", query_string=ALL | {"agent": "BA-02"}).status_code == 404
    assert c.get("/qa/reports", query_string=ALL | {"agent": "BB-01"}).status_code == 404
    assert c.get("/qa/reports", query_string=ALL | {"agent": "BA-01"}).status_code == 200
    # calibration is QA staff's business
    assert c.get("/qa/calibration").status_code == 403


def test_api_scope(qa_set, client):
    resp = client.get("/api/v1/qa/reports", query_string=ALL | {"by": "branch", "lang": "en"},
                      headers=_token("qa"))
    data = resp.get_json()
    assert resp.status_code == 200
    assert data["summary"]["evaluations"] == 6
    assert data["summary"]["average_score"] == pytest.approx(66.67, abs=0.01)
    assert data["disputes"]["accepted"] == 1 and data["disputes"]["upheld_rate"] == 0.5
    assert [r["key"] for r in data["breakdown"]["rows"]] == ["BA", "BB"]
    assert data["most_failed"][0]["criterion"] == "explain"
    assert [p["month"] for p in data["trend"]][:3] == ["2026-01", "2026-02", "2026-03"]

    head = _token("branch_head", qa_set.a)
    data = client.get("/api/v1/qa/reports", query_string=ALL | {"by": "agent"},
                      headers=head).get_json()
    assert data["summary"]["evaluations"] == 5
    assert {r["key"] for r in data["breakdown"]["rows"]} == {"BA-01", "BA-02"}
    resp = client.get("/api/v1/qa/reports", query_string={"agent": "BB-01"}, headers=head)
    assert resp.status_code == 404 and set(resp.get_json()) == {"error", "fields"}
    resp = client.get("/api/v1/qa/reports", query_string={"by": "shoe"}, headers=head)
    assert resp.status_code == 400 and "by" in resp.get_json()["fields"]
    assert client.get("/api/v1/qa/reports", headers=_token("agent", qa_set.a)).status_code == 403
    assert client.get("/api/v1/qa/reports").status_code == 401


def test_openapi_describes_the_report(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert "/qa/reports" in spec["paths"] and "QaReport" in spec["components"]["schemas"]


# -- calibration pages ----------------------------------------------------------------------

@pytest.fixture
def session_set(qa_set, make_user):
    bench = make_user("qa", name="Benchmark Grader")
    i1 = make_interaction(qa_set.a1)
    i2 = make_interaction(qa_set.b1)
    session = svc.create_session(name="Blind test", rubric_version=qa_set.v2,
                                 interaction_ids=[i1.id, i2.id],
                                 grader_ids=[qa_set.g1.id, qa_set.g2.id],
                                 benchmark_user_id=bench.id,
                                 deadline=now_utc() + timedelta(days=3), actor=bench)
    _db.session.commit()
    return qa_set, bench, session, i1, i2


def _sheet(greet):
    return {"c_greet": str(greet), "c_verify": "2", "c_explain": "5", "c_close": "na",
            "n_greet": "ok"}


def test_blind_pages_before_the_deadline(session_set, client, login):
    s, bench, session, i1, _i2 = session_set
    c = login(s.g1)
    assert c.get("/qa/calibration").status_code == 200
    url = f"/qa/calibration/{session.id}/score/{i1.id}"
    assert c.get(url).status_code == 200
    resp = c.post(url, data=_sheet(3))
    assert resp.status_code == 302
    resp = c.post(url, data={"c_greet": "7"})  # not an option, the rest missing
    assert resp.status_code == 400
    c = login(s.g2)
    c.post(url, data=_sheet(1))
    # the other grader's page shows their own answer only, the detail page counts only
    page = c.get(url).get_data(as_text=True)
    assert '<option selected value="1">' in page and '<option selected value="3">' not in page
    detail = c.get(f"/qa/calibration/{session.id}?lang=en").get_data(as_text=True)
    assert "1 of 2" in detail and "Krippendorff" not in detail
    assert c.get(f"/qa/calibration/{session.id}/score/99999").status_code == 404
    # results are nowhere yet
    assert "Blind test" not in c.get("/qa/calibration/alignment").get_data(as_text=True)


def test_results_after_the_deadline(session_set, client, login):
    s, bench, session, i1, i2 = session_set
    for grader, greet in ((s.g1, 3), (bench, 5)):
        c = login(grader)
        for i in (i1, i2):
            assert c.post(f"/qa/calibration/{session.id}/score/{i.id}",
                          data=_sheet(greet)).status_code == 302
    session.deadline = now_utc() - timedelta(minutes=1)
    _db.session.commit()
    c = login(s.g1)
    page = c.get(f"/qa/calibration/{session.id}").get_data(as_text=True)
    assert "Krippendorff" in page and "Benchmark Grader" in page
    # scoring is closed now
    resp = c.post(f"/qa/calibration/{session.id}/score/{i1.id}", data=_sheet(5))
    assert resp.status_code == 302
    assert svc.my_scores(session, s.g1)[i1.id].answers["greet"]["score"] == 3
    page = c.get("/qa/calibration/alignment").get_data(as_text=True)
    assert "Blind test" in page


def test_session_pages_are_scoped(session_set, client, login, make_user):
    s, _bench, session, i1, _i2 = session_set
    regional = make_user("qa", branch=s.a)
    c = login(regional)
    assert c.get(f"/qa/calibration/{session.id}").status_code == 404
    assert c.get(f"/qa/calibration/{session.id}/score/{i1.id}").status_code == 404
    outsider_grader = make_user("qa")  # sees the session (global QA) but is not a grader
    c = login(outsider_grader)
    assert c.get(f"/qa/calibration/{session.id}").status_code == 200
    assert c.get(f"/qa/calibration/{session.id}/score/{i1.id}").status_code == 404


def test_new_session_form(qa_set, client, login, make_user):
    s = qa_set
    i1 = make_interaction(s.a1)
    _db.session.commit()
    c = login(s.g1)
    assert c.get("/qa/calibration/new").status_code == 200
    deadline = (now_utc() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    resp = c.post("/qa/calibration/new", data={
        "name": "Form session", "rubric_id": str(s.v1.rubric_id), "references": i1.external_ref,
        "graders": [str(s.g2.id)], "benchmark": str(s.g1.id), "deadline": deadline})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    created = svc.list_sessions(s.g1)[0].session
    assert created.name == "Form session" and created.interaction_ids == [i1.id]
    assert created.rubric_version_id == s.v2.id  # the latest published version
    resp = c.post("/qa/calibration/new", data={
        "name": "Bad", "rubric_id": str(s.v1.rubric_id), "references": "NO-SUCH-REF",
        "graders": [str(s.g2.id)], "benchmark": str(s.g1.id), "deadline": deadline})
    assert resp.status_code == 400 and "NO-SUCH-REF" in resp.get_data(as_text=True)

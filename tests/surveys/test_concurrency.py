"""Simultaneous submissions against a real threaded server on a real SQLite file: one personal
link stores exactly one response, and nobody sees an error page."""

from __future__ import annotations

import http.client
import threading
from urllib.parse import urlencode

import pytest
import sqlalchemy as sa
from werkzeug.serving import make_server

from qms.extensions import db as _db
from qms.org.models import Branch
from qms.surveys.models import Answer, FollowUp, Invitation, Response
from tests.surveys.factories import sample_form
from tests.surveys.test_respond import create_campaign, create_personal_link

CLIENTS = 20


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend_app(request):
    """The app on a real SQLite file, and on PostgreSQL when one is reachable."""
    return request.getfixturevalue("app" if request.param == "sqlite" else "pg_app")


@pytest.fixture
def live_server(backend_app):
    app = backend_app
    app.config["RATELIMIT_PUBLIC"] = "off"  # twenty posts from one address are the point here
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_port
    server.shutdown()
    thread.join(timeout=10)


def post_all(port: int, paths: list[str], body: bytes) -> list[tuple[int, str]]:
    """POST body to every path at the same moment, one thread each."""
    barrier = threading.Barrier(len(paths))
    results: list[tuple[int, str] | None] = [None] * len(paths)

    def one(i: int, path: str) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        barrier.wait()
        try:
            conn.request("POST", path, body=body,
                         headers={"Content-Type": "application/x-www-form-urlencoded"})
            resp = conn.getresponse()
            results[i] = (resp.status, resp.read().decode())
        finally:
            conn.close()

    threads = [threading.Thread(target=one, args=(i, p)) for i, p in enumerate(paths)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=90)
    assert all(r is not None for r in results), "a client got no answer"
    return results  # type: ignore[return-value]


def form_body(**overrides) -> bytes:
    form = sample_form(**overrides)
    form["action"] = ["submit"]
    return urlencode(form, doseq=True).encode()


def new_branch():
    n = _db.session.scalar(sa.select(sa.func.count()).select_from(Branch))
    branch = Branch(code=f"B{n + 1:03d}", name="测试支行", region="华东", city="上海")
    _db.session.add(branch)
    _db.session.commit()
    return branch


def test_twenty_simultaneous_submissions_of_one_link_store_one_response(live_server):
    token, invitation = create_personal_link(branch=new_branch())
    results = post_all(live_server, [f"/s/{token}"] * CLIENTS, form_body(q_nps="4", q_why="慢"))

    statuses = sorted(status for status, _body in results)
    assert statuses == [303] + [409] * (CLIENTS - 1), statuses
    for status, body in results:
        if status == 409:
            assert 'data-state="completed"' in body
    _db.session.expire_all()
    responses = _db.session.scalars(sa.select(Response)).all()
    assert len(responses) == 1 and responses[0].invitation_id == invitation.id
    assert responses[0].completed_at is not None
    n_answers = _db.session.scalar(sa.select(sa.func.count()).select_from(Answer))
    assert n_answers == 10  # sample_form's nine answers (two channels) and "why"
    assert _db.session.scalar(sa.select(sa.func.count()).select_from(FollowUp)) == 1
    inv = _db.session.get(Invitation, invitation.id)
    assert inv.completed_at == responses[0].completed_at


def test_simultaneous_submissions_of_distinct_links_all_succeed(live_server):
    """Write-first transactions do not fail with 'database is locked' under contention."""
    branch = new_branch()
    campaign = create_campaign()
    tokens = [create_personal_link(campaign, branch=branch)[0] for _ in range(CLIENTS)]
    results = post_all(live_server, [f"/s/{t}" for t in tokens], form_body())
    assert [s for s, _b in results] == [303] * CLIENTS
    _db.session.expire_all()
    assert _db.session.scalar(sa.select(sa.func.count()).select_from(Response)) == CLIENTS
    assert _db.session.scalar(sa.select(sa.func.count()).select_from(Answer)) == 9 * CLIENTS


def test_saves_racing_submissions_never_fail(live_server):
    """Half the clients save partial answers while the other half submit: one submission
    wins, every other request gets a page (saved, or already answered), never an error, and the
    completed response holds the winner's answers."""
    token, _inv = create_personal_link(branch=new_branch())
    save = urlencode({"q_csat": "3", "action": "save"}).encode()
    submit = form_body()
    half = CLIENTS // 2
    barrier = threading.Barrier(CLIENTS)
    results: list[int] = []
    lock = threading.Lock()

    def one(body: bytes) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", live_server, timeout=60)
        barrier.wait()
        conn.request("POST", f"/s/{token}", body=body,
                     headers={"Content-Type": "application/x-www-form-urlencoded"})
        status = conn.getresponse().status
        conn.close()
        with lock:
            results.append((body is submit, status))

    threads = [threading.Thread(target=one, args=(save if i < half else submit,))
               for i in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=90)
    assert len(results) == CLIENTS
    assert sorted(s for is_submit, s in results if is_submit) == [303] + [409] * (half - 1)
    assert {s for is_submit, s in results if not is_submit} <= {303, 409}
    _db.session.expire_all()
    done = _db.session.scalars(sa.select(Response)).all()
    assert len(done) == 1 and done[0].completed_at is not None
    csat = _db.session.scalar(sa.select(Answer.num_value).where(Answer.question_key == "csat"))
    assert csat == 4.0  # sample_form's, not a late partial save's

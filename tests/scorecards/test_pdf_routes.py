"""Scorecard PDF downloads through pages and the API: who gets which PDF, and the 404 for
another branch's (or agent's) scorecard, through pages, API and PDF alike."""

from __future__ import annotations

import subprocess
from types import SimpleNamespace

import pytest

from qms.auth.services import create_api_token
from qms.extensions import db
from tests.scorecards.pdf_sample import make_snapshot

PERIOD = "2026-03"


@pytest.fixture
def world(app, make_branch, make_agent, make_user):
    a = make_branch(code="BA", name="甲支行", region="华东")
    b = make_branch(code="BB", name="乙支行", region="华南")
    a1 = make_agent(a, code="BA-01", name="甲一")
    a2 = make_agent(a, code="BA-02", name="甲二")
    b1 = make_agent(b, code="BB-01", name="乙一")
    for branch, agent in ((a, None), (b, None), (a, a1), (a, a2), (b, b1)):
        make_snapshot(branch, agent=agent)
    return SimpleNamespace(
        a=a, b=b,
        head_a=make_user("branch_head", branch=a, locale="en"),
        agent_a1=make_user("agent", branch=a, agent=a1),
        qa=make_user("qa"), qa_south=make_user("qa", region="华南"),
        auditor=make_user("auditor"), complaints=make_user("complaints"))


@pytest.fixture
def fake_render(monkeypatch):
    """Access tests need no real PDF: the routes' renderer returns the entity it was given."""
    import qms.scorecards.api.pdf as api_pdf
    import qms.scorecards.views.pdf as view_pdf

    def fake(snapshot, *, locale):
        return f"%PDF-fake {snapshot.entity_code} {snapshot.period} {locale}".encode()

    monkeypatch.setattr(view_pdf, "render_pdf", fake)
    monkeypatch.setattr(api_pdf, "render_pdf", fake)


def token(role, branch=None, region=None) -> dict:
    _row, secret = create_api_token(name=f"t-{role}", role=role,
                                    branch_code=branch.code if branch else None, region=region)
    db.session.commit()
    return {"Authorization": f"Bearer {secret}"}


def status(client, url, **kw) -> int:
    return client.get(url, **kw).status_code


def test_branch_head_downloads_their_branch_and_its_agents_only(app, client, login, world,
                                                                fake_render):
    c = login(world.head_a)
    own = c.get(f"/scorecards/branches/BA/{PERIOD}.pdf")
    assert own.status_code == 200 and own.mimetype == "application/pdf"
    assert own.data.startswith(b"%PDF-fake BA 2026-03")
    assert own.headers["Cache-Control"] == "private, no-store"
    assert status(c, f"/scorecards/agents/BA-01/{PERIOD}.pdf") == 200
    other = c.get(f"/scorecards/branches/BB/{PERIOD}.pdf")
    missing = c.get(f"/scorecards/branches/NOPE/{PERIOD}.pdf")
    assert other.status_code == missing.status_code == 404
    # the same page (but for the path in its links) and nothing about branch B
    assert other.data.replace(b"BB", b"NOPE") == missing.data
    assert "乙支行" not in other.get_data(as_text=True)
    assert status(c, f"/scorecards/agents/BB-01/{PERIOD}.pdf") == 404
    # a month without a snapshot says so (own branch only), a malformed one is just 404
    none = c.get("/scorecards/branches/BA/2025-01.pdf")
    assert none.status_code == 404
    assert "No scorecard has been computed for BA in 2025-01" in none.get_data(as_text=True)
    assert status(c, "/scorecards/branches/BA/2026-13.pdf") == 404
    assert "No scorecard" not in c.get("/scorecards/branches/BB/2025-01.pdf").get_data(
        as_text=True)


def test_agent_downloads_only_their_own(app, client, login, world, fake_render):
    c = login(world.agent_a1)
    assert c.get(f"/scorecards/agents/BA-01/{PERIOD}.pdf").data.startswith(b"%PDF-fake BA-01")
    assert status(c, f"/scorecards/agents/BA-02/{PERIOD}.pdf") == 404  # a colleague
    assert status(c, f"/scorecards/agents/BB-01/{PERIOD}.pdf") == 404
    assert status(c, f"/scorecards/branches/BA/{PERIOD}.pdf") == 403  # not a branch reader


def test_qa_admin_and_auditor_see_all_within_their_scope(app, client, login, world,
                                                        fake_render):
    for user in (world.qa, world.auditor):
        c = login(user)
        assert status(c, f"/scorecards/branches/BB/{PERIOD}.pdf") == 200
        assert status(c, f"/scorecards/agents/BA-02/{PERIOD}.pdf") == 200
    c = login(world.qa_south)
    assert status(c, f"/scorecards/branches/BB/{PERIOD}.pdf") == 200
    assert status(c, f"/scorecards/branches/BA/{PERIOD}.pdf") == 404
    assert status(login(world.complaints), f"/scorecards/branches/BA/{PERIOD}.pdf") == 403


def test_api_pdf_404_for_another_branch_and_clear_errors(app, client, world, fake_render):
    head = token("branch_head", branch=world.a)
    own = client.get(f"/api/v1/scorecards/branches/BA/pdf?period={PERIOD}", headers=head)
    assert own.status_code == 200 and own.mimetype == "application/pdf"
    assert own.headers["Content-Disposition"] == 'attachment; filename="scorecard-BA-2026-03.pdf"'
    assert own.data == b"%PDF-fake BA 2026-03 zh_Hans"
    en = client.get(f"/api/v1/scorecards/agents/BA-01/pdf?period={PERIOD}&locale=en",
                    headers=head)
    assert en.data == b"%PDF-fake BA-01 2026-03 en"

    other = client.get(f"/api/v1/scorecards/branches/BB/pdf?period={PERIOD}", headers=head)
    missing = client.get(f"/api/v1/scorecards/branches/NOPE/pdf?period={PERIOD}", headers=head)
    assert other.status_code == missing.status_code == 404
    assert other.get_json() == missing.get_json() == {"error": "no such branch", "fields": {}}
    agent_other = client.get(f"/api/v1/scorecards/agents/BB-01/pdf?period={PERIOD}",
                             headers=head)
    assert agent_other.status_code == 404 and agent_other.is_json

    bad = client.get("/api/v1/scorecards/branches/BA/pdf?period=March", headers=head)
    assert bad.status_code == 400 and "period" in bad.get_json()["fields"]
    none = client.get("/api/v1/scorecards/branches/BA/pdf?period=2025-01", headers=head)
    assert none.status_code == 404 and "2025-01" in none.get_json()["error"]
    south = token("qa", region="华南")
    assert status(client, f"/api/v1/scorecards/branches/BA/pdf?period={PERIOD}",
                  headers=south) == 404
    assert status(client, f"/api/v1/scorecards/branches/BB/pdf?period={PERIOD}",
                  headers=south) == 200
    assert status(client, f"/api/v1/scorecards/branches/BA/pdf?period={PERIOD}",
                  headers=token("complaints")) == 403


def test_the_pdf_routes_are_in_the_openapi_spec(app, client):
    spec = client.get("/api/v1/openapi.json").get_json()
    for path in ("/scorecards/branches/{code}/pdf", "/scorecards/agents/{code}/pdf"):
        op = spec["paths"][path]["get"]
        assert "application/pdf" in op["responses"]["200"]["content"]
        assert {p["name"] for p in op["parameters"]} >= {"code", "period"}


def test_another_branchs_scorecard_page_and_json_are_404_too(app, client, login, world):
    """The HTML page and the JSON API of the same scorecard answer like the PDF does."""
    pages = [r for r in app.url_map.iter_rules()
             if r.rule.startswith(("/scorecards/branches/<code>", "/api/v1/scorecards/branches/"))
             and not r.rule.endswith(("pdf", ".pdf")) and "GET" in r.methods]
    if not pages:
        pytest.skip("scorecard pages/JSON API not registered yet")
    c = login(world.head_a)
    head = token("branch_head", branch=world.a)
    for rule in pages:
        own = rule.build({"code": "BA", "period": PERIOD}, append_unknown=False)[1]
        other = rule.build({"code": "BB", "period": PERIOD}, append_unknown=False)[1]
        api = rule.rule.startswith("/api/")
        sep = "&" if "?" in own else "?"
        kw = {"headers": head} if api else {}
        cli = client if api else c
        assert status(cli, f"{own}{sep}period={PERIOD}", **kw) == 200, own
        assert status(cli, f"{other}{sep}period={PERIOD}", **kw) == 404, other


def test_the_page_route_serves_a_real_pdf_in_the_readers_language(app, client, login, world):
    c = login(world.head_a)
    resp = c.get(f"/scorecards/branches/BA/{PERIOD}.pdf?lang=en")
    assert resp.status_code == 200 and resp.data.startswith(b"%PDF-")
    text = subprocess.run(["pdftotext", "-enc", "UTF-8", "-", "-"], input=resp.data,
                          capture_output=True, check=True).stdout.decode()
    assert "甲支行" in text and PERIOD in text and "Overall score" in text

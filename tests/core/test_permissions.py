"""Every route against every role: the permission table decides, and the server does what it says.

The matrix is built from `app.url_map`, not from a list kept here, so a route added anywhere
without a decision — or whose behaviour differs from its decision — fails this file.
"""

from __future__ import annotations

from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest
from flask import Flask
from werkzeug.routing.converters import AnyConverter, IntegerConverter, UUIDConverter

from qms.auth.services import GrantSpec, create_api_token, create_user
from qms.config import ROLES
from qms.core.permissions import Access, permission_table
from qms.extensions import db as _db
from qms.org.models import Customer

BRANCH_BOUND = {"branch_head", "agent"}
REDIRECTS = {301, 302, 303, 307, 308}

# Page principals: anonymous, each role alone, and a few users holding two roles (the union).
PAGE_PRINCIPALS = [None, *[(r,) for r in ROLES],
                   ("complaints", "agent"), ("shopper", "branch_head"), ("auditor", "shopper")]


def _ident(who):
    return "anonymous" if who is None else "+".join(who)


# -- objects for URL arguments -------------------------------------------------------------

@pytest.fixture
def world(app, make_branch, make_agent, make_user):
    """Real objects for every kind of URL argument, all in branch A, plus a branch B."""
    a = make_branch(code="BA", region="华东", name="甲支行")
    b = make_branch(code="BB", region="华南", name="乙支行")
    agent_a = make_agent(a, code="BA-01", name="甲坐席")
    agent_b = make_agent(b, code="BB-01", name="乙坐席")
    cust_a = Customer(ref="CA-1", name="甲客户", segment="standard", home_branch=a)
    cust_b = Customer(ref="CB-1", name="乙客户", segment="standard", home_branch=b)
    _db.session.add_all([cust_a, cust_b])
    _db.session.commit()
    # Objects that admin-only POST routes may change (remove a grant, revoke a token): never
    # the principals the matrix signs in as.
    target = make_user("qa", email="target@bank.test")
    target_token, _secret = create_api_token(name="target", role="qa")
    _db.session.commit()
    return SimpleNamespace(a=a, b=b, agent_a=agent_a, agent_b=agent_b, cust_a=cust_a,
                           cust_b=cust_b, target=target, target_grant=target.grants[0],
                           target_token=target_token)


def _known_values(w) -> dict:
    return {
        "branch_id": w.a.id, "agent_id": w.agent_a.id, "customer_id": w.cust_a.id,
        "user_id": w.target.id, "grant_id": w.target_grant.id, "token_id": w.target_token.id,
        "kind": "customers", "code": w.a.code, "branch_code": w.a.code, "filename": "qms.css",
    }


def request_for(rule, w) -> tuple[str, str]:
    """The method and a URL with real ids for one rule; unknown arguments get a plausible value."""
    known = _known_values(w)
    values = {}
    for name in rule.arguments:
        conv = rule._converters.get(name)
        if name in known:
            values[name] = known[name]
        elif isinstance(conv, IntegerConverter):
            values[name] = 1
        elif isinstance(conv, UUIDConverter):
            values[name] = "00000000-0000-4000-8000-000000000000"
        elif isinstance(conv, AnyConverter):
            values[name] = sorted(conv.items)[0]
        else:
            values[name] = "x"
    built = rule.build(values, append_unknown=False)
    assert built is not None, f"cannot build a URL for {rule.rule}"
    methods = rule.methods - {"HEAD", "OPTIONS"}
    method = "GET" if "GET" in methods else ("POST" if "POST" in methods else sorted(methods)[0])
    return method, built[1]


def _rules(app):
    return sorted(app.url_map.iter_rules(), key=lambda r: (r.rule, r.endpoint))


def _expect_allowed(access: Access, roles: set[str] | None) -> bool:
    """Written out here rather than calling Access.allows: the test must not trust the code."""
    if access.public:
        return True
    if roles is None:  # anonymous
        return False
    if access.roles is None:
        return True
    return bool(set(access.roles) & roles)


def _is_login_redirect(resp) -> bool:
    """Sent to sign in (with ?next=), as opposed to e.g. signing out, which also ends on /login."""
    loc = urlsplit(resp.headers.get("Location", ""))
    return resp.status_code in REDIRECTS and loc.path == "/login" and "next=" in loc.query


def _send(c, method, url, **kw):
    if method == "GET":
        return c.get(url, **kw)
    return c.open(url, method=method, data={}, **kw)


def _principal(make_user, w, roles):
    branch = w.a if set(roles) & BRANCH_BOUND else None
    return make_user(*roles, branch=branch)


def _token(role, w):
    _row, secret = create_api_token(name=f"matrix-{role}", role=role,
                                    branch_code=w.a.code if role in BRANCH_BOUND else None)
    _db.session.commit()
    return secret


# -- the decisions --------------------------------------------------------------------------

def test_every_endpoint_has_a_decision(app):
    table = permission_table(app)
    missing = sorted(e for e, access in table.items() if access is None)
    assert not missing, f"routes without an access decision: {missing}"
    assert {r.endpoint for r in app.url_map.iter_rules()} == set(table)


def test_api_decisions_exactly_under_api(app):
    """Token decisions only under /api/ (CSRF-exempt, JSON errors); session decisions never there."""
    table = permission_table(app)
    wrong = []
    for rule in app.url_map.iter_rules():
        access = table[rule.endpoint]
        under_api = rule.rule.startswith("/api/")
        blueprint = rule.endpoint.rpartition(".")[0]
        if access is not None and (access.api != under_api
                                   or (blueprint.endswith("_api") and not access.api)):
            wrong.append(f"{rule.rule} ({rule.endpoint}): api={access.api}")
    assert not wrong, "API decisions off /api/ or session decisions on it:\n" + "\n".join(wrong)


# What this part of the issue decided, pinned so that loosening a decision is a visible change.
VIEWERS = frozenset({"admin", "qa", "auditor", "complaints", "branch_head"})
PINNED = {
    "static": Access(public=True),
    "main.home": Access(),
    "main.set_locale": Access(public=True),
    "main.healthz": Access(public=True),
    "auth.login": Access(public=True),
    "auth.logout": Access(),
    "auth.profile": Access(),
    **{f"auth.{e}": Access(roles=frozenset({"admin"})) for e in (
        "users", "user_new", "user_edit", "grant_add", "grant_remove", "api_tokens",
        "api_token_revoke", "audit_log")},
    "org.branches": Access(roles=VIEWERS),
    "org.branch_detail": Access(roles=VIEWERS),
    "org.agents": Access(roles=VIEWERS),
    "org.customers": Access(roles=frozenset({"admin", "qa", "complaints"})),
    **{f"org.{e}": Access(roles=frozenset({"admin"})) for e in (
        "branch_new", "branch_edit", "agent_new", "agent_edit", "customer_new",
        "customer_edit", "import_file")},
    "core_api.openapi": Access(public=True, api=True),
    "org_api.branches": Access(api=True, roles=VIEWERS),
    "org_api.branch": Access(api=True, roles=VIEWERS),
}


def test_decisions_of_accounts_and_organisation_are_as_specified(app):
    table = permission_table(app)
    diffs = {e: (table.get(e), want) for e, want in PINNED.items() if table.get(e) != want}
    assert not diffs, diffs


def test_a_route_without_decision_is_closed(app, login, make_user):
    """The hook refuses an undecided endpoint even to an administrator — and the table shows it."""

    def undecided():
        return "secret"

    app.add_url_rule("/undecided", "undecided", undecided)
    app.add_url_rule("/api/v1/undecided", "undecided_api", undecided)
    assert permission_table(app)["undecided"] is None
    c = login(make_user("admin"))
    assert c.get("/undecided").status_code == 403
    resp = c.get("/api/v1/undecided")
    assert resp.status_code == 403 and resp.is_json
    assert b"secret" not in resp.data


# -- the matrix -----------------------------------------------------------------------------

@pytest.mark.parametrize("who", PAGE_PRINCIPALS, ids=_ident)
def test_pages_follow_the_table(who, app, client, login, make_user, world):
    table = permission_table(app)
    user = None if who is None else _principal(make_user, world, who)
    roles = None if who is None else set(who)
    failures = []
    checked = 0
    for rule in _rules(app):
        access = table[rule.endpoint]
        if access is None or access.api:
            continue  # the first is test_every_endpoint_has_a_decision's; the API is below
        method, url = request_for(rule, world)
        if user is not None:
            login(user)  # again each time: POST /logout may have signed the user out
        resp = _send(client, method, url)
        checked += 1
        got = f"{method} {url} ({rule.endpoint}) as {_ident(who)}: {resp.status_code} " \
              f"{resp.headers.get('Location', '')}"
        if _expect_allowed(access, roles):
            if resp.status_code in (401, 403) or _is_login_redirect(resp) \
                    or resp.status_code >= 500:
                failures.append("should be allowed: " + got)
        elif who is None:
            if not _is_login_redirect(resp):
                failures.append("should redirect to /login: " + got)
        elif resp.status_code != 403:
            failures.append("should be 403: " + got)
    assert checked > 20
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("role", [None, *ROLES], ids=lambda r: r or "no-token")
def test_api_follows_the_table(role, app, client, world):
    table = permission_table(app)
    headers = {} if role is None else {"Authorization": f"Bearer {_token(role, world)}"}
    failures = []
    checked = 0
    for rule in _rules(app):
        access = table[rule.endpoint]
        if access is None or not access.api:
            continue
        method, url = request_for(rule, world)
        resp = _send(client, method, url, headers=headers)
        checked += 1
        got = f"{method} {url} with {role or 'no'} token: {resp.status_code} {resp.data[:120]!r}"
        if _expect_allowed(access, None if role is None else {role}):
            if resp.status_code in (401, 403) or resp.status_code >= 500:
                failures.append("should be allowed: " + got)
            continue
        if not resp.is_json or set(resp.get_json()) != {"error", "fields"}:
            failures.append("refusal is not a JSON error: " + got)
        if role is None:
            if resp.status_code != 401 or not resp.headers.get("WWW-Authenticate", "") \
                    .startswith("Bearer"):
                failures.append("should be 401 with WWW-Authenticate: " + got)
        elif resp.status_code != 403:
            failures.append("should be 403: " + got)
    assert checked >= 3
    assert not failures, "\n".join(failures)


def test_a_session_is_not_an_api_credential_nor_a_token_a_page_credential(
        app, client, login, make_user, world):
    table = permission_table(app)
    admin = make_user("admin")
    secret = _token("admin", world)
    token_client = app.test_client()
    wrong = []
    for rule in _rules(app):
        access = table[rule.endpoint]
        if access is None or access.public:
            continue
        method, url = request_for(rule, world)
        if access.api:
            resp = _send(login(admin), method, url)
            if resp.status_code != 401:
                wrong.append(f"{url} with an admin session: {resp.status_code}")
        else:
            resp = _send(token_client, method, url, headers={"Authorization": f"Bearer {secret}"})
            if not _is_login_redirect(resp):
                wrong.append(f"{url} with an admin token: {resp.status_code}")
    assert not wrong, "\n".join(wrong)


# -- branch scope ---------------------------------------------------------------------------

def _get(c, url, **kw):
    return c.get(url, **kw)


def test_branch_head_sees_only_their_branch(app, client, login, make_user, world):
    w = world
    c = login(make_user("branch_head", branch=w.a))
    own = c.get(f"/org/branches/{w.a.id}")
    assert own.status_code == 200 and "甲坐席" in own.get_data(as_text=True)

    other = c.get(f"/org/branches/{w.b.id}")
    missing = c.get("/org/branches/999999")
    assert other.status_code == missing.status_code == 404
    assert "乙支行" not in other.get_data(as_text=True)

    listing = c.get("/org/branches").get_data(as_text=True)
    # the codes as link text: a bare "BB" can occur by chance in the page's random CSRF token
    assert ">BA</a>" in listing and ">BB</a>" not in listing and "乙支行" not in listing
    agents = c.get("/org/agents").get_data(as_text=True)
    assert "BA-01" in agents and "BB-01" not in agents
    assert "BB-01" not in c.get("/org/agents?q=BB").get_data(as_text=True)

    # Edit pages are refused by role, identically for their own branch and for another:
    # the answer says nothing about branch B.
    for kind, own_id, other_id in (("branches", w.a.id, w.b.id),
                                   ("agents", w.agent_a.id, w.agent_b.id),
                                   ("customers", w.cust_a.id, w.cust_b.id)):
        assert c.get(f"/org/{kind}/{own_id}/edit").status_code == 403
        assert c.get(f"/org/{kind}/{other_id}/edit").status_code == 403
        assert c.post(f"/org/{kind}/{other_id}/edit", data={"name": "x"}).status_code == 403


def test_admin_role_cannot_be_limited_to_a_branch_or_region(app, make_user, world):
    """An administrator manages users and roles, which a branch limit could not contain
    (a branch-limited admin could grant themselves the whole bank), so it is refused."""
    from qms.auth.services import ValidationError

    for kw in ({"branch": world.a}, {"region": "华东"}):
        with pytest.raises(ValidationError) as exc:
            make_user("admin", **kw)
        assert "branch" in exc.value.fields
        _db.session.rollback()


def test_region_scoped_qa_gets_404_for_another_regions_branch(app, client, login, make_user,
                                                              world):
    c = login(make_user("qa", region=world.a.region))
    assert world.b.region != world.a.region
    assert c.get(f"/org/branches/{world.a.id}").status_code == 200
    assert c.get(f"/org/branches/{world.b.id}").status_code == 404


def test_branch_token_gets_404_json_for_another_branch(app, client, world):
    secret = _token("branch_head", world)
    auth = {"Authorization": f"Bearer {secret}"}
    own = client.get("/api/v1/branches/BA", headers=auth)
    assert own.status_code == 200
    assert [a["code"] for a in own.get_json()["agents"]] == ["BA-01"]

    other = client.get("/api/v1/branches/BB", headers=auth)
    missing = client.get("/api/v1/branches/NOPE", headers=auth)
    assert other.status_code == missing.status_code == 404
    assert other.get_json() == missing.get_json()
    assert set(other.get_json()) == {"error", "fields"} and other.get_json()["fields"] == {}

    listed = client.get("/api/v1/branches", headers=auth).get_json()
    assert [b["code"] for b in listed["items"]] == ["BA"] and listed["total"] == 1


@pytest.fixture
def south(make_branch, make_agent, world):
    """A second branch in the southern region, beside world's BB."""
    c = make_branch(code="BC", region="华南", name="丙支行")
    make_agent(c, code="BC-01", name="丙坐席")
    cust = Customer(ref="CC-1", name="丙客户", segment="vip", home_branch=c)
    _db.session.add(cust)
    _db.session.commit()
    return c


def test_region_scoped_qa_sees_only_that_regions_branches(app, client, login, make_user, world,
                                                          south):
    w = world
    c = login(make_user("qa", region="华南"))
    branches = c.get("/org/branches").get_data(as_text=True)
    assert "BB" in branches and "BC" in branches and "BA" not in branches
    agents = c.get("/org/agents").get_data(as_text=True)
    assert "BB-01" in agents and "BC-01" in agents and "BA-01" not in agents
    customers = c.get("/org/customers").get_data(as_text=True)
    assert "CB-1" in customers and "CC-1" in customers and "CA-1" not in customers
    assert c.get(f"/org/branches/{south.id}").status_code == 200
    assert c.get(f"/org/branches/{w.a.id}").status_code == 404

    _row, secret = create_api_token(name="south", role="qa", region="华南")
    _db.session.commit()
    listed = client.get("/api/v1/branches", headers={"Authorization": f"Bearer {secret}"})
    assert sorted(b["code"] for b in listed.get_json()["items"]) == ["BB", "BC"]


def test_two_grants_give_the_union_of_their_scopes(app, client, login, world, south):
    user = create_user(email="two@bank.test", name="Two", password="correct horse battery",
                       grants=[GrantSpec("branch_head", "BA"), GrantSpec("qa", None, "华南")])
    _db.session.commit()
    c = login(user)
    branches = c.get("/org/branches").get_data(as_text=True)
    assert all(code in branches for code in ("BA", "BB", "BC"))
    # qa (region) adds the customers page, which a branch head alone may not open.
    customers = c.get("/org/customers").get_data(as_text=True)
    assert "CB-1" in customers and "CA-1" not in customers
    assert c.get(f"/org/customers/{world.cust_a.id}/edit").status_code == 403


def test_a_grant_that_does_not_open_a_page_does_not_widen_its_scope(app, client, login, world,
                                                                    south):
    user = create_user(email="agentqa@bank.test", name="AQ", password="correct horse battery",
                       grants=[GrantSpec("agent", "BA"), GrantSpec("qa", None, "华南")])
    _db.session.commit()
    c = login(user)
    branches = c.get("/org/branches").get_data(as_text=True)
    assert "BB" in branches and "BC" in branches and "BA" not in branches
    assert "BA-01" not in c.get("/org/agents").get_data(as_text=True)
    assert c.get(f"/org/branches/{world.a.id}").status_code == 404


def test_matrix_harness_isolates_requests(app, client, login, make_user):
    """Guard for the test client itself: each request has its own app context, so a shopper
    after an admin is still a shopper (a shared `g` would keep Flask-Login's cached admin)."""
    admin, shopper = make_user("admin"), make_user("shopper")
    assert login(admin).get("/admin/users").status_code == 200
    assert login(shopper, app.test_client()).get("/admin/users").status_code == 403
    assert isinstance(app, Flask)

"""Signing in and out: audit rows, throttling, redirects, CSRF, headers, cookies, no inline script."""

from __future__ import annotations

import re
from datetime import timedelta
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from werkzeug.security import check_password_hash

from qms.auth import services
from qms.auth.models import User
from qms.config import ROOT
from qms.core.audit import AuditLog
from qms.core.db import now_utc
from qms.extensions import db as _db
from qms.extensions import login_manager
from qms.org.models import Branch
from tests.conftest import PASSWORD, app_config, build_app

WRONG = "Wrong e-mail address or password."
THROTTLED = "Too many failed sign-in attempts."


def _client(app, ip="127.0.0.1"):
    c = app.test_client()
    c.environ_base["REMOTE_ADDR"] = ip
    c.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"  # messages are asserted in English
    return c


@pytest.fixture
def client(app):
    return _client(app)


def sign_in(c, email, password, **kw):
    return c.post("/login", data={"email": email, "password": password}, **kw)


def audit_rows(action=None):
    _db.session.expire_all()
    stmt = sa.select(AuditLog).order_by(AuditLog.id)
    if action:
        stmt = stmt.where(AuditLog.action == action)
    return list(_db.session.scalars(stmt))


def signed_in(c) -> bool:
    return c.get("/").status_code == 200


# -- sign in --------------------------------------------------------------------------------

def test_right_password_signs_in_and_is_audited(app, client, make_user):
    user = make_user("qa", email="alice@bank.test")
    resp = sign_in(client, "  Alice@Bank.TEST ", PASSWORD)
    assert resp.status_code == 302 and urlsplit(resp.headers["Location"]).path == "/"
    assert signed_in(client)
    [row] = audit_rows("login")
    assert (row.subject, row.actor_id, row.ip) == ("alice@bank.test", user.id, "127.0.0.1")
    assert _db.session.get(User, user.id).last_login_at is not None


def test_wrong_password_and_unknown_email_get_the_same_refusal(app, client, make_user):
    make_user("qa", email="alice@bank.test")
    wrong = sign_in(client, "alice@bank.test", "not the password")
    unknown = sign_in(client, "nobody@bank.test", "not the password")
    for resp in (wrong, unknown):
        assert resp.status_code == 401
        assert WRONG in resp.get_data(as_text=True)
        assert 'role="alert"' in resp.get_data(as_text=True)
    assert not signed_in(client)
    assert [r.subject for r in audit_rows("login_failed")] == ["alice@bank.test",
                                                               "nobody@bank.test"]
    assert audit_rows("login") == []


def test_inactive_user_cannot_sign_in(app, client, make_user):
    user = make_user("admin", email="gone@bank.test")
    user.active = False
    _db.session.commit()
    resp = sign_in(client, "gone@bank.test", PASSWORD)
    assert resp.status_code == 401 and WRONG in resp.get_data(as_text=True)
    assert not signed_in(client)
    assert [r.subject for r in audit_rows("login_failed")] == ["gone@bank.test"]


def test_a_deactivated_users_session_stops_working(app, client, login, make_user):
    user = make_user("admin")
    login(user)
    assert client.get("/admin/users").status_code == 200
    user.active = False
    _db.session.commit()
    resp = client.get("/admin/users")
    assert resp.status_code == 302 and urlsplit(resp.headers["Location"]).path == "/login"


def test_signed_in_user_visiting_login_goes_home(app, client, login, make_user):
    login(make_user("qa"))
    resp = client.get("/login")
    assert resp.status_code == 302 and urlsplit(resp.headers["Location"]).path == "/"


# -- throttling -----------------------------------------------------------------------------

def test_account_is_throttled_after_repeated_failures_then_released(app, client, make_user):
    make_user("qa", email="alice@bank.test")
    limit = app.config["LOGIN_MAX_FAILURES"]
    for i in range(limit):  # the address is normalised: case does not dodge the count
        resp = sign_in(client, "ALICE@bank.test" if i % 2 else "alice@bank.test", f"guess {i}")
        assert resp.status_code == 401

    resp = sign_in(client, "alice@bank.test", PASSWORD)
    assert resp.status_code == 429
    assert THROTTLED in resp.get_data(as_text=True)
    assert not signed_in(client)
    # The lock is on the account, not only on the address the guesses came from.
    other = _client(app, ip="10.1.2.3")
    assert sign_in(other, "alice@bank.test", PASSWORD).status_code == 429
    assert audit_rows("login") == []
    assert len(audit_rows("login_throttled")) == 2
    # Throttled attempts are not failures: they do not extend the lock.
    assert len(audit_rows("login_failed")) == limit

    window = timedelta(seconds=app.config["LOGIN_FAILURE_WINDOW"] + 1)
    for row in audit_rows():
        row.created_at = row.created_at - window
    _db.session.commit()
    resp = sign_in(client, "alice@bank.test", PASSWORD)
    assert resp.status_code == 302 and signed_in(client)


def test_throttle_window_through_the_service(app, make_user):
    make_user("qa", email="bob@bank.test")
    limit = app.config["LOGIN_MAX_FAILURES"]
    window = timedelta(seconds=app.config["LOGIN_FAILURE_WINDOW"])
    t0 = now_utc()
    for i in range(limit):
        with pytest.raises(services.InvalidCredentials):
            services.authenticate("bob@bank.test", "wrong", ip="10.0.0.1",
                                  now=t0 + timedelta(seconds=i))
    _db.session.commit()
    with pytest.raises(services.LoginThrottled) as exc:
        services.authenticate("bob@bank.test", PASSWORD, ip="10.0.0.1",
                              now=t0 + timedelta(minutes=1))
    assert exc.value.retry_after >= 60
    _db.session.commit()
    # Still inside the window for the last failures: refused.
    with pytest.raises(services.LoginThrottled):
        services.authenticate("bob@bank.test", PASSWORD, ip="10.0.0.1",
                              now=t0 + window - timedelta(seconds=1))
    user = services.authenticate("bob@bank.test", PASSWORD, ip="10.0.0.1",
                                 now=t0 + window + timedelta(seconds=limit + 1))
    assert user.email == "bob@bank.test"


def test_a_successful_sign_in_resets_the_accounts_count(app, make_user):
    make_user("qa", email="carol@bank.test")
    limit = app.config["LOGIN_MAX_FAILURES"]
    t0 = now_utc()
    for round_ in range(2):
        base = t0 + timedelta(minutes=round_)
        for i in range(limit - 1):
            with pytest.raises(services.InvalidCredentials):
                services.authenticate("carol@bank.test", "wrong", ip="10.0.0.2",
                                      now=base + timedelta(seconds=i))
        services.authenticate("carol@bank.test", PASSWORD, ip="10.0.0.2",
                              now=base + timedelta(seconds=30))
        _db.session.commit()
    # 2 * (limit - 1) failures inside the window, but never limit since the last success.
    assert len(audit_rows("login_failed")) == 2 * (limit - 1)
    assert len(audit_rows("login")) == 2


def test_address_is_throttled_across_accounts(app, make_user):
    make_user("qa", email="dave@bank.test")
    app.config["LOGIN_MAX_FAILURES_PER_IP"] = 4
    attacker = _client(app, ip="10.6.6.6")
    for i in range(4):
        assert sign_in(attacker, f"victim{i}@bank.test", "123456").status_code == 401
    resp = sign_in(attacker, "dave@bank.test", PASSWORD)
    assert resp.status_code == 429 and THROTTLED in resp.get_data(as_text=True)
    # Another address is not affected.
    elsewhere = _client(app, ip="10.7.7.7")
    assert sign_in(elsewhere, "dave@bank.test", PASSWORD).status_code == 302


# -- redirects and sign out -----------------------------------------------------------------

@pytest.mark.parametrize("target", ["/org/branches", "/org/agents?q=A1"])
def test_next_to_a_local_path_is_followed(app, client, make_user, target):
    make_user("admin", email="eve@bank.test")
    resp = sign_in(client, "eve@bank.test", PASSWORD, query_string={"next": target})
    assert resp.status_code == 302
    loc = urlsplit(resp.headers["Location"])
    assert loc.netloc in ("", "localhost") and loc.path + (f"?{loc.query}" if loc.query else "") \
        == target


@pytest.mark.parametrize("target", [
    "//evil.example", "https://evil.example", "http://evil.example/login", "///evil.example",
    "/\\evil.example", "\\\\evil.example", "/\t/evil.example", "/\n/evil.example",
    "javascript:alert(1)", "evil.example", "https:/evil.example",
])
def test_next_to_another_site_goes_home(app, client, make_user, target):
    make_user("admin", email="eve@bank.test")
    resp = sign_in(client, "eve@bank.test", PASSWORD, query_string={"next": target})
    assert resp.status_code == 302
    assert resp.headers["Location"] in ("/", "http://localhost/")


def test_logout_is_post_only_and_audited(app, client, login, make_user):
    user = make_user("qa")
    login(user)
    assert client.get("/logout").status_code == 405
    assert signed_in(client)
    resp = client.post("/logout")
    assert resp.status_code == 302 and urlsplit(resp.headers["Location"]).path == "/login"
    assert not signed_in(client)
    [row] = audit_rows("logout")
    assert (row.actor_id, row.subject) == (user.id, user.email)


# -- passwords ------------------------------------------------------------------------------

def test_passwords_are_stored_hashed(app, make_user):
    user = make_user("qa", password="a long secret phrase")
    stored = _db.session.get(User, user.id).password_hash
    assert "a long secret phrase" not in stored
    assert stored.startswith("pbkdf2:sha256:")  # the test config's fast method
    assert check_password_hash(stored, "a long secret phrase")
    assert not check_password_hash(stored, "a long secret phrase ")
    # Two users with one password get different hashes (salted).
    other = make_user("qa", password="a long secret phrase")
    assert _db.session.get(User, other.id).password_hash != stored


def test_production_hash_method_is_scrypt(tmp_path, monkeypatch):
    monkeypatch.delenv("QMS_PASSWORD_HASH_METHOD", raising=False)
    cfg = app_config(tmp_path / "prod")
    del cfg["PASSWORD_HASH_METHOD"]
    prod = build_app(cfg)
    with prod.app_context():
        stored = services.hash_password("a long secret phrase")
    assert stored.startswith("scrypt:") and check_password_hash(stored, "a long secret phrase")


# -- CSRF -----------------------------------------------------------------------------------

@pytest.fixture
def csrf_app(tmp_path):
    (tmp_path / "csrf").mkdir()
    app = build_app(app_config(tmp_path / "csrf", WTF_CSRF_ENABLED=True))
    with app.app_context():
        _db.create_all()
        yield app
        _db.session.remove()
        _db.engine.dispose()


def _csrf_token(page: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page) \
        or re.search(r'value="([^"]+)"[^>]*name="csrf_token"', page)
    assert match, "no CSRF token on the page"
    return match.group(1)


def _make(email, *roles):
    from qms.auth.services import GrantSpec, create_user

    user = create_user(email=email, name=email, password=PASSWORD,
                       grants=[GrantSpec(r) for r in roles])
    _db.session.commit()
    return user


def test_csrf_on_login(csrf_app):
    _make("frank@bank.test", "qa")
    c = _client(csrf_app)
    refused = sign_in(c, "frank@bank.test", PASSWORD)
    assert refused.status_code == 400
    assert not signed_in(c)
    assert [r.action for r in audit_rows()] == ["user_created"]  # no login, no login_failed
    token = _csrf_token(c.get("/login").get_data(as_text=True))
    resp = c.post("/login", data={"email": "frank@bank.test", "password": PASSWORD,
                                  "csrf_token": token})
    assert resp.status_code == 302 and signed_in(c)


def test_csrf_on_locale_logout_and_admin_forms(csrf_app):
    admin = _make("grace@bank.test", "admin")
    c = login_csrf(csrf_app, admin)

    assert c.post("/locale", data={"lang": "zh_Hant", "next": "/"}).status_code == 400
    _db.session.expire_all()
    assert _db.session.get(User, admin.id).locale is None

    assert c.post("/org/branches/new", data={
        "code": "CSRF1", "name": "x", "region": "x", "city": "x", "timezone": "Asia/Shanghai",
    }).status_code == 400
    assert _db.session.scalar(sa.select(sa.func.count(Branch.id))) == 0

    assert c.post("/logout").status_code == 400
    assert signed_in(c) and audit_rows("logout") == []

    token = _csrf_token(c.get("/org/branches/new").get_data(as_text=True))
    resp = c.post("/org/branches/new", data={
        "code": "CSRF1", "name": "x", "region": "x", "city": "x", "timezone": "Asia/Shanghai",
        "csrf_token": token})
    assert resp.status_code == 302
    assert _db.session.scalar(sa.select(Branch.code)) == "CSRF1"

    token = _csrf_token(c.get("/").get_data(as_text=True))  # the language switcher's form
    assert c.post("/locale", data={"lang": "zh_Hant", "next": "/",
                                   "csrf_token": token}).status_code == 302
    _db.session.expire_all()
    assert _db.session.get(User, admin.id).locale == "zh_Hant"

    token = _csrf_token(c.get("/").get_data(as_text=True))  # the sign-out button's form
    assert c.post("/logout", data={"csrf_token": token}).status_code == 302
    assert not signed_in(c)


def test_csrf_on_role_and_token_admin_posts(csrf_app):
    admin = _make("heidi@bank.test", "admin")
    target = _make("ivan@bank.test", "qa", "auditor")
    token_row, _secret = services.create_api_token(name="t", role="qa")
    _db.session.commit()
    c = login_csrf(csrf_app, admin)
    grant_id = target.grants[0].id
    assert c.post(f"/admin/users/{target.id}/grants/{grant_id}/remove").status_code == 400
    assert c.post(f"/admin/users/{target.id}/grants",
                  data={"grant-role": "admin"}).status_code == 400
    assert c.post(f"/admin/api-tokens/{token_row.id}/revoke").status_code == 400
    assert c.post(f"/admin/users/{target.id}",
                  data={"email": target.email, "name": "x"}).status_code == 400
    _db.session.expire_all()
    fresh = _db.session.get(User, target.id)
    assert fresh.roles == {"qa", "auditor"} and fresh.active and fresh.name == target.email
    assert _db.session.get(type(token_row), token_row.id).revoked_at is None


def login_csrf(app, user):
    c = _client(app)
    with app.test_request_context(environ_base=c.environ_base):
        ident = login_manager._session_identifier_generator()
    with c.session_transaction() as sess:
        sess["_user_id"] = str(user.id)
        sess["_fresh"] = True
        sess["_id"] = ident
    return c


# -- headers and cookies --------------------------------------------------------------------

def _csp(resp) -> dict[str, list[str]]:
    policy = resp.headers.get("Content-Security-Policy", "")
    out = {}
    for part in policy.split(";"):
        words = part.split()
        if words:
            out[words[0].lower()] = words[1:]
    return out


def assert_security_headers(resp):
    csp = _csp(resp)
    scripts = csp.get("script-src") or csp.get("default-src")
    assert scripts, f"no script policy on {resp.request.path}"
    assert "'unsafe-inline'" not in scripts and "'unsafe-eval'" not in scripts
    assert "*" not in scripts and "data:" not in scripts
    assert csp.get("frame-ancestors") == ["'none'"]
    assert csp.get("object-src") == ["'none'"]
    assert resp.headers.get("X-Content-Type-Options") == "nosniff"
    assert resp.headers.get("Referrer-Policy") in (
        "no-referrer", "same-origin", "strict-origin", "strict-origin-when-cross-origin")


def test_security_headers_on_pages_api_and_errors(app, client, login, make_user):
    pages = [client.get("/login"), client.get("/no-such-page"),
             client.get("/api/v1/openapi.json"), client.get("/api/v1/branches"),
             client.get("/api/v1/no-such-thing"), client.get("/healthz")]
    assert [r.status_code for r in pages] == [200, 404, 200, 401, 404, 200]
    assert pages[0].mimetype == "text/html" and pages[2].is_json and pages[4].is_json
    login(make_user("shopper"))
    pages.append(client.get("/admin/users"))
    assert pages[-1].status_code == 403
    for resp in pages:
        assert_security_headers(resp)


def test_session_cookie_is_secure_under_the_default_config(tmp_path, monkeypatch):
    for name in ("QMS_SESSION_COOKIE_SECURE", "QMS_SESSION_COOKIE_HTTPONLY",
                 "QMS_SESSION_COOKIE_SAMESITE"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "default").mkdir()
    cfg = app_config(tmp_path / "default")
    del cfg["SESSION_COOKIE_SECURE"], cfg["REMEMBER_COOKIE_SECURE"]
    app = build_app(cfg)
    with app.app_context():
        _db.create_all()
        _make("judy@bank.test", "qa")
        c = _client(app)
        resp = sign_in(c, "judy@bank.test", PASSWORD, base_url="https://localhost")
        assert resp.status_code == 302
        cookies = [h for h in resp.headers.getlist("Set-Cookie")
                   if h.startswith(app.config["SESSION_COOKIE_NAME"] + "=")]
        assert cookies, resp.headers
        attrs = {a.strip().split("=")[0].lower(): a.strip() for a in cookies[-1].split(";")[1:]}
        assert "secure" in attrs and "httponly" in attrs
        assert attrs.get("samesite", "").lower() == "samesite=lax"
        assert resp.headers.get("Strict-Transport-Security", "").startswith("max-age=")
        assert c.get("/", base_url="https://localhost").status_code == 200
        _db.session.remove()
        _db.engine.dispose()


# -- no inline script -----------------------------------------------------------------------

class _InlineFinder(HTMLParser):
    """Script that runs from markup: inline <script>, on* handlers, javascript: URLs.

    (Inline style is not checked: e-mail templates need it, and it executes nothing.)
    """

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script":
            self._in_script = True
            if not attrs.get("src"):
                self.problems.append("inline <script>")
        for name, value in attrs.items():
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}=...>")
            if name in ("href", "src", "action", "formaction") and (value or "").strip() \
                    .lower().startswith("javascript:"):
                self.problems.append(f"<{tag} {name}=javascript:...>")

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script and data.strip():
            self.problems.append("script body")


def inline_problems(html: str) -> list[str]:
    finder = _InlineFinder()
    finder.feed(html)
    return finder.problems


def test_the_scanner_finds_what_it_looks_for():
    assert inline_problems('<script>alert(1)</script><a href="javascript:x">x</a>'
                           '<img src=x onerror="y">')
    assert inline_problems('<img src=x onerror="y">') == ["<img onerror=...>"]
    assert inline_problems('<p style="color:red">x</p><a href="/x">x</a>') == []
    assert inline_problems('<script src="/static/x.js"></script>') == []


def test_no_template_has_inline_script_or_handlers():
    pattern = re.compile(r"<script(?![^>]*\bsrc=)|\son[a-z]+\s*=|javascript:", re.IGNORECASE)
    found = []
    for path in sorted((ROOT / "templates").rglob("*.html")):
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if pattern.search(line):
                found.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert not found, "\n".join(found)


def test_rendered_pages_have_no_inline_script_or_handlers(app, client, login, make_user,
                                                          make_branch, make_agent):
    from qms.org.models import Customer

    branch = make_branch(code="S1")
    agent = make_agent(branch)
    customer = Customer(ref="C-1", name="客户", segment="vip", home_branch=branch)
    _db.session.add(customer)
    _db.session.commit()
    admin = make_user("admin", branch=None)
    services.create_api_token(name="t", role="qa")
    _db.session.commit()
    ids = {"branch_id": branch.id, "agent_id": agent.id, "customer_id": customer.id,
           "user_id": admin.id, "kind": "customers", "code": branch.code}

    scanned = {}
    anonymous = _client(app)
    scanned["/login"] = anonymous.get("/login")
    scanned["/login (refused)"] = sign_in(anonymous, "x@bank.test", "wrong password")
    scanned["404"] = anonymous.get("/no-such-page")
    login(make_user("shopper"), anonymous)
    scanned["403"] = anonymous.get("/admin/users")
    login(admin)
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.rule.startswith(("/api/", "/static/")):
            continue
        if not set(rule.arguments) <= set(ids):
            continue
        url = rule.build({k: ids[k] for k in rule.arguments}, append_unknown=False)[1]
        scanned[url] = client.get(url)
    for form_page in ("/org/branches/new", "/org/agents/new", "/org/customers/new",
                      "/admin/users/new"):  # with field errors shown
        scanned[form_page + " (errors)"] = client.post(form_page, data={"name": ""})

    assert len(scanned) > 15
    problems = {}
    for name, resp in scanned.items():
        if resp.mimetype != "text/html":
            continue
        found = inline_problems(resp.get_data(as_text=True))
        if found:
            problems[name] = found
    assert not problems, problems


def test_throttled_sign_in_says_when_to_retry(app, client, make_user):
    from datetime import timedelta

    from qms.auth.services import LoginThrottled, authenticate
    from qms.core.db import now_utc
    from qms.extensions import db as _db

    user = make_user("qa")
    start = now_utc()
    window = app.config["LOGIN_FAILURE_WINDOW"]
    for i in range(app.config["LOGIN_MAX_FAILURES"]):
        try:
            authenticate(user.email, "wrong", ip="10.0.0.9", now=start + timedelta(seconds=60 * i))
        except Exception:
            pass
    _db.session.commit()
    later = start + timedelta(seconds=60 * app.config["LOGIN_MAX_FAILURES"])
    try:
        authenticate(user.email, "wrong", ip="10.0.0.9", now=later)
    except LoginThrottled as exc:
        # the oldest failure leaves the window at start + window
        assert exc.retry_after == window - 60 * app.config["LOGIN_MAX_FAILURES"]
    else:
        raise AssertionError("not throttled")
    _db.session.rollback()
    resp = client.post("/login", data={"email": user.email, "password": "wrong"})
    assert resp.status_code == 429
    assert 0 < int(resp.headers["Retry-After"]) <= window

"""Response headers every page carries, and the session cookie's handling."""

from __future__ import annotations

from flask import request
from flask.sessions import SecureCookieSessionInterface

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)

HEADERS = (
    ("Content-Security-Policy", CSP),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "same-origin"),
    ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
)
HSTS = ("Strict-Transport-Security", "max-age=31536000")
_HEADERS = tuple((name.lower(), name, value) for name, value in HEADERS)
_HSTS = (HSTS[0].lower(), *HSTS)
_FRESH = "qms.session.fresh"  # environ key: the empty session of a request without cookies


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed cookie session, the same cookie, with less work per request: the signing
    serializer is built once per key (not on every request), a request without the cookie
    (a customer answering a survey, a probe) gets an empty session without touching it, and
    an untouched empty session is saved by doing nothing."""

    def get_signing_serializer(self, app):
        if not app.secret_key:
            return None
        key = (app.secret_key, tuple(app.config.get("SECRET_KEY_FALLBACKS") or ()))
        cache = app.extensions.setdefault("qms.session_serializers", {})
        found = cache.get(key)
        if found is None:
            if len(cache) > 8:  # keys only change in tests
                cache.clear()
            found = cache[key] = super().get_signing_serializer(app)
        return found

    def open_session(self, app, request):
        if not app.secret_key:
            return None
        if "HTTP_COOKIE" not in request.environ:  # no cookie at all: nothing to read
            session = request.environ[_FRESH] = self.session_class()
            return session
        return super().open_session(app, request)

    def save_session(self, app, session, response):
        if not session and not session.modified:
            # nothing to set, nothing to delete; "Vary: Cookie" as Flask would add it
            if session.accessed:
                if "Vary" in response.headers:
                    response.vary.add("Cookie")
                else:
                    response.headers["Vary"] = "Cookie"
            return
        super().save_session(app, session, response)


def _skip_when_no_session(hook):
    """Flask-Login's after_request hook reads the session on every response to refresh or
    clear the remember-me cookie. A request that came without any cookie and put nothing in
    its session (a customer answering a survey) gives it nothing to do: skip it then."""

    def after(response):
        fresh = request.environ.get(_FRESH)
        if fresh is not None and not fresh and not fresh.modified:
            return response
        return hook(response)

    after.__name__ = after.__qualname__ = getattr(hook, "__name__", "after")
    return after


def init_app(app) -> None:
    app.session_interface = SessionInterface()
    remember = getattr(getattr(app, "login_manager", None), "_update_remember_cookie", None)
    funcs = app.after_request_funcs.get(None, [])
    for i, func in enumerate(funcs):
        if remember is not None and func == remember:
            funcs[i] = _skip_when_no_session(func)

    @app.after_request
    def _headers(resp):
        # each header the view did not set itself (one pass over the few already there)
        present = {k.lower() for k, _v in resp.headers.items()}
        for lower, name, value in _HEADERS:
            if lower not in present:
                resp.headers.add(name, value)
        if app.config.get("SESSION_COOKIE_SECURE") and _HSTS[0] not in present:
            resp.headers.add(*_HSTS[1:])
        return resp

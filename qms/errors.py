"""Error pages in the user's language, and JSON errors on the API."""

from __future__ import annotations

from flask import render_template, request
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException

from qms.core.permissions import api_error


def _titles():
    return {
        400: _("The request could not be understood."),
        403: _("You do not have access to this page."),
        404: _("This page does not exist, or you cannot see it."),
        405: _("This action is not allowed here."),
        413: _("The upload is too large."),
        429: _("Too many requests. Please wait a moment and try again."),
        500: _("Something went wrong on our side. The error has been logged."),
    }


def _fallback(code: int) -> str:
    # Werkzeug's own names ("Conflict", "Gone") are English only.
    if code >= 500:
        return _titles()[500]
    return _("The request could not be completed (error %(code)d).", code=code)


def init_app(app) -> None:
    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        code = exc.code or 500
        message = _titles().get(code) or _fallback(code)
        # keep what the exception says beyond its body (Retry-After, Allow, WWW-Authenticate)
        headers = [(k, v) for k, v in exc.get_headers() if k.lower() != "content-type"]
        if request.path.startswith("/api/"):
            resp = api_error(code, message)
            resp.headers.extend(headers)
            return resp
        return render_template("errors/error.html", code=code, message=message), code, headers

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        app.logger.exception("unhandled error on %s", request.path)
        from qms.extensions import db

        db.session.rollback()
        message = _titles()[500]
        if request.path.startswith("/api/"):
            return api_error(500, message)
        return render_template("errors/error.html", code=500, message=message), 500

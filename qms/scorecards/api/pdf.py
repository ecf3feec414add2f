"""Scorecard PDFs on the API: GET /api/v1/scorecards/branches/<code>/pdf?period=YYYY-MM and
/api/v1/scorecards/agents/<code>/pdf?period=YYYY-MM. A token limited to a branch or region gets
404 for any other branch's scorecard, as if it did not exist."""

from __future__ import annotations

from flask import current_app, request

from qms.core.api import register_spec
from qms.core.permissions import api_error, api_roles, current_principal, route_roles
from qms.scorecards.api import bp
from qms.scorecards.batch import safe_name
from qms.scorecards.pdf import render_pdf
from qms.scorecards.pdf_access import Lookup, pdf_snapshot

READERS = ("admin", "qa", "auditor", "branch_head")
_NAMES = {"branch": "branch", "agent": "agent"}


def _pdf(scope: str, code: str):
    period = request.args.get("period", "")
    found, snapshot = pdf_snapshot(current_principal(), scope, code, period, route_roles())
    if found is Lookup.HIDDEN:
        return api_error(404, f"no such {_NAMES[scope]}")
    if found is Lookup.BAD_PERIOD:
        return api_error(400, "invalid period", {"period": "expected a month as YYYY-MM"})
    if found is Lookup.NO_SNAPSHOT:
        return api_error(404, f"no scorecard computed for {code} in {period}",
                         {"period": "no snapshot for this month"})
    locale = request.args.get("locale") or current_app.config["BABEL_DEFAULT_LOCALE"]
    if locale not in current_app.config["LANGUAGES"]:
        return api_error(400, "invalid locale",
                         {"locale": "one of " + ", ".join(current_app.config["LANGUAGES"])})
    name = f"scorecard-{safe_name(snapshot.entity_code)}-{snapshot.period}.pdf"
    return render_pdf(snapshot, locale=locale), 200, {
        "Content-Type": "application/pdf", "Cache-Control": "private, no-store",
        "Content-Disposition": f'attachment; filename="{name}"',
        "X-Content-Hash": snapshot.content_hash}


@bp.get("/scorecards/branches/<code>/pdf")
@api_roles(*READERS)
def branch_pdf(code: str):
    return _pdf("branch", code)


@bp.get("/scorecards/agents/<code>/pdf")
@api_roles(*READERS)
def agent_pdf(code: str):
    return _pdf("agent", code)


def _spec(scope: str) -> dict:
    return {"get": {
        "summary": f"The {scope}'s scorecard of a month as a PDF (A4)",
        "parameters": [
            {"name": "code", "in": "path", "required": True, "schema": {"type": "string"}},
            {"name": "period", "in": "query", "required": True,
             "schema": {"type": "string", "pattern": r"^\d{4}-(0[1-9]|1[0-2])$"},
             "description": "The month, YYYY-MM"},
            {"name": "locale", "in": "query", "required": False,
             "schema": {"type": "string", "enum": ["zh_Hans", "zh_Hant", "en"]}},
        ],
        "responses": {
            "200": {"description": "The PDF; X-Content-Hash is the snapshot's SHA-256",
                    "content": {"application/pdf": {
                        "schema": {"type": "string", "format": "binary"}}}},
            "400": {"description": "Bad period or locale", "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/Error"}}}},
            "401": {"$ref": "#/components/responses/Unauthorized"},
            "403": {"$ref": "#/components/responses/Forbidden"},
            "404": {"$ref": "#/components/responses/NotFound"},
        },
    }}


register_spec({"paths": {"/scorecards/branches/{code}/pdf": _spec("branch"),
                         "/scorecards/agents/{code}/pdf": _spec("agent")}})

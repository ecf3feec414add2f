"""GET /api/v1/scorecards/branches/<code> and /agents/<code>?period=YYYY-MM: the snapshot.

The same stored snapshot the page and the PDF show. A closed month that was never computed is
computed on the first request (every branch and agent of that month at once); the current
month is only served once the monthly job or a QA user has computed it. A branch-scoped
token gets 404 for a branch or agent outside its scope, identical to a missing one.
"""

from __future__ import annotations

from flask import jsonify, request

from qms.core.api import register_spec
from qms.core.db import now_utc
from qms.core.permissions import api_error, api_roles, current_principal, route_roles
from qms.core.tx import unit_of_work
from qms.scorecards import access
from qms.scorecards.api import bp
from qms.scorecards.compute import last_closed_period, parse_period

READERS = ("admin", "qa", "auditor", "branch_head")


def snapshot_json(snap) -> dict:
    return {**snap.data, "snapshot": {
        "id": snap.id, "content_hash": snap.content_hash,
        "cutoff_at": snap.cutoff_at.isoformat(), "created_at": snap.created_at.isoformat(),
        "stale": snap.stale, "model_version_id": snap.model_version_id}}


def _serve(scope: str, code: str):
    now = now_utc()
    raw = request.args.get("period") or last_closed_period(now)
    try:
        period = parse_period(raw)
    except ValueError:
        return api_error(400, "invalid period", {"period": "YYYY-MM"})
    principal = current_principal()
    if not access.can_read(principal, scope, code, route_roles()):
        return api_error(404, f"no such {scope} in this token's scope")
    with unit_of_work():
        snap = access.snapshot_for(scope, code, period, now=now)
    if snap is None:
        return api_error(404, f"no scorecard of this {scope} for {period}: a month is "
                              "computed once it has ended (or by the monthly job)")
    return jsonify(snapshot_json(snap))


@bp.get("/scorecards/branches/<code>")
@api_roles(*READERS)
def branch_scorecard(code):
    return _serve("branch", code)


@bp.get("/scorecards/agents/<code>")
@api_roles(*READERS)
def agent_scorecard(code):
    return _serve("agent", code)


_NUM = {"type": "number", "nullable": True}
_KPI = {"type": "object", "properties": {
    "key": {"type": "string"}, "unit": {"type": "string"},
    "direction": {"type": "string", "enum": ["higher", "lower"]},
    "target": {"type": "number"}, "green": {"type": "number"}, "amber": {"type": "number"},
    "weight": {"type": "number"}, "weight_share": {"type": "number"}, "value": _NUM,
    "sample": {"type": "integer"}, "min_sample": {"type": "integer"},
    "sufficient": {"type": "boolean"}, "normalised": _NUM,
    "rag": {"type": "string", "enum": ["green", "amber", "red", "none"]},
    "previous": _NUM, "change": _NUM,
    "trend": {"type": "array", "items": {"type": "object", "properties": {
        "period": {"type": "string"}, "value": _NUM}}}}}
_SNAPSHOT = {"type": "object", "properties": {
    "scope": {"type": "string", "enum": ["branch", "agent"]},
    "period": {"type": "string", "example": "2026-10"},
    "entity": {"type": "object", "properties": {k: {"type": "string"} for k in (
        "code", "name", "branch_code", "branch_name", "region")}},
    "model": {"type": "object", "properties": {"id": {"type": "integer"},
                                               "name": {"type": "string"},
                                               "version": {"type": "integer"}}},
    "cutoff": {"type": "string", "format": "date-time"},
    "generated_at": {"type": "string", "format": "date-time"},
    "overall": {"type": "object", "properties": {
        "score": _NUM, "rag": {"type": "string"}, "rank": {"type": "integer", "nullable": True},
        "of": {"type": "integer"}, "rank_in_branch": {"type": "integer", "nullable": True},
        "of_in_branch": {"type": "integer", "nullable": True}}},
    "kpis": {"type": "array", "items": {"$ref": "#/components/schemas/ScorecardKpi"}},
    "weakest_items": {"type": "array", "items": {"type": "object"}},
    "audit": {"type": "object"}, "complaints": {"type": "object"},
    "agents": {"type": "array", "items": {"type": "object"}},
    "normalisation": {"type": "string"},
    "snapshot": {"type": "object", "properties": {
        "id": {"type": "integer"}, "content_hash": {"type": "string"},
        "cutoff_at": {"type": "string", "format": "date-time"},
        "created_at": {"type": "string", "format": "date-time"},
        "stale": {"type": "boolean"}, "model_version_id": {"type": "integer"}}}}}


def _op(scope: str) -> dict:
    return {"get": {
        "summary": f"The scorecard of one {scope} for a month",
        "description": "The stored snapshot (values, weights, model version, cut-off), the "
                       "same as the page and the PDF. KPI values below their minimum sample "
                       "are null with sufficient=false. A closed month never computed is "
                       "computed on request. `stale` means data arrived after the cut-off; "
                       "a recompute makes a new snapshot and keeps this one.",
        "parameters": [
            {"name": "code", "in": "path", "required": True, "schema": {"type": "string"},
             "description": f"{scope.capitalize()} code"},
            {"name": "period", "in": "query", "schema": {"type": "string",
                                                         "pattern": r"^\d{4}-\d{2}$"},
             "description": "UTC month YYYY-MM; default the last ended month"}],
        "responses": {
            "200": {"description": "Snapshot", "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/ScorecardSnapshot"}}}},
            "400": {"description": "Invalid period", "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/Error"}}}},
            "401": {"$ref": "#/components/responses/Unauthorized"},
            "403": {"$ref": "#/components/responses/Forbidden"},
            "404": {"$ref": "#/components/responses/NotFound"},
        }}}


register_spec({
    "paths": {"/scorecards/branches/{code}": _op("branch"),
              "/scorecards/agents/{code}": _op("agent")},
    "components": {"schemas": {"ScorecardKpi": _KPI, "ScorecardSnapshot": _SNAPSHOT}},
})

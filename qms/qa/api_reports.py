"""GET /api/v1/qa/reports: the QA reports page's numbers as JSON, in the token's scope.

Registered on qms.qa.api's blueprint (imported at the bottom of qms/qa/api.py). Agents read
their own figures on the page; a token has no agent behind it, so the API is for admin, QA and
branch-head tokens.
"""

from __future__ import annotations

from flask import jsonify, request

from qms.core.api import register_spec
from qms.core.permissions import api_error, api_roles, current_principal, route_roles
from qms.qa.api import bp
from qms.qa.models import CHANNELS
from qms.qa.report_filters import FilterError, OutOfScope, parse_report_filters
from qms.qa.reports import DIMENSIONS, OUTCOMES, ReportRow, qa_report

READERS = ("admin", "qa", "branch_head")
LOCALES = ("zh_Hans", "zh_Hant", "en")
FILTERS = ("from", "to", "branch", "agent", "team", "grader", "rubric", "channel")


def _row(r: ReportRow) -> dict:
    return {"key": r.code or None, "label": r.label, **r.stats.as_dict(),
            "disputes": r.outcomes.as_dict(),
            "coach_first": r.coach.as_dict() if r.coach else None}


@bp.get("/qa/reports")
@api_roles(*READERS)
def qa_reports_api():
    try:
        f = parse_report_filters(request.args, current_principal(), route_roles())
    except OutOfScope:
        return api_error(404, "no such branch, agent, grader or rubric in this token's scope")
    except FilterError as exc:
        return api_error(400, "invalid filters", exc.fields)
    by = request.args.get("by", "agent")
    if by not in DIMENSIONS:
        return api_error(400, "invalid filters", {"by": f"one of {', '.join(DIMENSIONS)}"})
    lang = request.args.get("lang", "zh_Hans")
    if lang not in LOCALES:
        return api_error(400, "invalid filters", {"lang": f"one of {', '.join(LOCALES)}"})
    limit = request.args.get("limit", 10, type=int)
    rep = qa_report(f, by=by, locale=lang, limit=max(1, min(limit or 10, 100)))
    return jsonify({
        "filters": {k: request.args[k] for k in FILTERS if request.args.get(k)},
        "summary": rep.summary.as_dict(),
        "disputes": rep.outcomes.as_dict(),
        "trend": [{"month": p.month, **p.stats.as_dict()} for p in rep.trend],
        "breakdown": {"by": by, "rows": [_row(r) for r in rep.rows]},
        "most_failed": [c.as_dict() for c in rep.most_failed],
    })


def _param(name: str, description: str, **schema) -> dict:
    return {"name": name, "in": "query", "description": description,
            "schema": schema or {"type": "string"}}


_STATS = {"type": "object", "properties": {
    "evaluations": {"type": "integer"},
    "average_score": {"type": "number", "nullable": True, "description": "0..100"},
    "auto_failed": {"type": "integer"},
    "auto_fail_rate": {"type": "number", "nullable": True, "description": "0..1"},
    "disputed": {"type": "integer"},
    "dispute_rate": {"type": "number", "nullable": True, "description": "0..1"}}}
_OUTCOMES = {"type": "object", "properties": {
    "total": {"type": "integer"}, **{k: {"type": "integer"} for k in OUTCOMES},
    "upheld_rate": {"type": "number", "nullable": True,
                    "description": "accepted or partly accepted / decided, 0..1"}}}
_CRITERION = {"type": "object", "properties": {
    "rubric_id": {"type": "integer"}, "rubric": {"type": "string"},
    "criterion": {"type": "string"}, "label": {"type": "string"},
    "scored": {"type": "integer"}, "failed": {"type": "integer"},
    "failed_share": {"type": "number"}}}

register_spec({
    "paths": {"/qa/reports": {"get": {
        "summary": "QA reports: average score, auto-fail rate, trend, most-failed criteria, "
                   "disputes, per agent, branch, team or grader",
        "description": "The same numbers as the QA reports page. Released evaluations only; "
                       "calibration scores and replaced items never count. Periods are UTC "
                       "by submission day; `to` includes the whole day. A branch-scoped token "
                       "sees its branches only; a branch or agent outside the scope gives 404.",
        "parameters": [
            _param("from", "First day (YYYY-MM-DD, UTC)", type="string", format="date"),
            _param("to", "Last day, included (YYYY-MM-DD, UTC)", type="string", format="date"),
            _param("branch", "Branch code"), _param("agent", "Agent code"),
            _param("team", "Team"), _param("grader", "Grader's user id", type="integer"),
            _param("rubric", "Rubric id", type="integer"),
            _param("channel", "Interaction channel", type="string", enum=list(CHANNELS)),
            _param("by", "Breakdown dimension", type="string", enum=list(DIMENSIONS)),
            _param("lang", "Language of criterion labels", type="string", enum=list(LOCALES)),
            _param("limit", "Most-failed criteria to list (1-100)", type="integer"),
        ],
        "responses": {
            "200": {"description": "Report", "content": {"application/json": {"schema": {
                "$ref": "#/components/schemas/QaReport"}}}},
            "400": {"description": "Invalid filters", "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/Error"}}}},
            "401": {"$ref": "#/components/responses/Unauthorized"},
            "403": {"$ref": "#/components/responses/Forbidden"},
            "404": {"$ref": "#/components/responses/NotFound"},
        },
    }}},
    "components": {"schemas": {
        "QaStats": _STATS,
        "QaDisputeOutcomes": _OUTCOMES,
        "QaCriterionFailure": _CRITERION,
        "QaReport": {"type": "object", "properties": {
            "filters": {"type": "object"},
            "summary": {"$ref": "#/components/schemas/QaStats"},
            "disputes": {"$ref": "#/components/schemas/QaDisputeOutcomes"},
            "trend": {"type": "array", "items": {"allOf": [
                {"$ref": "#/components/schemas/QaStats"},
                {"type": "object", "properties": {"month": {"type": "string"}}}]}},
            "breakdown": {"type": "object", "properties": {
                "by": {"type": "string", "enum": list(DIMENSIONS)},
                "rows": {"type": "array", "items": {"allOf": [
                    {"$ref": "#/components/schemas/QaStats"},
                    {"type": "object", "properties": {
                        "key": {"type": "string", "nullable": True},
                        "label": {"type": "string"},
                        "disputes": {"$ref": "#/components/schemas/QaDisputeOutcomes"},
                        "coach_first": {"allOf": [
                            {"$ref": "#/components/schemas/QaCriterionFailure"}],
                            "nullable": True}}}]}}}},
            "most_failed": {"type": "array",
                            "items": {"$ref": "#/components/schemas/QaCriterionFailure"}},
        }},
    }},
})

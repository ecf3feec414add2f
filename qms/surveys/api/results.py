"""GET /api/v1/surveys/<id>/results: the results page's numbers as JSON, in the token's scope."""

from __future__ import annotations

from flask import jsonify, request

from qms.core.api import register_spec
from qms.core.permissions import api_error, api_roles, current_principal, route_roles
from qms.surveys.api import bp
from qms.surveys.questions import LOCALES
from qms.surveys.results import DIMENSIONS, FilterError, Kpis, OutOfScope, survey_results
from qms.surveys.results_filters import parse_filters

READERS = ("admin", "qa", "branch_head")


def _kpis(k: Kpis) -> dict:
    c = k.counts
    return {
        "responses": c.responses,
        "csat_percent": k.csat.as_dict(),
        "nps": k.nps.as_dict() | {"promoters": c.promoters, "passives": c.passives,
                                  "detractors": c.detractors},
        "ces": k.ces.as_dict(),
        "response_rate_percent": k.response_rate.as_dict() | {"completed": c.completed,
                                                              "delivered": c.delivered},
    }


def _question(q) -> dict:
    out = {"key": q.key, "type": q.qtype, "label": q.label, "answered": q.answered,
           "mean": None if q.mean is None else round(q.mean, 4),
           "counts": [{"key": b.key, "label": b.label, "count": b.count} for b in q.bars]}
    if q.kpi is not None:
        out["kpi"] = q.kpi.as_dict()
    if q.rows:
        out["rows"] = [{"key": r.key, "label": r.label, "answered": r.answered,
                        "mean": None if r.mean is None else round(r.mean, 4),
                        "counts": [{"key": b.key, "count": b.count} for b in r.bars]}
                       for r in q.rows]
    return out


@bp.get("/surveys/<int:survey_id>/results")
@api_roles(*READERS)
def survey_results_api(survey_id: int):
    try:
        f = parse_filters(survey_id, request.args, current_principal(), route_roles())
    except OutOfScope:
        return api_error(404, "no such survey, branch, agent or campaign in this token's scope")
    except FilterError as exc:
        return api_error(400, "invalid filters", exc.fields)
    by = request.args.get("by", "branch")
    if by not in DIMENSIONS:
        return api_error(400, "invalid filters", {"by": f"one of {', '.join(DIMENSIONS)}"})
    lang = request.args.get("lang", "zh_Hans")
    if lang not in LOCALES:
        return api_error(400, "invalid filters", {"lang": f"one of {', '.join(LOCALES)}"})
    res = survey_results(f, locale=lang, by=by)
    return jsonify({
        "survey": survey_id,
        "filters": {k: request.args[k] for k in ("version", "campaign", "branch", "agent",
                                                 "segment", "channel", "from", "to")
                    if request.args.get(k)},
        "min_sample": res.min_sample,
        "summary": _kpis(res.summary),
        "trend": [{"month": p.month, **_kpis(p.kpis)} for p in res.trend],
        "breakdown": {"by": by, "rows": [{"key": r.code or None, "label": r.label,
                                          **_kpis(r.kpis)} for r in res.breakdown]},
        "questions": [_question(q) for q in res.questions],
    })


_METRIC = {"type": "object", "properties": {
    "value": {"type": "number", "nullable": True,
              "description": "null below the minimum sample or without data"},
    "n": {"type": "integer"},
    "status": {"type": "string", "enum": ["ok", "insufficient", "no_data"]}}}
_KPIS = {"type": "object", "properties": {
    "responses": {"type": "integer"}, "csat_percent": {"$ref": "#/components/schemas/Metric"},
    "nps": {"$ref": "#/components/schemas/Metric"}, "ces": {"$ref": "#/components/schemas/Metric"},
    "response_rate_percent": {"$ref": "#/components/schemas/Metric"}}}


def _param(name: str, description: str, **schema) -> dict:
    return {"name": name, "in": "query", "description": description,
            "schema": schema or {"type": "string"}}


register_spec({
    "paths": {"/surveys/{survey_id}/results": {"get": {
        "summary": "Survey results: KPIs, monthly trend, breakdown and answers per question",
        "description": "The same numbers as the results page. A branch-scoped token sees its "
                       "branches only; a branch, agent or campaign outside the scope gives 404. "
                       "Periods are UTC; `to` includes the whole day.",
        "parameters": [
            {"name": "survey_id", "in": "path", "required": True, "schema": {"type": "integer"}},
            _param("branch", "Branch code"), _param("agent", "Agent code"),
            _param("campaign", "Campaign id", type="integer"),
            _param("version", "Survey version number", type="integer"),
            _param("segment", "Customer segment", type="string", enum=["standard", "vip"]),
            _param("channel", "Channel", type="string", enum=["email", "counter", "api"]),
            _param("from", "First day (YYYY-MM-DD, UTC)", type="string", format="date"),
            _param("to", "Last day, included (YYYY-MM-DD, UTC)", type="string", format="date"),
            _param("by", "Breakdown dimension", type="string", enum=list(DIMENSIONS)),
            _param("lang", "Language of the labels", type="string", enum=list(LOCALES)),
        ],
        "responses": {
            "200": {"description": "Results", "content": {"application/json": {"schema": {
                "$ref": "#/components/schemas/SurveyResults"}}}},
            "400": {"description": "Invalid filters", "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/Error"}}}},
            "401": {"$ref": "#/components/responses/Unauthorized"},
            "404": {"$ref": "#/components/responses/NotFound"},
        },
    }}},
    "components": {"schemas": {
        "Metric": _METRIC,
        "Kpis": _KPIS,
        "SurveyResults": {"type": "object", "properties": {
            "survey": {"type": "integer"}, "filters": {"type": "object"},
            "min_sample": {"type": "integer"},
            "summary": {"$ref": "#/components/schemas/Kpis"},
            "trend": {"type": "array", "items": {"allOf": [
                {"$ref": "#/components/schemas/Kpis"},
                {"type": "object", "properties": {"month": {"type": "string"}}}]}},
            "breakdown": {"type": "object", "properties": {
                "by": {"type": "string"}, "rows": {"type": "array", "items": {
                    "$ref": "#/components/schemas/Kpis"}}}},
            "questions": {"type": "array", "items": {"type": "object"}}}},
    }},
})

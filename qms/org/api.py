"""JSON API for the organisation: branches and agents in the token's scope."""

from __future__ import annotations

from flask import Blueprint, abort, jsonify, request

from qms.core.api import register_spec
from qms.core.permissions import api_roles, can_see_branch, current_principal
from qms.org import services

bp = Blueprint("org_api", __name__, url_prefix="/api/v1")

READERS = ("admin", "qa", "auditor", "complaints", "branch_head")


def _branch(b) -> dict:
    return {"code": b.code, "name": b.name, "region": b.region, "city": b.city,
            "timezone": b.timezone, "active": b.active}


def _agent(a) -> dict:
    return {"code": a.code, "name": a.name, "branch": a.branch.code, "team": a.team,
            "active": a.active}


@bp.get("/branches")
@api_roles(*READERS)
def branches():
    page = services.search_branches(current_principal(), q=request.args.get("q", ""),
                                    region=request.args.get("region") or None,
                                    page=request.args.get("page", 1, type=int), per_page=200)
    return jsonify({"items": [_branch(b) for b in page.items], "total": page.total,
                    "page": page.page, "pages": page.pages})


@bp.get("/branches/<code>")
@api_roles(*READERS)
def branch(code: str):
    b = services.get_branch_by_code(code)
    if b is None or not can_see_branch(current_principal(), b.id):
        abort(404)
    agents = services.search_agents(current_principal(), branch_id=b.id, per_page=1000)
    return jsonify({**_branch(b), "agents": [_agent(a) for a in agents.items]})


_BRANCH = {
    "type": "object",
    "properties": {k: {"type": "string"} for k in ("code", "name", "region", "city", "timezone")}
    | {"active": {"type": "boolean"}},
}

_AGENT = {
    "type": "object",
    "properties": {k: {"type": "string"} for k in ("code", "name", "branch")}
    | {"team": {"type": "string", "nullable": True}, "active": {"type": "boolean"}},
}

_BRANCH_DETAIL = {
    "allOf": [{"$ref": "#/components/schemas/Branch"}, {
        "type": "object",
        "properties": {"agents": {"type": "array", "items": {"$ref": "#/components/schemas/Agent"}}},
    }],
}

register_spec({
    "paths": {
        "/branches": {"get": {
            "summary": "Branches in the token's scope",
            "parameters": [
                {"name": "q", "in": "query", "schema": {"type": "string"}},
                {"name": "region", "in": "query", "schema": {"type": "string"}},
                {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1}},
            ],
            "responses": {
                "200": {"description": "A page of branches", "content": {"application/json": {
                    "schema": {"type": "object", "properties": {
                        "items": {"type": "array", "items": {"$ref": "#/components/schemas/Branch"}},
                        "total": {"type": "integer"}, "page": {"type": "integer"},
                        "pages": {"type": "integer"}}}}}},
                "401": {"$ref": "#/components/responses/Unauthorized"},
                "403": {"$ref": "#/components/responses/Forbidden"},
            },
        }},
        "/branches/{code}": {"get": {
            "summary": "One branch with its agents",
            "parameters": [{"name": "code", "in": "path", "required": True,
                            "schema": {"type": "string"}}],
            "responses": {
                "200": {"description": "The branch", "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/BranchDetail"}}}},
                "401": {"$ref": "#/components/responses/Unauthorized"},
                "403": {"$ref": "#/components/responses/Forbidden"},
                "404": {"$ref": "#/components/responses/NotFound"},
            },
        }},
    },
    "components": {"schemas": {"Branch": _BRANCH, "Agent": _AGENT, "BranchDetail": _BRANCH_DETAIL}},
})

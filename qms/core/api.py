"""The JSON API's shared parts: /api/v1/openapi.json, assembled from each domain's fragment."""

from __future__ import annotations

import copy

from flask import Blueprint, jsonify

from qms.core.permissions import api_public

bp = Blueprint("core_api", __name__, url_prefix="/api/v1")

_FRAGMENTS: list[dict] = []

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error", "fields"],
    "properties": {
        "error": {"type": "string"},
        "fields": {"type": "object", "additionalProperties": {"type": "string"}},
    },
}


def register_spec(fragment: dict) -> None:
    """Domains describe their paths and schemas here when their api module is imported."""
    _FRAGMENTS.append(fragment)


def build_openapi() -> dict:
    spec = {
        "openapi": "3.0.3",
        "info": {
            "title": "QMS API",
            "version": "1",
            "description": "Quality management and surveys. Authenticate with "
                           "`Authorization: Bearer <token>` (flask --app qms api-tokens create).",
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "paths": {},
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {"Error": ERROR_SCHEMA},
            "responses": {
                "Unauthorized": {
                    "description": "Missing, wrong or revoked token",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
                },
                "Forbidden": {
                    "description": "The token's role may not use this endpoint",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
                },
                "NotFound": {
                    "description": "No such object in the token's scope",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
                },
            },
        },
    }
    spec["paths"]["/openapi.json"] = {
        "get": {"summary": "This description", "security": [],
                "responses": {"200": {"description": "OpenAPI 3 document"}}}
    }
    for fragment in _FRAGMENTS:
        frag = copy.deepcopy(fragment)
        for path, ops in frag.get("paths", {}).items():
            spec["paths"].setdefault(path, {}).update(ops)
        for kind, items in frag.get("components", {}).items():
            spec["components"].setdefault(kind, {}).update(items)
    return spec


@bp.get("/openapi.json")
@api_public
def openapi():
    return jsonify(build_openapi())

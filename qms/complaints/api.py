"""JSON API of complaints under /api/v1: POST /complaints (intake from a core-banking, call-centre
or regulator-transfer system) and GET /complaints/<reference>.

Roles: admin and complaints tokens create (a token limited to a region or branch only for its
branches); those and qa, auditor and branch_head tokens read, each within its scope — another
branch's reference is 404, as if it did not exist. Bad input is 400 with every field's
problem, and nothing is stored.
"""

from __future__ import annotations

import base64
import binascii
import io

import sqlalchemy as sa
from flask import Blueprint, jsonify, request
from werkzeug.datastructures import FileStorage

from qms.complaints import intake
from qms.complaints.models import Complaint
from qms.core.api import register_spec
from qms.core.permissions import (
    api_error,
    api_roles,
    can_see_branch,
    current_principal,
    route_roles,
)
from qms.core.tx import unit_of_work
from qms.extensions import db
from qms.org.models import Agent, Branch

bp = Blueprint("complaints_api", __name__, url_prefix="/api/v1")

CREATORS = ("admin", "complaints")
READERS = ("admin", "complaints", "qa", "auditor", "branch_head")
INPUT_FIELDS = ("customer_ref", "complainant_name", "complainant_email", "complainant_phone",
                "complainant_locale", "segment", "representative", "branch_code", "agent_code",
                "product", "channel_code", "business_code", "cause_code", "severity",
                "description", "requested_outcome", "received_at", "source", "regulator_ref")


def _iso(value):
    return value.isoformat().replace("+00:00", "Z") if value else None


def _attachments(raw, fields: dict) -> list[FileStorage]:
    """[{filename, content_base64}] as file storages for the intake's checks."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        fields["attachments"] = "must be a list of {filename, content_base64}"
        return []
    files = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict) or not isinstance(item.get("content_base64"), str):
            fields["attachments"] = f"item {i}: needs content_base64 (and a filename)"
            return []
        try:
            data = base64.b64decode(item["content_base64"], validate=True)
        except (binascii.Error, ValueError):
            fields["attachments"] = f"item {i}: content_base64 is not valid base64"
            return []
        name = item.get("filename") if isinstance(item.get("filename"), str) else "attachment"
        files.append(FileStorage(stream=io.BytesIO(data), filename=name or "attachment"))
    return files


@bp.post("/complaints")
@api_roles(*CREATORS)
def create_complaint():
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict):
        return api_error(400, "expected a JSON object", {"": "expected a JSON object"})
    unknown = sorted(set(payload) - set(INPUT_FIELDS) - {"attachments"})
    fields: dict[str, str] = {name: "unknown field" for name in unknown}
    files = _attachments(payload.get("attachments"), fields)
    if fields:
        return api_error(400, "invalid complaint", fields)
    data = {name: payload.get(name) for name in INPUT_FIELDS}
    data["attachments"] = files
    principal = current_principal()
    try:
        with unit_of_work():
            complaint, token = intake.create_complaint(data, actor=principal, via="api")
            duplicates = [c.reference for c in intake.duplicates_of(complaint)]
            body = {"reference": complaint.reference, "status": complaint.status,
                    "due_on": complaint.due_on.isoformat() if complaint.due_on else None,
                    "received_at": _iso(complaint.received_at),
                    "priority": complaint.priority,
                    "status_url": intake.status_url(token) if token else None}
    except intake.IntakeError as exc:
        return api_error(400, "invalid complaint", {k: str(v) for k, v in exc.fields.items()})
    if duplicates:
        body["duplicate_of"] = duplicates
    resp = jsonify(body)
    resp.status_code = 201
    resp.headers["Location"] = f"/api/v1/complaints/{body['reference']}"
    return resp


@bp.get("/complaints/<reference>")
@api_roles(*READERS)
def get_complaint(reference: str):
    complaint = db.session.scalar(sa.select(Complaint).where(Complaint.reference == reference))
    if complaint is None or not can_see_branch(current_principal(), complaint.branch_id,
                                               route_roles()):
        return api_error(404, "no such complaint")
    branch = db.session.get(Branch, complaint.branch_id) if complaint.branch_id else None
    agent = db.session.get(Agent, complaint.agent_id) if complaint.agent_id else None
    return jsonify({
        "reference": complaint.reference, "status": complaint.status,
        "received_at": _iso(complaint.received_at),
        "due_on": complaint.due_on.isoformat() if complaint.due_on else None,
        "branch_code": branch.code if branch else None,
        "agent_code": agent.code if agent else None,
        "product": complaint.product, "channel_code": complaint.channel_code,
        "business_code": complaint.business_code, "cause_code": complaint.cause_code,
        "severity": complaint.severity, "priority": complaint.priority,
        "source": complaint.source, "regulator_ref": complaint.regulator_ref,
        "outcome": complaint.outcome, "closed_at": _iso(complaint.closed_at),
    })


_STRING = {"type": "string"}
_NULLABLE_STRING = {"type": "string", "nullable": True}
_ERROR = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}

register_spec({
    "paths": {
        "/complaints": {"post": {
            "summary": "Register a complaint",
            "description": (
                "Roles: admin, complaints (a scoped token only for its branches). The clock "
                "runs from `received_at` (default: now; never in the future; without an "
                "offset it is read in the branch's time zone). A complaint transferred by "
                "the regulator (`source: regulator`) needs `regulator_ref`. VIP customers' "
                "complaints get priority `high`. When the customer has an unfinished "
                "complaint of the same category, it is still registered and `duplicate_of` "
                "lists the others. `status_url` is the complainant's private progress page. "
                "Bad input gets 400 with every field's problem; nothing is stored."),
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "$ref": "#/components/schemas/ComplaintRequest"}}}},
            "responses": {
                "201": {"description": "Registered", "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/ComplaintCreated"}}}},
                "400": {"description": "Invalid input: `fields` says which",
                        "content": _ERROR},
                "401": {"$ref": "#/components/responses/Unauthorized"},
                "403": {"$ref": "#/components/responses/Forbidden"},
            },
        }},
        "/complaints/{reference}": {"get": {
            "summary": "A complaint's status and classification",
            "description": "Roles: admin, complaints, qa, auditor, branch_head, each within "
                           "its scope (another branch's complaint is 404).",
            "parameters": [{"name": "reference", "in": "path", "required": True,
                            "schema": _STRING, "example": "CMP-2026-000123"}],
            "responses": {
                "200": {"description": "The complaint", "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/Complaint"}}}},
                "401": {"$ref": "#/components/responses/Unauthorized"},
                "403": {"$ref": "#/components/responses/Forbidden"},
                "404": {"$ref": "#/components/responses/NotFound"},
            },
        }},
    },
    "components": {"schemas": {
        "ComplaintRequest": {
            "type": "object",
            "required": ["branch_code", "channel_code", "business_code", "description"],
            "additionalProperties": False,
            "properties": {
                "customer_ref": {**_STRING, "maxLength": 64,
                                 "description": "A known customer; else give the person"},
                "complainant_name": {**_STRING, "maxLength": 200},
                "complainant_email": {**_STRING, "maxLength": 254},
                "complainant_phone": {**_STRING, "maxLength": 32},
                "complainant_locale": {"type": "string", "enum": ["zh_Hans", "zh_Hant", "en"]},
                "segment": {"type": "string", "enum": ["standard", "vip"]},
                "representative": {**_STRING, "maxLength": 200},
                "branch_code": {**_STRING, "maxLength": 32},
                "agent_code": {**_STRING, "maxLength": 32},
                "product": {**_STRING, "maxLength": 100},
                "channel_code": {**_STRING, "description": "JR/T 0169 axis A code"},
                "business_code": {**_STRING, "description": "JR/T 0169 axis B code"},
                "cause_code": {**_STRING, "description": "JR/T 0169 axis C code"},
                "severity": {"type": "string", "enum": ["low", "medium", "high", "critical"]},
                "description": {**_STRING, "maxLength": 10000},
                "requested_outcome": {**_STRING, "maxLength": 5000},
                "received_at": {**_STRING, "format": "date-time"},
                "source": {"type": "string", "enum": ["direct", "regulator"]},
                "regulator_ref": {**_STRING, "maxLength": 64},
                "attachments": {"type": "array", "items": {
                    "type": "object", "required": ["content_base64"],
                    "properties": {"filename": _STRING,
                                   "content_base64": {**_STRING, "format": "byte"}}}},
            },
        },
        "ComplaintCreated": {"type": "object", "properties": {
            "reference": {**_STRING, "example": "CMP-2026-000123"},
            "status": _STRING, "due_on": {**_STRING, "format": "date", "nullable": True},
            "received_at": {**_STRING, "format": "date-time"},
            "priority": {"type": "string", "enum": ["normal", "high"]},
            "status_url": {**_STRING, "format": "uri"},
            "duplicate_of": {"type": "array", "items": _STRING}}},
        "Complaint": {"type": "object", "properties": {
            "reference": _STRING, "status": _STRING,
            "received_at": {**_STRING, "format": "date-time"},
            "due_on": {**_STRING, "format": "date", "nullable": True},
            "branch_code": _NULLABLE_STRING, "agent_code": _NULLABLE_STRING,
            "product": _NULLABLE_STRING, "channel_code": _NULLABLE_STRING,
            "business_code": _NULLABLE_STRING, "cause_code": _NULLABLE_STRING,
            "severity": _STRING, "priority": _STRING, "source": _STRING,
            "regulator_ref": _NULLABLE_STRING, "outcome": _NULLABLE_STRING,
            "closed_at": {**_STRING, "format": "date-time", "nullable": True}}},
    }},
})

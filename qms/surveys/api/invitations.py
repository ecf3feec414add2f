"""POST /api/v1/invitations: a core-banking or call-centre system reports an interaction and
gets back the customer's personal survey link.

Roles: admin and qa tokens (bank-wide, or limited to a region or branch), and branch_head
tokens, which are always tied to one branch — the token to give a branch's own terminal or
queue system. A scoped token may only report interactions at its branches. Agents and the
other roles may not: whoever picks who is surveyed must not be the one who is judged.
"""

from __future__ import annotations

from flask import jsonify, request

from qms.core.api import register_spec
from qms.core.permissions import api_error, api_roles, current_principal, route_roles
from qms.core.tx import unit_of_work
from qms.surveys import campaigns as svc
from qms.surveys.api import bp

INVITERS = ("admin", "qa", "branch_head")


def _iso(value):
    return value.isoformat().replace("+00:00", "Z") if value else None


@bp.post("/invitations")
@api_roles(*INVITERS)
def create_invitation():
    payload = request.get_json(silent=True)
    try:
        with unit_of_work():
            issued = svc.create_invitation(payload, principal=current_principal(),
                                           roles=route_roles())
            body = {"id": issued.invitation.id, "url": issued.url,
                    "expires_at": _iso(issued.invitation.expires_at),
                    "status": issued.invitation.status}
    except svc.Suppressed as exc:
        resp = jsonify({"error": str(svc.REASONS[exc.reason]), "fields": {},
                        "reason": exc.reason})
        resp.status_code = 409
        return resp
    except svc.CampaignError as exc:
        fields = {k: str(v) for k, v in exc.fields.items() if k}
        message = str(exc.fields.get("")) if "" in exc.fields else "invalid invitation"
        return api_error(400, message, fields)
    resp = jsonify(body)
    resp.status_code = 201 if issued.created else 200
    if issued.created:
        resp.headers["Location"] = issued.url
    return resp


_STRING = {"type": "string"}

register_spec({
    "paths": {"/invitations": {"post": {
        "summary": "Report an interaction; get the customer's personal survey link",
        "description": (
            "Roles: admin, qa, branch_head (a branch-scoped token reports only its branches). "
            "In an `api` campaign the caller delivers the link (SMS, app) and the invitation "
            "counts as sent; in an `email` campaign QMS e-mails it (status `pending`, "
            "`expires_at` set when sent). Reporting the same `interaction_ref` again returns "
            "the same link with 200. Opted-out customers and customers invited by any "
            "campaign within its contact gap get 409 with `reason`; nothing is stored. "
            "Bad input gets 400 with every field's problem; nothing is stored."),
        "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "$ref": "#/components/schemas/InvitationRequest"}}}},
        "responses": {
            "201": {"description": "Invitation created", "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/Invitation"}}}},
            "200": {"description": "This interaction was reported before: the same link",
                    "content": {"application/json": {
                        "schema": {"$ref": "#/components/schemas/Invitation"}}}},
            "400": {"description": "Invalid input (unknown campaign, branch outside the "
                                   "token's scope, ...): `fields` says which",
                    "content": {"application/json": {
                        "schema": {"$ref": "#/components/schemas/Error"}}}},
            "401": {"$ref": "#/components/responses/Unauthorized"},
            "403": {"description": "The token's role may not create invitations"},
            "409": {"description": "Suppressed: not invited", "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/Suppressed"}}}},
        },
    }}},
    "components": {"schemas": {
        "InvitationRequest": {
            "type": "object",
            "required": ["campaign_id", "customer_ref", "branch_code"],
            "properties": {
                "campaign_id": {"type": "integer"},
                "customer_ref": {**_STRING, "maxLength": 64},
                "customer": {"type": "object", "description": "Creates the customer when "
                             "customer_ref is unknown (name required then)",
                             "properties": {"name": _STRING, "email": _STRING,
                                            "locale": {"enum": ["zh_Hans", "zh_Hant", "en"]}}},
                "branch_code": {**_STRING, "maxLength": 32},
                "agent_code": {**_STRING, "maxLength": 32},
                "interaction_ref": {**_STRING, "maxLength": 100},
            },
        },
        "Invitation": {"type": "object", "properties": {
            "id": {"type": "integer"}, "url": {**_STRING, "format": "uri"},
            "expires_at": {**_STRING, "format": "date-time", "nullable": True},
            "status": {"enum": ["pending", "sent"]}}},
        "Suppressed": {"type": "object", "required": ["error", "reason"], "properties": {
            "error": _STRING, "fields": {"type": "object"},
            "reason": {"enum": ["opted_out", "contacted_recently"]}}},
    }},
})

"""JSON API of QA under /api/v1: interactions reported by call-centre and branch systems.

POST /api/v1/interactions — roles admin, qa and branch_head. A call-centre recording or
ticketing system gets a token of role qa limited to the call centre's region (or the whole
bank), or of role branch_head tied to the call centre's branch — the same token kind as for a
branch's own queue system on /invitations. A scoped token records interactions of agents in
its branches only. Agents, auditors, complaint officers and shoppers may not: whoever is judged
must not choose what is judged.

Re-sending a (channel, external_ref) that is recorded already is not an error: like a
re-imported CSV row it updates that interaction with the fields sent and answers 200 with the
same id (so a retry after a timeout is safe). It is refused with 409 when it would move an
interaction that has evaluations to another agent, or touch one of a branch outside the
token's scope. GET /api/v1/interactions/<id> answers within the token's scope, 404 outside.
"""

from __future__ import annotations

from datetime import UTC

from flask import Blueprint, abort, jsonify, request, url_for
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from qms.core.api import register_spec
from qms.core.permissions import api_error, api_roles, current_principal, route_roles
from qms.core.tx import unit_of_work
from qms.qa import interactions as svc
from qms.qa.models import CHANNELS

bp = Blueprint("qa_api", __name__, url_prefix="/api/v1")

REPORTERS = ("admin", "qa", "branch_head")


def _iso(value):
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z") if value else None


def interaction_json(i) -> dict:
    customer = svc.customer_of(i)
    return {"id": i.id, "channel": i.channel, "external_ref": i.external_ref,
            "agent_code": i.agent.code, "branch_code": i.branch.code,
            "customer_ref": customer.ref if customer else None,
            "occurred_at": _iso(i.occurred_at), "duration_seconds": i.duration_seconds,
            "summary": i.summary, "media_url": i.media_url, "source": i.source,
            "created_at": _iso(i.created_at)}


@bp.post("/interactions")
@api_roles(*REPORTERS)
def create_interaction():
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict):
        return api_error(400, _("The interaction could not be recorded."),
                         {"body": _("Send a JSON object.")})
    try:
        with unit_of_work():
            saved = svc.create_interaction(payload, principal=current_principal(),
                                           roles=route_roles(), source="api", upsert=True)
            body = interaction_json(saved.interaction)
    except svc.InteractionConflict as exc:
        resp = api_error(409, _("This interaction is recorded already and cannot be changed "
                                "this way."), exc.fields)
        return resp
    except svc.InteractionError as exc:
        return api_error(400, _("The interaction could not be recorded."), exc.fields)
    except IntegrityError:
        return api_error(409, _("The same interaction was being recorded at the same moment; "
                                "send it again."))
    resp = jsonify(body)
    resp.status_code = 201 if saved.created else 200
    resp.headers["Location"] = url_for("qa_api.get_interaction", interaction_id=body["id"])
    return resp


@bp.get("/interactions/<int:interaction_id>")
@api_roles(*REPORTERS)
def get_interaction(interaction_id: int):
    interaction = svc.get_interaction(current_principal(), interaction_id, route_roles())
    if interaction is None:
        abort(404)
    return jsonify(interaction_json(interaction))


_STRING = {"type": "string"}
_ERROR = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
_INTERACTION = {"application/json": {"schema": {"$ref": "#/components/schemas/Interaction"}}}

register_spec({
    "paths": {
        "/interactions": {"post": {
            "summary": "Record an interaction (a call, branch visit, chat or e-mail) for QA",
            "description": (
                "Roles: admin, qa, branch_head. A call-centre system uses a qa token limited "
                "to its region (or bank-wide) or a branch_head token of the call centre's "
                "branch; a scoped token records agents of its branches only (another agent "
                "reads as unknown). The branch is the agent's. `occurred_at` is ISO 8601 with "
                "an offset, or a local time read in the zone of the agent's branch; times "
                "more than 10 minutes in the future are refused. (channel, external_ref) "
                "identifies the interaction: sending a recorded one again updates it with the "
                "fields sent (absent fields are kept, null clears) and answers 200 with the "
                "same id — a retry is safe. 409 when that update would give an interaction "
                "with evaluations another agent, or touch another branch's interaction. Bad "
                "input gets 400 with every field's problem; nothing is stored."),
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "$ref": "#/components/schemas/InteractionRequest"}}}},
            "responses": {
                "201": {"description": "Recorded", "content": _INTERACTION,
                        "headers": {"Location": {"schema": _STRING}}},
                "200": {"description": "Recorded before: updated, same id",
                        "content": _INTERACTION},
                "400": {"description": "Invalid input: `fields` says which", "content": _ERROR},
                "401": {"$ref": "#/components/responses/Unauthorized"},
                "403": {"$ref": "#/components/responses/Forbidden"},
                "409": {"description": "The recorded interaction may not be changed so",
                        "content": _ERROR},
            },
        }},
        "/interactions/{interaction_id}": {"get": {
            "summary": "One interaction in the token's scope",
            "description": "Roles: admin, qa, branch_head.",
            "parameters": [{"name": "interaction_id", "in": "path", "required": True,
                            "schema": {"type": "integer"}}],
            "responses": {
                "200": {"description": "The interaction", "content": _INTERACTION},
                "401": {"$ref": "#/components/responses/Unauthorized"},
                "403": {"$ref": "#/components/responses/Forbidden"},
                "404": {"$ref": "#/components/responses/NotFound"},
            },
        }},
    },
    "components": {"schemas": {
        "InteractionRequest": {
            "type": "object",
            "required": ["channel", "external_ref", "agent_code", "occurred_at"],
            "additionalProperties": False,
            "properties": {
                "channel": {"enum": list(CHANNELS)},
                "external_ref": {**_STRING, "maxLength": 100,
                                 "description": "Call ID, ticket or queue number"},
                "agent_code": {**_STRING, "maxLength": 32},
                "occurred_at": {**_STRING, "example": "2026-03-01T09:30:00+08:00"},
                "duration_seconds": {"oneOf": [{"type": "integer", "minimum": 0,
                                                "maximum": 86400},
                                               {**_STRING, "example": "0:05:12"}],
                                     "nullable": True},
                "customer_ref": {**_STRING, "maxLength": 64, "nullable": True,
                                 "description": "A known customer's reference"},
                "summary": {**_STRING, "maxLength": 4000, "nullable": True},
                "media_url": {**_STRING, "format": "uri", "maxLength": 500, "nullable": True,
                              "description": "http(s) link to the recording or transcript"},
                "transcript": {**_STRING, "maxLength": 200000, "nullable": True},
            },
        },
        "Interaction": {"type": "object", "properties": {
            "id": {"type": "integer"}, "channel": {"enum": list(CHANNELS)},
            "external_ref": _STRING, "agent_code": _STRING, "branch_code": _STRING,
            "customer_ref": {**_STRING, "nullable": True},
            "occurred_at": {**_STRING, "format": "date-time"},
            "duration_seconds": {"type": "integer", "nullable": True},
            "summary": {**_STRING, "nullable": True},
            "media_url": {**_STRING, "nullable": True},
            "source": {"enum": ["api", "csv", "manual"]},
            "created_at": {**_STRING, "format": "date-time"},
        }},
    }},
})

from qms.qa import api_reports  # noqa: E402,F401  (GET /api/v1/qa/reports)

"""POST /api/v1/bounces: the bank's mail relay hands over bounces of survey e-mails.

Either the bounce as it arrived (a delivery status notification, Content-Type
message/rfc822), which QMS reads itself, or what the relay already read from it, as JSON.
Admin tokens only: a bounce stops a customer's reminders and counts against a campaign.
"""

from __future__ import annotations

from flask import jsonify, request
from flask_babel import gettext as _

from qms.core.api import register_spec
from qms.core.permissions import api_error, api_roles
from qms.core.tx import unit_of_work
from qms.surveys.api import bp
from qms.surveys.campaigns.bounces import record_dsn, record_reported_bounce
from qms.surveys.campaigns.rules import CampaignError

RAW = "message/rfc822"


@bp.post("/bounces")
@api_roles("admin")
def record_bounces():
    if not request.is_json and request.mimetype != RAW:
        return api_error(400, _("The bounce could not be recorded."), {
            "content_type": _("Send application/json or %(raw)s.", raw=RAW)})
    raw = None if request.is_json else request.get_data(cache=False)
    if raw is not None and not raw.strip():
        return api_error(400, _("The bounce could not be recorded."), {
            "body": _("Send the bounce as it was received.")})
    try:
        with unit_of_work():
            if raw is None:
                recorded = record_reported_bounce(request.get_json(silent=True))
            else:
                recorded = record_dsn(raw)
    except CampaignError as exc:
        fields = {k: str(v) for k, v in exc.fields.items() if k}
        message = str(exc.fields[""]) if "" in exc.fields else _(
            "The bounce could not be recorded.")
        return api_error(400, message, fields)
    return jsonify({"recorded": recorded})


_ERROR = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}

register_spec({
    "paths": {"/bounces": {"post": {
        "summary": "Record bounces of survey e-mails",
        "description": (
            "Role: admin. Send either the bounce as received — a delivery status "
            "notification (RFC 3464, multipart/report; report-type=delivery-status) — with "
            "Content-Type `message/rfc822`, or JSON naming the Message-ID of the e-mail that "
            "bounced. Only permanent failures count (Action: failed, Status 5.x.x): delays and "
            "4.x.x notices, and mail that is no bounce, record nothing. The invitations sent "
            "with the bounced Message-IDs become `bounced`, keeping the remote server's "
            "diagnostic; `recorded` says how many. A Message-ID that no invitation was sent "
            "with is not an error: it records 0."),
        "requestBody": {"required": True, "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/BounceReport"}},
            RAW: {"schema": {"type": "string", "format": "binary"}},
        }},
        "responses": {
            "200": {"description": "The bounces were recorded", "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/Bounces"}}}},
            "400": {"description": "Another content type, an empty body, or JSON without a "
                                   "Message-ID: `fields` says which", "content": _ERROR},
            "401": {"$ref": "#/components/responses/Unauthorized"},
            "403": {"$ref": "#/components/responses/Forbidden"},
        },
    }}},
    "components": {"schemas": {
        "BounceReport": {
            "type": "object",
            "required": ["message_id"],
            "properties": {
                "message_id": {"type": "string", "maxLength": 200,
                               "description": "Message-ID of the e-mail that bounced, with or "
                                              "without angle brackets"},
                "reason": {"type": "string", "description": "The remote server's diagnostic, "
                                                            "kept on the invitation"},
            },
        },
        "Bounces": {"type": "object", "required": ["recorded"], "properties": {
            "recorded": {"type": "integer", "minimum": 0,
                         "description": "Invitations marked as bounced"}}},
    }},
})

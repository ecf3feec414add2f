"""A survey follow-up read as intake data: the response's customer, branch, agent and comments."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from qms.extensions import db
from qms.org.models import Agent, Branch


def follow_up_data(follow_up) -> dict:
    """The intake `data` of a complaint raised from `follow_up` (intake.from_follow_up)."""
    response = follow_up.response
    invitation = None
    if response.invitation_id is not None:
        from qms.surveys.models import Invitation

        invitation = db.session.get(Invitation, response.invitation_id)
    customer = invitation.customer if invitation is not None else None
    branch = follow_up.branch or (db.session.get(Branch, response.branch_id)
                                  if response.branch_id else None)
    agent = db.session.get(Agent, response.agent_id) if response.agent_id else None
    comments = _response_comments(response.id)
    intro = _("Raised from survey follow-up %(id)s (survey answered on %(when)s).",
              id=follow_up.id, when=(response.completed_at or follow_up.created_at)
              .astimezone(ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"]))
              .strftime("%Y-%m-%d"))
    return {
        "customer_ref": customer.ref if customer is not None else None,
        "complainant_name": None if customer is not None else _("Anonymous survey respondent"),
        "complainant_email": None if customer is not None else (
            invitation.email if invitation is not None else None),
        "complainant_locale": response.locale,
        "branch_code": branch.code if branch is not None else None,
        "agent_code": agent.code if agent is not None else None,
        "description": "\n\n".join([intro, *comments]),
        "follow_up_id": follow_up.id,
    }


def _response_comments(response_id: int) -> list[str]:
    from qms.surveys.models import Answer

    return [t for t in db.session.scalars(sa.select(Answer.text_value).where(
        Answer.response_id == response_id, Answer.text_value.is_not(None))
        .order_by(Answer.id)) if t and t.strip()]

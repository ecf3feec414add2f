"""Transactional invitations: a core-banking or call-centre system reports one interaction
and gets back the customer's personal link (POST /api/v1/invitations)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from qms.core.db import now_utc
from qms.core.permissions import branch_scope
from qms.extensions import db
from qms.org.importer import EMAIL_RE
from qms.org.models import Agent, Branch, Customer
from qms.surveys.campaigns.audience import default_locale
from qms.surveys.campaigns.links import (
    PERSONAL,
    assign_token,
    personal_url,
    placeholder_hash,
    token_for,
)
from qms.surveys.campaigns.rules import (
    CONTACTED_RECENTLY,
    OPTED_OUT,
    CampaignError,
    Suppressed,
    is_open,
    link_expiry,
    recently_contacted,
)
from qms.surveys.models import Campaign, Channel, Invitation, InvitationStatus
from qms.surveys.questions import LOCALES


@dataclass
class Issued:
    invitation: Invitation
    token: str
    created: bool  # False: the same interaction was reported before (an idempotent retry)

    @property
    def url(self) -> str:
        return personal_url(self.token)


def _text(payload: dict, key: str, limit: int, errors: dict, required: bool, name=None):
    name = name or key
    value = payload.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            errors[name] = _l("This field is required.")
        return None
    if not isinstance(value, str):
        errors[name] = _l("Give a text.")
        return None
    value = value.strip()
    if len(value) > limit:
        errors[name] = _l("At most %(n)d characters.", n=limit)
        return None
    return value


def _campaign(payload, scope, now, errors) -> Campaign | None:
    raw = payload.get("campaign_id")
    campaign = None
    if isinstance(raw, int) and not isinstance(raw, bool):
        campaign = db.session.get(Campaign, raw)
    # A bank-wide campaign takes invitations from every branch; a branch campaign is visible
    # only to tokens that see its branch.
    if campaign is None or (scope is not None and campaign.branch_id is not None
                            and campaign.branch_id not in scope):
        errors["campaign_id"] = _l("No such campaign.")
        return None
    if campaign.channel not in (Channel.API, Channel.EMAIL):
        errors["campaign_id"] = _l("This campaign takes no invitations (counter links only).")
    elif not is_open(campaign, now):
        errors["campaign_id"] = _l("This campaign is not open.")
    return campaign


def _customer_fields(payload, errors) -> dict | None:
    data = payload.get("customer")
    if data is None:
        return None
    if not isinstance(data, dict):
        errors["customer"] = _l("Give an object with name, email and locale.")
        return None
    out = {"name": _text(data, "name", 200, errors, False, "customer.name"),
           "email": _text(data, "email", 254, errors, False, "customer.email"),
           "locale": _text(data, "locale", 10, errors, False, "customer.locale")}
    if out["email"] and not EMAIL_RE.match(out["email"]):
        errors["customer.email"] = _l("Enter a valid e-mail address.")
    if out["locale"] and out["locale"] not in LOCALES:
        errors["customer.locale"] = _l("One of %(locales)s.", locales=", ".join(LOCALES))
    return out


def create_invitation(payload, *, principal=None, roles=None,
                      now: datetime | None = None) -> Issued:
    """Validate everything first (CampaignError with every field), then apply the opt-out and
    contact-frequency rules (Suppressed), then store one invitation. In an `api` campaign the
    caller delivers the link, so the invitation counts as sent now; in an `email` campaign the
    send job e-mails it."""
    now = now or now_utc()
    if not isinstance(payload, dict):
        raise CampaignError(_l("Send a JSON object."))
    errors: dict[str, object] = {}
    scope = None if principal is None else branch_scope(principal, roles)
    campaign = _campaign(payload, scope, now, errors)
    ref = _text(payload, "customer_ref", 64, errors, True)
    fields = _customer_fields(payload, errors)
    interaction = _text(payload, "interaction_ref", 100, errors, False)
    branch_code = _text(payload, "branch_code", 32, errors, True)
    agent_code = _text(payload, "agent_code", 32, errors, False)
    branch = db.session.scalar(sa.select(Branch).where(Branch.code == branch_code)) \
        if branch_code else None
    if branch_code and (branch is None or (scope is not None and branch.id not in scope)):
        errors["branch_code"] = _l("No such branch in your scope.")
        branch = None
    if branch and campaign and campaign.branch_id not in (None, branch.id):
        errors["branch_code"] = _l("This campaign is for another branch.")
    agent = db.session.scalar(sa.select(Agent).where(Agent.code == agent_code)) \
        if agent_code else None
    if (agent_code and agent is None) or (agent and branch and agent.branch_id != branch.id):
        errors["agent_code"] = _l("No such agent at this branch.")
    customer = db.session.scalar(sa.select(Customer).where(Customer.ref == ref)) if ref else None
    if ref and customer is None and not (fields and fields["name"]):
        errors["customer_ref"] = _l("Unknown customer: give customer.name to create one.")
    email = (fields or {}).get("email") or (customer.email if customer else None)
    if campaign and campaign.channel == Channel.EMAIL and not email and "customer_ref" not in errors:
        errors["customer.email"] = _l("An e-mail campaign needs the customer's e-mail address.")
    if errors:
        raise CampaignError(errors)

    if interaction:
        earlier = db.session.scalar(sa.select(Invitation).where(
            Invitation.campaign_id == campaign.id, Invitation.interaction_ref == interaction))
        if earlier is not None:
            if customer is None or earlier.customer_id != customer.id:
                raise CampaignError({"interaction_ref": _l(
                    "This interaction was reported for another customer.")})
            return Issued(earlier, token_for(earlier, PERSONAL), created=False)
    if customer is not None:
        if customer.opted_out_at is not None:
            raise Suppressed(OPTED_OUT)
        if recently_contacted([customer.id], now, campaign.contact_gap_days):
            raise Suppressed(CONTACTED_RECENTLY)
    else:
        customer = Customer(ref=ref, name=fields["name"], email=fields["email"],
                            locale=default_locale(fields["locale"]), home_branch_id=branch.id,
                            created_at=now)
        db.session.add(customer)
        db.session.flush()
    delivered_by_caller = campaign.channel == Channel.API
    inv = Invitation(
        campaign_id=campaign.id, customer_id=customer.id, branch_id=branch.id,
        agent_id=agent.id if agent else None, interaction_ref=interaction, email=email,
        locale=default_locale((fields or {}).get("locale") or customer.locale), created_at=now,
        token_hash=placeholder_hash(), status=InvitationStatus.SENT if delivered_by_caller
        else InvitationStatus.PENDING,
        sent_at=now if delivered_by_caller else None, send_after=None if delivered_by_caller
        else now, expires_at=link_expiry(campaign, now) if delivered_by_caller else None)
    db.session.add(inv)
    db.session.flush()
    token = assign_token(inv, PERSONAL)
    db.session.flush()
    return Issued(inv, token, created=True)

"""The rules every campaign path shares: states, refusals, link expiry and contact frequency."""

from __future__ import annotations

import enum
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from qms.extensions import db
from qms.surveys.models import Campaign, Invitation, InvitationStatus


class CampaignStatus(enum.StrEnum):
    DRAFT = "draft"
    RUNNING = "running"
    CLOSED = "closed"


TRANSITIONS: dict[str, set[str]] = {
    CampaignStatus.DRAFT: {CampaignStatus.RUNNING, CampaignStatus.CLOSED},
    CampaignStatus.RUNNING: {CampaignStatus.CLOSED},
    CampaignStatus.CLOSED: set(),
}

# Why an invitation was not sent (Invitation.error of a SUPPRESSED/FAILED row).
OPTED_OUT = "opted_out"
CONTACTED_RECENTLY = "contacted_recently"
NO_EMAIL = "no_email"
ALREADY_INVITED = "already_invited"

REASONS = {
    OPTED_OUT: _l("opted out"),
    CONTACTED_RECENTLY: _l("contacted recently"),
    NO_EMAIL: _l("no e-mail address"),
    ALREADY_INVITED: _l("already in this campaign"),
}

# Invitations that count as a contact for the frequency rule: a bounced or suppressed one never
# reached the customer.
CONTACT_STATUSES = (InvitationStatus.PENDING, InvitationStatus.SENDING, InvitationStatus.SENT)


class CampaignError(Exception):
    """A refusal for the user: field name -> message ("" for the form as a whole)."""

    def __init__(self, fields: dict[str, object] | str):
        fields = {"": fields} if isinstance(fields, str | enum.Enum) or not isinstance(
            fields, dict) else fields
        super().__init__("; ".join(f"{k}: {v}" if k else str(v) for k, v in fields.items()))
        self.fields = fields


class Suppressed(Exception):
    """The customer may not be invited now (opted out, or contacted within the gap)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def is_open(campaign: Campaign, now: datetime) -> bool:
    """Running and inside its window: links work, sends and reminders go out."""
    return (campaign.status == CampaignStatus.RUNNING
            and (campaign.opens_at is None or campaign.opens_at <= now)
            and (campaign.closes_at is None or now < campaign.closes_at))


def link_expiry(campaign: Campaign, sent_at: datetime) -> datetime:
    """sent_at + link_valid_days, and never after the campaign closes."""
    expires = sent_at + timedelta(days=campaign.link_valid_days)
    if campaign.closes_at is not None and campaign.closes_at < expires:
        return campaign.closes_at
    return expires


def contact_time():
    """When an invitation reaches (or will reach) the customer."""
    return sa.func.coalesce(Invitation.sent_at, Invitation.send_after, Invitation.created_at)


def recently_contacted(customer_ids, at: datetime, gap_days: int,
                       exclude_campaign_id: int | None = None) -> set[int]:
    """Customers with a contact by any campaign less than gap_days before or after `at`.

    Both sides count: an invitation already queued for next week rules out one today.
    """
    ids = list(customer_ids)
    if gap_days <= 0 or not ids:
        return set()
    gap = timedelta(days=gap_days)
    found: set[int] = set()
    when = contact_time()
    for i in range(0, len(ids), 900):  # stay far below SQLite's bound-parameter limit
        stmt = (sa.select(Invitation.customer_id).distinct()
                .where(Invitation.customer_id.in_(ids[i:i + 900]),
                       Invitation.status.in_(CONTACT_STATUSES),
                       when > at - gap, when < at + gap))
        if exclude_campaign_id is not None:
            stmt = stmt.where(Invitation.campaign_id != exclude_campaign_id)
        found.update(db.session.scalars(stmt))
    return found

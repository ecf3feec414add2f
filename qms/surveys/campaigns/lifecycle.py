"""Campaign lifecycle: create, edit, start, close; lists and the campaign page's numbers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from qms.core.db import now_utc
from qms.core.permissions import branch_scope
from qms.extensions import db
from qms.org.models import Branch, Customer
from qms.surveys.campaigns.rules import TRANSITIONS, CampaignError, CampaignStatus
from qms.surveys.models import (
    Campaign,
    Channel,
    Invitation,
    InvitationStatus,
    Response,
    Survey,
    SurveyKind,
    SurveyVersion,
)

# Fields that stay editable once a campaign runs: what was sent must keep meaning the same.
RUNNING_EDITABLE = {"name", "closes_at", "link_valid_days", "reminder_after_days",
                    "max_reminders", "contact_gap_days"}


def list_campaigns(principal, roles=None) -> list[Campaign]:
    stmt = sa.select(Campaign).order_by(Campaign.id.desc())
    scope = branch_scope(principal, roles)
    if scope is not None:
        stmt = stmt.where(Campaign.branch_id.in_(scope))
    return list(db.session.scalars(stmt))


def published_versions() -> list[SurveyVersion]:
    """Satisfaction survey versions a campaign can send (mystery shops go to shoppers)."""
    return list(db.session.scalars(
        sa.select(SurveyVersion).join(Survey, Survey.id == SurveyVersion.survey_id)
        .where(SurveyVersion.published_at.is_not(None), Survey.archived_at.is_(None),
               Survey.kind == SurveyKind.SATISFACTION)
        .order_by(SurveyVersion.survey_id, SurveyVersion.number.desc())))


NUMBERS = (("link_valid_days", 1, 365, False), ("reminder_after_days", 1, 90, True),
           ("max_reminders", 0, 5, True), ("contact_gap_days", 0, 365, False))
DEFAULTS = {"link_valid_days": 14, "reminder_after_days": None, "max_reminders": 0,
            "contact_gap_days": 30, "opens_at": None, "closes_at": None, "branch_code": None,
            "version_id": None, "channel": None, "name": ""}


def _int_in(data: dict, key: str, lo: int, hi: int, errors: dict, optional=False):
    raw = data.get(key)
    if raw in (None, "") and optional:
        return None
    try:
        value = int(raw)
    except (TypeError, ValueError):
        errors[key] = _l("Enter a whole number.")
        return None
    if not lo <= value <= hi:
        errors[key] = _l("Enter a number from %(lo)d to %(hi)d.", lo=lo, hi=hi)
        return None
    return value


def _clean(data: dict, campaign: Campaign | None, principal, roles) -> dict:
    """Check a campaign's settings; every problem at once, as field -> message."""
    errors: dict[str, object] = {}
    out: dict = {}
    if "name" in data:
        name = (data.get("name") or "").strip()
        if not name:
            errors["name"] = _l("A name is required.")
        out["name"] = name[:200]
    if "version_id" in data:
        try:
            version = db.session.get(SurveyVersion, int(data.get("version_id") or 0))
        except (TypeError, ValueError):
            version = None
        if version is None or not version.is_published:
            errors["version_id"] = _l("Choose a published survey version.")
        out["version_id"] = version.id if version else None
    if "channel" in data:
        if data.get("channel") not in set(Channel):
            errors["channel"] = _l("Choose a channel.")
        out["channel"] = data.get("channel")
    for key in ("opens_at", "closes_at"):
        if key in data:
            value = data.get(key)
            if value is not None and (not isinstance(value, datetime) or value.tzinfo is None):
                errors[key] = _l("Enter a date and time.")
            out[key] = value
    opens = out.get("opens_at", campaign.opens_at if campaign else None)
    closes = out.get("closes_at", campaign.closes_at if campaign else None)
    if opens and closes and closes <= opens:
        errors["closes_at"] = _l("The campaign must close after it opens.")
    for key, lo, hi, optional in NUMBERS:
        if key in data:
            out[key] = _int_in(data, key, lo, hi, errors, optional=optional)
    if "max_reminders" in out:
        out["max_reminders"] = out["max_reminders"] or 0
    if "branch_code" in data:
        code = (data.get("branch_code") or "").strip()
        branch = db.session.scalar(sa.select(Branch).where(Branch.code == code)) if code else None
        scope = None if principal is None else branch_scope(principal, roles)  # None: all
        if code and (branch is None or (scope is not None and branch.id not in scope)):
            errors["branch_code"] = _l("No such branch in your scope.")
        elif branch is None and scope is not None:
            errors["branch_code"] = _l("Your access is limited to some branches: give one.")
        out["branch_id"] = branch.id if branch else None
    if errors:
        raise CampaignError(errors)
    return out


def create_campaign(data: dict, *, actor=None, principal=None, roles=None,
                    now: datetime | None = None) -> Campaign:
    """data: name, version_id, channel, opens_at, closes_at, link_valid_days,
    reminder_after_days, max_reminders, contact_gap_days, branch_code."""
    values = _clean(DEFAULTS | dict(data), None,
                    principal if principal is not None else actor, roles)
    campaign = Campaign(status=CampaignStatus.DRAFT, created_at=now or now_utc(),
                        created_by_id=getattr(actor, "id", None), **values)
    db.session.add(campaign)
    db.session.flush()
    return campaign


def edit_campaign(campaign: Campaign, data: dict, *, actor=None, principal=None, roles=None,
                  now: datetime | None = None) -> Campaign:
    if campaign.status == CampaignStatus.CLOSED:
        raise CampaignError(_l("A closed campaign cannot be changed."))
    if campaign.status == CampaignStatus.RUNNING:
        data = {k: v for k, v in data.items() if k in RUNNING_EDITABLE}
    values = _clean(data, campaign, principal if principal is not None else actor, roles)
    old_opens = campaign.opens_at
    for key, value in values.items():
        setattr(campaign, key, value)
    if campaign.opens_at != old_opens:
        # queued e-mails wait for the new opening
        db.session.execute(sa.update(Invitation).where(
            Invitation.campaign_id == campaign.id,
            Invitation.status == InvitationStatus.PENDING).values(send_after=campaign.opens_at))
    db.session.flush()
    return campaign


def _transition(campaign: Campaign, target: str) -> None:
    if target not in TRANSITIONS[campaign.status]:
        raise CampaignError(_l("Only a draft campaign can be started.")
                            if target == CampaignStatus.RUNNING
                            else _l("This campaign is already closed."))
    campaign.status = target


def start_campaign(campaign: Campaign, *, actor=None, now: datetime | None = None) -> Campaign:
    now = now or now_utc()
    if not campaign.version.is_published:
        raise CampaignError({"version_id": _l("Choose a published survey version.")})
    if campaign.closes_at is not None and campaign.closes_at <= now:
        raise CampaignError({"closes_at": _l("The closing time has already passed.")})
    _transition(campaign, CampaignStatus.RUNNING)
    if campaign.opens_at is None:
        campaign.opens_at = now
    db.session.flush()
    return campaign


def close_campaign(campaign: Campaign, *, actor=None, now: datetime | None = None) -> Campaign:
    """Queued e-mails stay unsent, links stop working, no more reminders."""
    now = now or now_utc()
    _transition(campaign, CampaignStatus.CLOSED)
    if campaign.closes_at is None or campaign.closes_at > now:
        campaign.closes_at = now
    db.session.flush()
    return campaign


def status_label(status: str):
    return {CampaignStatus.DRAFT: _l("draft"), CampaignStatus.RUNNING: _l("running"),
            CampaignStatus.CLOSED: _l("closed")}.get(status, status)


# -- numbers ------------------------------------------------------------------------------

@dataclass
class CampaignStats:
    invited: int = 0       # every invitation that was not suppressed
    pending: int = 0       # queued for the send job
    unknown: int = 0       # left in 'sending' by an interrupted send: never resent
    sent: int = 0          # handed to the mail server (delivered + bounced)
    delivered: int = 0
    bounced: int = 0
    failed: int = 0
    suppressed: int = 0
    opened: int = 0
    started: int = 0
    completed: int = 0
    opted_out: int = 0
    reminders: int = 0
    responses: int = 0     # completed responses of every channel (counter links too)

    @property
    def to_send(self) -> int:
        return self.pending + self.unknown + self.sent + self.failed

    @property
    def progress(self) -> float:
        """Share of the queue already handled, for the running send's progress bar."""
        total = self.to_send
        return 1.0 if total == 0 else (total - self.pending) / total


def _count(cond):
    return sa.func.coalesce(sa.func.sum(sa.case((cond, 1), else_=0)), 0)


def campaign_stats(campaign: Campaign) -> CampaignStats:
    """Two SQL aggregates: the invitations (with their responses), and all responses."""
    st = Invitation.status
    row = db.session.execute(
        sa.select(
            _count(st != InvitationStatus.SUPPRESSED),
            _count(st == InvitationStatus.PENDING),
            _count(st == InvitationStatus.SENDING),
            _count(st.in_((InvitationStatus.SENT, InvitationStatus.BOUNCED))),
            _count(st == InvitationStatus.SENT),
            _count(st == InvitationStatus.BOUNCED),
            _count(st == InvitationStatus.FAILED),
            _count(st == InvitationStatus.SUPPRESSED),
            _count(sa.or_(Invitation.opened_at.is_not(None), Response.id.is_not(None))),
            _count(sa.or_(Invitation.started_at.is_not(None), Response.id.is_not(None))),
            _count(sa.or_(Invitation.completed_at.is_not(None),
                          Response.completed_at.is_not(None))),
            _count(sa.and_(Customer.opted_out_at.is_not(None),
                           st != InvitationStatus.SUPPRESSED)),
            sa.func.coalesce(sa.func.sum(Invitation.reminders_sent), 0),
        )
        .select_from(Invitation)
        .outerjoin(Response, Response.invitation_id == Invitation.id)
        .outerjoin(Customer, Customer.id == Invitation.customer_id)
        .where(Invitation.campaign_id == campaign.id)
    ).one()
    stats = CampaignStats(*(int(v or 0) for v in row))
    stats.responses = db.session.scalar(
        sa.select(sa.func.count(Response.id)).where(
            Response.campaign_id == campaign.id, Response.completed_at.is_not(None))) or 0
    return stats


def invitation_counts(campaign_ids) -> dict[int, tuple[int, int, int]]:
    """For the list page: (invited, sent, completed) per campaign, one grouped query."""
    ids = list(campaign_ids)
    if not ids:
        return {}
    st = Invitation.status
    rows = db.session.execute(
        sa.select(Invitation.campaign_id,
                  _count(st != InvitationStatus.SUPPRESSED),
                  _count(st.in_((InvitationStatus.SENT, InvitationStatus.BOUNCED))),
                  _count(Response.completed_at.is_not(None)))
        .outerjoin(Response, Response.invitation_id == Invitation.id)
        .where(Invitation.campaign_id.in_(ids)).group_by(Invitation.campaign_id))
    return {cid: (int(a), int(b), int(c)) for cid, a, b, c in rows}


def suppression_counts(campaign: Campaign) -> dict[str, int]:
    """Suppressed invitations by reason (opted out, contacted recently, no e-mail)."""
    rows = db.session.execute(
        sa.select(Invitation.error, sa.func.count(Invitation.id))
        .where(Invitation.campaign_id == campaign.id,
               Invitation.status == InvitationStatus.SUPPRESSED)
        .group_by(Invitation.error))
    return {reason or "": int(n) for reason, n in rows}

"""Who is invited: audiences from a CSV or a branch/segment filter, and opt-outs.

Opted-out customers, those without an e-mail address and those contacted by any campaign
within the campaign's contact_gap_days are recorded as suppressed invitations (with the reason
in Invitation.error), never invited; a customer is in a campaign at most once.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from qms.core.db import now_utc
from qms.core.i18n import normalise_locale
from qms.core.permissions import branch_scope
from qms.core.tokens import hash_token
from qms.extensions import db
from qms.org.models import Agent, Branch, Customer
from qms.surveys.campaigns.links import PERSONAL, assign_token, placeholder_hash
from qms.surveys.campaigns.rules import (
    ALREADY_INVITED,
    CONTACTED_RECENTLY,
    NO_EMAIL,
    OPTED_OUT,
    CampaignError,
    CampaignStatus,
    recently_contacted,
)
from qms.surveys.models import Campaign, Channel, Invitation, InvitationStatus

CHUNK = 900  # ids per IN (...): far below SQLite's bound-parameter limit


@dataclass
class Target:
    """One customer to invite, with the attribution of the answer."""

    customer: Customer
    branch_id: int | None = None
    agent_id: int | None = None
    interaction_ref: str | None = None
    email: str | None = None
    locale: str | None = None


@dataclass
class AudienceResult:
    invited: int = 0
    skipped: Counter = field(default_factory=Counter)  # reason -> count

    @property
    def suppressed(self) -> int:
        return sum(n for reason, n in self.skipped.items() if reason != ALREADY_INVITED)


class AudienceRejected(CampaignError):
    """A CSV with problems: nothing was added. rows: (line, column, message)."""

    def __init__(self, rows: list[tuple[int, str, object]]):
        super().__init__(_l("Nothing was added: %(n)d problems in the file.", n=len(rows)))
        self.rows = rows


def default_locale(value: str | None) -> str:
    from flask import current_app

    return normalise_locale(value) or current_app.config["BABEL_DEFAULT_LOCALE"]


def _check_audience_allowed(campaign: Campaign) -> None:
    if campaign.channel != Channel.EMAIL:
        raise CampaignError(_l("Audience lists are for e-mail campaigns."))
    if campaign.status == CampaignStatus.CLOSED:
        raise CampaignError(_l("A closed campaign cannot be changed."))


def _by_key(model, column, keys) -> dict:
    keys = list(keys)
    found = {}
    for i in range(0, len(keys), CHUNK):
        for obj in db.session.scalars(sa.select(model).where(column.in_(keys[i:i + CHUNK]))):
            found[getattr(obj, column.key)] = obj
    return found


def _scope(principal, roles):
    return None if principal is None else branch_scope(principal, roles)


def add_audience_csv(campaign: Campaign, text: str, *, principal=None, roles=None,
                     now: datetime | None = None) -> AudienceResult:
    """Columns: customer_ref (or ref); optional branch_code, agent_code, interaction_ref.
    The branch defaults to the customer's home branch. Any bad row refuses the whole file."""
    _check_audience_allowed(campaign)
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = {(h or "").strip().lower(): h for h in reader.fieldnames or []}
    ref_col = header.get("customer_ref") or header.get("ref")
    if ref_col is None:
        raise AudienceRejected([(1, "customer_ref", _l("A customer_ref column is required."))])
    rows = []
    for line, row in enumerate(reader, start=2):
        def get(name, row=row):
            col = header.get(name)
            return (row.get(col) or "").strip() if col else ""
        rows.append((line, row[ref_col].strip() if row.get(ref_col) else "", get("branch_code"),
                     get("agent_code"), get("interaction_ref")[:100] or None))
    customers = _by_key(Customer, Customer.ref, {r[1] for r in rows if r[1]})
    branches = _by_key(Branch, Branch.code, {r[2] for r in rows if r[2]})
    agents = _by_key(Agent, Agent.code, {r[3] for r in rows if r[3]})
    scope = _scope(principal, roles)
    problems: list[tuple[int, str, object]] = []
    targets = []
    for line, ref, branch_code, agent_code, interaction in rows:
        customer = customers.get(ref)
        if customer is None:
            problems.append((line, "customer_ref", _l("Unknown customer %(ref)s.", ref=ref)
                             if ref else _l("A customer reference is required.")))
            continue
        branch = branches.get(branch_code) if branch_code else None
        branch_id = branch.id if branch else customer.home_branch_id or campaign.branch_id
        if branch_code and (branch is None or (scope is not None and branch.id not in scope)):
            problems.append((line, "branch_code", _l("No such branch in your scope.")))
            continue
        if campaign.branch_id is not None and branch_id != campaign.branch_id:
            problems.append((line, "branch_code", _l("This campaign is for another branch.")))
            continue
        agent = agents.get(agent_code) if agent_code else None
        if agent_code and (agent is None or agent.branch_id != branch_id):
            problems.append((line, "agent_code", _l("No such agent at this branch.")))
            continue
        targets.append(Target(customer, branch_id, agent.id if agent else None, interaction))
    if problems:
        raise AudienceRejected(problems)
    if not targets:
        raise AudienceRejected([(1, "customer_ref", _l("The file has no customers."))])
    return invite_targets(campaign, targets, now=now)


def add_audience_filter(campaign: Campaign, *, branch_codes=(), region: str | None = None,
                        segment: str | None = None, principal=None, roles=None,
                        now: datetime | None = None) -> AudienceResult:
    """Every customer whose home branch is one of branch_codes (or in the region) and, if
    given, of the segment; within the campaign's branch and the principal's scope."""
    _check_audience_allowed(campaign)
    codes = [c.strip() for c in branch_codes if c and c.strip()]
    stmt = sa.select(Customer).order_by(Customer.id)
    if codes:
        found = _by_key(Branch, Branch.code, codes)
        unknown = [c for c in codes if c not in found]
        if unknown:
            raise CampaignError({"branch_codes": _l("Unknown branches: %(codes)s",
                                                    codes=", ".join(unknown))})
        stmt = stmt.where(Customer.home_branch_id.in_([b.id for b in found.values()]))
    if region:
        stmt = stmt.join(Branch, Branch.id == Customer.home_branch_id).where(Branch.region == region)
    if segment:
        stmt = stmt.where(Customer.segment == segment)
    scope = _scope(principal, roles)
    if scope is not None:
        stmt = stmt.where(Customer.home_branch_id.in_(scope))
    if campaign.branch_id is not None:
        stmt = stmt.where(Customer.home_branch_id == campaign.branch_id)
    targets = [Target(c, c.home_branch_id) for c in db.session.scalars(stmt)]
    return invite_targets(campaign, targets, now=now)


def invite_targets(campaign: Campaign, targets: list[Target], *,
                   now: datetime | None = None) -> AudienceResult:
    """Queue e-mail invitations; suppressed ones are recorded with their reason. A customer
    suppressed earlier in this campaign is tried again (their row is reused): the contact gap
    may have passed since."""
    now = now or now_utc()
    at = max(now, campaign.opens_at or now)  # when the e-mail will go out
    result = AudienceResult()
    ids = [t.customer.id for t in targets]
    taken: set[int] = set()
    earlier: dict[int, Invitation] = {}
    for i in range(0, len(ids), CHUNK):
        for inv in db.session.scalars(sa.select(Invitation).where(
                Invitation.campaign_id == campaign.id,
                Invitation.customer_id.in_(ids[i:i + CHUNK]))):
            if inv.status == InvitationStatus.SUPPRESSED:
                earlier[inv.customer_id] = inv
            else:
                taken.add(inv.customer_id)
    contacted = recently_contacted(ids, at, campaign.contact_gap_days)
    queued = []
    for t in targets:
        c = t.customer
        if c.id in taken:
            result.skipped[ALREADY_INVITED] += 1
            continue
        taken.add(c.id)
        email = t.email or c.email
        reason = (OPTED_OUT if c.opted_out_at is not None
                  else CONTACTED_RECENTLY if c.id in contacted
                  else NO_EMAIL if not email else None)
        inv = earlier.get(c.id)
        if inv is None:
            inv = Invitation(campaign_id=campaign.id, customer_id=c.id,
                             token_hash=placeholder_hash())
            db.session.add(inv)
        inv.branch_id, inv.agent_id, inv.interaction_ref = t.branch_id, t.agent_id, \
            t.interaction_ref
        inv.email, inv.locale, inv.created_at = email, default_locale(t.locale or c.locale), now
        inv.status = InvitationStatus.SUPPRESSED if reason else InvitationStatus.PENDING
        inv.error, inv.send_after = reason, None if reason else at
        if reason:
            result.skipped[reason] += 1
        else:
            queued.append(inv)
            result.invited += 1
    db.session.flush()
    for inv in queued:
        assign_token(inv, PERSONAL)
    db.session.flush()
    return result


# -- opt-out --------------------------------------------------------------------------------

def invitation_by_token(token: str) -> Invitation | None:
    if not token or len(token) > 200:
        return None
    return db.session.scalar(sa.select(Invitation).where(
        Invitation.token_hash == hash_token(token)))


def opt_out_customer(customer: Customer, *, now: datetime | None = None) -> bool:
    """Honoured by every later campaign and the API; queued e-mails are suppressed now."""
    now = now or now_utc()
    newly = customer.opted_out_at is None
    if newly:
        customer.opted_out_at = now
    db.session.execute(
        sa.update(Invitation)
        .where(Invitation.customer_id == customer.id,
               Invitation.status == InvitationStatus.PENDING)
        .values(status=InvitationStatus.SUPPRESSED, error=OPTED_OUT),
        execution_options={"synchronize_session": False})
    db.session.flush()
    return newly


def opt_out(invitation: Invitation, *, now: datetime | None = None) -> bool:
    if invitation.customer is None:
        return False
    return opt_out_customer(invitation.customer, now=now)

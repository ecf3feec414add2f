"""Counter links: anonymous links, printed as QR codes, one per branch (optionally per agent)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from qms.core.db import now_utc
from qms.core.permissions import branch_scope
from qms.extensions import db
from qms.org.models import Agent, Branch
from qms.surveys.campaigns.links import (
    COUNTER,
    LinkKeyChanged,
    assign_token,
    counter_url,
    placeholder_hash,
    qr_svg,
    token_for,
)
from qms.surveys.campaigns.rules import CampaignError, CampaignStatus
from qms.surveys.models import Campaign, Channel, CounterLink


@dataclass
class PrintedLink:
    link: CounterLink
    url: str | None   # None when the link key changed since: revoke and create again
    svg: str | None


def create_counter_links(campaign: Campaign, *, branch_codes=(), per_agent: bool = False,
                         principal=None, roles=None, now: datetime | None = None) -> int:
    """One live link per branch (and per active agent if asked); existing ones are kept, so
    calling it again only fills gaps. No codes: the campaign's branch, or every branch in
    scope. Returns how many links were created."""
    now = now or now_utc()
    if campaign.channel != Channel.COUNTER:
        raise CampaignError(_l("Counter links are for counter campaigns."))
    if campaign.status == CampaignStatus.CLOSED:
        raise CampaignError(_l("A closed campaign cannot be changed."))
    scope = None if principal is None else branch_scope(principal, roles)
    codes = [c.strip() for c in branch_codes if c and c.strip()]
    stmt = sa.select(Branch).where(Branch.active.is_(True)).order_by(Branch.code)
    if codes:
        stmt = stmt.where(Branch.code.in_(codes))
    if campaign.branch_id is not None:
        stmt = stmt.where(Branch.id == campaign.branch_id)
    if scope is not None:
        stmt = stmt.where(Branch.id.in_(scope))
    branches = list(db.session.scalars(stmt))
    missing = set(codes) - {b.code for b in branches}
    if missing:
        raise CampaignError({"branch_codes": _l("No such branch in this campaign or your scope: "
                                                "%(codes)s", codes=", ".join(sorted(missing)))})
    live = {(link.branch_id, link.agent_id) for link in live_links(campaign)}
    wanted = []
    for branch in branches:
        wanted.append((branch.id, None))
        if per_agent:
            wanted += [(branch.id, a.id) for a in db.session.scalars(
                sa.select(Agent).where(Agent.branch_id == branch.id, Agent.active.is_(True))
                .order_by(Agent.code))]
    created = [CounterLink(campaign_id=campaign.id, branch_id=b, agent_id=a, created_at=now,
                           token_hash=placeholder_hash())
               for b, a in wanted if (b, a) not in live]
    db.session.add_all(created)
    db.session.flush()
    for link in created:
        assign_token(link, COUNTER)
    db.session.flush()
    return len(created)


def live_links(campaign: Campaign) -> list[CounterLink]:
    return list(db.session.scalars(
        sa.select(CounterLink).join(Branch, Branch.id == CounterLink.branch_id)
        .outerjoin(Agent, Agent.id == CounterLink.agent_id)
        .where(CounterLink.campaign_id == campaign.id, CounterLink.revoked_at.is_(None))
        .order_by(Branch.code, Agent.code.is_not(None), Agent.code)))


def printed_links(campaign: Campaign, with_qr: bool = True) -> list[PrintedLink]:
    out = []
    for link in live_links(campaign):
        try:
            url = counter_url(token_for(link, COUNTER))
        except LinkKeyChanged:
            out.append(PrintedLink(link, None, None))
            continue
        label = link.branch.name + (f" · {link.agent.name}" if link.agent else "")
        out.append(PrintedLink(link, url, qr_svg(url, label=label) if with_qr else None))
    return out


def revoke_counter_link(link: CounterLink, *, now: datetime | None = None) -> None:
    """A revoked link stops attributing answers; create a new one to reprint."""
    if link.revoked_at is None:
        link.revoked_at = now or now_utc()
    db.session.flush()

"""Reading results filters from query-string values, and the choices a filter form offers.

Part of the results service (qms.surveys.results): the page, the exports and the API read
their filters here, so they all scope and interpret them the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from qms.core.daterange import read_range
from qms.core.permissions import branch_scope
from qms.extensions import db
from qms.org.models import Agent, Branch
from qms.surveys.models import Campaign, Survey, SurveyKind, SurveyVersion
from qms.surveys.results import CHANNEL_LABELS, SEGMENT_LABELS, FilterError, Filters, OutOfScope

# -- reading filters ---------------------------------------------------------------------------

def parse_filters(survey_id: int, params: Mapping[str, str], principal,
                  roles=None) -> Filters:
    """Filters from query-string values, limited to the principal's branches.

    A survey, branch, agent or campaign that does not exist or lies outside the scope raises
    OutOfScope (the caller answers 404, the same for both); unreadable values raise
    FilterError. Branches and agents are given by code, campaigns by id, versions by number.
    """
    if db.session.get(Survey, survey_id) is None:
        raise OutOfScope("survey")
    scope = branch_scope(principal, roles)
    scope = None if scope is None else frozenset(scope)

    def arg(name: str) -> str | None:
        value = (params.get(name) or "").strip()
        return value or None

    kw: dict = {}
    errors: dict[str, str] = {}
    if code := arg("branch"):
        branch = db.session.scalar(sa.select(Branch).where(Branch.code == code))
        if branch is None or (scope is not None and branch.id not in scope):
            raise OutOfScope("branch")
        kw["branch_id"] = branch.id
    if code := arg("agent"):
        agent = db.session.scalar(sa.select(Agent).where(Agent.code == code))
        if agent is None or (scope is not None and agent.branch_id not in scope):
            raise OutOfScope("agent")
        kw["agent_id"] = agent.id
    if raw := arg("campaign"):
        campaign = db.session.get(Campaign, int(raw)) if raw.isdigit() else None
        if campaign is None or campaign.version.survey_id != survey_id or (
                scope is not None and campaign.branch_id is not None
                and campaign.branch_id not in scope):
            raise OutOfScope("campaign")
        kw["campaign_id"] = campaign.id
    if raw := arg("version"):
        vid = db.session.scalar(sa.select(SurveyVersion.id).where(
            SurveyVersion.survey_id == survey_id,
            SurveyVersion.number == (int(raw) if raw.isdigit() else -1)))
        if vid is None:
            errors["version"] = str(_l("This survey has no such version."))
        else:
            kw["version_ids"] = (vid,)
    if raw := arg("segment"):
        if raw not in SEGMENT_LABELS:
            errors["segment"] = str(_l("Choose a customer segment from the list."))
        kw["segment"] = raw
    if raw := arg("channel"):
        if raw not in CHANNEL_LABELS:
            errors["channel"] = str(_l("Choose a channel from the list."))
        kw["channel"] = raw
    read_range(arg, kw, errors)
    if errors:
        raise FilterError(errors)
    return Filters(survey_id=survey_id, scope=scope, **kw)


@dataclass(frozen=True)
class FilterOptions:
    surveys: list[tuple[int, str]]
    versions: list[int]
    campaigns: list[tuple[int, str]]
    branches: list[tuple[str, str]]
    agents: list[tuple[str, str]]


def filter_options(survey_id: int | None, principal, roles=None, *,
                   branch_id: int | None = None) -> FilterOptions:
    """What the filter form offers: only surveys, campaigns, branches and agents in scope."""
    scope = branch_scope(principal, roles)
    surveys = [(s.id, s.title) for s in db.session.scalars(
        sa.select(Survey).where(Survey.archived_at.is_(None),
                                Survey.kind == SurveyKind.SATISFACTION).order_by(Survey.id.desc()))]
    branches = sa.select(Branch.code, Branch.name).order_by(Branch.code)
    agents = sa.select(Agent.code, Agent.name).order_by(Agent.code)
    campaigns = (sa.select(Campaign.id, Campaign.name)
                 .join(SurveyVersion, SurveyVersion.id == Campaign.version_id)
                 .where(SurveyVersion.survey_id == survey_id).order_by(Campaign.id.desc()))
    if scope is not None:
        ids = sorted(scope)
        branches = branches.where(Branch.id.in_(ids))
        agents = agents.where(Agent.branch_id.in_(ids))
        campaigns = campaigns.where(sa.or_(Campaign.branch_id.is_(None),
                                           Campaign.branch_id.in_(ids)))
    if branch_id is not None:
        agents = agents.where(Agent.branch_id == branch_id)
    versions = list(db.session.scalars(
        sa.select(SurveyVersion.number).where(SurveyVersion.survey_id == survey_id,
                                              SurveyVersion.published_at.is_not(None))
        .order_by(SurveyVersion.number)))
    return FilterOptions(surveys=surveys, versions=versions,
                         campaigns=[tuple(r) for r in db.session.execute(campaigns)],
                         branches=[tuple(r) for r in db.session.execute(branches)],
                         agents=[tuple(r) for r in db.session.execute(agents)])

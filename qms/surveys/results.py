"""The one results service: every survey number that a page, the API or a scorecard shows.

All aggregates are SQL GROUP BY queries over the long answers table — a fixed handful of
queries whatever the number of branches, agents or questions — and the arithmetic is
qms.analytics.survey_metrics'. Periods are UTC: `start` inclusive, `end` exclusive, months
are UTC calendar months. Responses count by `completed_at`; the response rate counts the
invitations *sent* in the period (completed whenever), so it is a cohort rate.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from flask import current_app, has_app_context
from flask_babel import lazy_gettext as _l
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from qms.analytics import survey_metrics as sm
from qms.extensions import db
from qms.org.models import Agent, Branch, Customer
from qms.surveys.models import Answer, Campaign, Invitation, Response, SurveyVersion

KPI_TYPES = ("csat", "nps", "ces")
UNDELIVERED = ("pending", "sending", "bounced", "failed", "suppressed")
SEGMENT_LABELS = {"standard": _l("Standard"), "vip": _l("VIP")}
CHANNEL_LABELS = {"email": _l("E-mail"), "counter": _l("Counter QR code"), "api": _l("API")}
DIMENSIONS = ("branch", "agent", "segment", "channel", "campaign")


class OutOfScope(LookupError):
    """A survey, branch, agent or campaign that does not exist for this principal: 404."""


class FilterError(ValueError):
    """Filter input that cannot be read; `fields` says which and why (400)."""

    def __init__(self, fields: dict[str, str]):
        super().__init__(fields)
        self.fields = fields


@dataclass(frozen=True)
class Filters:
    survey_id: int
    version_ids: tuple[int, ...] = ()
    campaign_id: int | None = None
    branch_id: int | None = None
    agent_id: int | None = None
    segment: str | None = None
    channel: str | None = None
    start: datetime | None = None  # inclusive, timezone-aware
    end: datetime | None = None  # exclusive
    scope: frozenset[int] | None = None  # branch ids the principal may see; None = all

    def with_(self, **changes) -> Filters:
        return replace(self, **changes)


# -- value objects --------------------------------------------------------------------------

@dataclass(frozen=True)
class KpiCounts:
    responses: int = 0
    csat_n: int = 0
    csat_satisfied: int = 0
    nps_n: int = 0
    promoters: int = 0
    detractors: int = 0
    ces_n: int = 0
    ces_sum: float = 0.0
    delivered: int = 0
    completed: int = 0  # delivered invitations with a completed response

    @property
    def passives(self) -> int:
        return self.nps_n - self.promoters - self.detractors


@dataclass(frozen=True)
class Kpis:
    counts: KpiCounts
    csat: sm.Metric
    nps: sm.Metric
    ces: sm.Metric
    response_rate: sm.Metric

    @classmethod
    def from_counts(cls, c: KpiCounts, min_sample: int) -> Kpis:
        return cls(
            counts=c,
            csat=sm.csat_percent(c.csat_satisfied, c.csat_n, min_sample=min_sample),
            nps=sm.nps(c.promoters, c.passives, c.detractors, min_sample=min_sample),
            ces=sm.ces_mean(c.ces_sum, c.ces_n, min_sample=min_sample),
            response_rate=sm.response_rate(c.completed, c.delivered, min_sample=min_sample),
        )

    @property
    def responses(self) -> int:
        return self.counts.responses


@dataclass(frozen=True)
class TrendPoint:
    month: str  # "YYYY-MM", UTC
    kpis: Kpis


@dataclass(frozen=True)
class BreakdownRow:
    key: int | str | None
    code: str
    label: str
    kpis: Kpis


# -- SQL building blocks ----------------------------------------------------------------------

class utc_month(FunctionElement):
    """'YYYY-MM' of a UTC timestamp column, on SQLite and PostgreSQL."""

    type = sa.String()
    inherit_cache = True
    name = "utc_month"


@compiles(utc_month)
def _utc_month_pg(element, compiler, **kw):
    return f"to_char(timezone('UTC', {compiler.process(element.clauses, **kw)}), 'YYYY-MM')"


@compiles(utc_month, "sqlite")
def _utc_month_sqlite(element, compiler, **kw):
    return f"strftime('%Y-%m', {compiler.process(element.clauses, **kw)})"


def response_conditions(f: Filters) -> list:
    conds = [Response.survey_id == f.survey_id, Response.completed_at.is_not(None)]
    if f.version_ids:
        conds.append(Response.version_id.in_(f.version_ids))
    if f.campaign_id is not None:
        conds.append(Response.campaign_id == f.campaign_id)
    if f.branch_id is not None:
        conds.append(Response.branch_id == f.branch_id)
    if f.agent_id is not None:
        conds.append(Response.agent_id == f.agent_id)
    if f.segment:
        conds.append(Response.segment == f.segment)
    if f.channel:
        conds.append(Response.channel == f.channel)
    if f.start is not None:
        conds.append(Response.completed_at >= f.start)
    if f.end is not None:
        conds.append(Response.completed_at < f.end)
    if f.scope is not None:
        conds.append(Response.branch_id.in_(sorted(f.scope)) if f.scope else sa.false())
    return conds


def _invitation_conditions(f: Filters) -> list:
    conds = [SurveyVersion.survey_id == f.survey_id, Invitation.sent_at.is_not(None),
             Invitation.status.not_in(UNDELIVERED), Customer.opted_out_at.is_(None)]
    if f.version_ids:
        conds.append(Campaign.version_id.in_(f.version_ids))
    if f.campaign_id is not None:
        conds.append(Invitation.campaign_id == f.campaign_id)
    if f.branch_id is not None:
        conds.append(Invitation.branch_id == f.branch_id)
    if f.agent_id is not None:
        conds.append(Invitation.agent_id == f.agent_id)
    if f.segment:
        conds.append(Customer.segment == f.segment)
    if f.channel:
        conds.append(Campaign.channel == f.channel)
    if f.start is not None:
        conds.append(Invitation.sent_at >= f.start)
    if f.end is not None:
        conds.append(Invitation.sent_at < f.end)
    if f.scope is not None:
        conds.append(Invitation.branch_id.in_(sorted(f.scope)) if f.scope else sa.false())
    return conds


# The same dimension seen from responses and from invitations.
_RESPONSE_DIM = {"branch": Response.branch_id, "agent": Response.agent_id,
                 "segment": Response.segment, "channel": Response.channel,
                 "campaign": Response.campaign_id}
_INVITATION_DIM = {"branch": Invitation.branch_id, "agent": Invitation.agent_id,
                   "segment": Customer.segment, "channel": Campaign.channel,
                   "campaign": Invitation.campaign_id}


def _kpi_counts(f: Filters, resp_key=None, inv_key=None) -> dict:
    """KpiCounts per group key (None key when ungrouped): three GROUP BY queries."""
    rk = [resp_key.label("k")] if resp_key is not None else []
    ik = [inv_key.label("k")] if inv_key is not None else []
    acc: dict = {}

    def bump(key, **kw):
        acc.setdefault(key, {}).update(kw)

    stmt = sa.select(*rk, sa.func.count(Response.id)).where(*response_conditions(f))
    for row in db.session.execute(stmt.group_by(*rk) if rk else stmt):
        bump(row[0] if rk else None, responses=row[-1])

    num = Answer.num_value
    top = sa.case((sa.and_(Answer.qtype == "nps", num >= sm.NPS_PROMOTER_MIN), 1),
                  (sa.and_(Answer.qtype == "csat", num >= sm.CSAT_SATISFIED_MIN), 1), else_=0)
    bottom = sa.case((sa.and_(Answer.qtype == "nps", num <= sm.NPS_DETRACTOR_MAX), 1), else_=0)
    stmt = (sa.select(*rk, Answer.qtype, sa.func.count(Answer.id), sa.func.sum(top),
                      sa.func.sum(bottom), sa.func.sum(num))
            .select_from(Answer).join(Response, Response.id == Answer.response_id)
            .where(*response_conditions(f), Answer.qtype.in_(KPI_TYPES), num.is_not(None))
            .group_by(*rk, Answer.qtype))
    for row in db.session.execute(stmt):
        key = row[0] if rk else None
        qtype, n, hi, lo, total = row[-5:]
        if qtype == "csat":
            bump(key, csat_n=n, csat_satisfied=int(hi or 0))
        elif qtype == "nps":
            bump(key, nps_n=n, promoters=int(hi or 0), detractors=int(lo or 0))
        else:
            bump(key, ces_n=n, ces_sum=float(total or 0))

    stmt = (sa.select(*ik, sa.func.count(Invitation.id), sa.func.count(Response.id))
            .select_from(Invitation)
            .join(Campaign, Campaign.id == Invitation.campaign_id)
            .join(SurveyVersion, SurveyVersion.id == Campaign.version_id)
            .outerjoin(Customer, Customer.id == Invitation.customer_id)
            .outerjoin(Response, sa.and_(Response.invitation_id == Invitation.id,
                                         Response.completed_at.is_not(None)))
            .where(*_invitation_conditions(f)))
    for row in db.session.execute(stmt.group_by(*ik) if ik else stmt):
        bump(row[0] if ik else None, delivered=row[-2], completed=row[-1])
    return {key: KpiCounts(**values) for key, values in acc.items()}


def min_sample_setting(min_sample: int | None = None) -> int:
    if min_sample is not None:
        return min_sample
    if has_app_context():
        return int(current_app.config.get("SURVEY_MIN_SAMPLE", sm.DEFAULT_MIN_SAMPLE))
    return sm.DEFAULT_MIN_SAMPLE


# -- the questions the service answers --------------------------------------------------------

def summary(f: Filters, *, min_sample: int | None = None) -> Kpis:
    counts = _kpi_counts(f).get(None, KpiCounts())
    return Kpis.from_counts(counts, min_sample_setting(min_sample))


def _months_between(first: str, last: str) -> list[str]:
    y, m = int(first[:4]), int(first[5:7])
    out = []
    while f"{y:04d}-{m:02d}" <= last and len(out) < 240:
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def monthly_trend(f: Filters, *, min_sample: int | None = None) -> list[TrendPoint]:
    """One point per UTC month, gaps filled, from the period's (or the data's) first month."""
    ms = min_sample_setting(min_sample)
    by_month = _kpi_counts(f, utc_month(Response.completed_at), utc_month(Invitation.sent_at))
    keys = sorted(k for k in by_month if k)
    if f.start is not None:
        keys.insert(0, f.start.astimezone(UTC).strftime("%Y-%m"))
    if f.end is not None:
        keys.append((f.end - timedelta(microseconds=1)).astimezone(UTC).strftime("%Y-%m"))
    if not keys:
        return []
    months = _months_between(min(keys), max(keys))
    return [TrendPoint(m, Kpis.from_counts(by_month.get(m, KpiCounts()), ms)) for m in months]


def breakdown(f: Filters, by: str, *, min_sample: int | None = None) -> list[BreakdownRow]:
    """KPIs per branch, agent, segment, channel or campaign, in code order."""
    if by not in DIMENSIONS:
        raise ValueError(f"unknown dimension {by}")
    ms = min_sample_setting(min_sample)
    counts = _kpi_counts(f, _RESPONSE_DIM[by], _INVITATION_DIM[by])
    names = _dimension_names(by, [k for k in counts if k is not None])
    rows = []
    for key, c in counts.items():
        code, label = names.get(key, (str(key) if key is not None else "", ""))
        if key is None:
            code, label = "", str(_l("Not attributed"))
        rows.append(BreakdownRow(key, code, label, Kpis.from_counts(c, ms)))
    rows.sort(key=lambda r: (r.key is None, r.code))
    return rows


def _dimension_names(by: str, keys: list) -> dict:
    if not keys:
        return {}
    if by == "branch":
        stmt = sa.select(Branch.id, Branch.code, Branch.name).where(Branch.id.in_(keys))
    elif by == "agent":
        stmt = sa.select(Agent.id, Agent.code, Agent.name).where(Agent.id.in_(keys))
    elif by == "campaign":
        stmt = sa.select(Campaign.id, sa.cast(Campaign.id, sa.String), Campaign.name) \
            .where(Campaign.id.in_(keys))
    else:
        labels = SEGMENT_LABELS if by == "segment" else CHANNEL_LABELS
        return {k: (k, str(labels.get(k, k))) for k in keys}
    return {row[0]: (row[1], row[2]) for row in db.session.execute(stmt)}


@dataclass(frozen=True)
class SurveyResults:
    """Everything the results page and the API show for one set of filters."""

    filters: Filters
    min_sample: int
    summary: Kpis
    trend: list[TrendPoint]
    by: str
    breakdown: list[BreakdownRow]
    questions: list = field(default_factory=list)


def survey_results(f: Filters, *, locale: str, by: str = "branch",
                   min_sample: int | None = None) -> SurveyResults:
    from qms.surveys.results_questions import distributions  # it builds on this module

    ms = min_sample_setting(min_sample)
    return SurveyResults(filters=f, min_sample=ms, summary=summary(f, min_sample=ms),
                         trend=monthly_trend(f, min_sample=ms), by=by,
                         breakdown=breakdown(f, by, min_sample=ms),
                         questions=distributions(f, locale=locale, min_sample=ms))


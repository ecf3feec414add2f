"""The one QA reporting service: every evaluation number a page, the API or a scorecard shows.

All figures are SQL GROUP BY aggregates over `evaluations` and the long `criterion_scores`
table — a fixed handful of queries whatever the number of agents, branches or criteria.

What counts: released evaluations (status submitted or acknowledged) that are not calibration
scores (calibration_session_id IS NULL) and were not replaced. An evaluation re-scored after an
accepted dispute counts with its current score; the old one lives in its revision history.
Periods are UTC and read `submitted_at`: `start` inclusive, `end` exclusive; months are UTC
calendar months. The dispute rate is a cohort rate: of the evaluations submitted in the period,
the share with at least one dispute (whenever it was raised); outcomes are those disputes'
current status. A criterion "fails" when it earned less than full marks; N/A answers are left
out of its count.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from qms.auth.models import User
from qms.extensions import db
from qms.org.models import Agent, Branch
from qms.qa.models import CriterionScore, Dispute, Evaluation, Interaction, Rubric, RubricVersion
from qms.surveys.results import utc_month

COUNTED_STATUSES = ("submitted", "acknowledged")
DIMENSIONS = ("agent", "branch", "team", "grader")
DIMENSION_LABELS = {"agent": _l("Agent"), "branch": _l("Branch"), "team": _l("Team"),
                    "grader": _l("Grader")}
OUTCOMES = ("open", "accepted", "partly_accepted", "rejected")
OUTCOME_LABELS = {"open": _l("Open"), "accepted": _l("Accepted"),
                  "partly_accepted": _l("Partly accepted"), "rejected": _l("Rejected")}


@dataclass(frozen=True)
class ReportFilters:
    start: datetime | None = None  # inclusive, timezone-aware
    end: datetime | None = None  # exclusive
    branch_id: int | None = None
    agent_id: int | None = None
    team: str | None = None
    evaluator_id: int | None = None
    rubric_id: int | None = None
    channel: str | None = None
    scope: frozenset[int] | None = None  # branch ids the principal may see; None = all
    only_agent_id: int | None = None  # an agent's own view; 0 = an agent login without a record

    def with_(self, **changes) -> ReportFilters:
        return replace(self, **changes)


# -- value objects --------------------------------------------------------------------------

@dataclass(frozen=True)
class ScoreStats:
    evaluations: int = 0
    scored: int = 0  # evaluations with a total (not everything N/A)
    score_sum: float = 0.0
    auto_failed: int = 0
    disputed: int = 0  # evaluations with at least one dispute

    @property
    def average(self) -> float | None:
        """Mean total, 0..100 (auto-failed evaluations count with their 0)."""
        return self.score_sum / self.scored if self.scored else None

    @property
    def auto_fail_rate(self) -> float | None:
        return self.auto_failed / self.evaluations if self.evaluations else None

    @property
    def dispute_rate(self) -> float | None:
        return self.disputed / self.evaluations if self.evaluations else None

    def __add__(self, other: ScoreStats) -> ScoreStats:
        return ScoreStats(self.evaluations + other.evaluations, self.scored + other.scored,
                          self.score_sum + other.score_sum, self.auto_failed + other.auto_failed,
                          self.disputed + other.disputed)

    def as_dict(self) -> dict:
        def rnd(x, digits):
            return None if x is None else round(x, digits)
        return {"evaluations": self.evaluations, "average_score": rnd(self.average, 2),
                "auto_failed": self.auto_failed,
                "auto_fail_rate": rnd(self.auto_fail_rate, 4), "disputed": self.disputed,
                "dispute_rate": rnd(self.dispute_rate, 4)}


@dataclass(frozen=True)
class DisputeOutcomes:
    counts: dict[str, int] = field(default_factory=dict)  # dispute status -> disputes

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def decided(self) -> int:
        return self.total - self.counts.get("open", 0)

    @property
    def upheld_rate(self) -> float | None:
        """Accepted or partly accepted, as a share of the decided disputes."""
        if not self.decided:
            return None
        return (self.counts.get("accepted", 0) + self.counts.get("partly_accepted", 0)) \
            / self.decided

    def __add__(self, other: DisputeOutcomes) -> DisputeOutcomes:
        keys = set(self.counts) | set(other.counts)
        return DisputeOutcomes({k: self.counts.get(k, 0) + other.counts.get(k, 0) for k in keys})

    def as_dict(self) -> dict:
        rate = self.upheld_rate
        return {"total": self.total, **{k: self.counts.get(k, 0) for k in OUTCOMES},
                "upheld_rate": None if rate is None else round(rate, 4)}


@dataclass(frozen=True)
class CriterionFailure:
    rubric_id: int
    rubric_name: str
    criterion_key: str
    label: str
    scored: int  # evaluations that scored it (N/A left out)
    failed: int  # ... below full marks

    @property
    def share(self) -> float:
        return self.failed / self.scored if self.scored else 0.0

    def as_dict(self) -> dict:
        return {"rubric_id": self.rubric_id, "rubric": self.rubric_name,
                "criterion": self.criterion_key, "label": self.label, "scored": self.scored,
                "failed": self.failed, "failed_share": round(self.share, 4)}


@dataclass(frozen=True)
class TrendPoint:
    month: str  # "YYYY-MM", UTC
    stats: ScoreStats


@dataclass(frozen=True)
class ReportRow:
    key: int | str | None
    code: str
    label: str
    stats: ScoreStats
    outcomes: DisputeOutcomes
    coach: CriterionFailure | None  # the criterion this group fails most often


@dataclass(frozen=True)
class QaReport:
    filters: ReportFilters
    by: str
    summary: ScoreStats
    outcomes: DisputeOutcomes
    trend: list[TrendPoint]
    rows: list[ReportRow]
    most_failed: list[CriterionFailure]


# -- SQL building blocks ----------------------------------------------------------------------

def evaluation_conditions(f: ReportFilters) -> list:
    """Which evaluations count for these filters (the WHERE of every report query)."""
    e = Evaluation
    conds = [e.status.in_(COUNTED_STATUSES), e.calibration_session_id.is_(None),
             e.replaced_by_id.is_(None)]
    if f.start is not None:
        conds.append(e.submitted_at >= f.start)
    if f.end is not None:
        conds.append(e.submitted_at < f.end)
    if f.branch_id is not None:
        conds.append(e.branch_id == f.branch_id)
    if f.agent_id is not None:
        conds.append(e.agent_id == f.agent_id)
    if f.only_agent_id is not None:
        conds.append(e.agent_id == f.only_agent_id)
    if f.evaluator_id is not None:
        conds.append(e.evaluator_id == f.evaluator_id)
    if f.team is not None:
        conds.append(e.agent_id.in_(sa.select(Agent.id).where(Agent.team == f.team)))
    if f.rubric_id is not None:
        conds.append(e.rubric_version_id.in_(
            sa.select(RubricVersion.id).where(RubricVersion.rubric_id == f.rubric_id)))
    if f.channel is not None:
        conds.append(e.interaction_id.in_(
            sa.select(Interaction.id).where(Interaction.channel == f.channel)))
    if f.scope is not None:
        conds.append(e.branch_id.in_(sorted(f.scope)) if f.scope else sa.false())
    return conds


def _dimension(by: str):
    """The GROUP BY column of a breakdown, and whether it needs the agents table."""
    if by == "agent":
        return Evaluation.agent_id, False
    if by == "branch":
        return Evaluation.branch_id, False
    if by == "grader":
        return Evaluation.evaluator_id, False
    if by == "team":
        return Agent.team, True
    raise ValueError(f"unknown dimension {by!r}; expected one of {', '.join(DIMENSIONS)}")


def _with_agents(stmt, needed: bool):
    return stmt.join(Agent, Agent.id == Evaluation.agent_id) if needed else stmt


def score_stats(f: ReportFilters, key=None, *, join_agents: bool = False) -> dict:
    """ScoreStats per group key (the None key when ungrouped): one GROUP BY query."""
    disputed = sa.select(Dispute.evaluation_id).distinct().subquery()
    keys = [key.label("k")] if key is not None else []
    stmt = (sa.select(*keys, sa.func.count(Evaluation.id), sa.func.count(Evaluation.total),
                      sa.func.sum(Evaluation.total),
                      sa.func.sum(sa.case((Evaluation.auto_failed.is_(True), 1), else_=0)),
                      sa.func.count(disputed.c.evaluation_id))
            .select_from(Evaluation)
            .outerjoin(disputed, disputed.c.evaluation_id == Evaluation.id))
    stmt = _with_agents(stmt, join_agents).where(*evaluation_conditions(f))
    if keys:
        stmt = stmt.group_by(*keys)
    out = {}
    for row in db.session.execute(stmt):
        *k, n, scored, total, failed, disputes = row
        if not n:
            continue
        out[k[0] if keys else None] = ScoreStats(n, scored, float(total or 0), int(failed or 0),
                                                 disputes)
    return out


def dispute_outcomes(f: ReportFilters, key=None, *, join_agents: bool = False) -> dict:
    """DisputeOutcomes per group key: disputes of the counted evaluations by status."""
    keys = [key.label("k")] if key is not None else []
    stmt = (sa.select(*keys, Dispute.status, sa.func.count(Dispute.id))
            .select_from(Dispute).join(Evaluation, Evaluation.id == Dispute.evaluation_id))
    stmt = (_with_agents(stmt, join_agents).where(*evaluation_conditions(f))
            .group_by(*keys, Dispute.status))
    acc: dict = {}
    for row in db.session.execute(stmt):
        *k, status, n = row
        acc.setdefault(k[0] if keys else None, {})[status] = n
    return {k: DisputeOutcomes(v) for k, v in acc.items()}


def criterion_counts(f: ReportFilters, key=None, *, join_agents: bool = False) -> dict:
    """{group key: {(rubric_version_id, criterion_key): (scored, failed)}}, N/A left out."""
    keys = [key.label("k")] if key is not None else []
    stmt = (sa.select(*keys, Evaluation.rubric_version_id, CriterionScore.criterion_key,
                      sa.func.count(CriterionScore.id),
                      sa.func.sum(sa.case((CriterionScore.failed.is_(True), 1), else_=0)))
            .select_from(CriterionScore)
            .join(Evaluation, Evaluation.id == CriterionScore.evaluation_id))
    stmt = (_with_agents(stmt, join_agents)
            .where(*evaluation_conditions(f), CriterionScore.na.is_(False))
            .group_by(*keys, Evaluation.rubric_version_id, CriterionScore.criterion_key))
    out: dict = {}
    for row in db.session.execute(stmt):
        *k, version_id, criterion, n, failed = row
        out.setdefault(k[0] if keys else None, {})[(version_id, criterion)] = (n, int(failed or 0))
    return out


# -- labels -----------------------------------------------------------------------------------

def text_in(labels, locale: str, default: str = "") -> str:
    """A {locale: text} label in the locale, else Simplified Chinese, English, any."""
    if isinstance(labels, str):
        return labels
    if not labels:
        return default
    for loc in (locale, "zh_Hans", "en"):
        if labels.get(loc):
            return labels[loc]
    return next(iter(labels.values()), default) or default


class _Criteria:
    """Criterion labels and rubric names for the versions a report met, loaded once."""

    def __init__(self, version_ids, locale: str):
        self.rubric_of: dict[int, int] = {}
        self.rubric_name: dict[int, str] = {}
        self.labels: dict[tuple[int, str], str] = {}
        if not version_ids:
            return
        rows = db.session.execute(
            sa.select(RubricVersion.id, RubricVersion.number, RubricVersion.rubric_id,
                      RubricVersion.definition, Rubric.name)
            .join(Rubric, Rubric.id == RubricVersion.rubric_id)
            .where(RubricVersion.id.in_(sorted(version_ids)))
            .order_by(RubricVersion.number))
        for vid, _number, rid, definition, name in rows:  # later versions' labels win
            self.rubric_of[vid] = rid
            self.rubric_name[rid] = name
            for section in (definition or {}).get("sections", []):
                for c in section.get("criteria", []):
                    self.labels[(rid, c["key"])] = text_in(c.get("label"), locale, c["key"])

    def fold(self, counts: dict) -> dict[tuple[int, str], tuple[int, int]]:
        """{(version, key): (scored, failed)} -> {(rubric, key): ...}: versions folded."""
        acc: dict[tuple[int, str], tuple[int, int]] = {}
        for (vid, key), (n, failed) in counts.items():
            rk = (self.rubric_of.get(vid, 0), key)
            was = acc.get(rk)
            acc[rk] = (n, failed) if was is None else (was[0] + n, was[1] + failed)
        return acc

    def failure(self, rk: tuple[int, str], n: int, failed: int) -> CriterionFailure:
        rid, key = rk
        return CriterionFailure(rid, self.rubric_name.get(rid, ""), key,
                                self.labels.get(rk, key), n, failed)

    def merge(self, counts: dict) -> list[CriterionFailure]:
        """Versions of one rubric folded together, most often failed first."""
        rows = [self.failure(rk, n, failed) for rk, (n, failed) in self.fold(counts).items()]
        rows.sort(key=_failure_order)
        return rows

    def top(self, counts: dict) -> CriterionFailure | None:
        """The most often failed criterion (None when nothing failed): merge()[0], without
        building the whole list for each of hundreds of groups."""
        best = None
        for rk, (n, failed) in self.fold(counts).items():
            if failed and (best is None or (-failed / n, -failed, rk) < best[0]):
                best = ((-failed / n, -failed, rk), n, failed)
        return None if best is None else self.failure(best[0][2], best[1], best[2])


def _failure_order(r: CriterionFailure):
    return (-r.share, -r.failed, r.rubric_id, r.criterion_key)


def _names(by: str, keys: list) -> dict:
    if by == "team":
        return {k: (k, k) for k in keys if k is not None}
    ids = [k for k in keys if k is not None]
    if not ids:
        return {}
    if by == "agent":
        stmt = sa.select(Agent.id, Agent.code, Agent.name).where(Agent.id.in_(ids))
    elif by == "branch":
        stmt = sa.select(Branch.id, Branch.code, Branch.name).where(Branch.id.in_(ids))
    else:
        stmt = sa.select(User.id, User.email, User.name).where(User.id.in_(ids))
    return {row[0]: (row[1], row[2]) for row in db.session.execute(stmt)}


# -- the questions the service answers --------------------------------------------------------

def months_between(first: str, last: str) -> list[str]:
    y, m = int(first[:4]), int(first[5:7])
    out = []
    while f"{y:04d}-{m:02d}" <= last and len(out) < 240:
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def _trend_and_total(f: ReportFilters) -> tuple[list[TrendPoint], ScoreStats]:
    by_month = score_stats(f, utc_month(Evaluation.submitted_at))
    total = ScoreStats()
    for stats in by_month.values():
        total = total + stats
    keys = sorted(k for k in by_month if k)
    if f.start is not None:
        keys.insert(0, f.start.astimezone(UTC).strftime("%Y-%m"))
    if f.end is not None:
        keys.append((f.end - timedelta(microseconds=1)).astimezone(UTC).strftime("%Y-%m"))
    if not keys:
        return [], total
    return [TrendPoint(m, by_month.get(m, ScoreStats()))
            for m in months_between(min(keys), max(keys))], total


def monthly_trend(f: ReportFilters) -> list[TrendPoint]:
    """One point per UTC month, gaps filled, from the period's (or the data's) first month."""
    return _trend_and_total(f)[0]


def summary(f: ReportFilters) -> ScoreStats:
    return score_stats(f).get(None, ScoreStats())


def most_failed(f: ReportFilters, *, locale: str, limit: int | None = 10) -> list[CriterionFailure]:
    """Criteria by the share of evaluations that scored them below full marks: what to coach."""
    counts = criterion_counts(f).get(None, {})
    rows = _Criteria({vid for vid, _k in counts}, locale).merge(counts)
    return rows[:limit] if limit else rows


def breakdown(f: ReportFilters, by: str, *, locale: str) -> list[ReportRow]:
    """Score, auto-fail, disputes and the most-failed criterion per agent, branch, team or
    grader, in code order: three GROUP BY queries and the names."""
    return _breakdown(f, by, locale)[0]


def _breakdown(f: ReportFilters, by: str, locale: str) -> tuple[list[ReportRow], list]:
    """The rows, and every criterion's counts over all the groups (the most-failed list)."""
    key, join = _dimension(by)
    stats = score_stats(f, key, join_agents=join)
    outcomes = dispute_outcomes(f, key, join_agents=join)
    counts = criterion_counts(f, key, join_agents=join)
    criteria = _Criteria({vid for c in counts.values() for vid, _k in c}, locale)
    names = _names(by, list(stats))
    rows = []
    overall: dict = {}
    for group in counts.values():
        for ck, (n, failed) in group.items():
            was = overall.get(ck, (0, 0))
            overall[ck] = (was[0] + n, was[1] + failed)
    for k, s in stats.items():
        code, label = names.get(k, (str(k) if k is not None else "", ""))
        if k is None:
            code, label = "", str(_l("No team") if by == "team" else _l("Not attributed"))
        coach = criteria.top(counts.get(k, {}))
        rows.append(ReportRow(k, code, label, s, outcomes.get(k, DisputeOutcomes()), coach))
    rows.sort(key=lambda r: (r.key is None, r.code))
    return rows, criteria.merge(overall)


def qa_report(f: ReportFilters, *, by: str = "agent", locale: str = "zh_Hans",
              limit: int = 10) -> QaReport:
    """Everything the reports page and the API show for one set of filters.

    Each evaluation falls in exactly one month and one group, so the summary is the sum of the
    months, and the dispute outcomes and most-failed criteria the sums over the breakdown's
    groups: the page costs the trend query and the breakdown's three, not six queries.
    """
    trend, total = _trend_and_total(f)
    rows, failures = _breakdown(f, by, locale)
    outcomes = DisputeOutcomes()
    for r in rows:
        outcomes = outcomes + r.outcomes
    return QaReport(filters=f, by=by, summary=total, outcomes=outcomes, trend=trend, rows=rows,
                    most_failed=failures[:limit] if limit else failures)

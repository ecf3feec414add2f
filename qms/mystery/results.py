"""Mystery-shopping results: SQL aggregates over approved reports only.

A report counts once it is approved (ShopAssignment.status "approved", its score and
approved_at set, its ShopItemScore rows written by the review). Scores by branch, agent and
scenario are means of report scores; sections and questions are points earned / points
possible over the item rows (N/A rows carry no points and are left out). The same functions
feed the pages and the scorecards.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from qms.extensions import db
from qms.mystery.models import ShopAssignment, ShopItemScore, Wave
from qms.org.models import Agent, Branch
from qms.surveys.definition import text
from qms.surveys.models import SurveyVersion

APPROVED = "approved"


@dataclass(frozen=True)
class ResultFilter:
    """Which approved reports count. branch_ids is the viewer's scope (None: every branch)."""

    programme_id: int | None = None
    wave_id: int | None = None
    branch_id: int | None = None
    agent_id: int | None = None
    scenario: str | None = None
    since: datetime | None = None     # approved_at >= since
    until: datetime | None = None     # approved_at < until
    branch_ids: frozenset[int] | None = None


@dataclass(frozen=True)
class ScoreRow:
    key: object          # branch id, agent id, scenario key, wave id
    label: str
    reports: int
    score: float | None  # mean report score, 0..100
    auto_failed: int


@dataclass(frozen=True)
class ItemRow:
    key: str             # item (question) or section key
    section: str
    label: str
    applicable: int      # rows that were not N/A
    not_applicable: int
    missed: int
    critical_failed: int
    earned: float
    possible: float

    @property
    def percent(self) -> float | None:
        return None if not self.possible else 100.0 * self.earned / self.possible

    @property
    def miss_rate(self) -> float | None:
        return None if not self.applicable else 100.0 * self.missed / self.applicable


@dataclass(frozen=True)
class WaveChange:
    branch_id: int
    label: str
    scores: dict         # wave id -> mean score (None when no approved report)
    change: float | None  # last wave minus the one before, where both have reports


def _where(f: ResultFilter) -> list:
    conds = [ShopAssignment.status == APPROVED]
    if f.programme_id is not None:
        conds.append(ShopAssignment.wave_id.in_(
            sa.select(Wave.id).where(Wave.programme_id == f.programme_id)))
    for column, value in ((ShopAssignment.wave_id, f.wave_id),
                          (ShopAssignment.branch_id, f.branch_id),
                          (ShopAssignment.agent_id, f.agent_id),
                          (ShopAssignment.scenario, f.scenario)):
        if value is not None:
            conds.append(column == value)
    if f.since is not None:
        conds.append(ShopAssignment.approved_at >= f.since)
    if f.until is not None:
        conds.append(ShopAssignment.approved_at < f.until)
    if f.branch_ids is not None:
        conds.append(ShopAssignment.branch_id.in_(f.branch_ids))
    return conds


def _score_rows(f: ResultFilter, key_column, label_of) -> list[ScoreRow]:
    stmt = (sa.select(key_column, sa.func.count(ShopAssignment.id),
                      sa.func.avg(ShopAssignment.score),
                      sa.func.sum(sa.case((ShopAssignment.auto_failed.is_(True), 1), else_=0)))
            .where(*_where(f), key_column.is_not(None)).group_by(key_column))
    rows = db.session.execute(stmt).all()
    labels = label_of({r[0] for r in rows})
    out = [ScoreRow(key, labels.get(key, str(key)), n, None if avg is None else float(avg),
                    int(fails or 0)) for key, n, avg, fails in rows]
    return sorted(out, key=lambda r: (r.score is None, -(r.score or 0), r.label))


def _branch_labels(ids) -> dict:
    if not ids:
        return {}
    return {i: f"{code} {name}" for i, code, name in db.session.execute(
        sa.select(Branch.id, Branch.code, Branch.name).where(Branch.id.in_(ids)))}


def _agent_labels(ids) -> dict:
    if not ids:
        return {}
    return {i: f"{code} {name}" for i, code, name in db.session.execute(
        sa.select(Agent.id, Agent.code, Agent.name).where(Agent.id.in_(ids)))}


def _wave_labels(ids) -> dict:
    if not ids:
        return {}
    return dict(db.session.execute(sa.select(Wave.id, Wave.name).where(Wave.id.in_(ids))).all())


def by_branch(f: ResultFilter) -> list[ScoreRow]:
    return _score_rows(f, ShopAssignment.branch_id, _branch_labels)


def by_agent(f: ResultFilter) -> list[ScoreRow]:
    return _score_rows(f, ShopAssignment.agent_id, _agent_labels)


def by_wave(f: ResultFilter) -> list[ScoreRow]:
    return _score_rows(f, ShopAssignment.wave_id, _wave_labels)


def by_scenario(f: ResultFilter, locale: str = "zh_Hans") -> list[ScoreRow]:
    labels = scenario_labels(f, locale)
    return _score_rows(f, ShopAssignment.scenario, lambda keys: labels)


def overall(f: ResultFilter) -> ScoreRow:
    n, avg, fails = db.session.execute(
        sa.select(sa.func.count(ShopAssignment.id), sa.func.avg(ShopAssignment.score),
                  sa.func.sum(sa.case((ShopAssignment.auto_failed.is_(True), 1), else_=0)))
        .where(*_where(f))).one()
    return ScoreRow(None, "", n, None if avg is None else float(avg), int(fails or 0))


# -- sections and questions ------------------------------------------------------------------

def _item_stmt(f: ResultFilter, *group):
    applicable = sa.case((ShopItemScore.possible.is_not(None), 1), else_=0)
    return (sa.select(*group, sa.func.sum(applicable),
                      sa.func.sum(1 - applicable),
                      sa.func.sum(sa.case((ShopItemScore.missed.is_(True), 1), else_=0)),
                      sa.func.sum(sa.case((ShopItemScore.critical_failed.is_(True), 1),
                                          else_=0)),
                      sa.func.coalesce(sa.func.sum(ShopItemScore.earned), 0.0),
                      sa.func.coalesce(sa.func.sum(ShopItemScore.possible), 0.0))
            .join(ShopAssignment, ShopAssignment.id == ShopItemScore.assignment_id)
            .where(*_where(f)).group_by(*group))


def by_section(f: ResultFilter, locale: str = "zh_Hans") -> list[ItemRow]:
    labels = definition_labels(f, locale)
    rows = db.session.execute(_item_stmt(f, ShopItemScore.section_key)).all()
    return [ItemRow(key, key, labels.get(key, key), int(a), int(na), int(m), int(c),
                    float(e), float(p)) for key, a, na, m, c, e, p in rows]


def by_question(f: ResultFilter, locale: str = "zh_Hans") -> list[ItemRow]:
    labels = definition_labels(f, locale)
    rows = db.session.execute(_item_stmt(f, ShopItemScore.section_key,
                                         ShopItemScore.item_key)).all()
    order = {k: i for i, k in enumerate(labels)}
    out = [ItemRow(item, section, labels.get(item, item), int(a), int(na), int(m), int(c),
                   float(e), float(p)) for section, item, a, na, m, c, e, p in rows]
    return sorted(out, key=lambda r: (order.get(r.key, len(order)), r.key))


def most_missed(f: ResultFilter, locale: str = "zh_Hans", limit: int = 10) -> list[ItemRow]:
    """Items missed most often (share of the reports where they applied), most missed first."""
    rows = [r for r in by_question(f, locale) if r.missed]
    return sorted(rows, key=lambda r: (-(r.miss_rate or 0), -r.missed, r.key))[:limit]


# -- wave over wave --------------------------------------------------------------------------

def wave_over_wave(programme_id: int, branch_ids: frozenset[int] | None = None
                   ) -> tuple[list[Wave], list[WaveChange]]:
    """Each branch's mean approved score per wave of a programme (in date order), and the
    change from the wave before the last to the last wave where both have reports."""
    programme_waves = list(db.session.scalars(
        sa.select(Wave).where(Wave.programme_id == programme_id)
        .order_by(Wave.starts_on, Wave.id)))
    f = ResultFilter(programme_id=programme_id, branch_ids=branch_ids)
    cells = db.session.execute(
        sa.select(ShopAssignment.branch_id, ShopAssignment.wave_id,
                  sa.func.avg(ShopAssignment.score))
        .where(*_where(f)).group_by(ShopAssignment.branch_id, ShopAssignment.wave_id)).all()
    scores: dict[int, dict] = {}
    for branch_id, wave_id, avg in cells:
        scores.setdefault(branch_id, {})[wave_id] = None if avg is None else float(avg)
    labels = _branch_labels(set(scores))
    out = []
    for branch_id, per_wave in scores.items():
        seen = [per_wave[w.id] for w in programme_waves
                if per_wave.get(w.id) is not None]
        change = seen[-1] - seen[-2] if len(seen) >= 2 else None
        out.append(WaveChange(branch_id, labels.get(branch_id, str(branch_id)),
                              {w.id: per_wave.get(w.id) for w in programme_waves}, change))
    return programme_waves, sorted(out, key=lambda r: r.label)


# -- labels ----------------------------------------------------------------------------------

def _definitions(f: ResultFilter) -> list[dict]:
    """The definitions of the versions the filtered reports answered, newest first."""
    ids = db.session.scalars(sa.select(ShopAssignment.version_id).where(*_where(f))
                             .distinct()).all()
    if not ids:
        return []
    return [v.definition or {} for v in db.session.scalars(
        sa.select(SurveyVersion).where(SurveyVersion.id.in_(ids))
        .order_by(SurveyVersion.id.desc()))]


def definition_labels(f: ResultFilter, locale: str) -> dict[str, str]:
    """Section and question key -> label (the newest version's wording wins), in order."""
    labels: dict[str, str] = {}
    for d in reversed(_definitions(f)):
        for s in d.get("sections", []):
            labels[s.get("key")] = text(s.get("title"), locale) or s.get("key")
            for q in s.get("questions", []):
                labels[q.get("key")] = text(q.get("label"), locale) or q.get("key")
    return labels


def scenario_labels(f: ResultFilter, locale: str) -> dict[str, str]:
    labels: dict[str, str] = {}
    for d in reversed(_definitions(f)):
        for sc in d.get("scenarios") or []:
            if isinstance(sc, dict):
                labels[sc.get("key")] = text(sc.get("label"), locale) or sc.get("key")
    return labels

"""Computing a period: every KPI of every branch and agent, overall scores, RAG, ranks, trends
and the snapshot data — from a fixed handful of SQL aggregates whatever the number of branches
and agents. Pure reading: qms.scorecards.snapshots stores the result."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa

from qms.extensions import db
from qms.org.models import Agent, Branch
from qms.scorecards import details, sources
from qms.scorecards.kpis import KPIS, measure
from qms.scorecards.models import ScorecardModelVersion
from qms.scorecards.normalise import NORMALISATION, competition_ranks, normalise, overall, rag

PERIOD_RE = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
TREND_MONTHS = 12
ALWAYS = ("complaints_received", "complaints_closed")  # the complaint summary needs them


def parse_period(text: str | None) -> str:
    if not text or not PERIOD_RE.match(text):
        raise ValueError("period must be YYYY-MM")
    return text


def month_bounds(period: str) -> tuple[datetime, datetime]:
    y, m = int(period[:4]), int(period[5:7])
    start = datetime(y, m, 1, tzinfo=UTC)
    end = datetime(y + (m == 12), 1 if m == 12 else m + 1, 1, tzinfo=UTC)
    return start, end


def shift(period: str, months: int) -> str:
    y, m = int(period[:4]), int(period[5:7])
    idx = y * 12 + (m - 1) + months
    return f"{idx // 12:04d}-{idx % 12 + 1:02d}"


def last_closed_period(now: datetime) -> str:
    return shift(now.astimezone(UTC).strftime("%Y-%m"), -1)


def is_closed(period: str, now: datetime) -> bool:
    return month_bounds(period)[1] <= now


def window(period: str, months: int = TREND_MONTHS) -> sources.Window:
    periods = [shift(period, -i) for i in range(months - 1, -1, -1)]
    return sources.Window(periods, [month_bounds(p) for p in periods])


@dataclass(frozen=True)
class Entity:
    scope: str
    id: int
    code: str
    name: str
    branch_id: int
    branch_code: str
    branch_name: str
    region: str


def load_entities() -> tuple[list[Entity], list[Entity]]:
    branches = {}
    for bid, code, name, region in db.session.execute(
            sa.select(Branch.id, Branch.code, Branch.name, Branch.region)
            .where(Branch.active.is_(True)).order_by(Branch.code)):
        branches[bid] = Entity("branch", bid, code, name, bid, code, name, region)
    agents = []
    for aid, code, name, bid in db.session.execute(
            sa.select(Agent.id, Agent.code, Agent.name, Agent.branch_id)
            .where(Agent.active.is_(True)).order_by(Agent.code)):
        b = branches.get(bid)
        if b is not None:
            agents.append(Entity("agent", aid, code, name, bid, b.code, b.name, b.region))
    return list(branches.values()), agents


def fetch_counts(scope: str, version: ScorecardModelVersion, w: sources.Window) -> dict:
    """{(entity id, month): merged counts} from every source the model's KPIs read."""
    needed = set(ALWAYS)
    for item in version.kpis:
        kpi = KPIS.get(item["key"])
        if kpi is not None and kpi.applies_to(scope):
            needed.update(kpi.queries)
    merged: dict = {}
    for name in sorted(needed):
        for key, counts in sources.SOURCES[name](scope, w).items():
            merged.setdefault(key, {}).update(counts)
    return merged


def kpi_rows(version: ScorecardModelVersion, scope: str, entity_id: int, counts: dict,
             w: sources.Window) -> list[dict]:
    rows = []
    for item in version.kpis:
        kpi = KPIS.get(item["key"])
        if kpi is None or not kpi.applies_to(scope):
            continue
        ms = item.get("min_sample")
        trend = []
        for mon in w.months:
            m = measure(kpi, counts.get((entity_id, mon)), ms)
            trend.append({"period": mon, "value": m["value"]})
        now_m = measure(kpi, counts.get((entity_id, w.months[-1])), ms)
        value = now_m["value"]
        previous = trend[-2]["value"] if len(trend) > 1 else None
        target, green, amber = float(item["target"]), float(item["green"]), float(item["amber"])
        rows.append({
            "key": kpi.key, "unit": kpi.unit, "direction": kpi.direction, "source": kpi.source,
            "target": target, "green": green, "amber": amber, "weight": float(item["weight"]),
            "value": value, "sample": now_m["sample"], "min_sample": now_m["min_sample"],
            "sufficient": now_m["sufficient"],
            "normalised": normalise(value, target, kpi.direction),
            "rag": rag(value, green, amber, kpi.direction),
            "previous": previous,
            "change": None if value is None or previous is None else round(value - previous, 4),
            "trend": trend,
        })
    weights = sum(r["weight"] for r in rows if r["sufficient"] and r["weight"] > 0)
    for r in rows:  # the share each KPI actually carries in the overall score
        r["weight_share"] = (round(r["weight"] / weights, 4)
                             if weights and r["sufficient"] and r["weight"] > 0 else 0.0)
    return rows


def overall_block(rows: list[dict], version: ScorecardModelVersion) -> dict:
    score = overall((r["normalised"], r["weight"]) for r in rows if r["sufficient"])
    colour = "none" if score is None else rag(score, version.overall_green,
                                              version.overall_amber, "higher")
    return {"score": score, "rag": colour, "rank": None, "of": 0, "rank_in_branch": None,
            "of_in_branch": None}


def _model_block(version: ScorecardModelVersion) -> dict:
    return {"id": version.model_id, "name": version.model.name, "version": version.number,
            "version_id": version.id, "weighting": version.weighting, "ahp_cr": version.ahp_cr,
            "overall_green": version.overall_green, "overall_amber": version.overall_amber}


def _entity_block(e: Entity) -> dict:
    return {"code": e.code, "name": e.name, "branch_code": e.branch_code,
            "branch_name": e.branch_name, "region": e.region}


def compute_all(period: str, versions: dict[str, ScorecardModelVersion], *,
                now: datetime) -> list[tuple[Entity, ScorecardModelVersion, dict]]:
    """(entity, model version, snapshot data) for every active branch and agent."""
    period = parse_period(period)
    w = window(period)
    start, end = month_bounds(period)
    branches, agents = load_entities()
    stamp = now.astimezone(UTC).isoformat()
    out: dict[str, list] = {"branch": [], "agent": []}
    for scope, entities in (("branch", branches), ("agent", agents)):
        version = versions[scope]
        counts = fetch_counts(scope, version, w)
        weakest = details.weakest_items(scope, start, end)
        complaints = details.complaint_summary(scope, counts, period, start, end)
        audit = details.audit_lists(start, end) if scope == "branch" else {}
        for e in entities:
            rows = kpi_rows(version, scope, e.id, counts, w)
            out[scope].append((e, version, {
                "scope": scope, "period": period, "entity": _entity_block(e),
                "model": _model_block(version), "cutoff": stamp, "generated_at": stamp,
                "overall": overall_block(rows, version), "kpis": rows,
                "weakest_items": weakest.get(e.id, []),
                "audit": audit.get(e.id, {"open_findings": [], "overdue_actions": []}),
                "complaints": complaints.get(e.id, details.EMPTY_COMPLAINTS),
                "normalisation": NORMALISATION,
            }))
    _rank(out)
    return out["branch"] + out["agent"]


def _rank(out: dict[str, list]) -> None:
    branch_rank = competition_ranks({e.id: d["overall"]["score"] for e, _v, d in out["branch"]})
    of = sum(1 for r in branch_rank.values() if r is not None)
    for e, _v, d in out["branch"]:
        d["overall"].update(rank=branch_rank[e.id], of=of)
    agent_rank = competition_ranks({e.id: d["overall"]["score"] for e, _v, d in out["agent"]})
    of_agents = sum(1 for r in agent_rank.values() if r is not None)
    by_branch: dict[int, list] = {}
    for e, _v, d in out["agent"]:
        by_branch.setdefault(e.branch_id, []).append((e, d))
    for members in by_branch.values():
        local = competition_ranks({e.id: d["overall"]["score"] for e, d in members})
        of_local = sum(1 for r in local.values() if r is not None)
        for e, d in members:
            d["overall"].update(rank=agent_rank[e.id], of=of_agents,
                                rank_in_branch=local[e.id], of_in_branch=of_local)
    for e, _v, d in out["branch"]:
        members = sorted(by_branch.get(e.id, []),
                         key=lambda ed: (ed[1]["overall"]["rank_in_branch"] is None,
                                         ed[1]["overall"]["rank_in_branch"] or 0, ed[0].code))
        d["agents"] = [{"code": a.code, "name": a.name, "overall": ad["overall"]["score"],
                        "rag": ad["overall"]["rag"], "rank": ad["overall"]["rank_in_branch"]}
                       for a, ad in members]

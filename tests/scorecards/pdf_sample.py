"""A hand-made snapshot data dict in the shape qms.scorecards.snapshots stores, for PDF tests."""

from __future__ import annotations

import copy

KPI_KEYS = (("csat_pct", "%", "higher", 85.0), ("nps", "points", "higher", 30.0),
            ("complaints_closed_in_time_pct", "%", "higher", 95.0),
            ("complaint_median_days_to_close", "days", "lower", 10.0))


def _kpi(key, unit, direction, target, i):
    value = target + (3.5 if direction == "higher" else -1.5) - i
    trend = [{"period": f"2025-{m:02d}" if m <= 12 else f"2026-{m - 12:02d}",
              "value": None if m == 6 else round(value - 4 + m * 0.3, 1)} for m in range(4, 16)]
    return {"key": key, "unit": unit, "direction": direction, "source": "surveys",
            "target": target,
            "green": target, "amber": target * 0.9, "weight": 0.25, "value": round(value, 1),
            "sample": 120 + i, "min_sample": 10, "sufficient": True, "normalised": 92.5 - i,
            "rag": ("green", "amber", "red", "green")[i], "previous": round(value - 1.2, 1),
            "change": 1.2, "trend": trend}


def sample_data(*, scope="branch", name="浦东第一支行", code="B001", period="2026-03") -> dict:
    kpis = [_kpi(*spec, i) for i, spec in enumerate(KPI_KEYS)]
    kpis[1].update(value=None, sufficient=False, sample=4, rag="none", normalised=None,
                   change=None)
    for k in kpis:  # the share each KPI carries in the overall score (as compute stores it)
        k["weight_share"] = round(1 / 3, 4) if k["sufficient"] else 0.0
    data = {
        "scope": scope, "period": period,
        "entity": {"code": code, "name": name, "branch_code": "B001",
                   "branch_name": "浦东第一支行", "region": "华东"},
        "model": {"id": 1, "name": "Branch 2026", "version": 2},
        "cutoff": "2026-04-01T00:00:00+00:00", "generated_at": "2026-04-01T02:30:00+00:00",
        "overall": {"score": 87.4, "rag": "green", "rank": 3, "of": 12,
                    "rank_in_branch": None, "of_in_branch": None},
        "kpis": kpis,
        "weakest_items": [
            {"source": "mystery", "key": "greet", "label": "主动问候客户", "missed": 7, "total": 20},
            {"source": "qa", "key": "verify", "label": "Verified the caller's identity",
             "missed": 5, "total": 40}],
        "audit": {"open_findings": [{"id": 11, "severity": "major", "item": "现金区双人复核",
                                     "opened": "2026-02-14"}],
                  "overdue_actions": [{"id": 21, "due": "2026-03-10", "owner": "王经理"}]},
        "complaints": {"received": 14, "closed": 12, "closed_in_time": 11, "upheld": 3,
                       "open": 2},
        "agents": [{"code": "B001-A01", "name": "李娜", "overall": 91.2, "rag": "green",
                    "rank": 1},
                   {"code": "B001-A02", "name": "张伟", "overall": None, "rag": "none",
                    "rank": None}] if scope == "branch" else [],
        "normalisation": "target-ratio-v1",
    }
    return copy.deepcopy(data)


def make_snapshot(branch, *, agent=None, period="2026-03", data=None, now=None):
    """A stored current snapshot of the sample data for a real branch (or agent)."""
    from datetime import UTC, datetime

    from qms.extensions import db
    from qms.scorecards.models import ScorecardSnapshot
    from qms.scorecards.scorecard_models import ensure_default_models
    from qms.scorecards.snapshots import content_hash

    now = now or datetime(2026, 4, 1, 2, 30, tzinfo=UTC)
    scope = "agent" if agent is not None else "branch"
    version = ensure_default_models(now)[scope]
    if data is None:
        entity = agent if agent is not None else branch
        data = sample_data(scope=scope, name=entity.name, code=entity.code, period=period)
        data["entity"].update(branch_code=branch.code, branch_name=branch.name,
                              region=branch.region)
    snap = ScorecardSnapshot(scope=scope, branch_id=branch.id,
                             agent_id=agent.id if agent is not None else None,
                             entity_code=(agent or branch).code, period=period,
                             model_version_id=version.id, data=data,
                             content_hash=content_hash(data), cutoff_at=now, created_at=now)
    db.session.add(snap)
    db.session.commit()
    return snap

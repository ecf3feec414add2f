"""The KPI catalogue: adding a KPI is adding one entry to KPIS.

Each entry names its SQL source (qms.scorecards.sources: one GROUP BY query per scope for
every branch or agent and month at once) and turns that source's counts into a value and the
sample it rests on. Below the minimum sample a KPI is "insufficient data": no value, left out
of the overall score and of the ranks. Labels are looked up here by key (snapshots store keys).
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from qms.analytics import survey_metrics as sm

UNITS = {
    "%": _l("per cent"),
    "points": _l("points"),
    "days": _l("days"),
    "count": _l("count"),
    "per 1,000": _l("per 1,000"),
}
SOURCE_LABELS = {
    "surveys": _l("Customer surveys"),
    "qa": _l("QA evaluations"),
    "complaints": _l("Complaints"),
    "mystery": _l("Mystery shopping"),
    "audits": _l("Audits"),
}


@dataclass(frozen=True)
class Kpi:
    key: str
    label: object
    scope: str  # branch | agent | both
    direction: str  # higher | lower (is better)
    unit: str  # a key of UNITS
    source: str  # a key of SOURCE_LABELS
    queries: tuple[str, ...]  # the qms.scorecards.sources it reads
    min_sample: int
    measure: Callable[[dict], tuple[float | None, int]]  # counts -> (raw value, sample)
    description: object = ""

    def applies_to(self, scope: str) -> bool:
        return self.scope in ("both", scope)


def _ratio(num: float, den: float, scale: float = 100.0) -> float | None:
    return scale * num / den if den else None


def _csat(c):
    return _ratio(c.get("csat_satisfied", 0), c.get("csat_n", 0)), c.get("csat_n", 0)


def _nps(c):
    n = c.get("nps_n", 0)
    return _ratio(c.get("promoters", 0) - c.get("detractors", 0), n), n


def _ces(c):
    n = c.get("ces_n", 0)
    return (c.get("ces_sum", 0.0) / n if n else None), n


def _response_rate(c):
    return _ratio(c.get("completed", 0), c.get("delivered", 0)), c.get("delivered", 0)


def _mystery(c):
    n = c.get("shops", 0)
    return (c.get("shop_score_sum", 0.0) / n if n else None), n


def _qa_score(c):
    n = c.get("scored", 0)
    return (c.get("score_sum", 0.0) / n if n else None), n


def _qa_autofail(c):
    return _ratio(c.get("auto_failed", 0), c.get("evaluations", 0)), c.get("evaluations", 0)


def _per_1000(c):
    served = c.get("interactions", 0)
    return _ratio(c.get("received", 0), served, 1000.0), served


def _in_time(c):
    return _ratio(c.get("within", 0), c.get("with_deadline", 0)), c.get("with_deadline", 0)


def _median_days(c):
    durations = c.get("durations") or []
    return (statistics.median(durations) if durations else None), len(durations)


def _upheld(c):
    return _ratio(c.get("upheld", 0), c.get("with_outcome", 0)), c.get("with_outcome", 0)


def _audit(c):
    n = c.get("audits", 0)
    return (c.get("audit_score_sum", 0.0) / n if n else None), n


def _overdue(c):
    # a count is known even when nothing was due: zero overdue actions is a value
    return float(c.get("overdue", 0)), c.get("actions_due", 0)


SURVEY_MIN = sm.DEFAULT_MIN_SAMPLE

KPIS: dict[str, Kpi] = {k.key: k for k in (
    Kpi("csat_pct", _l("CSAT"), "both", "higher", "%", "surveys", ("survey_answers",),
        SURVEY_MIN, _csat, _l("Share of CSAT answers of 4 or 5 on the 1–5 scale.")),
    Kpi("nps", _l("NPS"), "both", "higher", "points", "surveys", ("survey_answers",),
        SURVEY_MIN, _nps, _l("Share of promoters (9–10) minus share of detractors (0–6), −100 to +100.")),
    Kpi("ces", _l("Customer effort (CES)"), "both", "higher", "points", "surveys",
        ("survey_answers",), SURVEY_MIN, _ces,
        _l("Mean agreement (1–7) that the bank made it easy to handle the issue.")),
    Kpi("survey_response_rate", _l("Survey response rate"), "both", "higher", "%", "surveys",
        ("invitations",), SURVEY_MIN, _response_rate,
        _l("Completed responses per delivered invitation sent in the month.")),
    Kpi("mystery_score", _l("Mystery-shop score"), "both", "higher", "points", "mystery",
        ("mystery_shops",), 1, _mystery, _l("Mean score (0–100) of approved mystery-shop "
                                           "reports.")),
    Kpi("qa_score", _l("QA score"), "both", "higher", "points", "qa", ("evaluations",), 5,
        _qa_score, _l("Mean total (0–100) of released QA evaluations.")),
    Kpi("qa_autofail_rate", _l("QA auto-fail rate"), "both", "lower", "%", "qa",
        ("evaluations",), 5, _qa_autofail,
        _l("Share of released evaluations that failed a critical item.")),
    Kpi("complaints_per_1000", _l("Complaints per 1,000 customers served"), "both", "lower",
        "per 1,000", "complaints", ("complaints_received", "interactions"), 100, _per_1000,
        _l("Complaints received per 1,000 recorded interactions in the month.")),
    Kpi("complaints_closed_in_time_pct", _l("Complaints closed within the deadline"), "both",
        "higher", "%", "complaints", ("complaints_closed",), 5, _in_time,
        _l("Share of complaints closed in the month on or before their deadline.")),
    Kpi("complaint_median_days_to_close", _l("Median days to close a complaint"), "both",
        "lower", "days", "complaints", ("complaints_closed",), 5, _median_days,
        _l("Median of the days from receipt to closure of complaints closed in the month.")),
    Kpi("complaints_upheld_pct", _l("Complaints upheld"), "both", "lower", "%", "complaints",
        ("complaints_closed",), 5, _upheld,
        _l("Upheld or partly upheld complaints as a share of those closed with an outcome.")),
    Kpi("audit_score", _l("Audit score"), "branch", "higher", "points", "audits", ("audits",),
        1, _audit, _l("Mean score (0–100) of the branch audits submitted in the month.")),
    Kpi("overdue_actions", _l("Overdue corrective actions"), "branch", "lower", "count",
        "audits", ("overdue_actions",), 0, _overdue,
        _l("Corrective actions past their due date and not done at the end of the month.")),
)}


def kpis_for(scope: str) -> list[Kpi]:
    return [k for k in KPIS.values() if k.applies_to(scope)]


def measure(kpi: Kpi, counts: dict | None, min_sample: int | None = None) -> dict:
    """{value, sample, min_sample, sufficient} for one entity and month; value None when the
    sample is below the minimum (never a number a branch could be ranked on)."""
    ms = kpi.min_sample if min_sample is None else min_sample
    raw, sample = kpi.measure(counts or {})
    sufficient = raw is not None and sample >= ms
    return {"value": round(raw, 4) if sufficient else None, "sample": int(sample),
            "min_sample": int(ms), "sufficient": sufficient}

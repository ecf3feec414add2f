"""From KPI values to a 0–100 score, red/amber/green, the overall score and ranks.

The rule (printed on every scorecard under the key NORMALISATION):

- Higher is better (CSAT, NPS, scores, rates): score = value / target × 100, capped to
  0..100 — at or above target is 100, half the target is 50, zero or a negative NPS is 0.
- Lower is better (complaints, days, auto-fails, upheld share): at or below target is 100;
  above it score = target / value × 100 — twice the target is 50. A target of 0 (no overdue
  action) is scored 100 / (1 + value): 0 is 100, 1 is 50, 3 is 25.
- Overall = the weighted mean of the scores of the KPIs with enough data, the weights
  re-normalised over those KPIs; with none, there is no overall score and no rank.
- RAG of a KPI compares its value with the model's thresholds (higher is better: green at or
  above `green`, amber at or above `amber`, else red; lower is better: at or below). The
  overall RAG compares the overall score with the model version's overall thresholds.
  Insufficient data is "none" (grey), never red.
- Ranks are competition ranks ("1224"): equal overall scores (to two decimals) share a rank
  and the next rank is skipped. Entities without an overall score are not ranked.
"""

from __future__ import annotations

from collections.abc import Iterable

NORMALISATION = "target-ratio-v1"  # the key of the rule above, stored in each snapshot
RAGS = ("green", "amber", "red", "none")


def normalise(value: float | None, target: float, direction: str) -> float | None:
    if value is None:
        return None
    if direction == "higher":
        if target <= 0:
            raise ValueError("a higher-is-better KPI needs a positive target")
        return round(min(100.0, max(0.0, value / target * 100.0)), 2)
    if target < 0:
        raise ValueError("a lower-is-better KPI needs a target of zero or more")
    if value <= target:
        return 100.0
    if target == 0:
        return round(100.0 / (1.0 + value), 2)
    return round(min(100.0, max(0.0, target / value * 100.0)), 2)


def rag(value: float | None, green: float, amber: float, direction: str) -> str:
    if value is None:
        return "none"
    if direction == "higher":
        return "green" if value >= green else "amber" if value >= amber else "red"
    return "green" if value <= green else "amber" if value <= amber else "red"


def overall(items: Iterable[tuple[float | None, float]]) -> float | None:
    """Weighted mean of (normalised score, weight) pairs, skipping missing scores."""
    pairs = [(s, w) for s, w in items if s is not None and w > 0]
    total = sum(w for _s, w in pairs)
    if not pairs or total <= 0:
        return None
    return round(sum(s * w for s, w in pairs) / total, 2)


def competition_ranks(scores: dict) -> dict:
    """{key: score or None} -> {key: rank or None}: "1224" ranking, highest score first."""
    ranked = sorted((s, k) for k, s in scores.items() if s is not None)
    ranked.sort(key=lambda sk: -sk[0])
    out = {k: None for k, s in scores.items() if s is None}
    prev, rank = None, 0
    for position, (s, k) in enumerate(ranked, start=1):
        if s != prev:
            rank, prev = position, s
        out[k] = rank
    return out


def check_thresholds(direction: str, target: float, green: float, amber: float) -> list[str]:
    """Problems with one KPI's settings (empty when fine)."""
    problems = []
    if direction == "higher":
        if target <= 0:
            problems.append("target")
        if amber > green:
            problems.append("amber")
    else:
        if target < 0:
            problems.append("target")
        if amber < green:
            problems.append("amber")
    return problems

"""Calibration: Krippendorff's alpha for a team of graders and per-grader alignment with a benchmark.

No Flask, no database. Alpha follows Krippendorff (2011), "Computing Krippendorff's
Alpha-Reliability", through the coincidence matrix, so it takes any number of raters and missing
ratings; the calibration service hands in the raters' rows and gets a number back.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Hashable, Mapping, Sequence
from numbers import Real

NOMINAL = "nominal"
ORDINAL = "ordinal"
INTERVAL = "interval"
RATIO = "ratio"

NA = "na"  # a criterion the grader (or the benchmark) marked not applicable


def _is_missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _nominal(c, k, _marginals, _rank) -> float:
    return 0.0 if c == k else 1.0


def _ordinal(c, k, marginals, rank) -> float:
    # Krippendorff (2011): (sum of n_g for g from c to k) - (n_c + n_k) / 2, squared; the
    # distance between two ranks grows with how many values lie between them.
    lo, hi = sorted((rank[c], rank[k]))
    between = sum(marginals[v] for v in list(marginals)[lo:hi + 1])
    return (between - (marginals[c] + marginals[k]) / 2) ** 2


def _interval(c, k, _marginals, _rank) -> float:
    return float(c - k) ** 2


def _ratio(c, k, _marginals, _rank) -> float:
    if c + k == 0:  # only 0 and 0, since negative values are refused for ratio data
        return 0.0
    return ((c - k) / (c + k)) ** 2


# level -> squared difference δ²(c, k); each gets the marginals (in value order) and the ranks.
DIFFERENCES: dict[str, Callable[[Hashable, Hashable, dict, dict], float]] = {
    NOMINAL: _nominal,
    ORDINAL: _ordinal,
    INTERVAL: _interval,
    RATIO: _ratio,
}


def _pairable_units(data: Sequence[Sequence]) -> list[Counter]:
    """The value counts of every unit that at least two raters rated."""
    if not data:
        raise ValueError("no raters")
    width = len(data[0])
    if any(len(row) != width for row in data):
        raise ValueError("every rater's row must cover the same units")
    units = []
    for u in range(width):
        values = [row[u] for row in data if not _is_missing(row[u])]
        if len(values) >= 2:
            units.append(Counter(values))
    return units


def _check_values(values, level: str) -> None:
    if level == NOMINAL:
        return
    if any(isinstance(v, bool) or not isinstance(v, Real) for v in values):
        raise ValueError(f"{level} data must be numbers")
    if level == RATIO and any(v < 0 for v in values):
        raise ValueError("ratio data cannot be negative")


def coincidences(data: Sequence[Sequence]) -> dict[tuple, float]:
    """The coincidence matrix o_ck over pairable values, as {(c, k): count}.

    Each unit with m_u >= 2 values adds, for every ordered pair of its values from different
    raters, 1 / (m_u - 1): so each pairable value counts once in the marginals n_c.
    """
    matrix: dict[tuple, float] = {}
    for counts in _pairable_units(data):
        m = sum(counts.values())
        for c, n_c in counts.items():
            for k, n_k in counts.items():
                pairs = n_c * (n_c - 1) if c == k else n_c * n_k
                if pairs:
                    matrix[(c, k)] = matrix.get((c, k), 0.0) + pairs / (m - 1)
    return matrix


def krippendorff_alpha(data: Sequence[Sequence], level: str = INTERVAL) -> float:
    """Krippendorff's alpha, 1 - D_o / D_e, for raters' rows over the same units.

    `data` is one row per rater, one column per unit; None (or NaN) marks a missing rating.
    Nominal values may be any hashable labels; the other levels need numbers (non-negative for
    ratio). α = 1 - (n - 1) Σ o_ck δ²_ck / Σ n_c n_k δ²_ck over pairable values.

    Raises ValueError when no unit has two ratings (nothing to compare). When every pairable
    value is the same, D_e = 0 and Krippendorff leaves alpha undefined: this returns NaN rather
    than pretending to perfect (1.0) or no (0.0) reliability.
    """
    if level not in DIFFERENCES:
        raise ValueError(f"unknown level {level!r}; expected one of {', '.join(DIFFERENCES)}")
    matrix = coincidences(data)
    if not matrix:
        raise ValueError("no pairable values: alpha needs at least one unit rated twice")

    marginals: dict = {}
    for (c, _k), o in matrix.items():
        marginals[c] = marginals.get(c, 0.0) + o
    _check_values(marginals, level)
    if level != NOMINAL:
        marginals = dict(sorted(marginals.items()))
    rank = {v: i for i, v in enumerate(marginals)}
    n = sum(marginals.values())

    delta = DIFFERENCES[level]
    observed = sum(o * delta(c, k, marginals, rank) for (c, k), o in matrix.items())
    expected = sum(n_c * n_k * delta(c, k, marginals, rank)
                   for c, n_c in marginals.items() for k, n_k in marginals.items())
    if expected == 0:
        return math.nan
    return 1.0 - (n - 1) * observed / expected


def alignment(grader_scores: Mapping[str, float | str],
              benchmark_scores: Mapping[str, float | str],
              criterion_max: Mapping[str, float],
              weights: Mapping[str, float] | None = None) -> float:
    """A grader's agreement with the benchmark, 0..1 (DOMAIN.md calibration).

    Per criterion: 1 - |score - benchmark| / criterion max. The criteria are averaged weighted by
    their share of the rubric maximum: `weights` when given (e.g. from scoring.criterion_shares,
    which folds in section weights), else criterion max / sum of maxima.

    N/A ("na"): when both the grader and the benchmark say N/A the criterion is left out, as it
    is in the score; when only one does, they disagree on whether it applies, which counts as 0.
    Returns NaN when every criterion is N/A on both sides (nothing to compare). Every criterion
    must be scored on both sides: calibration compares complete evaluations.
    """
    keys = set(criterion_max)
    for name, scores in (("grader", grader_scores), ("benchmark", benchmark_scores)):
        missing = sorted(keys - set(scores))
        unknown = sorted(set(scores) - keys)
        if missing or unknown:
            raise ValueError(f"{name} scores: missing {missing}, unknown {unknown}")
    if weights is not None and set(weights) != keys:
        raise ValueError("weights must cover exactly the rubric's criteria")

    total_weight = 0.0
    agreement = 0.0
    for key, maximum in criterion_max.items():
        if maximum <= 0:
            raise ValueError(f"criterion {key!r}: the maximum must be positive")
        graded, bench = grader_scores[key], benchmark_scores[key]
        for value in (graded, bench):
            if value != NA and (_is_missing(value) or isinstance(value, bool)
                                or not isinstance(value, Real)
                                or not 0 <= value <= maximum):
                raise ValueError(f"criterion {key!r}: {value!r} is not 'na' or 0..{maximum}")
        if graded == NA and bench == NA:
            continue
        weight = maximum if weights is None else weights[key]
        if weight < 0:
            raise ValueError(f"criterion {key!r}: negative weight")
        if NA in (graded, bench):
            score = 0.0
        else:
            score = 1.0 - abs(graded - bench) / maximum
        total_weight += weight
        agreement += weight * score
    if total_weight == 0:
        return math.nan
    return agreement / total_weight

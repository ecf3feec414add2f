"""Survey KPIs from counts: NPS, CSAT %, CES and response rate, with the minimum-sample rule.

No Flask, no database: the results service counts in SQL and hands the counts here, so the
arithmetic lives in one place and is tested with hand-computed tables.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_MIN_SAMPLE = 10

OK = "ok"
INSUFFICIENT = "insufficient"  # some data, but fewer than the minimum sample
NO_DATA = "no_data"

# Scales fixed by the question types (DOMAIN.md): NPS 0-10, CSAT 1-5, CES 1-7.
NPS_PROMOTER_MIN = 9
NPS_DETRACTOR_MAX = 6
CSAT_SATISFIED_MIN = 4


@dataclass(frozen=True)
class Metric:
    """A KPI value with the sample it rests on.

    `value` is None unless the sample is sufficient: a number below the minimum sample is never
    handed out, so nothing can rank a branch on it.
    """

    value: float | None
    n: int
    min_sample: int

    @property
    def status(self) -> str:
        if self.n == 0:
            return NO_DATA
        return OK if self.value is not None else INSUFFICIENT

    @property
    def sufficient(self) -> bool:
        return self.status == OK

    def as_dict(self, digits: int = 2) -> dict:
        return {"value": None if self.value is None else round(self.value, digits),
                "n": self.n, "status": self.status}


def _check_counts(*counts: int) -> None:
    if any(c < 0 for c in counts):
        raise ValueError("counts cannot be negative")


def _gate(value_fn, n: int, min_sample: int) -> Metric:
    if min_sample < 1:
        raise ValueError("the minimum sample is at least 1")
    if n < min_sample:
        return Metric(None, n, min_sample)
    return Metric(value_fn(), n, min_sample)


def nps(promoters: int, passives: int, detractors: int, *,
        min_sample: int = DEFAULT_MIN_SAMPLE) -> Metric:
    """%promoters - %detractors, -100..+100; passives count in the denominator only."""
    _check_counts(promoters, passives, detractors)
    n = promoters + passives + detractors
    return _gate(lambda: 100.0 * (promoters - detractors) / n, n, min_sample)


def csat_percent(satisfied: int, total: int, *, min_sample: int = DEFAULT_MIN_SAMPLE) -> Metric:
    """Answers of 4 or 5 on the 1-5 scale, as a percentage of all answers."""
    _check_counts(satisfied, total)
    if satisfied > total:
        raise ValueError("more satisfied answers than answers")
    return _gate(lambda: 100.0 * satisfied / total, total, min_sample)


def ces_mean(total: float, n: int, *, min_sample: int = DEFAULT_MIN_SAMPLE) -> Metric:
    """Customer effort score (CES 2.0, 1-7): the mean of the answers, given their sum and count."""
    _check_counts(n)
    return _gate(lambda: float(total) / n, n, min_sample)


def response_rate(completed: int, delivered: int, *,
                  min_sample: int = DEFAULT_MIN_SAMPLE) -> Metric:
    """Completed responses per delivered invitation (not bounced, not opted out), in percent.

    The sample is the number of delivered invitations.
    """
    _check_counts(completed, delivered)
    if completed > delivered:
        raise ValueError("more completed responses than delivered invitations")
    return _gate(lambda: 100.0 * completed / delivered, delivered, min_sample)


def nps_group(score: float) -> str:
    """promoter / passive / detractor for one 0-10 answer."""
    if score >= NPS_PROMOTER_MIN:
        return "promoter"
    if score > NPS_DETRACTOR_MAX:
        return "passive"
    return "detractor"

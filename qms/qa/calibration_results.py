"""A calibration session's results from its submitted scores: alignment per grader, Krippendorff's
alpha, per-criterion disagreement and the totals side by side. Part of qms.qa.calibration, which
decides *when* they may be seen (after the deadline); this module only computes.

Alpha, the units used (documented decision):
  - `alpha` (the session's figure): units = (interaction, criterion) pairs over every criterion
    of the rubric version; raters = all graders of the session, the benchmark included; values =
    points earned as a share of the criterion's maximum (0..1), so that a 10-point criterion does
    not outweigh a yes/no item; N/A and unscored are missing values; interval metric.
  - `alpha_totals`: units = interactions, values = the evaluation totals (0..100), interval.
Both go through qms.analytics.reliability.krippendorff_alpha. None when no unit was scored
twice; NaN when every value is the same (alpha undefined).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import fmean

from qms.analytics import reliability, scoring
from qms.qa import rubric_format
from qms.qa.models import CalibrationSession, Evaluation


@dataclass(frozen=True)
class GraderResult:
    user_id: int
    name: str
    benchmark: bool
    submitted: int
    alignment: float | None  # mean over interactions shared with the benchmark; None: none
    per_interaction: dict[int, float]  # interaction id -> alignment
    mean_total: float | None


@dataclass(frozen=True)
class CriterionDisagreement:
    key: str
    label: str
    max_points: float
    pairs: int  # (grader, interaction) pairs compared with the benchmark
    differing: int  # ... that differ from the benchmark
    deviation: float | None  # mean |score - benchmark| / max (one-sided N/A counts as 1)

    @property
    def differing_share(self) -> float | None:
        return self.differing / self.pairs if self.pairs else None


@dataclass(frozen=True)
class InteractionRow:
    interaction_id: int
    benchmark_total: float | None
    totals: dict[int, float | None]  # grader id -> total (missing: not scored)

    @property
    def spread(self) -> float | None:
        values = [t for t in self.totals.values() if t is not None]
        return max(values) - min(values) if len(values) >= 2 else None


@dataclass(frozen=True)
class SessionResults:
    graders: list[GraderResult]
    alpha: float | None
    alpha_totals: float | None
    criteria: list[CriterionDisagreement]
    interactions: list[InteractionRow]
    matrix: list[list[float | None]]  # the alpha data: one row per grader, one column per unit
    units: list[tuple[int, str]]  # (interaction id, criterion key) per column


@dataclass(frozen=True)
class _Rubric:
    order: list[tuple[str, str, float]]  # (key, label, max) of every criterion, in order
    maxima: dict[str, float]  # non-bonus criteria: what alignment compares
    shares: dict[str, float]


def _rubric(session: CalibrationSession, locale: str = "zh_Hans") -> _Rubric:
    pure = rubric_format.to_scoring(session.rubric_version.definition, locale)
    order = [(c.key, c.label or c.key, float(c.max_points)) for _s, c in pure.criteria()]
    shares = scoring.criterion_shares(pure)
    return _Rubric(order, {k: m for k, _l, m in order if k in shares}, shares)


def _scores(ev: Evaluation) -> dict:
    return rubric_format.scoring_answers(ev.answers)


def _index(evaluations: list[Evaluation]) -> dict[tuple[int, int], Evaluation]:
    """(grader, interaction) -> evaluation."""
    return {(ev.evaluator_id, ev.interaction_id): ev for ev in evaluations}


def _alignment_table(session: CalibrationSession, by: dict, rubric: _Rubric) -> dict:
    """{grader: {interaction: alignment}} for every grader but the benchmark."""
    bench = session.benchmark_user_id
    out: dict[int, dict[int, float]] = {}
    for g in session.grader_ids:
        if g == bench:
            continue
        row = out.setdefault(g, {})
        for i in session.interaction_ids:
            mine, theirs = by.get((g, i)), by.get((bench, i))
            if mine is None or theirs is None:
                continue
            a, b = _scores(mine), _scores(theirs)
            value = reliability.alignment({k: a.get(k) for k in rubric.maxima},
                                          {k: b.get(k) for k in rubric.maxima},
                                          rubric.maxima, weights=rubric.shares)
            if not math.isnan(value):
                row[i] = value
    return out


def grader_alignments(session: CalibrationSession, evaluations: list[Evaluation]) -> dict:
    """{grader id: mean alignment with the benchmark} (None for a grader with nothing shared)."""
    table = _alignment_table(session, _index(evaluations), _rubric(session))
    return {g: fmean(row.values()) if row else None for g, row in table.items()}


def alpha_matrix(session: CalibrationSession, evaluations: list[Evaluation],
                 rubric: _Rubric | None = None):
    """The reliability data behind `alpha`: rows = graders (session order), columns = (interaction,
    criterion) units, values = points / criterion max, None for N/A or unscored."""
    rubric = rubric or _rubric(session)
    by = _index(evaluations)
    units = [(i, key) for i in session.interaction_ids for key, _l, _m in rubric.order]
    maxima = {key: m for key, _l, m in rubric.order}
    rows = []
    for g in session.grader_ids:
        row = []
        for i, key in units:
            ev = by.get((g, i))
            value = _scores(ev).get(key) if ev is not None else None
            row.append(None if value is None or value == rubric_format.NA
                       else float(value) / maxima[key])
        rows.append(row)
    return rows, units


def _alpha(rows) -> float | None:
    try:
        return reliability.krippendorff_alpha(rows, reliability.INTERVAL)
    except ValueError:
        return None


def _disagreement(session, by, rubric: _Rubric) -> list[CriterionDisagreement]:
    bench = session.benchmark_user_id
    out = []
    for key, label, maximum in rubric.order:
        pairs = differing = 0
        deviation = 0.0
        for g in session.grader_ids:
            if g == bench:
                continue
            for i in session.interaction_ids:
                mine, theirs = by.get((g, i)), by.get((bench, i))
                if mine is None or theirs is None:
                    continue
                a, b = _scores(mine).get(key), _scores(theirs).get(key)
                if a == rubric_format.NA and b == rubric_format.NA:
                    continue
                pairs += 1
                if rubric_format.NA in (a, b):
                    gap = 1.0
                else:
                    gap = abs(float(a) - float(b)) / maximum
                deviation += gap
                differing += gap > 0
        out.append(CriterionDisagreement(key, label, maximum, pairs, differing,
                                         deviation / pairs if pairs else None))
    out.sort(key=lambda c: (-(c.deviation or 0), -c.differing, c.key))
    return out


def compute_results(session: CalibrationSession, evaluations: list[Evaluation],
                    names: dict[int, str], *, locale: str = "zh_Hans") -> SessionResults:
    rubric = _rubric(session, locale)
    by = _index(evaluations)
    table = _alignment_table(session, by, rubric)
    graders = []
    for g in session.grader_ids:
        mine = [ev for (grader, _i), ev in by.items() if grader == g]
        totals = [ev.total for ev in mine if ev.total is not None]
        row = table.get(g, {})
        graders.append(GraderResult(
            g, names.get(g, str(g)), g == session.benchmark_user_id, len(mine),
            None if g == session.benchmark_user_id or not row else fmean(row.values()),
            row, fmean(totals) if totals else None))
    rows, units = alpha_matrix(session, evaluations, rubric)
    totals_matrix = [[by[(g, i)].total if (g, i) in by else None
                      for i in session.interaction_ids] for g in session.grader_ids]
    interactions = [InteractionRow(
        i, by[(session.benchmark_user_id, i)].total if (session.benchmark_user_id, i) in by
        else None, {g: by[(g, i)].total for g in session.grader_ids if (g, i) in by})
        for i in session.interaction_ids]
    return SessionResults(graders=graders, alpha=_alpha(rows), alpha_totals=_alpha(totals_matrix),
                          criteria=_disagreement(session, by, rubric), interactions=interactions,
                          matrix=rows, units=units)

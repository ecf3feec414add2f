"""Weighted rubric scoring for QA evaluations, mystery shops and audits: N/A, critical items, bonus.

No Flask, no database: a rubric is plain dataclasses (stored as JSON through rubric_to_dict /
rubric_from_dict), answers are a dict, and `score` returns numbers. The rules are DOMAIN.md's
"Weighted scoring":

- Score = points earned / points possible; N/A takes a criterion out of points possible.
- weighting "sections": total = Σ percent_s × weight_s / 100 over the non-bonus sections, weights
  summing to 100. A section whose every criterion is N/A is removed and the weights of the
  sections left are re-normalised to 100 (a branch is not marked down for a counter it lacks).
- weighting "points": total = Σ earned / Σ possible over every non-bonus criterion; the section
  weights of non-bonus sections are ignored.
- A critical criterion fails when answered "no" (yes/no) or below its pass threshold (scale,
  points; the threshold defaults to full marks). "section" zeroes its section, "all" zeroes the
  total and every section. Precedence: fail-all > fail-section > N/A. A critical criterion
  answered N/A does not apply, so it cannot fail.
- Bonus sections add percent_b × weight_b / 100 on top; the total is capped at 100 unless the
  rubric allows going above. A fail-all leaves the total at 0, bonus or not.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from numbers import Real

NA = "na"

SCALE = "scale"    # whole points 0..max_points, one option per step (guidance per score)
YESNO = "yesno"    # yes = max_points, no = 0
POINTS = "points"  # any number of points 0..max_points
KINDS = (SCALE, YESNO, POINTS)

FAIL_SECTION = "section"
FAIL_ALL = "all"
CRITICAL_LEVELS = (None, FAIL_SECTION, FAIL_ALL)

BY_SECTIONS = "sections"
BY_POINTS = "points"
WEIGHTINGS = (BY_SECTIONS, BY_POINTS)

WEIGHT_TOLERANCE = 0.01


@dataclass(frozen=True)
class Criterion:
    """One scored item.

    `critical` is None, "section" or "all". A critical scale/points item fails when it earns less
    than `pass_threshold` points, or less than full marks when no threshold is stated; a
    critical yes/no item fails on "no". `guidance` maps a score (as text) to what earns it.
    """

    key: str
    max_points: float
    kind: str = SCALE
    na_allowed: bool = False
    critical: str | None = None
    pass_threshold: float | None = None
    label: str = ""
    guidance: dict[str, str] = field(default_factory=dict)

    def fails(self, earned: float) -> bool:
        """Whether `earned` points fail this item as a critical one (False if not critical)."""
        if self.critical is None:
            return False
        threshold = self.max_points if self.pass_threshold is None else self.pass_threshold
        return earned < threshold


@dataclass(frozen=True)
class Section:
    key: str
    weight: float
    criteria: tuple[Criterion, ...]
    bonus: bool = False
    label: str = ""


@dataclass(frozen=True)
class Rubric:
    sections: tuple[Section, ...]
    allow_above_100: bool = False
    weighting: str = BY_SECTIONS

    def criteria(self) -> Iterator[tuple[Section, Criterion]]:
        for section in self.sections:
            for criterion in section.criteria:
                yield section, criterion


@dataclass(frozen=True)
class SectionResult:
    """A section's outcome.

    `earned` and `possible` are the raw points (N/A and, when scoring partially, unanswered
    criteria left out); `percent` is the section's score after critical failures (0 when failed,
    and for every section under a fail-all), otherwise None when nothing in it applies. `weight` is the share of the total it carried after
    re-normalisation (its points share under "points" weighting; 0 when removed); a bonus
    section keeps its own weight, on top of the 100.
    """

    key: str
    earned: float
    possible: float
    percent: float | None
    weight: float
    failed_by_critical: bool
    na_count: int
    bonus: bool = False

    @property
    def raw_percent(self) -> float | None:
        """The percentage the points alone would give, before any critical failure."""
        return None if self.possible == 0 else 100.0 * self.earned / self.possible


@dataclass(frozen=True)
class ScoreResult:
    """`total` is 0..100 (above 100 only with a bonus the rubric allows), None when nothing
    applies. `failed_criteria` are the critical criteria that failed; `missing` the unanswered
    ones (only ever non-empty with partial scoring)."""

    total: float | None
    per_section: dict[str, SectionResult]
    auto_failed: bool
    failed_criteria: list[str]
    missing: list[str]

    @property
    def complete(self) -> bool:
        return not self.missing

    def as_dict(self, digits: int = 2) -> dict:
        def rnd(x):
            return None if x is None else round(x, digits)

        return {
            "total": rnd(self.total),
            "auto_failed": self.auto_failed,
            "failed_criteria": list(self.failed_criteria),
            "missing": list(self.missing),
            "sections": {key: {"earned": s.earned, "possible": s.possible,
                               "percent": rnd(s.percent), "weight": rnd(s.weight),
                               "failed_by_critical": s.failed_by_critical,
                               "na_count": s.na_count, "bonus": s.bonus}
                         for key, s in self.per_section.items()},
        }


# -- validation ----------------------------------------------------------------------------


def _is_number(x) -> bool:
    # Decimal too: answers may come straight from a Numeric column
    return isinstance(x, Real | Decimal) and not isinstance(x, bool) and math.isfinite(x)


def _criterion_problems(c: Criterion, in_bonus: bool) -> list[str]:
    where = f"criterion {c.key!r}"
    problems = []
    if c.kind not in KINDS:
        problems.append(f"{where}: unknown kind {c.kind!r}")
    if not _is_number(c.max_points) or c.max_points <= 0:
        problems.append(f"{where}: max_points must be a positive number")
    elif c.kind == SCALE and c.max_points != int(c.max_points):
        problems.append(f"{where}: a scale goes in whole points, max_points {c.max_points}")
    if c.critical not in CRITICAL_LEVELS:
        problems.append(f"{where}: critical must be none, 'section' or 'all', not {c.critical!r}")
    if c.critical is not None and in_bonus:
        problems.append(f"{where}: a bonus section cannot hold critical criteria")
    if c.pass_threshold is not None:
        if c.critical is None or c.kind == YESNO:
            problems.append(f"{where}: pass_threshold only applies to critical scale/points items")
        elif (not _is_number(c.pass_threshold) or not _is_number(c.max_points)
              or not 0 < c.pass_threshold <= c.max_points):
            problems.append(f"{where}: pass_threshold must be in (0, max_points]")
    return problems


def check_rubric(rubric: Rubric) -> list[str]:
    """What is wrong with a rubric, in words; an empty list when it can score."""
    problems = []
    if rubric.weighting not in WEIGHTINGS:
        problems.append(f"unknown weighting {rubric.weighting!r}")
    if not any(not s.bonus for s in rubric.sections):
        problems.append("a rubric needs at least one section that is not a bonus")
    section_keys: set[str] = set()
    criterion_keys: set[str] = set()
    for s in rubric.sections:
        if not s.key or s.key in section_keys:
            problems.append(f"section key {s.key!r} is empty or used twice")
        section_keys.add(s.key)
        if not s.criteria:
            problems.append(f"section {s.key!r} has no criteria")
        weighted = s.bonus or rubric.weighting == BY_SECTIONS
        if not _is_number(s.weight) or s.weight < 0 or (weighted and s.weight == 0):
            problems.append(f"section {s.key!r}: weight must be a "
                            f"{'positive' if weighted else 'non-negative'} number")
        for c in s.criteria:
            if not c.key or c.key in criterion_keys:
                problems.append(f"criterion key {c.key!r} is empty or used twice")
            criterion_keys.add(c.key)
            problems.extend(_criterion_problems(c, s.bonus))
    if rubric.weighting == BY_SECTIONS:
        weights = [s.weight for s in rubric.sections if not s.bonus and _is_number(s.weight)]
        if weights and abs(sum(weights) - 100) > WEIGHT_TOLERANCE:
            problems.append(f"section weights sum to {sum(weights):g}, not 100")
    return problems


def criterion_shares(rubric: Rubric) -> dict[str, float]:
    """Each non-bonus criterion's share (0..1) of the rubric maximum, for calibration alignment.

    Under "sections" weighting a criterion carries weight_s × max_c / max_s; under "points" its
    max_c / Σ max. Bonus criteria carry none.
    """
    scored = [s for s in rubric.sections if not s.bonus]
    if rubric.weighting == BY_POINTS:
        total = sum(c.max_points for s in scored for c in s.criteria)
        return {c.key: c.max_points / total for s in scored for c in s.criteria}
    shares = {}
    for s in scored:
        section_max = sum(c.max_points for c in s.criteria)
        for c in s.criteria:
            shares[c.key] = s.weight / 100 * c.max_points / section_max
    return shares


# -- scoring -------------------------------------------------------------------------------


def _earned(c: Criterion, answer) -> float:
    """Points for one answer (not N/A, not missing); ValueError for an answer the item can't take."""
    if c.kind == YESNO:
        # `is`, not ==: True == 1, and 1 point on a 5-point yes/no item is not a "yes"
        if answer is True or answer == "yes" or (_is_number(answer) and answer == c.max_points):
            return float(c.max_points)
        if answer is False or answer == "no" or (_is_number(answer) and answer == 0):
            return 0.0
        raise ValueError(f"criterion {c.key!r}: {answer!r} is not yes or no")
    if not _is_number(answer) or not 0 <= answer <= c.max_points:
        raise ValueError(f"criterion {c.key!r}: {answer!r} is not a score from 0 to {c.max_points}")
    if c.kind == SCALE and answer != int(answer):
        raise ValueError(f"criterion {c.key!r}: a scale takes whole points, not {answer!r}")
    return float(answer)


@dataclass
class _Tally:
    earned: float = 0.0
    possible: float = 0.0
    na_count: int = 0
    failed: bool = False


def _tally(rubric: Rubric, answers: Mapping, partial: bool):
    tallies = {s.key: _Tally() for s in rubric.sections}
    failed_criteria, missing, fail_all = [], [], False
    for section, c in rubric.criteria():
        answer = answers.get(c.key)
        t = tallies[section.key]
        if answer is None:
            missing.append(c.key)
        elif answer == NA:
            if not c.na_allowed:
                raise ValueError(f"criterion {c.key!r} cannot be answered N/A")
            t.na_count += 1
        else:
            earned = _earned(c, answer)
            t.earned += earned
            t.possible += c.max_points
            if c.fails(earned):
                failed_criteria.append(c.key)
                if c.critical == FAIL_ALL:
                    fail_all = True
                else:
                    t.failed = True
    if missing and not partial:
        raise ValueError(f"unanswered criteria: {', '.join(missing)}")
    return tallies, failed_criteria, missing, fail_all


def score(rubric: Rubric, answers: Mapping[str, float | bool | str | None], *,
          partial: bool = False) -> ScoreResult:
    """Score `answers` ({criterion key: points, "yes"/"no"/bool for yes/no items, "na" or None})
    against `rubric`.

    Every criterion must be answered (None counts as unanswered) or this raises a ValueError
    naming the missing ones. With partial=True — the live "score as you go" display — unanswered
    criteria are left out of points possible like N/A, and listed in `missing`. Answers for keys
    the rubric does not know, and an invalid rubric, are ValueErrors too.
    """
    problems = check_rubric(rubric)
    if problems:
        raise ValueError("invalid rubric: " + "; ".join(problems))
    known = {c.key for _, c in rubric.criteria()}
    unknown = sorted(set(answers) - known)
    if unknown:
        raise ValueError(f"answers for criteria not in the rubric: {', '.join(unknown)}")

    tallies, failed_criteria, missing, fail_all = _tally(rubric, answers, partial)

    def section_percent(s: Section) -> float | None:
        t = tallies[s.key]
        if t.possible == 0:
            return None
        if fail_all or t.failed:
            return 0.0
        return 100.0 * t.earned / t.possible

    percents = {s.key: section_percent(s) for s in rubric.sections}
    weights = _effective_weights(rubric, tallies, percents)  # bonus sections on top of the 100

    if fail_all:
        total: float | None = 0.0
    elif all(percents[s.key] is None for s in rubric.sections if not s.bonus):
        total = None  # nothing applicable (or, scoring partially, nothing answered yet)
    else:
        total = sum(p * weights[key] / 100 for key, p in percents.items() if p is not None)
        if not rubric.allow_above_100:
            total = min(total, 100.0)

    per_section = {
        s.key: SectionResult(
            key=s.key, earned=tallies[s.key].earned, possible=tallies[s.key].possible,
            percent=0.0 if fail_all else percents[s.key], weight=weights[s.key],
            failed_by_critical=fail_all or tallies[s.key].failed,
            na_count=tallies[s.key].na_count, bonus=s.bonus)
        for s in rubric.sections}
    return ScoreResult(total=total, per_section=per_section, auto_failed=fail_all,
                       failed_criteria=failed_criteria, missing=missing)


def _effective_weights(rubric: Rubric, tallies: dict[str, _Tally],
                       percents: dict[str, float | None]) -> dict[str, float]:
    """The weight each section carries in the total, re-normalised to 100 over the sections that
    apply. Under "points" weighting it is the section's share of the points possible, so that
    Σ percent × weight / 100 is Σ earned / Σ possible (a failed section earning 0)."""
    base = [s for s in rubric.sections if not s.bonus and percents[s.key] is not None]
    if rubric.weighting == BY_POINTS:
        raw = {s.key: tallies[s.key].possible for s in base}
    else:
        raw = {s.key: s.weight for s in base}
    scale = sum(raw.values())
    weights = {s.key: s.weight if s.bonus else 0.0 for s in rubric.sections}
    weights.update({key: 100.0 * w / scale for key, w in raw.items()})
    return weights


# -- JSON storage --------------------------------------------------------------------------

_CRITERION_FIELDS = {"key", "max_points", "kind", "na_allowed", "critical", "pass_threshold",
                     "label", "guidance"}
_SECTION_FIELDS = {"key", "weight", "criteria", "bonus", "label"}
_RUBRIC_FIELDS = {"sections", "allow_above_100", "weighting"}


def _fields(d, allowed: set[str], required: set[str], what: str) -> dict:
    if not isinstance(d, Mapping):
        raise ValueError(f"{what} must be an object")
    unknown = sorted(set(d) - allowed)
    absent = sorted(required - set(d))
    if unknown or absent:
        raise ValueError(f"{what}: unknown fields {unknown}, missing fields {absent}")
    return dict(d)


def rubric_from_dict(d: Mapping) -> Rubric:
    """A Rubric from its stored JSON form; ValueError on a malformed structure (unknown or
    missing fields). It does not judge the content: run check_rubric for that."""
    d = _fields(d, _RUBRIC_FIELDS, {"sections"}, "rubric")
    sections = []
    for sd in d["sections"]:
        sd = _fields(sd, _SECTION_FIELDS, {"key", "weight", "criteria"}, "section")
        criteria = []
        for cd in sd["criteria"]:
            cd = _fields(cd, _CRITERION_FIELDS, {"key", "max_points"}, "criterion")
            cd["guidance"] = {str(k): v for k, v in (cd.get("guidance") or {}).items()}
            criteria.append(Criterion(**cd))
        sd["criteria"] = tuple(criteria)
        sections.append(Section(**sd))
    d["sections"] = tuple(sections)
    return Rubric(**d)


def rubric_to_dict(rubric: Rubric) -> dict:
    """The JSON-ready form of a rubric; rubric_from_dict(rubric_to_dict(r)) == r."""
    return {
        "weighting": rubric.weighting,
        "allow_above_100": rubric.allow_above_100,
        "sections": [
            {"key": s.key, "label": s.label, "weight": s.weight, "bonus": s.bonus,
             "criteria": [
                 {"key": c.key, "label": c.label, "max_points": c.max_points, "kind": c.kind,
                  "na_allowed": c.na_allowed, "critical": c.critical,
                  "pass_threshold": c.pass_threshold, "guidance": dict(c.guidance)}
                 for c in s.criteria]}
            for s in rubric.sections],
    }

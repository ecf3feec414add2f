"""Scoring a mystery-shop report with the one weighted-scoring function QA uses.

A mystery_shop survey definition is a survey definition (qms.surveys.definition) whose scored
questions carry the rubric properties of QA (qms.qa.rubric_format):

    section:  "weight": 40            percent; weights of scored, non-bonus sections sum to 100
              "bonus": false          optional; a bonus section adds on top
    question: "points": 5             max points: makes the question a scored item
              "critical": null | "section" | "all"
              "na_allowed": true      the shopper may answer "not applicable"
              "pass_threshold": 3     optional, critical scale items: fails below it
    top:      "allow_above_100": false, "scenarios": [{key, label, script}]

Scored question types and what they earn (points = the question's "points"):
    yesno            yes -> points, no -> 0 (a critical yes/no item fails on "no")
    rating/csat/ces/nps   (value - min) / (max - min) x points
    single           option score / best option score x points

A section without scored questions (evidence, notes) is not part of the rubric. A scored
question hidden by a condition does not apply: it counts as N/A.

Stored answers (ShopAssignment.answers) are {question key: value} as the survey engine parses
them (yesno True/False, a number, an option key, "na"), or as the form pre-fills them ("yes" /
"no"); `answers_for_scoring` turns them into what qms.analytics.scoring.score takes.
"""

from __future__ import annotations

from collections.abc import Mapping

from qms.analytics import scoring
from qms.surveys.definition import text, visible_keys
from qms.surveys.questions import REGISTRY

NA = scoring.NA
SCORED_TYPES = ("yesno", "rating", "csat", "ces", "nps", "single")


def _scored_questions(definition: Mapping):
    """(section, question) for every scored question, in order."""
    for section in definition.get("sections", []):
        for q in section.get("questions", []):
            if q.get("points") is not None and q.get("type") in SCORED_TYPES:
                yield section, q


def _kind(q: Mapping) -> str:
    if q["type"] == "yesno":
        return scoring.YESNO
    if q["type"] != "single":
        lo, hi = REGISTRY[q["type"]].scale(q)
        points = q["points"]
        if lo == 0 and hi == points and float(points).is_integer():
            return scoring.SCALE  # 0..N earning N points: a QA scale exactly
    return scoring.POINTS


def _conditional(section: Mapping, q: Mapping) -> bool:
    return bool(section.get("condition") or q.get("condition"))


def to_rubric(definition: Mapping, locale: str = "zh_Hans") -> scoring.Rubric:
    """The pure rubric of a mystery-shop definition (labels in `locale`).

    A question under a condition may be N/A (hidden), whatever its na_allowed says.
    """
    by_section: dict[str, list] = {}
    sections: dict[str, Mapping] = {}
    for section, q in _scored_questions(definition):
        sections[section["key"]] = section
        by_section.setdefault(section["key"], []).append(scoring.Criterion(
            key=q["key"], max_points=q["points"], kind=_kind(q),
            na_allowed=bool(q.get("na_allowed")) or _conditional(section, q),
            critical=q.get("critical"), pass_threshold=q.get("pass_threshold"),
            label=text(q.get("label"), locale)))
    secs = tuple(
        scoring.Section(key=key, weight=sections[key].get("weight", 0),
                        criteria=tuple(crits), bonus=bool(sections[key].get("bonus", False)),
                        label=text(sections[key].get("title"), locale))
        for key, crits in by_section.items())
    return scoring.Rubric(sections=secs,
                          allow_above_100=bool(definition.get("allow_above_100", False)))


def scored_items(definition: Mapping) -> list[tuple[str, str, float, str | None]]:
    """(section_key, item_key, max_points, critical) for each scored question, in order."""
    return [(s["key"], q["key"], float(q["points"]), q.get("critical"))
            for s, q in _scored_questions(definition)]


def _points(q: Mapping, value):
    """What a scored question's stored value earns, as score() takes it (ValueError if the
    value does not fit the question)."""
    if value == NA:
        return NA
    kind = q["type"]
    if kind == "yesno":
        if value is True or value == "yes":
            return "yes"
        if value is False or value == "no":
            return "no"
        raise ValueError(f"question {q['key']!r}: {value!r} is not yes or no")
    points = q["points"]
    if kind == "single":
        scores = {o["key"]: o.get("score") for o in q.get("options", [])}
        if value not in scores or scores[value] is None:
            raise ValueError(f"question {q['key']!r}: {value!r} is not a scored option")
        best = max(s for s in scores.values() if s is not None)
        return scores[value] * points / best if best else 0.0
    lo, hi = REGISTRY[kind].scale(q)
    if isinstance(value, bool) or not isinstance(value, int | float) or not lo <= value <= hi:
        raise ValueError(f"question {q['key']!r}: {value!r} is not on the scale {lo}..{hi}")
    if _kind(q) == scoring.SCALE:
        return value
    return (value - lo) * points / (hi - lo)


def answers_for_scoring(definition: Mapping, answers: Mapping | None) -> dict:
    """Stored answers as score() takes them: {item key: points | "yes"/"no" | "na" | None}.

    Scored questions hidden by conditions count as N/A; unanswered ones are None (missing).
    Answers to unscored questions (evidence, comments) are left out.
    """
    answers = dict(answers or {})
    shown = visible_keys(definition, {k: v for k, v in answers.items() if v != NA})
    out = {}
    for _section, q in _scored_questions(definition):
        key = q["key"]
        if key not in shown:
            out[key] = NA
        else:
            value = answers.get(key)
            out[key] = None if value is None or value == "" else _points(q, value)
    return out


def score_report(definition: Mapping, answers: Mapping | None, *,
                 partial: bool = False) -> scoring.ScoreResult:
    """Score a report with qms.analytics.scoring.score — the function QA evaluations use.

    ValueError when an answer does not fit or, unless partial, a scored question is unanswered.
    """
    return scoring.score(to_rubric(definition), answers_for_scoring(definition, answers),
                         partial=partial)


def item_scores(definition: Mapping, answers: Mapping | None) -> list[dict]:
    """One dict per scored question of a complete report, for ShopItemScore rows:
    {section_key, item_key, earned, possible, missed, critical_failed}; earned and possible
    are None for N/A. ValueError as score_report (partial=False)."""
    result = score_report(definition, answers)
    failed = set(result.failed_criteria)
    converted = answers_for_scoring(definition, answers)
    rows = []
    for section_key, item_key, max_points, _critical in scored_items(definition):
        value = converted[item_key]
        if value == NA:
            earned = possible = None
        else:
            earned = (max_points if value == "yes" else 0.0 if value == "no"
                      else float(value))
            possible = max_points
        rows.append({"section_key": section_key, "item_key": item_key, "earned": earned,
                     "possible": possible,
                     "missed": earned is not None and earned < possible,
                     "critical_failed": item_key in failed})
    return rows

"""What a mystery_shop survey definition adds to a survey definition, and its checks.

Scoring properties follow QA rubrics exactly (qms.qa.rubric_format; how a question earns its
points is in qms.mystery.scoring):

    top       "scenarios": [{"key", "label": {locale: text}, "script": {locale: text}}],
              "allow_above_100": false
    section   "weight": percent of the score (scored, non-bonus sections sum to 100),
              "bonus": false
    question  "points": max points (makes the question scored; yesno, rating, csat, ces, nps
              and single with option scores), "critical": null | "section" | "all",
              "na_allowed": bool, "pass_threshold": points (critical scale items only),
              "evidence": key of a photo/receipt question that must hold a file when this
              question is answered (the shopper portal checks it on submission)

A satisfaction survey may hold none of these, nor the evidence question types.
"""

from __future__ import annotations

import math

MYSTERY_SHOP = "mystery_shop"
TOP_PROPERTIES = frozenset({"scenarios", "allow_above_100"})
SECTION_PROPERTIES = frozenset({"weight", "bonus"})
QUESTION_PROPERTIES = frozenset({"points", "critical", "na_allowed", "pass_threshold",
                                 "evidence"})
SCENARIO_PROPERTIES = frozenset({"key", "label", "script"})
SCORED_TYPES = ("yesno", "rating", "csat", "ces", "nps", "single")
CRITICAL_MODES = (None, "section", "all")
MAX_POINTS = 100
MAX_SCENARIOS = 50
WEIGHT_TOLERANCE = 0.01


def _is_number(v) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _dicts(value) -> list[dict]:
    return [x for x in value if isinstance(x, dict)] if isinstance(value, list) else []


def looks_like_mystery(definition: dict) -> bool:
    """Whether a definition uses anything only a mystery-shop survey may (so that a caller
    that does not say the kind still gets the scoring checks)."""
    from qms.surveys.question_evidence import EVIDENCE_TYPES

    if TOP_PROPERTIES & set(definition):
        return True
    for s in _dicts(definition.get("sections")):
        if SECTION_PROPERTIES & set(s):
            return True
        for q in _dicts(s.get("questions")):
            if QUESTION_PROPERTIES & set(q) or q.get("type") in EVIDENCE_TYPES:
                return True
    return False


def satisfaction_problems(definition: dict) -> list[str]:
    """A satisfaction survey holds no scoring, scenario or evidence properties."""
    from qms.surveys.question_evidence import EVIDENCE_TYPES

    problems = [f"{k}: only mystery-shop surveys have {k}" for k in sorted(
        TOP_PROPERTIES & set(definition))]
    for si, s in enumerate(_dicts(definition.get("sections"))):
        problems += [f"sections[{si}].{k}: only mystery-shop surveys have {k}"
                     for k in sorted(SECTION_PROPERTIES & set(s))]
        for qi, q in enumerate(_dicts(s.get("questions"))):
            qp = f"sections[{si}].questions[{qi}]"
            problems += [f"{qp}.{k}: only mystery-shop surveys have {k}"
                         for k in sorted(QUESTION_PROPERTIES & set(q))]
            if q.get("type") in EVIDENCE_TYPES:
                problems.append(f"{qp}.type: {q['type']} is for mystery-shop surveys only")
    return problems


def mystery_problems(definition: dict, check_labels) -> list[str]:
    """Scenario and scoring problems of a mystery-shop definition, each with its path."""
    problems = _scenario_problems(definition.get("scenarios"), check_labels)
    if not isinstance(definition.get("allow_above_100", False), bool):
        problems.append("allow_above_100: true or false")
    sections = definition.get("sections") if isinstance(definition.get("sections"), list) else []
    weights, scored_count = [], 0
    from qms.surveys.question_evidence import UPLOAD_TYPES

    uploads = {q.get("key") for s in _dicts(sections) for q in _dicts(s.get("questions"))
               if q.get("type") in UPLOAD_TYPES}
    for si, s in enumerate(sections):
        if not isinstance(s, dict):
            continue
        sp = f"sections[{si}]"
        bonus = s.get("bonus", False)
        if not isinstance(bonus, bool):
            problems.append(f"{sp}.bonus: true or false")
        scored = [q for q in _dicts(s.get("questions")) if q.get("points") is not None]
        scored_count += len(scored)
        weight = s.get("weight")
        if weight is not None and (not _is_number(weight) or not 0 < weight <= 100):
            problems.append(f"{sp}.weight: a number above 0 and at most 100")
        elif scored and weight is None:
            problems.append(f"{sp}.weight: a section with scored questions needs a weight")
        elif weight is not None and not scored:
            problems.append(f"{sp}.weight: only a section with scored questions has a weight")
        elif scored and bonus is not True:
            weights.append(weight)
        for qi, q in enumerate(s.get("questions") if isinstance(s.get("questions"), list)
                               else []):
            if isinstance(q, dict):
                problems += [f"{sp}.questions[{qi}].{p}" for p in
                             _question_problems(q, bonus is True)
                             + _evidence_problems(q, uploads)]
    if not scored_count:
        problems.append("sections: a mystery-shop survey needs at least one scored question "
                        "(a question with points)")
    elif not weights:
        problems.append("sections: at least one scored section must not be a bonus")
    elif abs(sum(weights) - 100) > WEIGHT_TOLERANCE:
        problems.append(f"sections: the weights of the scored sections add up to "
                        f"{round(sum(weights), 2):g}, not 100")
    return problems


def _scenario_problems(scenarios, check_labels) -> list[str]:
    if scenarios is None:
        return []
    if not isinstance(scenarios, list) or len(scenarios) > MAX_SCENARIOS:
        return [f"scenarios: a list of at most {MAX_SCENARIOS} scenarios"]
    from qms.surveys.questions import KEY_RE

    problems, seen = [], set()
    for i, sc in enumerate(scenarios):
        path = f"scenarios[{i}]"
        if not isinstance(sc, dict):
            problems.append(f"{path}: a scenario is an object")
            continue
        problems += [f"{path}.{k}: unknown property" for k in sc if k not in SCENARIO_PROPERTIES]
        key = str(sc.get("key", ""))
        if not KEY_RE.fullmatch(key):
            problems.append(f"{path}.key: letters, digits and _ only, starting with a letter")
        elif key in seen:
            problems.append(f"{path}.key: {key} is used twice")
        seen.add(key)
        problems += check_labels(sc.get("label"), f"{path}.label")
        problems += check_labels(sc.get("script"), f"{path}.script", required=False)
    return problems


def _evidence_problems(q: dict, uploads: set) -> list[str]:
    needs = q.get("evidence")
    if needs is None or (isinstance(needs, str) and needs in uploads):
        return []
    return [f"evidence: {needs!r} is not a photo or receipt question of this survey"]


def _question_problems(q: dict, bonus: bool) -> list[str]:
    points = q.get("points")
    critical = q.get("critical")
    problems = []
    if "na_allowed" in q and not isinstance(q["na_allowed"], bool):
        problems.append("na_allowed: true or false")
    if points is None:
        if critical is not None or "pass_threshold" in q:
            problems.append("critical: only a scored question (with points) can be critical")
        return problems
    if q.get("type") not in SCORED_TYPES:
        problems.append(f"points: a {q.get('type')} question cannot be scored; scored types "
                        f"are {', '.join(SCORED_TYPES)}")
        return problems
    if not _is_number(points) or not 0 < points <= MAX_POINTS:
        problems.append(f"points: a number above 0 and at most {MAX_POINTS}")
        return problems
    if q["type"] == "single":
        scores = [o.get("score") for o in _dicts(q.get("options"))]
        if any(not _is_number(x) or x < 0 for x in scores) or not any(scores):
            problems.append("options: every option of a scored question has a score of 0 or "
                            "more, and one is above 0")
    if critical not in CRITICAL_MODES:
        problems.append("critical: none, section or all")
    elif critical and bonus:
        problems.append("critical: a bonus section cannot hold a critical question")
    threshold = q.get("pass_threshold")
    if threshold is not None:
        if not critical or q["type"] == "yesno":
            problems.append("pass_threshold: a pass mark applies to critical scale questions "
                            "only")
        elif not _is_number(threshold) or not 0 < threshold <= points:
            problems.append("pass_threshold: above 0 and at most the points")
    return problems


def rubric_problems(definition: dict) -> list[str]:
    """The pure scoring module has the last word on whether it can score the definition."""
    from qms.analytics.scoring import check_rubric
    from qms.mystery.scoring import to_rubric

    try:
        return [f"scoring: {p}" for p in check_rubric(to_rubric(definition))]
    except (KeyError, TypeError, ValueError) as exc:
        return [f"scoring: {exc}"]

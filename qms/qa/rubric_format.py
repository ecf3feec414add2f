"""The stored shape of a rubric version, shared by the builder, the evaluation form, sampling,
calibration and reports.

RubricVersion.definition = {
    "allow_above_100": false,
    "sections": [{
        "key": "greeting", "title": {"zh_Hans": ..., "zh_Hant": ..., "en": ...},
        "weight": 20,                      # percent; non-bonus weights sum to 100
        "bonus": false,                    # a bonus section adds weight × its percent on top
        "criteria": [{
            "key": "greet_name", "label": {locale: text},
            "kind": "scale" | "yesno",     # yesno: max_points for yes, 0 for no
            "max_points": 5,
            "na_allowed": true,
            "critical": null | "section" | "all",
            "pass_threshold": 3,           # optional, critical scale items only: fails below
                                           # it (without it: below full marks)
            "guidance": {"0": {locale: text}, "5": {locale: text}}   # per score, optional
        }]
    }]
}

Keys are unique across the whole definition (sections and criteria together). A scale takes
whole points 0..max_points (at most MAX_SCALE); a yes/no item takes max_points or 0, and its
guidance, if any, is keyed by those two scores.

Evaluation.answers = {criterion_key: {"score": number | "na", "comment": "..."}}.
`to_scoring()` turns a definition into the pure qms.analytics.scoring rubric, `score_answers()`
scores stored answers with it, and `check_definition()` lists what stops a definition being
published (in the user's language).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from flask_babel import lazy_gettext as _l

from qms.analytics import scoring
from qms.core.definitions import KEY_RE, LOCALES, text  # noqa: F401  (read by callers)
from qms.core.definitions import is_number as _is_number
from qms.core.definitions import key_problems as _key
from qms.core.definitions import label_problems as _labels
from qms.core.definitions import unknown_properties as _unknown

KINDS = (scoring.SCALE, scoring.YESNO)
CRITICAL_MODES = (None, scoring.FAIL_SECTION, scoring.FAIL_ALL)
NA = scoring.NA
MAX_SCALE = 20          # a scale of more steps is no longer something a grader can tell apart
MAX_POINTS = 100
WEIGHT_TOLERANCE = scoring.WEIGHT_TOLERANCE

TOP_PROPERTIES = frozenset({"allow_above_100", "sections"})
SECTION_PROPERTIES = frozenset({"key", "title", "weight", "bonus", "criteria"})
CRITERION_PROPERTIES = frozenset({"key", "label", "kind", "max_points", "na_allowed", "critical",
                                  "pass_threshold", "guidance"})


# -- reading -------------------------------------------------------------------------------

def score_key(points) -> str:
    """A score as text, the key of its guidance: 5 and 5.0 are both "5"."""
    if isinstance(points, float) and points.is_integer():
        points = int(points)
    return str(points)


def sections(definition) -> list[dict]:
    s = definition.get("sections") if isinstance(definition, Mapping) else None
    return [x for x in s if isinstance(x, dict)] if isinstance(s, list) else []


def criteria(section) -> list[dict]:
    c = section.get("criteria") if isinstance(section, Mapping) else None
    return [x for x in c if isinstance(x, dict)] if isinstance(c, list) else []


def walk(definition) -> Iterator[tuple[dict, dict | None]]:
    """(section, None) then (section, criterion) for each of its criteria, in order."""
    for s in sections(definition):
        yield s, None
        for c in criteria(s):
            yield s, c


def scores_of(criterion: Mapping) -> list:
    """The scores a grader can give, best first: max_points..0 for a scale, max or 0 for yes/no."""
    top = criterion.get("max_points")
    if not _is_number(top) or top <= 0:
        return []
    top = int(top) if float(top).is_integer() else top
    if criterion.get("kind") == scoring.YESNO:
        return [top, 0]
    if not isinstance(top, int) or top > MAX_SCALE:
        return []
    return list(range(top, -1, -1))


def weight_sum(definition) -> float:
    """The sum of the weights of the sections that are not bonus sections."""
    return sum(s["weight"] for s in sections(definition)
               if not s.get("bonus") and _is_number(s.get("weight")))


# -- scoring -------------------------------------------------------------------------------

def to_scoring(definition: Mapping, locale: str = "zh_Hans") -> scoring.Rubric:
    """The pure rubric of a definition, with labels and guidance in `locale`.

    ValueError (or TypeError) when the definition's shape cannot make one; a definition that
    check_definition() accepts always converts.
    """
    secs = []
    for s in definition["sections"]:
        crits = []
        for c in s["criteria"]:
            threshold = c.get("pass_threshold")
            crits.append(scoring.Criterion(
                key=c["key"], max_points=c["max_points"], kind=c.get("kind", scoring.SCALE),
                na_allowed=bool(c.get("na_allowed", False)), critical=c.get("critical"),
                pass_threshold=threshold,
                label=text(c.get("label"), locale),
                guidance={str(k): text(v, locale) for k, v in (c.get("guidance") or {}).items()}))
        secs.append(scoring.Section(key=s["key"], weight=s["weight"], criteria=tuple(crits),
                                    bonus=bool(s.get("bonus", False)),
                                    label=text(s.get("title"), locale)))
    return scoring.Rubric(sections=tuple(secs),
                          allow_above_100=bool(definition.get("allow_above_100", False)))


def scoring_answers(answers: Mapping | None) -> dict:
    """Stored answers ({key: {"score": ..., "comment": ...}}) as score() takes them."""
    out = {}
    for key, value in (answers or {}).items():
        out[key] = value.get("score") if isinstance(value, Mapping) else value
    return out


def score_answers(definition: Mapping, answers: Mapping | None, *,
                  partial: bool = False) -> scoring.ScoreResult:
    """Score stored answers against a definition with the pure function (ValueError when an
    answer does not fit, or, unless partial, one is missing)."""
    return scoring.score(to_scoring(definition), scoring_answers(answers), partial=partial)


# -- checking ------------------------------------------------------------------------------

def check_definition(definition) -> list[str]:
    """Everything that stops a definition being published, each naming its section or
    criterion; [] when it can be published and scored."""
    return [message for _key, message in definition_problems(definition)]


def problems_by_key(definition) -> dict[str, list[str]]:
    """check_definition's problems by the key of the section or criterion they are about
    ("" for the rubric as a whole), so the builder can show each beside its item."""
    out: dict[str, list[str]] = {}
    for key, message in definition_problems(definition):
        out.setdefault(key, []).append(message)
    return out


def definition_problems(definition) -> list[tuple[str, str]]:
    """(key, problem) pairs: the key of the section or criterion, "" for the whole rubric."""
    if not isinstance(definition, Mapping):
        return [("", str(_l("The rubric must be a JSON object.")))]
    problems = [("", p) for p in _unknown(definition, TOP_PROPERTIES, str(_l("Rubric")))]
    if not isinstance(definition.get("allow_above_100", False), bool):
        problems.append(("", str(_l("Rubric: allow_above_100 is true or false."))))
    secs = definition.get("sections")
    if not isinstance(secs, list) or not secs:
        return problems + [("", str(_l("A rubric needs at least one section.")))]
    seen: set[str] = set()
    for i, s in enumerate(secs):
        problems += _check_section(s, i, seen)
    good = [s for s in secs if isinstance(s, Mapping)]
    scored = [s for s in good if not s.get("bonus")]
    if not scored:
        problems.append(("", str(_l("A rubric needs at least one section that is not a "
                                    "bonus."))))
    elif all(_is_number(s.get("weight")) for s in scored):
        total = sum(s["weight"] for s in scored)
        if abs(total - 100) > WEIGHT_TOLERANCE:
            problems.append(("", str(_l("The weights of the sections add up to %(sum)s, not "
                                        "100.", sum=score_key(round(total, 2))))))
    if not problems:
        # the pure module has the last word on whether it can score this rubric
        problems += [("", p) for p in scoring.check_rubric(to_scoring(definition))]
    return problems


def _check_section(s, index: int, seen: set) -> list[tuple[str, str]]:
    if not isinstance(s, Mapping):
        return [("", str(_l("Section %(n)d is not an object.", n=index + 1)))]
    key = str(s.get("key") or "")
    where = str(_l("Section %(key)s", key=key or index + 1))
    problems = _unknown(s, SECTION_PROPERTIES, where) + _key(s, seen, where)
    problems += _labels(s.get("title"), where, _l("the title"))
    bonus = s.get("bonus", False)
    if not isinstance(bonus, bool):
        problems.append(str(_l("%(where)s: bonus is true or false.", where=where)))
    weight = s.get("weight")
    if not _is_number(weight) or not 0 < weight <= 100:
        problems.append(str(_l("%(where)s: the weight is a number above 0 and at most 100.",
                               where=where)))
    crits = s.get("criteria")
    if not isinstance(crits, list) or not crits:
        problems.append(str(_l("%(where)s has no criteria.", where=where)))
        crits = []
    tagged = [(key, p) for p in problems]
    for j, c in enumerate(crits):
        ckey = str(c.get("key") or "") if isinstance(c, Mapping) else ""
        tagged += [(ckey or key, p) for p in _check_criterion(c, where, j, seen, bonus is True)]
    return tagged


def _check_criterion(c, section_where: str, index: int, seen: set, bonus: bool) -> list[str]:
    if not isinstance(c, Mapping):
        return [str(_l("%(where)s: criterion %(n)d is not an object.", where=section_where,
                       n=index + 1))]
    where = str(_l("Criterion %(key)s", key=c.get("key") or f"{section_where}/{index + 1}"))
    problems = _unknown(c, CRITERION_PROPERTIES, where) + _key(c, seen, where)
    problems += _labels(c.get("label"), where, _l("the label"))
    kind = c.get("kind", scoring.SCALE)
    if kind not in KINDS:
        problems.append(str(_l("%(where)s: the kind is scale or yesno.", where=where)))
    top = c.get("max_points")
    if not _is_number(top) or not 0 < top <= MAX_POINTS:
        problems.append(str(_l("%(where)s: the points are a number above 0 and at most "
                               "%(max)d.", where=where, max=MAX_POINTS)))
    elif kind == scoring.SCALE and (not float(top).is_integer() or top > MAX_SCALE):
        problems.append(str(_l("%(where)s: a scale goes in whole points up to %(max)d.",
                               where=where, max=MAX_SCALE)))
    if not isinstance(c.get("na_allowed", False), bool):
        problems.append(str(_l("%(where)s: na_allowed is true or false.", where=where)))
    critical = c.get("critical")
    if critical not in CRITICAL_MODES:
        problems.append(str(_l("%(where)s: critical is none, section or all.", where=where)))
    elif critical and bonus:
        problems.append(str(_l("%(where)s: a bonus section cannot hold a critical criterion.",
                               where=where)))
    problems += _check_threshold(c, where, kind, critical, top)
    problems += _check_guidance(c, where)
    return problems


def _check_threshold(c, where, kind, critical, top) -> list[str]:
    threshold = c.get("pass_threshold")
    if threshold is None:
        return []
    if not critical or kind != scoring.SCALE:
        return [str(_l("%(where)s: a pass mark applies to critical scale criteria only.",
                       where=where))]
    if not _is_number(threshold) or not _is_number(top) or not 0 < threshold <= top:
        return [str(_l("%(where)s: the pass mark is above 0 and at most the points.",
                       where=where))]
    return []


def _check_guidance(c, where) -> list[str]:
    guidance = c.get("guidance")
    if guidance is None:
        return []
    if not isinstance(guidance, Mapping):
        return [str(_l("%(where)s: guidance is an object of texts by score.", where=where))]
    allowed = {score_key(x) for x in scores_of(c)}
    problems = []
    for score, labels in guidance.items():
        if allowed and str(score) not in allowed:
            problems.append(str(_l("%(where)s: there is guidance for %(score)s, which is not a "
                                   "score of this criterion.", where=where, score=score)))
            continue
        problems += _labels(labels, where, _l("the guidance for %(score)s", score=score))
    return problems

"""The stored shape of an audit checklist (AuditTemplateVersion.definition), its checking, and
its scoring through the ONE shared function qms.analytics.scoring.score.

definition = {
    "weighting": "sections" | "points",     # sections: weights sum to 100; points: Σ earned/Σ max
    "sections": [{
        "key": "cash", "label": {"en": ..., "zh_Hans": ..., "zh_Hant": ...},
        "weight": 40,                       # percent (ignored, may be 0, under "points")
        "items": [{
            "key": "vault_dual_control", "label": {locale: text},
            "guidance": {locale: text},     # optional: what the auditor looks at
            "kind": "passfail" | "score",
            "max_points": 5,                # passfail: the item's weight in points;
                                            # score: the top of the scale (0..max_points)
            "na_allowed": true,
            "severity": "minor" | "major" | "critical",   # what a failure creates
            "evidence_required": false,
            "critical": null | "section" | "all",         # a failure zeroes section / total
            "pass_threshold": 4 | null      # score items: below it the item fails (default:
                                            # max_points); passfail items: always null
        }]
    }]
}

Keys (sections and items together) are unique across a definition. Audit.answers =
{item_key: "pass" | "fail" | "na" | number}; "pass" and "fail" are "yes" and "no" to scoring.
An item fails (and a finding is due) when a passfail item is "fail" or a score item earns less
than its pass threshold (see failed_items).
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

PASSFAIL = "passfail"
SCORE = "score"
KINDS = (PASSFAIL, SCORE)
SEVERITIES = ("minor", "major", "critical")
CRITICAL_MODES = (None, scoring.FAIL_SECTION, scoring.FAIL_ALL)
WEIGHTINGS = (scoring.BY_SECTIONS, scoring.BY_POINTS)
PASS, FAIL, NA = "pass", "fail", scoring.NA
MAX_POINTS = 100

TOP_PROPERTIES = frozenset({"weighting", "sections"})
SECTION_PROPERTIES = frozenset({"key", "label", "weight", "items"})
ITEM_PROPERTIES = frozenset({"key", "label", "guidance", "kind", "max_points", "na_allowed",
                             "severity", "evidence_required", "critical", "pass_threshold"})

ITEM_DEFAULTS = {"kind": PASSFAIL, "max_points": 1, "na_allowed": False, "severity": "minor",
                 "evidence_required": False, "critical": None, "pass_threshold": None}


# -- reading -------------------------------------------------------------------------------

def sections(definition) -> list[dict]:
    s = definition.get("sections") if isinstance(definition, Mapping) else None
    return [x for x in s if isinstance(x, dict)] if isinstance(s, list) else []


def items(section) -> list[dict]:
    i = section.get("items") if isinstance(section, Mapping) else None
    return [x for x in i if isinstance(x, dict)] if isinstance(i, list) else []


def walk(definition) -> Iterator[tuple[dict, dict]]:
    """(section, item) for every item, in order."""
    for s in sections(definition):
        for i in items(s):
            yield s, i


def empty_definition() -> dict:
    return {"weighting": scoring.BY_SECTIONS, "sections": []}


def normalise(definition: Mapping) -> dict:
    """A copy with every optional item property filled in (what is stored on publish)."""
    out = {"weighting": definition.get("weighting") or scoring.BY_SECTIONS, "sections": []}
    for s in sections(definition):
        sec = {k: v for k, v in s.items() if k != "items"}
        sec["items"] = []
        for i in items(s):
            item = {**ITEM_DEFAULTS, **i}
            if item["kind"] == PASSFAIL:
                item["pass_threshold"] = None
            sec["items"].append(item)
        out["sections"].append(sec)
    return out


def threshold(item: Mapping) -> float:
    """The points a score item needs to pass (its pass_threshold, else full marks)."""
    t = item.get("pass_threshold")
    return float(item["max_points"] if t is None else t)


def item_meta(definition: Mapping) -> dict[str, dict]:
    """{item_key: {section_key, severity, evidence_required, kind, max_points, label, ...}};
    `label`, `guidance` and `section_label` are the {locale: text} dicts (see text())."""
    meta = {}
    for s, i in walk(definition):
        meta[i["key"]] = {
            "section_key": s["key"], "section_label": s.get("label") or {},
            "severity": i.get("severity", "minor"),
            "evidence_required": bool(i.get("evidence_required", False)),
            "kind": i.get("kind", PASSFAIL), "max_points": i.get("max_points", 1),
            "label": i.get("label") or {}, "guidance": i.get("guidance") or {},
            "na_allowed": bool(i.get("na_allowed", False)), "critical": i.get("critical"),
            "pass_threshold": (None if i.get("kind", PASSFAIL) == PASSFAIL
                               else threshold({"max_points": i.get("max_points", 1),
                                               "pass_threshold": i.get("pass_threshold")})),
        }
    return meta


# -- scoring -------------------------------------------------------------------------------

def to_scoring(definition: Mapping, locale: str = "zh_Hans") -> scoring.Rubric:
    """The pure rubric of a definition (ValueError/KeyError when its shape cannot make one; a
    definition check_definition() accepts always converts)."""
    weighting = definition.get("weighting") or scoring.BY_SECTIONS
    secs = []
    for s in definition["sections"]:
        crits = []
        for i in s["items"]:
            kind = i.get("kind", PASSFAIL)
            critical = i.get("critical")
            # the shared function knows a pass mark only on critical points items; for a
            # non-critical item the mark only decides findings (failed_items)
            t = i.get("pass_threshold") if kind == SCORE and critical else None
            crits.append(scoring.Criterion(
                key=i["key"], max_points=i["max_points"],
                kind=scoring.YESNO if kind == PASSFAIL else scoring.POINTS,
                na_allowed=bool(i.get("na_allowed", False)), critical=critical,
                pass_threshold=t, label=text(i.get("label"), locale)))
        weight = s.get("weight")
        if weighting == scoring.BY_POINTS and not _is_number(weight):
            weight = 0
        secs.append(scoring.Section(key=s["key"], weight=weight, criteria=tuple(crits),
                                    label=text(s.get("label"), locale)))
    return scoring.Rubric(sections=tuple(secs), weighting=weighting)


def answer_to_scoring(definition: Mapping, answers: Mapping | None) -> dict:
    """Stored answers as score() takes them: pass -> "yes", fail -> "no", "na" and numbers as
    they are; keys the definition does not know are kept (score() rejects them)."""
    out = {}
    for key, value in (answers or {}).items():
        if value is None or value == "":
            continue
        out[key] = {PASS: "yes", FAIL: "no"}.get(value, value) if isinstance(value, str) \
            else value
    return out


def score_answers(definition: Mapping, answers: Mapping | None, *,
                  partial: bool = False) -> scoring.ScoreResult:
    """Score stored answers with the shared function (ValueError when an answer does not fit,
    or, unless partial, one is missing)."""
    return scoring.score(to_scoring(definition), answer_to_scoring(definition, answers),
                         partial=partial)


def failed_items(definition: Mapping, answers: Mapping | None) -> list[str]:
    """The items that failed, in checklist order: a passfail item answered "fail", a score item
    below its pass threshold. N/A and unanswered items never fail."""
    answers = answers or {}
    failed = []
    for _s, i in walk(definition):
        a = answers.get(i["key"])
        if i.get("kind", PASSFAIL) == PASSFAIL:
            if a == FAIL:
                failed.append(i["key"])
        elif _is_number(a) and a < threshold(i):
            failed.append(i["key"])
    return failed


def answer_problems(definition: Mapping, answers: Mapping | None, *,
                    partial: bool = True) -> dict[str, str]:
    """{item_key: problem} for answers that do not fit their item (and, unless partial,
    unanswered items); {} when all fit."""
    answers = answers or {}
    problems = {}
    known = set()
    for _s, i in walk(definition):
        key = i["key"]
        known.add(key)
        a = answers.get(key)
        if a is None or a == "":
            if not partial:
                problems[key] = str(_l("Answer this item."))
        elif a == NA:
            if not i.get("na_allowed"):
                problems[key] = str(_l("This item cannot be answered N/A."))
        elif i.get("kind", PASSFAIL) == PASSFAIL:
            if a not in (PASS, FAIL):
                problems[key] = str(_l("Answer pass or fail."))
        elif not _is_number(a) or not 0 <= a <= i["max_points"]:
            problems[key] = str(_l("Give a score from 0 to %(max)s.",
                                   max=_num(i["max_points"])))
    for key in answers:
        if key not in known:
            problems[key] = str(_l("This item is not on the checklist."))
    return problems


# -- checking ------------------------------------------------------------------------------

def _num(x) -> str:
    return str(int(x)) if isinstance(x, float) and x.is_integer() else str(x)


def check_definition(definition) -> list[str]:
    """Everything that stops a definition being published, each naming its section or item;
    [] when it can be published and scored."""
    return [message for _key, message in definition_problems(definition)]


def problems_by_key(definition) -> dict[str, list[str]]:
    """The problems by section or item key ("" for the checklist as a whole)."""
    out: dict[str, list[str]] = {}
    for key, message in definition_problems(definition):
        out.setdefault(key, []).append(message)
    return out


def definition_problems(definition) -> list[tuple[str, str]]:
    """(key, problem) pairs: the key of the section or item, "" for the whole checklist."""
    if not isinstance(definition, Mapping):
        return [("", str(_l("The checklist must be a JSON object.")))]
    problems = [("", p) for p in _unknown(definition, TOP_PROPERTIES, str(_l("Checklist")))]
    weighting = definition.get("weighting", scoring.BY_SECTIONS)
    if weighting not in WEIGHTINGS:
        problems.append(("", str(_l("Checklist: the weighting is sections or points."))))
    secs = definition.get("sections")
    if not isinstance(secs, list) or not secs:
        return problems + [("", str(_l("A checklist needs at least one section.")))]
    seen: set[str] = set()
    by_points = weighting == scoring.BY_POINTS
    for n, s in enumerate(secs):
        problems += _check_section(s, n, seen, by_points)
    weights = [s.get("weight") for s in secs if isinstance(s, Mapping)]
    if not by_points and weights and all(_is_number(w) for w in weights):
        total = sum(weights)
        if abs(total - 100) > scoring.WEIGHT_TOLERANCE:
            problems.append(("", str(_l("The weights of the sections add up to %(sum)s, not "
                                        "100.", sum=_num(round(float(total), 2))))))
    if not problems:
        # the shared module has the last word on whether it can score this checklist
        problems += [("", p) for p in scoring.check_rubric(to_scoring(definition))]
    return problems


def _check_section(s, index: int, seen: set, by_points: bool) -> list[tuple[str, str]]:
    if not isinstance(s, Mapping):
        return [("", str(_l("Section %(n)d is not an object.", n=index + 1)))]
    key = str(s.get("key") or "")
    where = str(_l("Section %(key)s", key=key or index + 1))
    problems = _unknown(s, SECTION_PROPERTIES, where) + _key(s, seen, where)
    problems += _labels(s.get("label"), where, _l("the label"))
    weight = s.get("weight")
    if by_points:
        if weight is not None and (not _is_number(weight) or weight < 0):
            problems.append(str(_l("%(where)s: the weight is a number of at least 0.",
                                   where=where)))
    elif not _is_number(weight) or not 0 < weight <= 100:
        problems.append(str(_l("%(where)s: the weight is a number above 0 and at most 100.",
                               where=where)))
    its = s.get("items")
    if not isinstance(its, list) or not its:
        problems.append(str(_l("%(where)s has no items.", where=where)))
        its = []
    tagged = [(key, p) for p in problems]
    for j, i in enumerate(its):
        ikey = str(i.get("key") or "") if isinstance(i, Mapping) else ""
        tagged += [(ikey or key, p) for p in _check_item(i, where, j, seen)]
    return tagged


def _check_item(i, section_where: str, index: int, seen: set) -> list[str]:
    if not isinstance(i, Mapping):
        return [str(_l("%(where)s: item %(n)d is not an object.", where=section_where,
                       n=index + 1))]
    where = str(_l("Item %(key)s", key=i.get("key") or f"{section_where}/{index + 1}"))
    problems = _unknown(i, ITEM_PROPERTIES, where) + _key(i, seen, where)
    problems += _labels(i.get("label"), where, _l("the label"))
    problems += _labels(i.get("guidance"), where, _l("the guidance"), required=False)
    kind = i.get("kind", PASSFAIL)
    if kind not in KINDS:
        problems.append(str(_l("%(where)s: the kind is pass/fail or score.", where=where)))
    top = i.get("max_points", 1)
    if not _is_number(top) or not 0 < top <= MAX_POINTS:
        problems.append(str(_l("%(where)s: the points are a number above 0 and at most "
                               "%(max)d.", where=where, max=MAX_POINTS)))
    for flag in ("na_allowed", "evidence_required"):
        if not isinstance(i.get(flag, False), bool):
            problems.append(str(_l("%(where)s: %(name)s is true or false.", where=where,
                                   name=flag)))
    if i.get("severity", "minor") not in SEVERITIES:
        problems.append(str(_l("%(where)s: the severity is minor, major or critical.",
                               where=where)))
    if i.get("critical") not in CRITICAL_MODES:
        problems.append(str(_l("%(where)s: critical is none, section or all.", where=where)))
    t = i.get("pass_threshold")
    if t is not None:
        if kind != SCORE:
            problems.append(str(_l("%(where)s: a pass mark applies to score items only.",
                                   where=where)))
        elif not _is_number(t) or not _is_number(top) or not 0 < t <= top:
            problems.append(str(_l("%(where)s: the pass mark is above 0 and at most the "
                                   "points.", where=where)))
    return problems

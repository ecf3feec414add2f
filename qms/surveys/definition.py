"""Survey definitions: their shape, validation, and reading a submission against them.

A definition is JSON: {"title": {locale: text}, "intro": ..., "thanks": ...,
"sections": [{"key", "title", "condition"?, "questions": [{"key", "type", "label", "help"?,
"required"?, "condition"?, ...type options}]}]}. Labels give zh_Hans, zh_Hant and en.
A mystery_shop survey adds scenarios, section weights and scored questions
(qms.surveys.definition_mystery) and may use the evidence question types.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l

from qms.surveys import conditions
from qms.surveys import definition_mystery as mystery
from qms.surveys.question_evidence import check_visit_times
from qms.surveys.questions import ALL_TYPES as REGISTRY  # every type, evidence ones too
from qms.surveys.questions import DATE_RE, KEY_RE, LOCALES, InvalidAnswer, types_for

FORMAT = "qms-survey/1"
MAX_QUESTIONS = 200
NA = "na"  # the answer "not applicable" of a question with na_allowed (mystery shops)
TOP_PROPERTIES = frozenset({"title", "intro", "thanks", "sections"})
SECTION_PROPERTIES = frozenset({"key", "title", "condition", "questions"})
ITEM_PROPERTIES = {"options": frozenset({"key", "label", "score"}),
                   "rows": frozenset({"key", "label"})}


class DefinitionError(ValueError):
    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


def text(labels, locale: str, fallback: str = "zh_Hans") -> str:
    """A label in the locale, falling back to the default locale, then any."""
    if not isinstance(labels, dict):
        return str(labels or "")
    return labels.get(locale) or labels.get(fallback) or next(iter(labels.values()), "")


def questions(definition: dict) -> Iterator[tuple[dict, dict]]:
    for section in definition.get("sections", []):
        for q in section.get("questions", []):
            yield section, q


def question_map(definition: dict) -> dict[str, dict]:
    return {q["key"]: q for _s, q in questions(definition)}


def _check_labels(value, path: str, required: bool = True) -> list[str]:
    if value is None and not required:
        return []
    if not isinstance(value, dict):
        return [f"{path}: give the text in zh_Hans, zh_Hant and en"]
    problems = [f"{path}: unknown language {k}" for k in value if k not in LOCALES]
    missing = [loc for loc in LOCALES if not str(value.get(loc) or "").strip()]
    if missing:
        problems.append(f"{path}: missing {', '.join(missing)}")
    return problems


def validate(definition, kind: str | None = None) -> list[str]:
    """Every problem in a definition, each with its path; [] when it can be published.

    `kind` is the survey's kind; without it, a definition that uses scoring, scenario or
    evidence properties is checked as a mystery-shop survey."""
    if not isinstance(definition, dict):
        return ["the definition must be a JSON object"]
    is_mystery = kind == mystery.MYSTERY_SHOP or (
        kind is None and mystery.looks_like_mystery(definition))
    problems = _structure_problems(definition, types_for(
        mystery.MYSTERY_SHOP if is_mystery else kind))
    if not is_mystery:
        return problems + mystery.satisfaction_problems(definition)
    problems += mystery.mystery_problems(definition, _check_labels)
    return problems or mystery.rubric_problems(definition)


def _structure_problems(definition: dict, known: dict) -> list[str]:
    problems = _unknown(definition, TOP_PROPERTIES | mystery.TOP_PROPERTIES, "")
    problems += _check_labels(definition.get("title"), "title")
    for opt in ("intro", "thanks"):
        problems += _check_labels(definition.get(opt), opt, required=False)
    sections = definition.get("sections")
    if not isinstance(sections, list) or not sections:
        return problems + ["sections: at least one section is required"]
    seen: dict[str, str] = {}
    earlier: dict[str, dict] = {}  # answerable questions before the current point
    count = 0
    for si, section in enumerate(sections):
        sp = f"sections[{si}]"
        if not isinstance(section, dict):
            problems.append(f"{sp}: a section is an object")
            continue
        problems += _unknown(section, SECTION_PROPERTIES | mystery.SECTION_PROPERTIES, sp)
        key = str(section.get("key", ""))
        if not KEY_RE.fullmatch(key):
            problems.append(f"{sp}.key: letters, digits and _ only, starting with a letter")
        elif key in seen:
            problems.append(f"{sp}.key: {key} is used twice")
        seen[key] = sp
        problems += _check_labels(section.get("title"), f"{sp}.title", required=False)
        problems += check_condition(section.get("condition"), f"{sp}.condition", earlier)
        qs = section.get("questions")
        if not isinstance(qs, list) or not qs:
            problems.append(f"{sp}.questions: at least one question is required")
            continue
        for qi, q in enumerate(qs):
            qp = f"{sp}.questions[{qi}]"
            count += 1
            if not isinstance(q, dict):
                problems.append(f"{qp}: a question is an object")
                continue
            qkey = str(q.get("key", ""))
            if not KEY_RE.fullmatch(qkey):
                problems.append(f"{qp}.key: letters, digits and _ only, starting with a letter")
            elif qkey in seen:
                problems.append(f"{qp}.key: {qkey} is used twice")
            seen[qkey] = qp
            qt = REGISTRY.get(q.get("type"))
            if qt is None:
                problems.append(f"{qp}.type: unknown type {q.get('type')!r}; "
                                f"known: {', '.join(known)}")
                continue
            allowed = qt.properties() | (mystery.QUESTION_PROPERTIES if qt.answerable else set())
            problems += _unknown(q, allowed, qp)
            problems += _check_labels(q.get("label"), f"{qp}.label")
            problems += _check_labels(q.get("help"), f"{qp}.help", required=False)
            for end in ("min_label", "max_label"):
                problems += _check_labels(q.get(end), f"{qp}.{end}", required=False)
            if "required" in q and not isinstance(q["required"], bool):
                problems.append(f"{qp}.required: true or false")
            problems += [f"{qp}: {p}" for p in qt.check(q)]
            for name, allowed in ITEM_PROPERTIES.items():
                items = q.get(name) if name in qt.properties() else None
                for ii, item in enumerate(items if isinstance(items, list) else []):
                    if isinstance(item, dict):
                        problems += _unknown(item, allowed, f"{qp}.{name}[{ii}]")
                        problems += _check_labels(item.get("label"),
                                                  f"{qp}.{name}[{ii}].label")
            problems += check_condition(q.get("condition"), f"{qp}.condition", earlier)
            if qt.answerable:
                earlier[qkey] = q
    if count > MAX_QUESTIONS:
        problems.append(f"at most {MAX_QUESTIONS} questions")
    return problems


def _unknown(obj: dict, allowed, path: str) -> list[str]:
    """A misspelt property ("requried", "condtion") would be ignored silently: refuse it."""
    prefix = f"{path}." if path else ""
    return [f"{prefix}{k}: unknown property" for k in obj if k not in allowed]


def check_condition(cond, path: str, earlier: dict[str, dict]) -> list[str]:
    """Problems of one condition, given the answerable questions before it (key -> question)."""
    problems = conditions.check(cond, path)
    if problems or not cond:
        return problems
    problems = [f"{path}: {k} is not an earlier question" for k in sorted(
        map(str, conditions.referenced(cond) - set(earlier)))]
    return problems or _check_condition_values(cond, path, earlier)


def _check_condition_values(cond: dict, path: str, earlier: dict[str, dict]) -> list[str]:
    """A condition that can never be true is a mistake: check each leaf against its question."""
    for group in ("all", "any"):
        if group in cond:
            out = []
            for i, c in enumerate(cond[group]):
                out += _check_condition_values(c, f"{path}.{group}[{i}]", earlier)
            return out
    q = earlier[cond["q"]]
    qt = REGISTRY[q["type"]]
    op, value = cond["op"], cond["value"]
    if q["type"] == "matrix":
        return [f"{path}: a condition cannot read the grid {cond['q']}"]
    if op in ("at_most", "at_least"):
        return [] if qt.numeric else [f"{path}: {op} needs a numeric question, "
                                      f"{cond['q']} is {q['type']}"]
    targets = value if op == "in" else [value]
    return [f"{path}.value: {msg}" for t in targets if (msg := _bad_target(q, t))]


def _bad_target(q: dict, t) -> str | None:
    """Why t can never equal an answer to q, or None."""
    kind = q["type"]
    qt = REGISTRY[kind]
    if kind in ("single", "multiple"):
        options = q.get("options") if isinstance(q.get("options"), list) else []
        keys = [o.get("key") for o in options if isinstance(o, dict)]
        return None if isinstance(t, str) and t in keys else f"{t!r} is not an option of {q['key']}"
    if kind == "yesno":
        ok = isinstance(t, bool) or t in ("yes", "no")
        return None if ok else f'{t!r}: use true/false (or "yes"/"no")'
    if qt.numeric:
        if isinstance(t, bool) or not isinstance(t, int | float):
            return f"{t!r} is not a number"
        scale = qt.scale(q) if not qt.check(q) else None  # a broken range is reported apart
        if scale and not scale[0] <= t <= scale[1]:
            return f"{t!r} is outside {scale[0]}..{scale[1]}"
        return None
    if kind == "date":
        return None if isinstance(t, str) and DATE_RE.fullmatch(t) else f"{t!r}: use YYYY-MM-DD"
    return None if isinstance(t, str) else f"{t!r} is not a text"


def visible_keys(definition: dict, answers: dict) -> set[str]:
    """Keys of the questions shown for these answers. Answers to hidden questions do not
    count, so a condition on a hidden question is false (evaluated in order)."""
    shown: set[str] = set()
    effective: dict = {}
    for section in definition.get("sections", []):
        section_on = conditions.evaluate(section.get("condition"), effective)
        for q in section.get("questions", []):
            if section_on and conditions.evaluate(q.get("condition"), effective):
                shown.add(q["key"])
                if q["key"] in answers:
                    effective[q["key"]] = answers[q["key"]]
    return shown


@dataclass
class Submission:
    answers: dict = field(default_factory=dict)   # key -> parsed value (visible ones only)
    errors: dict = field(default_factory=dict)    # key -> message

    @property
    def ok(self) -> bool:
        return not self.errors


def read_submission(definition: dict, form: dict[str, list[str]], *, final: bool) -> Submission:
    """Parse what a respondent sent (field name "q_<key>", matrix "q_<key>__<row>").

    Unknown fields are refused; on a final submission required visible questions must be
    answered. Values of questions hidden by conditions are dropped.
    """
    qmap = question_map(definition)
    sub = Submission()
    grouped: dict[str, object] = {}
    for name, values in form.items():
        if not name.startswith("q_"):
            continue
        key, _sep, row = name[2:].partition("__")
        q = qmap.get(key)
        is_grid = q is not None and q["type"] == "matrix"
        if q is None or not REGISTRY[q["type"]].answerable or (
                (row or is_grid) and (not is_grid or row not in {r["key"] for r in q["rows"]})):
            sub.errors[name] = _l("This question is not part of the survey.")
            continue
        if q["type"] == "matrix":
            grouped.setdefault(key, {})[row] = values  # type: ignore[index]
        else:
            grouped[key] = values
    parsed: dict = {}
    for key, raw in grouped.items():
        q = qmap[key]
        if q.get("na_allowed") and raw == ["na"]:
            parsed[key] = NA  # "not applicable": out of the points possible
            continue
        try:
            value = REGISTRY[q["type"]].parse(q, raw)
        except InvalidAnswer as exc:
            sub.errors[key] = exc.args[0]
            continue
        if value is not None:
            parsed[key] = value
    shown = visible_keys(definition, parsed)
    sub.answers = {k: v for k, v in parsed.items() if k in shown}
    for key, message in check_visit_times(definition, sub.answers).items():
        sub.errors.setdefault(key, message)
    # A wrong value in a question the respondent cannot see is not theirs to correct.
    sub.errors = {k: v for k, v in sub.errors.items() if k in shown or k not in qmap}
    if final:
        for key in shown:
            q = qmap[key]
            if q.get("required") and REGISTRY[q["type"]].answerable \
                    and key not in sub.answers and key not in sub.errors:
                sub.errors[key] = _l("This question needs an answer.")
    return sub

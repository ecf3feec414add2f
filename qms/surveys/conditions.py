"""Display conditions, evaluated the same way here and in static/survey.js.

Grammar: a leaf {"q": KEY, "op": "equals"|"in"|"at_most"|"at_least", "value": V}, or a group
{"all": [CONDITION, ...]} / {"any": [CONDITION, ...]}. A leaf about a question with no answer
(or a hidden one) is false. For a multiple-choice answer, equals/in are true when any chosen
option matches; yes/no answers compare as true/false.
"""

from __future__ import annotations

OPS = ("equals", "in", "at_most", "at_least")


def _num(v):
    if isinstance(v, bool):
        return 1.0 if v else 0.0
    if isinstance(v, int | float):
        return float(v)
    return None


def _leaf(cond: dict, answers: dict) -> bool:
    value = answers.get(cond["q"])
    if value is None or value == [] or value == {}:
        return False
    op, target = cond["op"], cond.get("value")
    if op in ("equals", "in"):
        targets = target if op == "in" else [target]
        values = value if isinstance(value, list) else [value]
        return any(_same(v, t) for v in values for t in targets)
    n = _num(value)
    t = _num(target)
    if n is None or t is None:
        return False
    return n <= t if op == "at_most" else n >= t


def _same(v, t) -> bool:
    if isinstance(v, bool) or isinstance(t, bool):
        return _num(v) == _num(t) if not isinstance(t, str) else (
            (t == "yes" and v is True) or (t == "no" and v is False))
    if isinstance(v, int | float) and isinstance(t, int | float):
        return float(v) == float(t)
    return str(v) == str(t)


def evaluate(cond: dict | None, answers: dict) -> bool:
    if not cond:
        return True
    if "all" in cond:
        return all(evaluate(c, answers) for c in cond["all"])
    if "any" in cond:
        return any(evaluate(c, answers) for c in cond["any"])
    return _leaf(cond, answers)


def referenced(cond: dict | None) -> set[str]:
    """The question keys a condition reads."""
    if not cond:
        return set()
    if "all" in cond or "any" in cond:
        out: set[str] = set()
        for c in cond.get("all", cond.get("any", [])):
            out |= referenced(c)
        return out
    return {cond.get("q")}


def check(cond, path: str) -> list[str]:
    """Problems with a condition's shape (keys are checked by the definition)."""
    if cond is None:
        return []
    if not isinstance(cond, dict):
        return [f"{path}: a condition is an object"]
    if "all" in cond or "any" in cond:
        group = cond.get("all", cond.get("any"))
        if len(cond) != 1 or not isinstance(group, list) or not group:
            return [f"{path}: all/any take a non-empty list and nothing else"]
        problems = []
        for i, c in enumerate(group):
            problems += check(c, f"{path}.{'all' if 'all' in cond else 'any'}[{i}]")
        return problems
    if set(cond) - {"q", "op", "value"} or "q" not in cond or "value" not in cond:
        return [f"{path}: a condition has q, op and value"]
    if cond.get("op") not in OPS:
        return [f"{path}: op must be one of {', '.join(OPS)}"]
    if cond["op"] == "in" and not isinstance(cond["value"], list):
        return [f"{path}: 'in' takes a list"]
    if cond["op"] in ("at_most", "at_least") and _num(cond["value"]) is None:
        return [f"{path}: '{cond['op']}' takes a number"]
    return []

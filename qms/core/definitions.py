"""What the stored JSON definitions (QA rubrics, audit checklists) share: labels in the three
languages, keys, and the checks that name every problem in words."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

from flask_babel import lazy_gettext as _l

LOCALES = ("zh_Hans", "zh_Hant", "en")
KEY_RE = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}")


class ProblemsError(Exception):
    """A refusal meant for the user; `problems` lists every reason."""

    def __init__(self, problems: list | str):
        problems = [problems] if not isinstance(problems, list) else problems
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = [str(p) for p in problems]


def text(labels, locale: str = "zh_Hans", fallback: str = "zh_Hans") -> str:
    """A label in `locale`, else the default locale, else any language that has one."""
    if not isinstance(labels, Mapping):
        return str(labels or "")
    return labels.get(locale) or labels.get(fallback) or next(
        (v for v in labels.values() if v), "")


def is_number(x) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


def label_problems(value, where: str, what, required: bool = True) -> list[str]:
    """A {locale: text} label: unknown languages, and the languages it lacks (all of them is a
    problem only when the label is required)."""
    if value is None and not required:
        return []
    if not isinstance(value, Mapping):
        return [str(_l("%(where)s: %(what)s is missing in every language.", where=where,
                       what=what))]
    problems = [str(_l("%(where)s: %(what)s has an unknown language %(lang)s.", where=where,
                       what=what, lang=k)) for k in value if k not in LOCALES]
    missing = [loc for loc in LOCALES if not str(value.get(loc) or "").strip()]
    if len(missing) == len(LOCALES):
        if required:
            problems.append(str(_l("%(where)s: %(what)s is missing in every language.",
                                   where=where, what=what)))
    elif missing:
        problems.append(str(_l("%(where)s: %(what)s is missing in %(langs)s.", where=where,
                               what=what, langs=", ".join(missing))))
    return problems


def unknown_properties(item: Mapping, allowed: frozenset, where: str) -> list[str]:
    return [str(_l("%(where)s: unknown property %(name)s.", where=where, name=k))
            for k in item if k not in allowed]


def key_problems(item: Mapping, seen: set, where: str) -> list[str]:
    """The item's key is well formed and not used before (it is added to `seen`)."""
    key = item.get("key")
    if not isinstance(key, str) or not KEY_RE.fullmatch(key):
        return [str(_l("%(where)s: a key has letters, digits and _ only, starts with a letter "
                       "and has at most 64 characters.", where=where))]
    if key in seen:
        return [str(_l("%(where)s: the key %(key)s is used twice.", where=where, key=key))]
    seen.add(key)
    return []

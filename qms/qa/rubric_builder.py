"""Builder operations on a rubric's draft: settings, sections, weights, criteria, moves.

Each operation reads the latest definition, changes a copy and stores it with
rubrics.save_draft — so a change to a published (or scored) version starts version n+1 and the
old one is never touched. Drafts may be incomplete (check_definition lists what is missing);
publishing is what refuses an incomplete rubric. Functions only flush; the caller commits.
"""

from __future__ import annotations

import copy

from flask_babel import lazy_gettext as _l

from qms.qa import rubrics
from qms.qa.models import Rubric, RubricVersion
from qms.qa.rubric_format import KEY_RE, LOCALES, score_key, scores_of
from qms.qa.rubrics import RubricError

DEFAULT_BONUS_WEIGHT = 5
DEFAULT_POINTS = 5


def blank_labels() -> dict:
    return {loc: "" for loc in LOCALES}


def current(rubric: Rubric) -> tuple[RubricVersion, dict]:
    """The latest version and a private copy of its definition to change."""
    version = rubrics.latest_version(rubric)
    return version, copy.deepcopy(version.definition)


def _sections(d: dict) -> list:
    s = d.get("sections")
    if not isinstance(s, list):
        d["sections"] = s = []
    return s


def find_section(d: dict, key: str) -> tuple[int, dict]:
    for i, s in enumerate(_sections(d)):
        if isinstance(s, dict) and s.get("key") == key:
            return i, s
    raise RubricError(_l("There is no section %(key)s.", key=key))


def find_criterion(d: dict, key: str) -> tuple[dict, int, dict]:
    for s in _sections(d):
        crits = s.get("criteria") if isinstance(s, dict) else None
        for i, c in enumerate(crits if isinstance(crits, list) else []):
            if isinstance(c, dict) and c.get("key") == key:
                return s, i, c
    raise RubricError(_l("There is no criterion %(key)s.", key=key))


def all_keys(d: dict) -> set[str]:
    keys = set()
    for s in _sections(d):
        if isinstance(s, dict):
            keys.add(s.get("key"))
            keys.update(c.get("key") for c in s.get("criteria") or [] if isinstance(c, dict))
    return keys


def free_key(d: dict, prefix: str) -> str:
    taken = all_keys(d)
    n = 1
    while f"{prefix}{n}" in taken:
        n += 1
    return f"{prefix}{n}"


def _check_key(d: dict, key: str, old: str | None = None) -> None:
    if not KEY_RE.fullmatch(key or ""):
        raise RubricError(_l("A key has letters, digits and _ only, and starts with a letter."))
    if key != old and key in all_keys(d):
        raise RubricError(_l("The key %(key)s is already used.", key=key))


def _store(rubric: Rubric, d: dict, base: str | None, actor) -> RubricVersion:
    return rubrics.save_draft(rubric, d, base=base, actor=actor)


# -- settings and sections -----------------------------------------------------------------

def update_settings(rubric: Rubric, *, name: str, channel: str | None, allow_above_100: bool,
                    base: str | None = None, actor=None) -> RubricVersion:
    rubrics.rename_rubric(rubric, name=name, channel=channel)
    _version, d = current(rubric)
    d["allow_above_100"] = bool(allow_above_100)
    return _store(rubric, d, base, actor)


def add_section(rubric: Rubric, *, bonus: bool = False, base: str | None = None,
                actor=None) -> str:
    """A new section at the end; a scored one gets what is left of the 100."""
    _version, d = current(rubric)
    key = free_key(d, "bonus" if bonus else "s")
    if bonus:
        weight = DEFAULT_BONUS_WEIGHT
    else:
        used = sum(s.get("weight") or 0 for s in _sections(d)
                   if isinstance(s, dict) and not s.get("bonus")
                   and isinstance(s.get("weight"), int | float))
        weight = max(0, round(100 - used, 2))
    _sections(d).append({"key": key, "title": blank_labels(), "weight": weight,
                         "bonus": bool(bonus), "criteria": []})
    _store(rubric, d, base, actor)
    return key


def update_section(rubric: Rubric, key: str, *, new_key: str, title: dict, weight,
                   bonus: bool, base: str | None = None, actor=None) -> str:
    _version, d = current(rubric)
    _i, s = find_section(d, key)
    _check_key(d, new_key, old=key)
    s.update(key=new_key, title=title, weight=_number(weight), bonus=bool(bonus))
    _store(rubric, d, base, actor)
    return new_key


def set_weights(rubric: Rubric, weights: dict, *, base: str | None = None,
                actor=None) -> RubricVersion:
    """All section weights at once (the editor's weights form); unknown keys are refused."""
    _version, d = current(rubric)
    for key, weight in weights.items():
        _i, s = find_section(d, key)
        s["weight"] = _number(weight)
    return _store(rubric, d, base, actor)


def delete_section(rubric: Rubric, key: str, *, base: str | None = None, actor=None) -> None:
    _version, d = current(rubric)
    i, _s = find_section(d, key)
    del _sections(d)[i]
    _store(rubric, d, base, actor)


def move_section(rubric: Rubric, key: str, step: int, *, base: str | None = None,
                 actor=None) -> None:
    _version, d = current(rubric)
    i, _s = find_section(d, key)
    secs = _sections(d)
    j = i + step
    if not 0 <= j < len(secs):
        raise RubricError(_l("The section cannot move further."))
    secs[i], secs[j] = secs[j], secs[i]
    _store(rubric, d, base, actor)


# -- criteria ------------------------------------------------------------------------------

def skeleton(kind: str, key: str) -> dict:
    if kind not in ("scale", "yesno"):
        raise RubricError(_l("The kind is scale or yesno."))
    return {"key": key, "label": blank_labels(), "kind": kind, "max_points": DEFAULT_POINTS,
            "na_allowed": False, "critical": None, "guidance": {}}


def add_criterion(rubric: Rubric, section_key: str, kind: str, *, base: str | None = None,
                  actor=None) -> str:
    _version, d = current(rubric)
    _i, s = find_section(d, section_key)
    key = free_key(d, "c")
    if not isinstance(s.get("criteria"), list):
        s["criteria"] = []
    s["criteria"].append(skeleton(kind, key))
    _store(rubric, d, base, actor)
    return key


def update_criterion(rubric: Rubric, key: str, criterion: dict, *, base: str | None = None,
                     actor=None) -> str:
    """Replace a criterion (from its edit form). Guidance for scores the criterion no longer
    has (after lowering its points, or turning a scale into yes/no) is dropped, and so is
    guidance left empty in every language."""
    _version, d = current(rubric)
    s, i, _old = find_criterion(d, key)
    new_key = criterion.get("key", key)
    _check_key(d, new_key, old=key)
    criterion = dict(criterion)
    allowed = {score_key(x) for x in scores_of(criterion)}
    criterion["guidance"] = {
        k: v for k, v in (criterion.get("guidance") or {}).items()
        if k in allowed and isinstance(v, dict) and any(str(t).strip() for t in v.values())}
    if criterion.get("critical") is None or criterion.get("kind") != "scale":
        criterion.pop("pass_threshold", None)
    elif criterion.get("pass_threshold") is None:
        criterion.pop("pass_threshold", None)
    s["criteria"][i] = criterion
    _store(rubric, d, base, actor)
    return new_key


def delete_criterion(rubric: Rubric, key: str, *, base: str | None = None, actor=None) -> None:
    _version, d = current(rubric)
    s, i, _c = find_criterion(d, key)
    del s["criteria"][i]
    _store(rubric, d, base, actor)


def move_criterion(rubric: Rubric, key: str, step: int, *, base: str | None = None,
                   actor=None) -> None:
    """One place up or down; past the top or bottom of its section it moves to the end of the
    previous (start of the next) section."""
    _version, d = current(rubric)
    s, i, c = find_criterion(d, key)
    secs = _sections(d)
    crits = s["criteria"]
    j = i + step
    if 0 <= j < len(crits):
        crits[i], crits[j] = crits[j], crits[i]
    else:
        si = next(n for n, x in enumerate(secs) if x is s) + step
        if not 0 <= si < len(secs):
            raise RubricError(_l("The criterion cannot move further."))
        del crits[i]
        target = secs[si].setdefault("criteria", [])
        target.insert(len(target) if step < 0 else 0, c)
    _store(rubric, d, base, actor)


def _number(v):
    if v is None or isinstance(v, bool):
        return v
    return int(v) if float(v).is_integer() else float(v)

"""The question-type registry: adding a type is adding one entry.

Each type knows how to check its own definition, parse what a respondent sent, turn the value
into answer rows (and back), score it, and which template macro renders it.
"""

from __future__ import annotations

import re
from datetime import date

from flask_babel import lazy_gettext as _l

from qms.surveys.question_base import (  # noqa: F401 (re-exported: the registry's vocabulary)
    COMMON_PROPERTIES,
    DATE_RE,
    LOCALES,
    SETTING_PROPERTIES,
    TEXT_MAX,
    InvalidAnswer,
    QuestionType,
    _ascii_digits,
    _int_in,
    _is_int,
    _is_number,
    _items,
    _one,
    _option_keys,
)
from qms.surveys.question_evidence import evidence_types


class ScaleType(QuestionType):
    fixed: tuple[int, int] | None = None
    settings = ("range", "ends")

    def scale(self, q: dict) -> tuple[int, int]:
        if self.fixed:
            return self.fixed
        return int(q.get("min", 1)), int(q.get("max", 5))

    def check(self, q: dict) -> list[str]:
        if self.fixed:
            return []
        problems = []
        lo, hi = q.get("min", 1), q.get("max", 5)
        if not (_is_int(lo) and _is_int(hi)) or not (0 <= lo < hi <= 100):
            problems.append("min and max must be whole numbers with 0 <= min < max <= 100")
        elif hi - lo > 20:
            problems.append("a rating scale has at most 21 points")
        return problems

    def parse(self, q, raw):
        lo, hi = self.scale(q)
        return _int_in(raw, lo, hi)

    def score(self, q, value):
        return None if value is None else float(value)


class _Csat(ScaleType):
    settings, fixed = ("ends",), (1, 5)


class _Nps(ScaleType):
    settings, fixed = ("ends",), (0, 10)


class _Ces(ScaleType):
    settings, fixed = ("ends",), (1, 7)


class _Single(QuestionType):
    settings = ("options",)

    def check(self, q):
        return _check_options(q)

    def parse(self, q, raw):
        s = _one(raw)
        if s == "":
            return None
        if s not in _option_keys(q):
            raise InvalidAnswer(_l("Choose one of the options."))
        return s

    def to_rows(self, q, value):
        opt = next(o for o in q["options"] if o["key"] == value)
        return [{"choice_key": value, "num_value": opt.get("score")}]

    def from_rows(self, q, rows):
        return rows[0].choice_key if rows else None

    def score(self, q, value):
        if value is None:
            return None
        opt = next(o for o in q["options"] if o["key"] == value)
        return opt.get("score")


class _Multiple(QuestionType):
    settings = ("options", "selections")

    def check(self, q):
        problems = _check_options(q)
        n = len(_items(q, "options"))
        lo, hi = q.get("min_selected", 0), q.get("max_selected", n)
        if not (_is_int(lo) and _is_int(hi) and 0 <= lo <= hi <= max(n, 1)):
            problems.append("min_selected/max_selected must satisfy 0 <= min <= max <= options")
        return problems

    def parse(self, q, raw):
        chosen = [v.strip() for v in raw if v and v.strip()]
        if not chosen:
            return None
        keys = _option_keys(q)
        if any(c not in keys for c in chosen):
            raise InvalidAnswer(_l("Choose from the options given."))
        if len(set(chosen)) != len(chosen):
            raise InvalidAnswer(_l("Each option can be chosen once."))
        lo = q.get("min_selected", 0)
        hi = q.get("max_selected", len(keys))
        if len(chosen) < lo:
            raise InvalidAnswer(_l("Choose at least %(n)d options.", n=lo))
        if len(chosen) > hi:
            raise InvalidAnswer(_l("Choose at most %(n)d options.", n=hi))
        order = {k: i for i, k in enumerate(keys)}
        return sorted(chosen, key=order.__getitem__)

    def to_rows(self, q, value):
        scores = {o["key"]: o.get("score") for o in q["options"]}
        return [{"choice_key": v, "num_value": scores[v]} for v in value]

    def from_rows(self, q, rows):
        return [r.choice_key for r in rows] or None

    def score(self, q, value):
        if not value:
            return None
        scores = [o.get("score") for o in q["options"] if o["key"] in value]
        known = [s for s in scores if s is not None]
        return float(sum(known)) if known else None


class _YesNo(QuestionType):

    def parse(self, q, raw):
        s = _one(raw).lower()
        if s == "":
            return None
        if s not in ("yes", "no"):
            raise InvalidAnswer(_l("Answer yes or no."))
        return s == "yes"

    def to_rows(self, q, value):
        return [{"choice_key": "yes" if value else "no", "num_value": 1.0 if value else 0.0}]

    def from_rows(self, q, rows):
        return rows[0].choice_key == "yes" if rows else None

    def score(self, q, value):
        return None if value is None else (1.0 if value else 0.0)

    def form_value(self, value):
        return None if value is None else ("yes" if value else "no")


class _Text(QuestionType):
    settings = ("max_length",)

    def check(self, q):
        limit = q.get("max_length", TEXT_MAX[self.name])
        if not _is_int(limit) or not 1 <= limit <= TEXT_MAX[self.name]:
            return [f"max_length must be 1..{TEXT_MAX[self.name]}"]
        return []

    def parse(self, q, raw):
        s = _one(raw)
        if s == "":
            return None
        limit = q.get("max_length", TEXT_MAX[self.name])
        if len(s) > limit:
            raise InvalidAnswer(_l("At most %(n)d characters.", n=limit))
        if "\x00" in s:
            raise InvalidAnswer(_l("The text contains characters that are not allowed."))
        return s

    def to_rows(self, q, value):
        return [{"text_value": value}]

    def from_rows(self, q, rows):
        return rows[0].text_value if rows else None


class _Number(QuestionType):
    settings = ("number_range",)

    def check(self, q):
        lo, hi = q.get("min"), q.get("max")
        for v in (lo, hi):
            if v is not None and not _is_number(v):
                return ["min and max must be numbers"]
        if lo is not None and hi is not None and lo > hi:
            return ["min must not exceed max"]
        return []

    def parse(self, q, raw):
        s = _ascii_digits(_one(raw)).replace(",", "")
        if s == "":
            return None
        if not re.fullmatch(r"-?\d{1,15}(\.\d{1,6})?", s, re.ASCII):
            raise InvalidAnswer(_l("Enter a number."))
        v = float(s)
        lo, hi = q.get("min"), q.get("max")
        if (lo is not None and v < lo) or (hi is not None and v > hi):
            raise InvalidAnswer(_l("Enter a number from %(lo)s to %(hi)s.",
                                   lo=lo if lo is not None else "-∞",
                                   hi=hi if hi is not None else "∞"))
        return int(v) if v.is_integer() else v

    def from_rows(self, q, rows):
        if not rows:
            return None
        v = rows[0].num_value
        return int(v) if float(v).is_integer() else v


class _Date(QuestionType):
    def parse(self, q, raw):
        s = _one(raw)
        if s == "":
            return None
        try:
            # Python 3.11 also reads 20240501 and 2024-W18-3; the browser sends YYYY-MM-DD.
            if not DATE_RE.fullmatch(s):
                raise ValueError(s)
            d = date.fromisoformat(s)
        except ValueError:
            raise InvalidAnswer(_l("Enter a date as YYYY-MM-DD.")) from None
        if not date(1900, 1, 1) <= d <= date(2100, 12, 31):
            raise InvalidAnswer(_l("Enter a real date."))
        return d

    def to_rows(self, q, value):
        return [{"text_value": value.isoformat()}]

    def from_rows(self, q, rows):
        return date.fromisoformat(rows[0].text_value) if rows else None

    def form_value(self, value):
        return value.isoformat() if value else None


class _Matrix(ScaleType):
    """A Likert grid: rows share one scale (min..max, default 1..5)."""

    # not numeric: a grid is not one number; conditions and KPIs look at its rows
    settings = ("range", "ends", "rows")

    def check(self, q):
        problems = super().check(q)
        rows = q.get("rows")
        if not isinstance(rows, list) or not rows:
            problems.append("a matrix needs rows")
        else:
            problems += _check_keyed(rows, "rows")
        return problems

    def parse(self, q, raw):
        # raw: {row_key: [value]}
        lo, hi = self.scale(q)
        if not isinstance(raw, dict):
            raise InvalidAnswer(_l("Answer every row."))
        out = {}
        for row in q["rows"]:
            v = _int_in(raw.get(row["key"], []), lo, hi)
            if v is not None:
                out[row["key"]] = v
        if q.get("required") and out and len(out) != len(q["rows"]):
            raise InvalidAnswer(_l("Answer every row."))
        return out or None

    def to_rows(self, q, value):
        return [{"row_key": k, "num_value": float(v)} for k, v in value.items()]

    def from_rows(self, q, rows):
        return {r.row_key: int(r.num_value) for r in rows} or None

    def score(self, q, value):
        if not value:
            return None
        return sum(value.values()) / len(value)


class _Static(QuestionType):
    def parse(self, q, raw):
        return None


def _check_keyed(items: list, what: str) -> list[str]:
    problems = []
    seen = set()
    for i, item in enumerate(items):
        if not isinstance(item, dict) or not KEY_RE.fullmatch(str(item.get("key", ""))):
            problems.append(f"{what}[{i}]: a key of letters, digits and _ is required")
            continue
        if item["key"] in seen:
            problems.append(f"{what}[{i}]: key {item['key']} appears twice")
        seen.add(item["key"])
        if not isinstance(item.get("label"), dict):
            problems.append(f"{what}[{i}]: label must give zh_Hans, zh_Hant and en")
    return problems


def _check_options(q: dict) -> list[str]:
    options = q.get("options")
    if not isinstance(options, list) or len(options) < 2:
        return ["at least two options are required"]
    problems = _check_keyed(options, "options")
    for i, o in enumerate(options):
        s = o.get("score") if isinstance(o, dict) else None
        if s is not None and not _is_number(s):
            problems.append(f"options[{i}]: score must be a number")
    return problems


KEY_RE = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}")

REGISTRY: dict[str, QuestionType] = {
    t.name: t for t in (
        _Csat("csat", _l("Satisfaction (CSAT, 1–5)"), numeric=True),
        _Nps("nps", _l("Likelihood to recommend (NPS, 0–10)"), numeric=True),
        _Ces("ces", _l("Customer effort (CES, 1–7)"), numeric=True),
        ScaleType("rating", _l("Rating scale"), numeric=True),
        _Single("single", _l("Single choice")),
        _Multiple("multiple", _l("Multiple choice")),
        # numeric is a dataclass field: a class attribute would be overwritten by __init__
        _YesNo("yesno", _l("Yes / no"), numeric=True),
        _Text("text", _l("Short text")),
        _Text("textarea", _l("Long text")),
        _Number("number", _l("Number"), numeric=True),
        _Date("date", _l("Date")),
        _Matrix("matrix", _l("Matrix / Likert grid")),
        _Static("static", _l("Static text"), answerable=False),
    )
}
# The types above serve every survey; the evidence types (their own module) only mystery-shop
# surveys. ALL_TYPES is what reads any definition; types_for(kind) what the builder offers.
EVIDENCE: dict[str, QuestionType] = {t.name: t for t in evidence_types()}
ALL_TYPES: dict[str, QuestionType] = {**REGISTRY, **EVIDENCE}


def types_for(kind: str | None) -> dict[str, QuestionType]:
    """The question types a survey of this kind may use."""
    return ALL_TYPES if kind == "mystery_shop" else REGISTRY


def qtype(name: str) -> QuestionType:
    return ALL_TYPES[name]

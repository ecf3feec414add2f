"""The base of the question-type registry: what a question type is, and the helpers the
types share (qms.surveys.questions holds the registry; question_evidence the evidence types)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

TEXT_MAX = {"text": 500, "textarea": 5000}
LOCALES = ("zh_Hans", "zh_Hant", "en")
DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)

# What a question may hold: these common properties, plus those of its type's settings.
COMMON_PROPERTIES = ("key", "type", "label", "help", "required", "condition")
SETTING_PROPERTIES = {
    "ends": ("min_label", "max_label"),       # labels of the two ends of a scale
    "range": ("min", "max"),                  # whole-number scale range
    "number_range": ("min", "max"),           # bounds of a number answer
    "options": ("options",),                  # [{key, label, score?}]
    "selections": ("min_selected", "max_selected"),
    "max_length": ("max_length",),
    "rows": ("rows",),                        # [{key, label}] of a grid
    "files": ("max_files",),                  # evidence uploads (question_evidence)
}


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _ascii_digits(s: str) -> str:
    """Full-width digits typed with a Chinese input method count as digits (NFKC)."""
    return unicodedata.normalize("NFKC", s)


class InvalidAnswer(ValueError):
    """The respondent's input for one question is wrong; the message is for them."""


def _one(raw: list[str]) -> str:
    values = [v for v in raw if v is not None]
    if len(values) > 1:
        raise InvalidAnswer(_l("Give one answer only."))
    return values[0].strip() if values else ""


def _int_in(raw: list[str], lo: int, hi: int) -> int | None:
    s = _ascii_digits(_one(raw))
    if s == "":
        return None
    if not re.fullmatch(r"-?\d+", s, re.ASCII):
        raise InvalidAnswer(_l("Choose a whole number."))
    v = int(s)
    if not lo <= v <= hi:
        raise InvalidAnswer(_l("Choose a value from %(lo)d to %(hi)d.", lo=lo, hi=hi))
    return v


def _option_keys(q: dict) -> list[str]:
    return [o["key"] for o in q.get("options", []) if isinstance(o, dict)]


def _items(q: dict, name: str) -> list:
    """q[name] when it is a list (options, rows), else [] — validation reports the rest."""
    value = q.get(name)
    return value if isinstance(value, list) else []


@dataclass(frozen=True)
class QuestionType:
    name: str
    label: object
    answerable: bool = True
    numeric: bool = False  # num_value carries the answer (aggregates, conditions at_most/at_least)
    # What the builder edits and a definition may hold beyond COMMON_PROPERTIES (class level).
    settings = ()

    def properties(self) -> frozenset[str]:
        names = set(COMMON_PROPERTIES)
        for setting in self.settings:
            names.update(SETTING_PROPERTIES[setting])
        if not self.answerable:
            names -= {"required"}
        return frozenset(names)

    # -- definition --------------------------------------------------------------------------
    def check(self, q: dict) -> list[str]:
        return []

    def scale(self, q: dict) -> tuple[int, int] | None:
        return None

    # -- answers -----------------------------------------------------------------------------
    def parse(self, q: dict, raw) -> object:
        """raw: list of strings for the question's field (a dict of lists for a matrix).
        Return None for 'no answer'; raise InvalidAnswer for a wrong one."""
        raise NotImplementedError

    def to_rows(self, q: dict, value) -> list[dict]:
        return [{"num_value": float(value)}]

    def from_rows(self, q: dict, rows: list) -> object:
        return int(rows[0].num_value) if rows else None

    def score(self, q: dict, value) -> float | None:
        """Points earned (used by weighted kinds of survey), or None when not scored."""
        return None

    def form_value(self, value) -> object:
        """The value as the form template needs it to pre-fill (resume)."""
        return value

"""The columns of an import: each one's checks, value by value and a whole column at once."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import available_timezones

from flask_babel import lazy_gettext as _l

from qms.core.i18n import LOCALE_NAMES
from qms.org.models import SEGMENTS

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PHONE_RE = re.compile(r"^\+?[0-9][0-9 \-]{4,30}$")
CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
TRUE = {"1", "true", "yes", "y", "是"}
FALSE = {"0", "false", "no", "n", "否", ""}

# Joins a column's values for the one-pass check; it is whitespace, so no pattern below lets a
# value start or end with it, and a value containing it fails the separator count.
SEP = "\x1f"


class Field:
    """`check` cleans one value or raises ValueError(message); `check_column` cleans a column.

    `check_column` returns None whenever it cannot vouch for every value, and the caller then
    runs `check` value by value; wherever it does return, its values equal `check`'s
    (tests/org/test_import.py holds both to that on a corpus of awkward values).
    """

    plain: str | None = None  # pattern of values that are stored as they are (blank -> None)
    maxlen: int = 0
    few = False               # few distinct values (segments, branch codes): check each once

    def __init__(self) -> None:
        if self.plain is not None:
            self._column_re = re.compile(f"(?:{self.plain})(?:{SEP}(?:{self.plain}))*")

    def clean(self, value: str, ctx: dict) -> Any:
        raise NotImplementedError

    def check(self, value: str, ctx: dict) -> Any:
        if "\x00" in value:
            # no text file has one (a UTF-16 file read as UTF-8 has many); PostgreSQL refuses it
            raise ValueError(_l("The file is not in the chosen text encoding."))
        return self.clean(value, ctx)

    def check_column(self, values: Sequence[str], ctx: dict) -> list | None:
        if self.few:
            memo = {}
            try:
                for value in set(values):
                    memo[value] = self.check(value, ctx)
            except ValueError:
                return None
            return list(map(memo.__getitem__, values))
        if self.plain is None:
            return None
        joined = SEP.join(values)
        if (joined.count(SEP) != len(values) - 1 or "\x00" in joined
                or max(map(len, values)) > self.maxlen
                or self._column_re.fullmatch(joined) is None):
            return None
        return self.finish(values, joined)

    def finish(self, values: Sequence[str], joined: str) -> list:
        """The stored form of values that matched `plain` (`joined`: them joined by SEP)."""
        return list(values)


def _blank_as_none(values: Sequence[str]) -> list:
    return [v or None for v in values] if "" in values else list(values)


STRIPPED = r"[^\s](?:[^\x1f]*[^\s])?"  # a non-blank value that strip() leaves as it is


class Text(Field):
    def __init__(self, maxlen: int, required: bool = False):
        self.maxlen, self.required = maxlen, required
        if self.plain is None:
            self.plain = STRIPPED if required else f"(?:{STRIPPED})?"
        super().__init__()

    def clean(self, value, ctx):
        value = value.strip()
        if not value:
            if self.required:
                raise ValueError(_l("A value is required."))
            return None
        if len(value) > self.maxlen:
            raise ValueError(_l("At most %(n)d characters.", n=self.maxlen))
        return value

    def finish(self, values, joined):
        return list(values) if self.required else _blank_as_none(values)


class Code(Text):
    plain = r"[A-Za-z0-9][A-Za-z0-9_.\-]*"

    def __init__(self, maxlen: int = 32):
        super().__init__(maxlen, required=True)

    def clean(self, value, ctx):
        value = super().clean(value, ctx)
        if not CODE_RE.match(value):
            raise ValueError(_l("Use letters, digits, '-', '_' or '.' only."))
        return value


class Email(Field):
    # stricter than EMAIL_RE (ASCII, dot-separated domain labels), so cheaper to match and to
    # fold to lower case at once; any address it leaves out is checked by EMAIL_RE one by one
    plain = r"(?:[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+)?"
    maxlen = 254

    def clean(self, value, ctx):
        value = value.strip()
        if not value:
            return None
        if len(value) > self.maxlen or not EMAIL_RE.match(value):
            raise ValueError(_l("Not an e-mail address."))
        return value.lower()

    def finish(self, values, joined):
        return _blank_as_none(joined.lower().split(SEP))


class Phone(Field):
    # PHONE_RE on a stripped value: its last character cannot be a space
    plain = r"(?:\+?[0-9][0-9 \-]{3,29}[0-9\-])?"
    maxlen = 32

    def clean(self, value, ctx):
        value = value.strip()
        if not value:
            return None
        if not PHONE_RE.match(value):
            raise ValueError(_l("Not a phone number."))
        return value

    def finish(self, values, joined):
        return _blank_as_none(values)


class Active(Field):
    few = True

    def clean(self, value, ctx):
        v = value.strip().lower()
        if v in TRUE or v == "":
            return True
        if v in FALSE:
            return False
        raise ValueError(_l("Use yes or no."))


_TIMEZONES: set[str] = set()


class TimeZone(Field):
    few = True

    def clean(self, value, ctx):
        value = value.strip() or "Asia/Shanghai"
        if not _TIMEZONES:
            _TIMEZONES.update(available_timezones())
        if value not in _TIMEZONES:
            raise ValueError(_l("Unknown time zone %(tz)s.", tz=value))
        return value


class Segment(Field):
    few = True

    def clean(self, value, ctx):
        value = value.strip().lower() or "standard"
        if value not in SEGMENTS:
            raise ValueError(_l("Use one of: %(values)s.", values=", ".join(SEGMENTS)))
        return value


class Locale(Field):
    few = True

    def clean(self, value, ctx):
        value = value.strip() or "zh_Hans"
        if value not in LOCALE_NAMES:
            raise ValueError(_l("Use one of: %(values)s.", values=", ".join(LOCALE_NAMES)))
        return value


class BranchRef(Field):
    few = True

    def __init__(self, required: bool):
        self.required = required
        super().__init__()

    def clean(self, value, ctx):
        value = value.strip()
        if not value:
            if self.required:
                raise ValueError(_l("A value is required."))
            return None
        branch_id = ctx["branches"].get(value)
        if branch_id is None:
            raise ValueError(_l("No branch has the code %(code)s.", code=value))
        return branch_id


# -- what a file holds: named columns, each filling one column of the kind's table ----------

@dataclass(frozen=True)
class Column:
    name: str          # CSV header
    attr: str          # table column it fills
    field: Field
    required: bool = False


@dataclass(frozen=True)
class Kind:
    model: type
    key: str
    columns: tuple[Column, ...]
    needs_branches: bool = False
    # columns an update must not touch (an import never clears a customer's opt-out)
    keep_on_update: tuple[str, ...] = ("created_at",)

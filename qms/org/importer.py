"""All-or-nothing CSV import of branches, agents and customers, in one streamed pass.

Rows are validated as they are read and written in batches with one multi-row upsert each;
lookups of referenced branches are loaded once up front, so no row costs a query. The first
bad row stops the writing but not the reading, so the caller gets every bad row of the file,
and the whole import is rolled back by the boundary when any was found.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import available_timezones

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.dialects import postgresql, sqlite

from qms.core.db import now_utc
from qms.core.i18n import LOCALE_NAMES
from qms.extensions import db
from qms.org.models import SEGMENTS, Agent, Branch, Customer

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PHONE_RE = re.compile(r"^\+?[0-9][0-9 \-]{4,30}$")
CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
TRUE = {"1", "true", "yes", "y", "是"}
FALSE = {"0", "false", "no", "n", "否", ""}


@dataclass(frozen=True)
class RowError:
    line: int
    column: str
    message: str


@dataclass
class ImportResult:
    kind: str
    rows: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


class ImportRejected(Exception):
    """The file had bad rows; nothing was written. Carries the full result."""

    def __init__(self, result: ImportResult):
        super().__init__(f"{len(result.errors)} errors")
        self.result = result


# -- field checks: each returns the clean value or raises ValueError(message) ----------------

def _required(maxlen: int):
    def check(value: str, _ctx) -> str:
        value = value.strip()
        if not value:
            raise ValueError(_l("A value is required."))
        if len(value) > maxlen:
            raise ValueError(_l("At most %(n)d characters.", n=maxlen))
        return value
    return check


def _optional(maxlen: int):
    def check(value: str, _ctx) -> str | None:
        value = value.strip()
        if len(value) > maxlen:
            raise ValueError(_l("At most %(n)d characters.", n=maxlen))
        return value or None
    return check


def _code(maxlen: int = 32):
    base = _required(maxlen)

    def check(value: str, ctx) -> str:
        value = base(value, ctx)
        if not CODE_RE.match(value):
            raise ValueError(_l("Use letters, digits, '-', '_' or '.' only."))
        return value
    return check


def _active(value: str, ctx) -> bool:
    v = value.strip().lower()
    if v == "":
        return True
    if v in TRUE:
        return True
    if v in FALSE:
        return False
    raise ValueError(_l("Use yes or no."))


_TIMEZONES: set[str] = set()


def _timezone(value: str, _ctx) -> str:
    value = value.strip() or "Asia/Shanghai"
    if not _TIMEZONES:
        _TIMEZONES.update(available_timezones())
    if value not in _TIMEZONES:
        raise ValueError(_l("Unknown time zone %(tz)s.", tz=value))
    return value


def _email(value: str, _ctx) -> str | None:
    value = value.strip()
    if not value:
        return None
    if len(value) > 254 or not EMAIL_RE.match(value):
        raise ValueError(_l("Not an e-mail address."))
    return value.lower()


def _phone(value: str, _ctx) -> str | None:
    value = value.strip()
    if not value:
        return None
    if not PHONE_RE.match(value):
        raise ValueError(_l("Not a phone number."))
    return value


def _segment(value: str, _ctx) -> str:
    value = value.strip().lower() or "standard"
    if value not in SEGMENTS:
        raise ValueError(_l("Use one of: %(values)s.", values=", ".join(SEGMENTS)))
    return value


def _locale(value: str, _ctx) -> str:
    value = value.strip() or "zh_Hans"
    if value not in LOCALE_NAMES:
        raise ValueError(_l("Use one of: %(values)s.", values=", ".join(LOCALE_NAMES)))
    return value


def _branch_ref(required: bool):
    def check(value: str, ctx) -> int | None:
        value = value.strip()
        if not value:
            if required:
                raise ValueError(_l("A value is required."))
            return None
        branch_id = ctx["branches"].get(value)
        if branch_id is None:
            raise ValueError(_l("No branch has the code %(code)s.", code=value))
        return branch_id
    return check


@dataclass(frozen=True)
class Column:
    name: str          # CSV header
    attr: str          # table column it fills
    check: Callable
    required: bool = False


@dataclass(frozen=True)
class Kind:
    model: type
    key: str
    columns: tuple[Column, ...]
    needs_branches: bool = False
    # columns an update must not touch (an import never clears a customer's opt-out)
    keep_on_update: tuple[str, ...] = ("created_at",)


KINDS: dict[str, Kind] = {
    "branches": Kind(Branch, "code", (
        Column("code", "code", _code(), True),
        Column("name", "name", _required(200), True),
        Column("region", "region", _required(100), True),
        Column("city", "city", _required(100), True),
        Column("timezone", "timezone", _timezone),
        Column("active", "active", _active),
    )),
    "agents": Kind(Agent, "code", (
        Column("code", "code", _code(), True),
        Column("name", "name", _required(200), True),
        Column("branch_code", "branch_id", _branch_ref(True), True),
        Column("team", "team", _optional(100)),
        Column("active", "active", _active),
    ), needs_branches=True),
    "customers": Kind(Customer, "ref", (
        Column("ref", "ref", _code(64), True),
        Column("name", "name", _required(200), True),
        Column("email", "email", _email),
        Column("phone", "phone", _phone),
        Column("segment", "segment", _segment),
        Column("locale", "locale", _locale),
        Column("home_branch_code", "home_branch_id", _branch_ref(False)),
    ), needs_branches=True, keep_on_update=("created_at", "opted_out_at")),
}


class _CountingReader(io.RawIOBase):
    """Wraps a binary stream and reports how many bytes have been read (for progress bars)."""

    def __init__(self, raw, progress: Callable[[int], None] | None):
        self._raw = raw
        self._progress = progress

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        data = self._raw.read(len(b))
        n = len(data)
        b[:n] = data
        if self._progress and n:
            self._progress(n)
        return n


def _rows(stream, encoding: str, progress) -> Iterator[tuple[int, dict[str, str]]]:
    text = io.TextIOWrapper(io.BufferedReader(_CountingReader(stream, progress), 1 << 16),
                            encoding=encoding, newline="")
    reader = csv.reader(text)
    header = next(reader, None)
    yield 1, header  # type: ignore[misc]
    for row in reader:
        yield reader.line_num, row  # type: ignore[misc]


def _upsert_stmt(kind: Kind, attrs: list[str]):
    table = kind.model.__table__
    dialect = db.session.get_bind().dialect.name
    insert = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}.get(dialect)
    if insert is None:
        raise RuntimeError(f"CSV import does not support the {dialect} dialect")
    stmt = insert(table)
    update = {a: stmt.excluded[a] for a in attrs if a != kind.key and a not in kind.keep_on_update}
    return stmt.on_conflict_do_update(index_elements=[kind.key], set_=update)


def import_csv(kind_name: str, stream, *, encoding: str = "utf-8-sig", batch_size: int = 2000,
               progress: Callable[[int], None] | None = None,
               now: datetime | None = None) -> ImportResult:
    """Validate and write one CSV file; raise ImportRejected (write nothing) on any bad row.

    New keys are inserted, existing keys are updated. The caller's unit of work commits.
    """
    kind = KINDS[kind_name]
    result = ImportResult(kind=kind_name)
    ctx: dict = {}
    if kind.needs_branches:
        ctx["branches"] = dict(db.session.execute(sa.select(Branch.code, Branch.id)).all())

    rows = _rows(stream, encoding, progress)
    try:
        _line, header = next(rows)
    except UnicodeDecodeError:
        result.errors.append(RowError(1, "", str(_l("The file is not in the chosen text encoding."))))
        raise ImportRejected(result) from None
    if not header:
        result.errors.append(RowError(1, "", str(_l("The file is empty."))))
        raise ImportRejected(result)
    header = [h.strip().lower() for h in header]
    known = {c.name for c in kind.columns}
    for name in header:
        if name not in known:
            result.errors.append(RowError(1, name, str(_l("Unknown column."))))
    for c in kind.columns:
        if c.required and c.name not in header:
            result.errors.append(RowError(1, c.name, str(_l("This column is missing."))))
    if len(set(header)) != len(header):
        result.errors.append(RowError(1, "", str(_l("A column appears twice."))))
    if result.errors:
        raise ImportRejected(result)

    positions = [(header.index(c.name), c) for c in kind.columns if c.name in header]
    attrs = [c.attr for _i, c in positions] + ["created_at"]
    stmt = _upsert_stmt(kind, attrs)
    stamp = now or now_utc()
    seen: dict[str, int] = {}
    batch: list[dict] = []
    width = len(header)
    key_column = next(c for c in kind.columns if c.attr == kind.key)
    try:
        for line, raw in rows:
            if not raw or (len(raw) == 1 and not raw[0].strip()):
                continue  # blank line
            result.rows += 1
            if len(raw) != width:
                result.errors.append(RowError(line, "", str(_l(
                    "Expected %(n)d values, found %(m)d.", n=width, m=len(raw)))))
                continue
            record = {"created_at": stamp}
            bad = False
            for index, col in positions:
                try:
                    record[col.attr] = col.check(raw[index], ctx)
                except ValueError as exc:
                    result.errors.append(RowError(line, col.name, str(exc.args[0])))
                    bad = True
            if bad:
                continue
            key = record[kind.key]
            if key in seen:
                result.errors.append(RowError(line, key_column.name, str(_l(
                    "%(key)s already appears on line %(line)d.", key=key, line=seen[key]))))
                continue
            seen[key] = line
            if result.errors:
                continue  # keep reading to report every bad row, but write no more
            batch.append(record)
            if len(batch) >= batch_size:
                db.session.execute(stmt, batch)
                batch = []
    except UnicodeDecodeError:
        result.errors.append(RowError(result.rows + 2, "", str(_l(
            "The file is not in the chosen text encoding."))))
    except csv.Error as exc:
        result.errors.append(RowError(result.rows + 2, "", str(exc)))
    if result.errors:
        raise ImportRejected(result)
    if batch:
        db.session.execute(stmt, batch)
    db.session.flush()
    return result

"""All-or-nothing CSV import of branches, agents and customers, in one streamed pass.

The file is read in batches. Each batch is checked column by column: a whole column is vouched
for at C speed (one regular expression over the joined values, or one check per distinct value
of a short list such as segments or branch codes); only a column that fails is checked value by
value, to say which rows are wrong and why. Good batches are written with one multi-row upsert
each, sent straight to the driver; the referenced branches are loaded once up front, so no row
costs a query. The first bad row stops the writing but not the reading, so the caller gets every
bad row of the file, and the boundary rolls the whole import back when any was found.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice, repeat
from typing import Any
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
# Rows per INSERT statement. Small batches keep the rows in flight in the CPU's caches: here
# 500 rows imported ~10% faster than 2000, and ~30% faster than 10,000.
DEFAULT_BATCH_SIZE = 500
READ_CHUNK = 500  # rows per step of reading, whatever the batch size (see _read_batch)

# Joins a column's values for the one-pass check; it is whitespace, so no pattern below lets a
# value start or end with it, and a value containing it fails the separator count.
SEP = "\x1f"
# Line breaks as the text layer counts them (newline=""), to number rows spanning lines.
LINE_BREAK = re.compile(r"\r\n|\r|\n")


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


# -- fields: how one column's values are checked and cleaned ---------------------------------

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


KINDS: dict[str, Kind] = {
    "branches": Kind(Branch, "code", (
        Column("code", "code", Code(), True),
        Column("name", "name", Text(200, required=True), True),
        Column("region", "region", Text(100, required=True), True),
        Column("city", "city", Text(100, required=True), True),
        Column("timezone", "timezone", TimeZone()),
        Column("active", "active", Active()),
    )),
    "agents": Kind(Agent, "code", (
        Column("code", "code", Code(), True),
        Column("name", "name", Text(200, required=True), True),
        Column("branch_code", "branch_id", BranchRef(required=True), True),
        Column("team", "team", Text(100)),
        Column("active", "active", Active()),
    ), needs_branches=True),
    "customers": Kind(Customer, "ref", (
        Column("ref", "ref", Code(64), True),
        Column("name", "name", Text(200, required=True), True),
        Column("email", "email", Email()),
        Column("phone", "phone", Phone()),
        Column("segment", "segment", Segment()),
        Column("locale", "locale", Locale()),
        Column("home_branch_code", "home_branch_id", BranchRef(required=False)),
    ), needs_branches=True, keep_on_update=("created_at", "opted_out_at")),
}


# -- reading ----------------------------------------------------------------------------------

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


def _open(stream, encoding: str, progress):
    text = io.TextIOWrapper(io.BufferedReader(_CountingReader(stream, progress), 1 << 16),
                            encoding=encoding, newline="")
    return csv.reader(text)


def _records(reader, failures: list[RowError]) -> Iterator[list[str]]:
    """The reader's records; a file that cannot be read further ends them with a failure."""
    try:
        yield from reader
    except UnicodeDecodeError:
        failures.append(RowError(reader.line_num + 1, "", str(_l(
            "The file is not in the chosen text encoding."))))
    except csv.Error as exc:
        failures.append(RowError(reader.line_num, "", str(exc)))


def _line_numbers(rows: list[list[str]], first: int, last: int) -> Sequence[int]:
    """The line on which each record starts, given the first line and the last one read."""
    if last - first + 1 == len(rows):
        return range(first, last + 1)
    lines, line = [], first
    for row in rows:
        lines.append(line)
        line += 1 + sum(len(LINE_BREAK.findall(v)) for v in row)
    return lines


@dataclass
class _Batch:
    columns: list[list[str]]  # the raw values of the rows of the right width, by column
    lines: list[int]          # the line each of those rows starts on
    errors: list[tuple[int, int, RowError]]  # (line, column index, error), so far: uneven rows
    records: int = 0          # rows that are not blank


def _read_batch(reader, records: Iterator[list[str]], width: int, size: int) -> _Batch | None:
    """The next `size` records (fewer at the end of the file; None after it), as columns.

    Records are turned into columns READ_CHUNK at a time, so that only so many row lists are
    alive at once whatever the batch size: more would wake Python's cyclic garbage collector,
    which then keeps walking every object of the process (~15% of an import's time).
    """
    batch = _Batch([[] for _ in range(width)], [], [])
    read = 0
    while read < size:
        first = reader.line_num + 1
        rows = list(islice(records, min(READ_CHUNK, size - read)))
        if not rows:
            break
        read += len(rows)
        lines = _line_numbers(rows, first, reader.line_num)
        if len(rows[0]) != width or len(set(map(len, rows))) != 1:
            rows, lines = _drop_uneven(rows, lines, width, batch)
        batch.records += len(rows)
        if rows:
            batch.lines.extend(lines)
            for column, values in zip(batch.columns, zip(*rows, strict=True), strict=True):
                column.extend(values)
    return batch if read else None


def _drop_uneven(rows, lines, width: int, batch: _Batch):
    """Skip blank lines, report rows with the wrong number of values, keep the rest."""
    kept_rows, kept_lines = [], []
    for row, line in zip(rows, lines, strict=True):
        if len(row) == width:
            kept_rows.append(row)
            kept_lines.append(line)
        elif row and not (len(row) == 1 and not row[0].strip()):
            batch.records += 1
            batch.errors.append((line, -1, RowError(line, "", str(_l(
                "Expected %(n)d values, found %(m)d.", n=width, m=len(row))))))
    return kept_rows, kept_lines


def _read_header(reader, kind: Kind, result: ImportResult) -> list[str]:
    """The first line that is not blank: the column names, checked against the kind's."""
    try:
        header = next(reader, None)
        while header is not None and not "".join(header).strip():
            header = next(reader, None)
    except UnicodeDecodeError:
        header = None
        result.errors.append(RowError(1, "", str(_l(
            "The file is not in the chosen text encoding."))))
    except csv.Error as exc:
        header = None
        result.errors.append(RowError(1, "", str(exc)))
    else:
        if header is None:
            result.errors.append(RowError(1, "", str(_l("The file is empty."))))
    if result.errors:
        raise ImportRejected(result)
    line = reader.line_num
    header = [h.strip().lower() for h in header]
    known = {c.name for c in kind.columns}
    for position, name in enumerate(header):
        if name not in known:
            result.errors.append(RowError(line, name, str(_l("Unknown column."))))
        elif name in header[:position]:
            result.errors.append(RowError(line, name, str(_l("A column appears twice."))))
    for c in kind.columns:
        if c.required and c.name not in header:
            result.errors.append(RowError(line, c.name, str(_l("This column is missing."))))
    if result.errors:
        raise ImportRejected(result)
    return header


# -- checking one batch -----------------------------------------------------------------------

class _Checks:
    """Checks the file batch by batch and keeps what spans batches: the keys already seen."""

    def __init__(self, kind: Kind, columns: list[Column], ctx: dict, result: ImportResult):
        self.columns = columns
        self.ctx = ctx
        self.result = result
        self.key_index = next(i for i, c in enumerate(columns) if c.attr == kind.key)
        self.seen: dict[str, int] = {}

    def check(self, batch: _Batch) -> list[list] | None:
        """The clean columns of a batch, or None when a row was bad (reported in the result)."""
        self.result.rows += batch.records
        errors = batch.errors
        clean = [self._check_column(i, values, batch.lines, errors)
                 for i, values in enumerate(batch.columns)]
        if batch.lines:
            self._check_keys(clean[self.key_index], batch.lines, errors)
        errors.sort(key=lambda e: (e[0], e[1]))
        self.result.errors.extend(e for _line, _i, e in errors)
        return None if errors or not batch.lines else clean

    def _check_column(self, index, values, lines, errors) -> list:
        col = self.columns[index]
        clean = col.field.check_column(values, self.ctx) if values else []
        if clean is not None:
            return clean
        clean = []
        for value, line in zip(values, lines, strict=True):
            try:
                clean.append(col.field.check(value, self.ctx))
            except ValueError as exc:
                clean.append(None)
                errors.append((line, index, RowError(line, col.name, str(exc.args[0]))))
        return clean

    def _check_keys(self, keys, lines, errors) -> None:
        seen = self.seen
        if not errors and len(set(keys)) == len(keys) and seen.keys().isdisjoint(keys):
            seen.update(zip(keys, lines, strict=True))
            return
        bad_lines = {line for line, _i, _e in errors}
        name = self.columns[self.key_index].name
        for key, line in zip(keys, lines, strict=True):
            if line in bad_lines:
                continue  # a row with a bad value does not claim its key
            if key in seen:
                errors.append((line, self.key_index, RowError(line, name, str(_l(
                    "%(key)s already appears on line %(line)d.", key=key, line=seen[key])))))
            else:
                seen[key] = line


# -- writing ----------------------------------------------------------------------------------

class _Upsert:
    """INSERT ... ON CONFLICT, compiled once and run per batch by the driver itself.

    Going past SQLAlchemy's per-row parameter handling is what makes a batch cheap; in exchange
    this class does that handling itself, once per column: bind processors for typed columns,
    the stamp for created_at, and the column default for a column the file does not have.

    A batch is first offered as new rows (ON CONFLICT DO NOTHING, which costs what a plain
    INSERT costs); if some keys were already there, the batch is run again as the upsert (DO
    UPDATE, which checks each key before inserting, ~20% slower in SQLite), and so are the
    batches after it, since a file that updates tends to go on updating.
    """

    def __init__(self, kind: Kind, attrs: list[str], stamp: datetime):
        dialect = db.session.connection().dialect
        insert = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}.get(dialect.name)
        if insert is None:
            raise RuntimeError(f"CSV import does not support the {dialect.name} dialect")
        if not dialect.positional:
            # The PostgreSQL drivers take %s with tuples too, and their turning a dict into
            # positions costs more per row than all our checks.
            dialect = type(dialect)(paramstyle="format")
        table = kind.model.__table__
        constants = _constants(table, attrs, stamp)
        keys = [*attrs, *constants]
        stmt = insert(table)
        update = {a: stmt.excluded[a] for a in attrs
                  if a != kind.key and a not in kind.keep_on_update}
        self.names = None
        self.sql = {}
        for how, variant in (("new", stmt.on_conflict_do_nothing(index_elements=[kind.key])),
                             ("upsert", stmt.on_conflict_do_update(index_elements=[kind.key],
                                                                   set_=update))):
            compiled = variant.compile(dialect=dialect, column_keys=keys, for_executemany=True)
            names = list(compiled.positiontup)
            if sorted(names) != sorted(keys) or self.names not in (None, names):
                raise RuntimeError(f"unexpected parameters in the import statement: {names}")
            self.names = names
            self.sql[how] = compiled.string
        self.all_new = dialect.supports_sane_multi_rowcount
        # per parameter: (index into the batch's columns, bind processor) or a constant
        self.sources: list = []
        for name in self.names:
            proc = table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
            if name in constants:
                value = constants[name]
                self.sources.append(repeat(proc(value) if proc else value))
            else:
                self.sources.append((attrs.index(name), proc))

    def write(self, columns: list[list]) -> None:
        params = []
        for source in self.sources:
            if isinstance(source, repeat):
                params.append(source)
            else:
                index, proc = source
                params.append(columns[index] if proc is None else map(proc, columns[index]))
        rows = list(zip(*params, strict=False))  # the constants repeat without end
        connection = db.session.connection()
        if self.all_new:
            if connection.exec_driver_sql(self.sql["new"], rows).rowcount == len(rows):
                return
            self.all_new = False
        connection.exec_driver_sql(self.sql["upsert"], rows)


def _constants(table: sa.Table, attrs: list[str], stamp: datetime) -> dict[str, Any]:
    """Values for the columns the file does not have: the stamp, or the column's default."""
    constants = {}
    for column in table.columns:
        if column.primary_key or column.key in attrs:
            continue
        if column.key == "created_at":
            constants[column.key] = stamp
        elif column.default is not None:
            if not column.default.is_scalar:
                raise RuntimeError(f"CSV import cannot fill {column} from its default")
            constants[column.key] = column.default.arg
    return constants


def import_csv(kind_name: str, stream, *, encoding: str = "utf-8-sig",
               batch_size: int = DEFAULT_BATCH_SIZE,
               progress: Callable[[int], None] | None = None,
               now: datetime | None = None) -> ImportResult:
    """Validate and write one CSV file; raise ImportRejected (write nothing) on any bad row.

    New keys are inserted, existing keys are updated. The caller's unit of work commits, and
    must roll back on ImportRejected: batches written before the first bad row are in it.
    """
    kind = KINDS[kind_name]
    result = ImportResult(kind=kind_name)
    ctx: dict = {}
    if kind.needs_branches:
        ctx["branches"] = dict(db.session.execute(sa.select(Branch.code, Branch.id)).all())

    reader = _open(stream, encoding, progress)
    header = _read_header(reader, kind, result)
    by_name = {c.name: c for c in kind.columns}
    columns = [by_name[name] for name in header]
    checks = _Checks(kind, columns, ctx, result)
    upsert = _Upsert(kind, [c.attr for c in columns], now or now_utc())
    failures: list[RowError] = []
    records = _records(reader, failures)
    while batch := _read_batch(reader, records, len(columns), batch_size):
        clean = checks.check(batch)
        if clean is not None and not result.errors:
            upsert.write(clean)
    result.errors.extend(failures)
    if result.errors:
        raise ImportRejected(result)
    db.session.flush()
    return result

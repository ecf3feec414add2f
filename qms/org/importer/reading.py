"""Reading an import file: decoding, CSV records and their physical line numbers, batches."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice

from flask_babel import lazy_gettext as _l

from qms.org.importer.fields import Kind
from qms.org.importer.results import ImportRejected, ImportResult, RowError

READ_CHUNK = 500  # rows per step of reading, whatever the batch size (see read_batch)

# Line breaks as the text layer counts them (newline=""), to number rows spanning lines.
LINE_BREAK = re.compile(r"\r\n|\r|\n")


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


def open_csv(stream, encoding: str, progress):
    text = io.TextIOWrapper(io.BufferedReader(_CountingReader(stream, progress), 1 << 16),
                            encoding=encoding, newline="")
    return csv.reader(text)


def read_records(reader, failures: list[RowError]) -> Iterator[list[str]]:
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
class Batch:
    columns: list[list[str]]  # the raw values of the rows of the right width, by column
    lines: list[int]          # the line each of those rows starts on
    errors: list[tuple[int, int, RowError]]  # (line, column index, error), so far: uneven rows
    records: int = 0          # rows that are not blank


def read_batch(reader, records: Iterator[list[str]], width: int, size: int) -> Batch | None:
    """The next `size` records (fewer at the end of the file; None after it), as columns.

    Records are turned into columns READ_CHUNK at a time, so that only so many row lists are
    alive at once whatever the batch size: more would wake Python's cyclic garbage collector,
    which then keeps walking every object of the process (~15% of an import's time).
    """
    batch = Batch([[] for _ in range(width)], [], [])
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


def _drop_uneven(rows, lines, width: int, batch: Batch):
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


def read_header(reader, kind: Kind, result: ImportResult) -> list[str]:
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

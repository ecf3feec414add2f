"""Checking an import batch by batch: each column, then the keys across the whole file."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from qms.org.importer.fields import Column, Kind
from qms.org.importer.reading import Batch
from qms.org.importer.results import ImportResult, RowError


class Checks:
    """Checks the file batch by batch and keeps what spans batches: the keys already seen."""

    def __init__(self, kind: Kind, columns: list[Column], ctx: dict, result: ImportResult):
        self.columns = columns
        self.ctx = ctx
        self.result = result
        self.key_index = next(i for i, c in enumerate(columns) if c.attr == kind.key)
        self.seen: dict[str, int] = {}

    def check(self, batch: Batch) -> list[list] | None:
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

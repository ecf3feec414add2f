"""Writing an import file: one dialect-specific multi-row upsert per batch, run by the driver."""

from __future__ import annotations

from datetime import datetime
from itertools import repeat
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from qms.extensions import db
from qms.org.importer.fields import Kind


class Upsert:
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

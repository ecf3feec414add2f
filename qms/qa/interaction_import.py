"""All-or-nothing CSV import of interactions, on the organisation importer's reading and
checking pieces: every bad row is reported (line, column, reason) and nothing is written.

Columns: channel*, external_ref*, agent_code*, occurred_at*, duration_seconds, customer_ref,
summary, media_url. The branch is the agent's. (channel, external_ref) is the key: a row whose
key is recorded already updates it — except that it may not move an interaction that has
evaluations to another agent, nor touch one of a branch outside the importer's scope.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.dialects import postgresql, sqlite

from qms.core.db import now_utc
from qms.core.permissions import branch_scope
from qms.extensions import db
from qms.org.importer.checking import Checks
from qms.org.importer.reading import Batch, open_csv, read_batch, read_header, read_records
from qms.org.importer.results import ImportRejected, ImportResult, RowError
from qms.qa.interaction_fields import (
    KIND,
    check_not_future,
    load_agents,
    load_customers,
    localise,
)
from qms.qa.models import Evaluation, Interaction

DEFAULT_BATCH_SIZE = 500
KIND_NAME = "interactions"


class _Checks(Checks):
    """The organisation importer's column checks, with the composite key (channel,
    external_ref) and the checks that need a whole row: local times in the agent's zone, no
    future times, and what an update may not change."""

    def __init__(self, columns, ctx, result, scope):
        super().__init__(KIND, columns, ctx, result)
        self.index = {c.name: i for i, c in enumerate(columns)}
        self.scope = scope

    def check(self, batch: Batch):
        self.result.rows += batch.records
        errors = batch.errors
        if "customer_ref" in self.index:
            self.ctx["customers"] = load_customers(batch.columns[self.index["customer_ref"]])
        clean = [self._check_column(i, values, batch.lines, errors)
                 for i, values in enumerate(batch.columns)]
        if batch.lines:
            ch, ref = clean[self.index["channel"]], clean[self.index["external_ref"]]
            keys = [f"{c} {r}" for c, r in zip(ch, ref, strict=True)]
            self._check_keys(keys, batch.lines, errors)
            self._check_rows(clean, batch.lines, errors)
        errors.sort(key=lambda e: (e[0], e[1]))
        self.result.errors.extend(e for _line, _i, e in errors)
        return None if errors or not batch.lines else clean

    def _error(self, errors, line, name, message):
        errors.append((line, self.index[name], RowError(line, name, str(message))))

    def _check_rows(self, clean, lines, errors) -> None:
        bad = {line for line, _i, _e in errors}
        agents = clean[self.index["agent_code"]]
        times = clean[self.index["occurred_at"]]
        now = self.ctx["now"]
        for n, line in enumerate(lines):
            if line in bad:
                continue
            times[n] = localise(times[n], agents[n])
            try:
                check_not_future(times[n], now)
            except ValueError as exc:
                self._error(errors, line, "occurred_at", exc.args[0])
        self._check_updates(clean, lines, errors, bad)

    def _check_updates(self, clean, lines, errors, bad) -> None:
        ch, ref = clean[self.index["channel"]], clean[self.index["external_ref"]]
        agents = clean[self.index["agent_code"]]
        wanted = {(c, r): n for n, (c, r, line) in enumerate(zip(ch, ref, lines, strict=True))
                  if line not in bad}
        if not wanted:
            return
        scored = sa.exists().where(Evaluation.interaction_id == Interaction.id)
        # two IN lists rather than one of pairs: both databases then use the unique index
        stored = db.session.execute(
            sa.select(Interaction.channel, Interaction.external_ref, Interaction.agent_id,
                      Interaction.branch_id, scored)
            .where(Interaction.channel.in_({c for c, _r in wanted}),
                   Interaction.external_ref.in_({r for _c, r in wanted})))
        for channel, external_ref, agent_id, branch_id, has_evaluations in stored:
            n = wanted.get((channel, external_ref))
            if n is None:
                continue
            if self.scope is not None and branch_id not in self.scope:
                self._error(errors, lines[n], "external_ref", _l(
                    "This interaction is recorded for a branch outside your scope."))
            elif has_evaluations and agents[n].id != agent_id:
                self._error(errors, lines[n], "agent_code", _l(
                    "This interaction has evaluations; its agent cannot change."))


class _Writer:
    """One multi-row upsert per batch on the (channel, external_ref) key."""

    def __init__(self, names: list[str], stamp: datetime):
        dialect = db.session.connection().dialect.name
        insert = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}.get(dialect)
        if insert is None:
            raise RuntimeError(f"CSV import does not support the {dialect} dialect")
        self.names = names
        self.stamp = stamp
        stmt = insert(Interaction.__table__)
        updated = [n for n in names if n not in ("channel", "external_ref")] + ["branch_id"]
        self.stmt = stmt.on_conflict_do_update(
            index_elements=["channel", "external_ref"],
            set_={n: stmt.excluded[n] for n in updated})

    def write(self, columns: list[list]) -> None:
        rows = []
        for values in zip(*columns, strict=True):
            row = dict(zip(self.names, values, strict=True))
            agent = row["agent_id"]
            row.update(agent_id=agent.id, branch_id=agent.branch_id, source="csv",
                       created_at=self.stamp)
            rows.append(row)
        db.session.connection().execute(self.stmt, rows)  # Core: no ORM bulk handling


def import_interactions(stream, *, principal=None, roles=None, encoding: str = "utf-8-sig",
                        batch_size: int = DEFAULT_BATCH_SIZE,
                        progress: Callable[[int], None] | None = None,
                        now: datetime | None = None) -> ImportResult:
    """Validate and write one CSV file; raise ImportRejected (write nothing) on any bad row.

    `principal`/`roles`: whose branches the agents must be in (None: every branch — the
    command line). The caller's unit of work commits, and must roll back on ImportRejected:
    batches written before the first bad row are in it.
    """
    now = now or now_utc()
    result = ImportResult(kind=KIND_NAME)
    scope = None if principal is None else branch_scope(principal, roles)
    ctx: dict = {"agents": load_agents(principal, roles), "customers": {}, "now": now}
    reader = open_csv(stream, encoding, progress)
    header = read_header(reader, KIND, result)
    by_name = {c.name: c for c in KIND.columns}
    columns = [by_name[name] for name in header]
    checks = _Checks(columns, ctx, result, scope)
    writer = _Writer([c.attr for c in columns], now)
    failures: list[RowError] = []
    records = read_records(reader, failures)
    while batch := read_batch(reader, records, len(columns), batch_size):
        clean = checks.check(batch)
        if clean is not None and not result.errors:
            writer.write(clean)
    result.errors.extend(failures)
    if result.errors:
        raise ImportRejected(result)
    db.session.flush()
    return result


__all__ = ["DEFAULT_BATCH_SIZE", "ImportRejected", "ImportResult", "RowError",
           "import_interactions"]

"""Statements for the answering pages, compiled once and run on the DBAPI cursor.

A customer's GET + POST of a survey link is a handful of fixed statements, and SQLAlchemy's
per-execution work (cache key, parameter and result processing, result objects, and around
them the ORM session's transaction bookkeeping) costs several times what the database does
for them. A Prepared statement is a Core statement compiled once per kind of dialect, with its
bind and result processors looked up once; running it builds the parameters, executes the SQL
on a DBAPI cursor and returns plain tuples. The types still do their work (UTC datetimes in
and out, JSON), and DBAPI errors come out as SQLAlchemy's (IntegrityError, OperationalError).

Statements run on a Conn: either the ORM session's connection (`session_conn()`, the default
of every service that takes `conn=`: part of the unit of work, committed with it), or a
connection of its own from the engine's pool (`connection()`, what the answering pages use,
with their writes in `transaction(conn)` blocks).

Only for statements whose parameters are all given: an INSERT lists its columns (`keys`) and
must not rely on Python-side column defaults (compiling refuses those).
"""

from __future__ import annotations

import os
import threading
from contextlib import contextmanager

import sqlalchemy as sa

from qms.extensions import db

_REQUIRED = object()


def _constant(value):
    def get():
        return value

    return get


class Conn:
    """A DBAPI connection and the dialect that speaks to it."""

    __slots__ = ("dialect", "dbapi")

    def __init__(self, dialect, dbapi):
        self.dialect = dialect
        self.dbapi = dbapi


def session_conn() -> Conn:
    """The ORM session's connection (it begins the session's transaction if none is open)."""
    conn = db.session.connection()
    return Conn(conn.dialect, conn.connection.dbapi_connection)


class _Held:
    """The main thread's pooled connection, kept checked out between requests."""

    engine = None
    raw = None
    pid = None


_HELD = _Held()


@contextmanager
def connection():
    """A pooled connection of its own, outside the ORM session, for the few statements of
    one request; writes go in `transaction(conn)` blocks, and whatever was not committed is
    rolled back when the block ends.

    The main thread (a gunicorn sync worker serves every request there) keeps its connection
    checked out from one request to the next instead of returning it to the pool and taking
    it again each time; other threads (threaded servers) use the pool as usual. A connection
    that broke is invalidated, so the next request gets a new one."""
    engine = db.engine
    held = _HELD if threading.current_thread() is threading.main_thread() else None
    if held is not None:
        if held.raw is None or held.engine is not engine or held.pid != os.getpid():
            if held.raw is not None and held.pid == os.getpid():
                held.raw.close()  # another app's engine (tests build many): back to its pool
            held.raw, held.engine, held.pid = engine.raw_connection(), engine, os.getpid()
        raw = held.raw
    else:
        raw = engine.raw_connection()
    if "qms.prepared" not in raw.info:  # once per DBAPI connection
        _tune(raw, engine.dialect)
    dbapi = raw.dbapi_connection
    conn = Conn(engine.dialect, dbapi)
    try:
        yield conn
    except sa.exc.DBAPIError as exc:
        if exc.orig is not None and engine.dialect.is_disconnect(exc.orig, dbapi, None):
            raw.invalidate(exc.orig)
            if held is not None:
                held.raw = None
        raise
    finally:
        if held is None:
            raw.close()  # back to the pool, which rolls back what is left open
        elif held.raw is raw:
            if getattr(dbapi, "in_transaction", True):
                dbapi.rollback()
        else:  # invalidated
            raw.close()


# SQLite's default checkpoints the WAL into the database every 1000 pages. A submission writes
# some 16 pages (the response and its answers, and their indexes), so that was a checkpoint
# every ~60 submissions, and under two workers the checkpoints cost 10-30% of the throughput
# (measured with bench/survey_submit.py). The WAL grows to ~40 MB between checkpoints instead.
# Set on the connections the answering pages use (the lead may move it to configure_sqlite).
WAL_AUTOCHECKPOINT_PAGES = 10_000


def _tune(raw, dialect) -> None:
    raw.info["qms.prepared"] = True
    if dialect.name == "sqlite":
        cur = raw.dbapi_connection.cursor()
        try:
            cur.execute(f"PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT_PAGES}")
        finally:
            cur.close()


@contextmanager
def transaction(conn: Conn):
    """Commit what the block wrote on `conn`, or roll it back if the block raises."""
    try:
        yield conn
        try:
            conn.dbapi.commit()
        except conn.dialect.loaded_dbapi.Error as exc:
            raise _error(conn, "COMMIT", None, exc) from exc
    except BaseException:
        conn.dbapi.rollback()
        raise


@contextmanager
def single_write(conn: Conn):
    """A transaction of ONE write statement. On SQLite the statement commits as it runs
    (autocommit), like a bare INSERT: the write lock is not held between the statement and a
    separate COMMIT. Elsewhere, or inside an open transaction, an ordinary transaction."""
    dbapi = conn.dbapi
    legacy = getattr(dbapi, "autocommit", -1) == -1  # sqlite3.LEGACY_TRANSACTION_CONTROL
    if conn.dialect.name != "sqlite" or not legacy or dbapi.in_transaction:
        with transaction(conn):
            yield conn
        return
    level = dbapi.isolation_level
    dbapi.isolation_level = None
    try:
        yield conn
    finally:
        dbapi.isolation_level = level


def _error(conn: Conn, sql, params, exc) -> sa.exc.DBAPIError:
    """A DBAPI error as SQLAlchemy would have raised it (IntegrityError, OperationalError...)."""
    return sa.exc.DBAPIError.instance(sql, params, exc, conn.dialect.loaded_dbapi.Error,
                                      dialect=conn.dialect)


class _Plan:
    __slots__ = ("sql", "positional", "binds", "names", "keys", "bind_procs", "dialect",
                 "types", "processed")

    def __init__(self, stmt, dialect, keys, many):
        kw = {"column_keys": list(keys)} if keys is not None else {}
        if many:
            kw["for_executemany"] = True
        compiled = stmt.compile(dialect=dialect, **kw)
        if getattr(compiled, "insert_prefetch", None) or getattr(compiled, "update_prefetch", None):
            raise ValueError("a prepared statement must be given every column that has a "
                             "Python-side default")
        self.sql = compiled.string
        self.positional = compiled.positional
        names = compiled.positiontup if compiled.positional else list(compiled.bind_names.values())
        escaped = getattr(compiled, "escaped_bind_names", None) or {}
        binds = []
        for name in names:
            bp = compiled.binds[name]
            proc = bp.type.dialect_impl(dialect).bind_processor(dialect)
            if bp.callable is not None:
                default = bp.callable
            elif bp.required:
                default = _REQUIRED
            else:
                default = _constant(bp.value)
            binds.append((name, escaped.get(name, name), proc, default))
        self.binds = tuple(binds)
        self.names = tuple(b[0] for b in binds)
        self.keys = tuple(b[1] for b in binds)
        self.bind_procs = tuple((i, b[2]) for i, b in enumerate(binds) if b[2] is not None)
        columns = list(stmt.exported_columns) if hasattr(stmt, "exported_columns") else []
        self.dialect = dialect
        self.types = tuple(c.type.dialect_impl(dialect) for c in columns)
        self.processed = None  # result processors, on the first rows (they need the DBAPI types)

    def params(self, given: dict):
        try:  # the common case: every parameter given
            values = [given[name] for name in self.names]
        except KeyError:
            values = []
            for name, _key, _proc, default in self.binds:
                value = given.get(name, _REQUIRED)
                if value is _REQUIRED:
                    if default is _REQUIRED:
                        raise KeyError(f"missing parameter {name!r}") from None
                    value = default()
                values.append(value)
        for i, proc in self.bind_procs:
            values[i] = proc(values[i])
        if self.positional:
            return values
        return dict(zip(self.keys, values, strict=True))

    def processors(self, description) -> tuple:
        if self.processed is None:
            procs = (t.result_processor(self.dialect, d[1])
                     for t, d in zip(self.types, description, strict=True))
            self.processed = tuple((i, p) for i, p in enumerate(procs) if p is not None)
        return self.processed

    def row(self, raw):
        if raw is None or not self.processed:
            return raw
        row = list(raw)
        for i, proc in self.processed:
            row[i] = proc(row[i])
        return tuple(row)


class Prepared:
    """A Core statement run on a Conn. `keys`: the columns an INSERT is given; `many`: it is
    run with executemany."""

    def __init__(self, stmt, keys=None, *, many: bool = False):
        self.stmt = stmt
        self.keys = tuple(keys) if keys is not None else None
        self.many = many
        self._plans: dict = {}

    def _plan(self, dialect) -> _Plan:
        # keyed by kind of dialect, not instance: every app (each test builds one) has its own
        key = (type(dialect), dialect.paramstyle, dialect.server_version_info)
        plan = self._plans.get(key)
        if plan is None:
            plan = self._plans[key] = _Plan(self.stmt, dialect, self.keys, self.many)
        return plan

    def first(self, conn: Conn | None = None, /, **params) -> tuple | None:
        """The first row (processed), or None."""
        return self.bind(conn, **params).first()

    def all(self, conn: Conn | None = None, /, **params) -> list[tuple]:
        return self.bind(conn, **params).all()

    def run(self, conn: Conn | None = None, /, **params) -> int:
        """Execute; the number of rows changed."""
        return self.bind(conn, **params).run()

    def run_many(self, conn: Conn | None, rows: list[dict]) -> None:
        self.bind_many(conn, rows).run()

    def bind(self, conn: Conn | None = None, /, **params) -> Bound:
        """The statement with its parameters processed, ready to run (so that a transaction
        can run several statements back to back)."""
        conn = conn or session_conn()
        plan = self._plan(conn.dialect)
        return Bound(plan, conn, [plan.params(params)])

    def bind_many(self, conn: Conn | None, rows: list[dict]) -> Bound:
        conn = conn or session_conn()
        plan = self._plan(conn.dialect)
        return Bound(plan, conn, [plan.params(r) for r in rows], many=True)


class Bound:
    """A prepared statement and its parameters (one set, or many for executemany)."""

    __slots__ = ("plan", "conn", "values", "many")

    def __init__(self, plan: _Plan, conn: Conn, values: list, many: bool = False):
        self.plan, self.conn, self.values, self.many = plan, conn, values, many

    def put(self, name: str, value) -> Bound:
        """Set one parameter (in every set), e.g. an id known only once an earlier statement
        of the transaction ran."""
        for i, (bind_name, key, proc, _default) in enumerate(self.plan.binds):
            if bind_name == name:
                v = value if proc is None else proc(value)
                slot = i if self.plan.positional else key
                for values in self.values:
                    values[slot] = v
        return self

    def first(self) -> tuple | None:
        return self._execute("first")

    def all(self) -> list[tuple]:
        return self._execute("all")

    def run(self) -> int:
        return self._execute("count")

    def _execute(self, want):
        plan, conn = self.plan, self.conn
        if self.many and not self.values:
            return 0
        cur = conn.dbapi.cursor()
        try:
            if self.many:
                cur.executemany(plan.sql, self.values)
                return cur.rowcount
            cur.execute(plan.sql, self.values[0])
            if want == "count":
                return cur.rowcount
            plan.processors(cur.description)
            if want == "first":
                return plan.row(cur.fetchone())
            return [plan.row(r) for r in cur.fetchall()]
        except conn.dialect.loaded_dbapi.Error as exc:
            raise _error(conn, plan.sql, self.values, exc) from exc
        finally:
            cur.close()

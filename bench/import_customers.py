"""Benchmark: CSV import of 100,000 customers against a raw executemany insert of the same rows.

    python -m bench.import_customers [--rows 100000] [--repeat 3] [--batch-size N] [--pg]

Both sides write into a fresh `customers` table made from the same metadata (same indexes,
foreign keys on, WAL and synchronous=NORMAL as the app sets them) and commit once. The import
reads, checks and writes the CSV file through `import_csv`; the raw side is handed the rows
already parsed and runs one `executemany` INSERT, so the ratio says what reading, checking and
the upsert cost on top of the database's own insert work. Runs alternate; the best of each
side is compared, and the ratio of each import to the raw run right after it is shown too, as
both move with the load of a shared machine. Every import is checked against the generated
data (the row count each time, every value after the first run).
"""

from __future__ import annotations

import argparse
import csv
import random
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from qms import create_app
from qms.core.tx import unit_of_work
from qms.extensions import db
from qms.org.importer import DEFAULT_BATCH_SIZE, import_csv
from qms.org.models import Branch, Customer

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
STAMP = datetime(2026, 1, 5, 8, 30, tzinfo=UTC)
BRANCHES = [(f"B{n:03d}", f"测试支行{n}") for n in range(1, 41)]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华"
HEADER = ("ref", "name", "email", "phone", "segment", "locale", "home_branch_code")
COLUMNS = ("ref", "name", "email", "phone", "segment", "locale", "home_branch_id", "created_at")


def generate_rows(n: int, seed: int = 2026) -> list[tuple[str, ...]]:
    """n customer rows as CSV values, the same for the same seed.

    Tuples of strings, which the garbage collector stops tracking, so that holding them does
    not make the collections during the timed import slower than in a real one.
    """
    rng = random.Random(seed)
    rows = []
    for i in range(1, n + 1):
        name = rng.choice(SURNAMES) + rng.choice(GIVEN) + (rng.choice(GIVEN) if i % 3 else "")
        rows.append((
            f"C{i:07d}",
            name,
            f"customer{i}@Example.CN" if i % 10 != 5 else "",
            f"+86 13{rng.randrange(10**9):09d}" if i % 7 else "",
            "vip" if i % 20 == 0 else "standard",
            ("zh_Hans", "zh_Hans", "zh_Hant", "en")[i % 4],
            BRANCHES[i % len(BRANCHES)][0] if i % 50 else "",
        ))
    return rows


def write_csv(path: Path, rows: list[tuple[str, ...]]) -> None:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADER)
        writer.writerows(rows)


def expected_rows(rows: list[tuple[str, ...]]) -> set[tuple]:
    """What the customers table must hold afterwards, with the branch as its code."""
    return {(r[0], r[1], r[2].lower() or None, r[3] or None, r[4], r[5], r[6] or None)
            for r in rows}


def parsed(rows: list[tuple[str, ...]], branch_ids: dict[str, int], stamp) -> list[tuple]:
    """The rows as the database receives them: e-mail folded, codes resolved, blanks as NULL."""
    return [(r[0], r[1], r[2].lower() or None, r[3] or None, r[4], r[5],
             branch_ids.get(r[6]), stamp) for r in rows]


def make_app(url: str):
    """The app on a fresh database with the branches the customers refer to."""
    app = create_app({
        "TESTING": True,
        "SECRET_KEY": "bench",
        "SQLALCHEMY_DATABASE_URI": url,
        "SCHEDULER_ENABLED": False,
        "SMTP_HOST": None,
    })
    with app.app_context():
        db.drop_all()
        db.create_all()
        db.session.add_all(Branch(code=c, name=n, region="华东", city="上海") for c, n in BRANCHES)
        db.session.commit()
    return app


def time_import(url: str, csv_path: Path, batch_size: int, rows, verify: bool) -> float:
    app = make_app(url)
    with app.app_context():
        start = time.perf_counter()
        with open(csv_path, "rb") as fh, unit_of_work():
            result = import_csv("customers", fh, batch_size=batch_size, now=STAMP)
        elapsed = time.perf_counter() - start
        count = db.session.scalar(sa.select(sa.func.count(Customer.id)))
        if result.rows != len(rows) or count != len(rows):
            sys.exit(f"import wrote {count} rows (reported {result.rows}), expected {len(rows)}")
        if verify:
            stored = set(db.session.execute(
                sa.select(Customer.ref, Customer.name, Customer.email, Customer.phone,
                          Customer.segment, Customer.locale, Branch.code)
                .outerjoin(Branch, Customer.home_branch_id == Branch.id)).all())
            wrong = stored ^ expected_rows(rows)
            if wrong:
                sys.exit(f"{len(wrong)} rows differ from the generated ones, e.g. {min(wrong)}")
        db.session.remove()
        db.engine.dispose()
    return elapsed


def _fresh_tables(url: str) -> dict[str, int]:
    """The app's tables and indexes from the same metadata; the branches; their ids."""
    engine = sa.create_engine(url)
    db.metadata.drop_all(engine)
    db.metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(sa.insert(Branch.__table__),
                     [{"code": c, "name": n, "region": "华东", "city": "上海",
                       "timezone": "Asia/Shanghai", "active": True,
                       "created_at": STAMP} for c, n in BRANCHES])
        branch_ids = dict(conn.execute(sa.select(Branch.code, Branch.id)).all())
    engine.dispose()
    return branch_ids


def _insert_sql(placeholder: str) -> str:
    return (f"INSERT INTO customers ({', '.join(COLUMNS)}) "
            f"VALUES ({', '.join([placeholder] * len(COLUMNS))})")


def time_raw_sqlite(path: Path, rows) -> float:
    path.unlink(missing_ok=True)
    branch_ids = _fresh_tables(f"sqlite:///{path}")
    # SQLAlchemy stores SQLite datetimes as naive UTC text; hand sqlite3 the same.
    values = parsed(rows, branch_ids, STAMP.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f"))
    con = sqlite3.connect(path)
    for pragma in ("foreign_keys=ON", "busy_timeout=30000", "journal_mode=WAL",
                   "synchronous=NORMAL"):
        con.execute(f"PRAGMA {pragma}")
    start = time.perf_counter()
    with con:
        con.executemany(_insert_sql("?"), values)
    elapsed = time.perf_counter() - start
    count = con.execute("SELECT count(*) FROM customers").fetchone()[0]
    con.close()
    if count != len(rows):
        sys.exit(f"raw insert wrote {count} rows, expected {len(rows)}")
    return elapsed


def time_raw_pg(url: str, rows) -> float:
    import psycopg

    values = parsed(rows, _fresh_tables(url), STAMP)
    dsn = sa.engine.make_url(url).set(drivername="postgresql").render_as_string(False)
    with psycopg.connect(dsn) as con:
        start = time.perf_counter()
        with con.transaction(), con.cursor() as cur:
            cur.executemany(_insert_sql("%s"), values)
        elapsed = time.perf_counter() - start
        count = con.execute("SELECT count(*) FROM customers").fetchone()[0]
    if count != len(rows):
        sys.exit(f"raw insert wrote {count} rows, expected {len(rows)}")
    return elapsed


class _ScratchPg:
    """Two throw-away PostgreSQL databases (import side, raw side), dropped afterwards."""

    def __init__(self, url: str):
        self.admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
        self.base = sa.engine.make_url(url)
        self.names = [f"qms_bench_{uuid.uuid4().hex[:8]}" for _ in range(2)]

    def __enter__(self) -> list[str]:
        with self.admin.connect() as conn:
            for name in self.names:
                conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        return [self.base.set(database=n).render_as_string(False) for n in self.names]

    def __exit__(self, *exc) -> None:
        with self.admin.connect() as conn:
            for name in self.names:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self.admin.dispose()


def compare(label: str, n: int, repeat: int, run_import, run_raw) -> float:
    imports, raws = [], []
    for i in range(repeat):
        imports.append(run_import(verify=i == 0))
        raws.append(run_raw())
    best_import, best_raw = min(imports), min(raws)
    ratio = best_raw / best_import
    pairs = sorted(r / i for i, r in zip(imports, raws, strict=True))

    def runs(times):
        return ", ".join(f"{t:.3f}" for t in times)

    print(f"[{label}] import_csv       {n / best_import:>9,.0f} rows/s  "
          f"(best {best_import:.3f} s; runs {runs(imports)} s)")
    print(f"[{label}] raw executemany  {n / best_raw:>9,.0f} rows/s  "
          f"(best {best_raw:.3f} s; runs {runs(raws)} s)")
    print(f"[{label}] ratio import / raw = {ratio:.2f}  (aim >= 0.50; run by run: median "
          f"{statistics.median(pairs):.2f}, {pairs[0]:.2f}-{pairs[-1]:.2f})", flush=True)
    return ratio


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each side; best counts")
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE,
                        help="import batch size (default: the importer's, %(default)s)")
    parser.add_argument("--pg", action="store_true", help="also run against PostgreSQL")
    parser.add_argument("--pg-url", default=PG_URL)
    args = parser.parse_args(argv)

    rows = generate_rows(args.rows)
    n = len(rows)
    ratios = []
    with tempfile.TemporaryDirectory(prefix="qms-bench-") as tmp:
        tmp = Path(tmp)
        csv_path = tmp / "customers.csv"
        write_csv(csv_path, rows)
        print(f"{n:,} generated customers, {csv_path.stat().st_size / 1e6:.1f} MB of CSV; "
              f"import batch size {args.batch_size}; best of {args.repeat} runs each; "
              f"SQLite {sqlite3.sqlite_version}", flush=True)

        def sqlite_import(verify):
            (tmp / "import.sqlite").unlink(missing_ok=True)
            return time_import(f"sqlite:///{tmp / 'import.sqlite'}", csv_path, args.batch_size,
                               rows, verify)

        ratios.append(compare("sqlite", n, args.repeat, sqlite_import,
                              lambda: time_raw_sqlite(tmp / "raw.sqlite", rows)))
        if args.pg:
            with _ScratchPg(args.pg_url) as (import_url, raw_url):
                ratios.append(compare(
                    "postgresql", n, args.repeat,
                    lambda verify: time_import(import_url, csv_path, args.batch_size, rows,
                                               verify),
                    lambda: time_raw_pg(raw_url, rows)))
    print(f"checked: {n:,} rows in the database after every import, each value after the first")
    return 0 if min(ratios) >= 0.5 else 1


if __name__ == "__main__":
    sys.exit(main())

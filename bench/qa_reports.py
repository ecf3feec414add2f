"""Benchmark: the QA report queries over 200,000 evaluations against the raw SQL they wrap.

    python -m bench.qa_reports [--evaluations 200000] [--repeat 3] [--pg] [--pg-url URL]

A temporary SQLite file (and, with --pg, a scratch PostgreSQL database) gets the app's tables
from the same metadata (same indexes) and generated data: 40 branches, 800 agents in four
teams, 20 graders, two rubrics (10 and 8 criteria), one interaction per evaluation, the
evaluations — 94% released, the rest calibration scores, replaced or open items that must not
count — with one criterion-score row per criterion (about 1.8 million), and disputes on 5%.

Each report of qms.qa.reports is timed as the service call (statement building, execution,
assembling the value objects, names and labels) and as the hand-written SQL GROUP BY queries it
wraps, run on the driver directly (sqlite3 / psycopg) with the rows fetched. Runs alternate;
the best of each side counts; the ratio is service / raw (1.00 = no overhead). The service's
figures are checked against the raw rows before anything is timed.
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from qms import create_app
from qms.extensions import db
from qms.qa import reports
from qms.qa.reports import ReportFilters

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
START = datetime(2025, 1, 1, tzinfo=UTC)
DAYS = 540
TEAMS = ("柜面", "理财", "大堂", "对公")
RUBRICS = ((1, "来电质检", "call", 10), (2, "网点质检", "branch_visit", 8))


# -- data ---------------------------------------------------------------------------------------

def _ts(moment: datetime, dialect: str):
    # SQLAlchemy stores SQLite datetimes as naive UTC text; hand sqlite3 the same.
    return moment.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f") \
        if dialect == "sqlite" else moment


def generate(n: int, dialect: str, seed: int = 2026) -> dict[str, tuple[list[str], list]]:
    """Rows per table as (columns, tuples), the same for the same seed and n."""
    rng = random.Random(seed)
    stamp = _ts(START, dialect)
    t: dict[str, tuple[list[str], list]] = {}
    t["branches"] = (["id", "code", "name", "region", "city", "timezone", "active", "created_at"],
                     [(b, f"B{b:03d}", f"测试支行{b}", "华东", "上海", "Asia/Shanghai", True, stamp)
                      for b in range(1, 41)])
    t["agents"] = (["id", "code", "name", "branch_id", "team", "active", "created_at"],
                   [(a, f"B{(a - 1) // 20 + 1:03d}-A{a:04d}", f"坐席{a}", (a - 1) // 20 + 1,
                     TEAMS[a % 4], True, stamp) for a in range(1, 801)])
    t["users"] = (["id", "email", "name", "password_hash", "active", "created_at"],
                  [(u, f"grader{u}@bank.test", f"质检员{u}", "!", True, stamp)
                   for u in range(1, 21)])
    t["rubrics"] = (["id", "name", "channel", "created_at"],
                    [(r, name, ch, stamp) for r, name, ch, _k in RUBRICS])
    t["rubric_versions"] = (["id", "rubric_id", "number", "definition", "created_at",
                             "published_at"],
                            [(r, r, 1, json.dumps(_definition(r, k)), stamp, stamp)
                             for r, _n, _c, k in RUBRICS])
    t["calibration_sessions"] = (["id", "name", "rubric_version_id", "interaction_ids",
                                  "grader_ids", "deadline", "created_at"],
                                 [(1, "校准", 1, "[]", "[1, 2]", stamp, stamp)])
    inter, evals, scores, disputes = [], [], [], []
    agent_skill = {a: rng.gauss(0, 0.5) for a in range(1, 801)}
    sid = 0
    for e in range(1, n + 1):
        agent = rng.randint(1, 800)
        branch = (agent - 1) // 20 + 1
        rubric = 1 if rng.random() < 0.5 else 2
        ncrit = RUBRICS[rubric - 1][3]
        at = START + timedelta(minutes=rng.randrange(DAYS * 24 * 60))
        inter.append((e, RUBRICS[rubric - 1][2], f"R{e:07d}", agent, branch, _ts(at, dialect),
                      300, "bench", stamp))
        roll = rng.random()
        status = ("acknowledged" if roll < 0.6 else "submitted" if roll < 0.94
                  else "replaced" if roll < 0.95 else "assigned" if roll < 0.98 else "submitted")
        calibration = 1 if roll >= 0.98 else None
        submitted = _ts(at + timedelta(days=2), dialect) if status not in ("replaced",
                                                                         "assigned") else None
        total, failed_all = None, False
        if submitted:
            earned_sum = 0.0
            for c in range(ncrit):
                sid += 1
                na = rng.random() < 0.08
                p_full = 0.8 + 0.1 * agent_skill[agent] - 0.04 * c
                earned = None if na else (5.0 if rng.random() < p_full else float(rng.randint(0, 4)))
                earned_sum += earned or 0
                scores.append((sid, e, f"s{c // 3}", f"r{rubric}_c{c:02d}", earned, 5.0, na,
                               not na and earned < 5))
            failed_all = rng.random() < 0.03
            total = 0.0 if failed_all else round(100 * earned_sum / (5 * ncrit), 2)
            if calibration is None and rng.random() < 0.05:
                disputes.append((len(disputes) + 1, e, 1, _ts(at + timedelta(days=5), dialect),
                                 "[]", "不同意", rng.choice(("open", "accepted",
                                                             "partly_accepted", "rejected"))))
        evals.append((e, e, rubric, rng.randint(1, 20), agent, branch, calibration, status,
                      total, failed_all, stamp, submitted, False))
    t["interactions"] = (["id", "channel", "external_ref", "agent_id", "branch_id",
                          "occurred_at", "duration_seconds", "source", "created_at"], inter)
    t["evaluations"] = (["id", "interaction_id", "rubric_version_id", "evaluator_id", "agent_id",
                         "branch_id", "calibration_session_id", "status", "total",
                         "auto_failed", "created_at", "submitted_at", "locked"], evals)
    t["criterion_scores"] = (["id", "evaluation_id", "section_key", "criterion_key", "earned",
                              "possible", "na", "failed"], scores)
    t["disputes"] = (["id", "evaluation_id", "raised_by_id", "raised_at", "criteria",
                      "comment", "status"], disputes)
    return t


def _definition(rubric: int, k: int) -> dict:
    return {"allow_above_100": False, "sections": [
        {"key": f"s{s}", "title": {"en": f"Section {s}"}, "weight": 0, "bonus": False,
         "criteria": [{"key": f"r{rubric}_c{c:02d}", "label": {"zh_Hans": f"评分项{c}",
                                                               "en": f"Criterion {c}"},
                       "kind": "scale", "max_points": 5}
                      for c in range(k) if c // 3 == s]}
        for s in range((k + 2) // 3)]}


ORDER = ("branches", "agents", "users", "rubrics", "rubric_versions", "calibration_sessions",
         "interactions", "evaluations", "criterion_scores", "disputes")


def load_sqlite(path: Path, data) -> None:
    engine = sa.create_engine(f"sqlite:///{path}")
    db.metadata.create_all(engine)
    engine.dispose()
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=WAL")
    with con:
        for table in ORDER:
            cols, rows = data[table]
            con.executemany(f"INSERT INTO {table} ({', '.join(cols)}) "
                            f"VALUES ({', '.join('?' * len(cols))})", rows)
    con.execute("ANALYZE")
    con.close()


def load_pg(url: str, data) -> None:
    import psycopg

    engine = sa.create_engine(url)
    db.metadata.create_all(engine)
    engine.dispose()
    dsn = sa.engine.make_url(url).set(drivername="postgresql").render_as_string(False)
    with psycopg.connect(dsn) as con:
        with con.cursor() as cur:
            for table in ORDER:
                cols, rows = data[table]
                with cur.copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            for table in ORDER:
                cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                            f"(SELECT max(id) FROM {table}))")
        con.commit()
        con.autocommit = True
        con.execute("VACUUM ANALYZE")


# -- the raw SQL the service wraps ---------------------------------------------------------------

COUNTED = ("e.status IN ('submitted', 'acknowledged') AND e.calibration_session_id IS NULL "
           "AND e.replaced_by_id IS NULL")


def _where(extra: str) -> str:
    return f"WHERE {COUNTED}{' AND ' + extra if extra else ''}"


def raw_stats(key: str | None, extra: str = "", join: str = "") -> str:
    k = f"{key} AS k, " if key else ""
    return (f"SELECT {k}count(e.id), count(e.total), sum(e.total), "
            f"sum(CASE WHEN e.auto_failed THEN 1 ELSE 0 END), count(d.evaluation_id) "
            f"FROM evaluations e LEFT JOIN (SELECT DISTINCT evaluation_id FROM disputes) d "
            f"ON d.evaluation_id = e.id {join} {_where(extra)}"
            f"{' GROUP BY ' + key if key else ''}")


def raw_disputes(key: str, extra: str = "", join: str = "") -> str:
    return (f"SELECT {key} AS k, d.status, count(d.id) FROM disputes d "
            f"JOIN evaluations e ON e.id = d.evaluation_id {join} {_where(extra)} "
            f"GROUP BY {key}, d.status")


def raw_criteria(key: str | None, extra: str = "", join: str = "") -> str:
    k = f"{key} AS k, " if key else ""
    g = f"{key}, " if key else ""
    return (f"SELECT {k}e.rubric_version_id, c.criterion_key, count(c.id), "
            f"sum(CASE WHEN c.failed THEN 1 ELSE 0 END) FROM criterion_scores c "
            f"JOIN evaluations e ON e.id = c.evaluation_id {join} "
            f"{_where(extra)} AND NOT c.na GROUP BY {g}e.rubric_version_id, c.criterion_key")


def raw_queries(dialect: str) -> dict[str, list[str]]:
    month = ("strftime('%Y-%m', e.submitted_at)" if dialect == "sqlite"
             else "to_char(timezone('UTC', e.submitted_at), 'YYYY-MM')")
    teams = "JOIN agents a ON a.id = e.agent_id"
    b3 = ("e.branch_id = 7 AND e.submitted_at >= '2026-04-01' AND e.submitted_at < '2026-07-01'")
    by = {"agent": ("e.agent_id", ""), "team": ("a.team", teams), "grader": ("e.evaluator_id", ""),
          "branch": ("e.branch_id", "")}

    def breakdown(dim: str, extra: str = "") -> list[str]:
        key, join = by[dim]
        return [raw_stats(key, extra, join), raw_disputes(key, extra, join),
                raw_criteria(key, extra, join)]

    return {
        "summary": [raw_stats(None)],
        "monthly trend": [raw_stats(month)],
        "by agent": breakdown("agent"),
        "by team": breakdown("team"),
        "by grader": breakdown("grader"),
        "most-failed criteria": [raw_criteria(None)],
        "1 branch, 3 months, by agent": breakdown("agent", b3),
        # the page sums the months and the groups for its totals and most-failed list
        "whole page (by branch)": [raw_stats(month), *breakdown("branch")],
    }


def service_calls() -> dict[str, Callable[[], object]]:
    f = ReportFilters()
    b3 = ReportFilters(branch_id=7, start=datetime(2026, 4, 1, tzinfo=UTC),
                       end=datetime(2026, 7, 1, tzinfo=UTC))
    return {
        "summary": lambda: reports.summary(f),
        "monthly trend": lambda: reports.monthly_trend(f),
        "by agent": lambda: reports.breakdown(f, "agent", locale="zh_Hans"),
        "by team": lambda: reports.breakdown(f, "team", locale="zh_Hans"),
        "by grader": lambda: reports.breakdown(f, "grader", locale="zh_Hans"),
        "most-failed criteria": lambda: reports.most_failed(f, locale="zh_Hans", limit=None),
        "1 branch, 3 months, by agent": lambda: reports.breakdown(b3, "agent", locale="zh_Hans"),
        "whole page (by branch)": lambda: reports.qa_report(f, by="branch", locale="zh_Hans"),
    }


# -- checking and timing ---------------------------------------------------------------------

def check(results: dict, raw: dict[str, list[list]]) -> None:
    """The service's figures equal the raw rows' (counts and sums)."""
    s = results["summary"]
    n, scored, total, failed, disputed = raw["summary"][0][0]
    assert (s.evaluations, s.scored, s.auto_failed, s.disputed) == (n, scored, failed, disputed)
    assert abs(s.score_sum - total) < 1e-6 * max(1, total)
    trend = results["monthly trend"]
    assert sum(p.stats.evaluations for p in trend) == n
    assert len([p for p in trend if p.stats.evaluations]) == len(raw["monthly trend"][0])
    for name in ("by agent", "by team", "by grader", "1 branch, 3 months, by agent"):
        rows = results[name]
        stats, disputes, criteria = raw[name]
        assert sum(r.stats.evaluations for r in rows) == sum(x[1] for x in stats), name
        assert sum(r.outcomes.total for r in rows) == sum(x[2] for x in disputes), name
        assert len(rows) == len(stats), name
        assert len(criteria) >= len(rows), name
    crit = results["most-failed criteria"]
    assert sum(c.scored for c in crit) == sum(x[2] for x in raw["most-failed criteria"][0])
    assert sum(c.failed for c in crit) == sum(x[3] for x in raw["most-failed criteria"][0])
    page = results["whole page (by branch)"]
    assert page.summary.evaluations == n and len(page.rows) == 40


def compare(label: str, app, run_raw, repeat: int) -> list[float]:
    calls = service_calls()
    with app.app_context():
        results = {name: call() for name, call in calls.items()}  # warm, and checked
        raw_rows = {name: run_raw(name) for name in calls}
        check(results, raw_rows)
        print(f"[{label}] checked: the service's counts and sums equal the raw SQL's",
              flush=True)
        print(f"[{label}] {'report':30} {'service':>9} {'raw SQL':>9} {'ratio':>6}")
        ratios = []
        for name, call in calls.items():
            service_t, raw_t = [], []
            for _ in range(repeat):
                t0 = time.perf_counter()
                call()
                service_t.append(time.perf_counter() - t0)
                db.session.rollback()  # nothing cached between runs but the database's own
                t0 = time.perf_counter()
                run_raw(name)
                raw_t.append(time.perf_counter() - t0)
            ratio = min(service_t) / min(raw_t)
            ratios.append(ratio)
            print(f"[{label}] {name:30} {min(service_t):8.3f}s {min(raw_t):8.3f}s "
                  f"{ratio:6.2f}", flush=True)
        db.session.remove()
        db.engine.dispose()
    return ratios


def make_app(url: str):
    return create_app({"TESTING": True, "SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": url,
                       "SCHEDULER_ENABLED": False, "SMTP_HOST": None})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--evaluations", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each side; best counts")
    parser.add_argument("--pg", action="store_true", help="also run against PostgreSQL")
    parser.add_argument("--pg-url", default=PG_URL)
    args = parser.parse_args(argv)

    worst = 0.0
    with tempfile.TemporaryDirectory(prefix="qms-bench-") as tmp:
        path = Path(tmp) / "qa.sqlite"
        t0 = time.perf_counter()
        data = generate(args.evaluations, "sqlite")
        load_sqlite(path, data)
        print(f"{args.evaluations:,} evaluations, {len(data['criterion_scores'][1]):,} "
              f"criterion scores, {len(data['disputes'][1]):,} disputes generated and loaded in "
              f"{time.perf_counter() - t0:.1f} s; SQLite {sqlite3.sqlite_version}; best of "
              f"{args.repeat}", flush=True)
        del data
        con = sqlite3.connect(path)
        queries = raw_queries("sqlite")
        ratios = compare("sqlite", make_app(f"sqlite:///{path}"),
                         lambda name: [con.execute(q).fetchall() for q in queries[name]],
                         args.repeat)
        con.close()
        worst = max(worst, max(ratios))
    if args.pg:
        worst = max(worst, _run_pg(args))
    print(f"worst ratio service / raw: {worst:.2f}")
    return 0


def _run_pg(args) -> float:
    import psycopg

    admin = sa.create_engine(args.pg_url, isolation_level="AUTOCOMMIT")
    name = f"qms_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.engine.make_url(args.pg_url).set(database=name).render_as_string(False)
    try:
        t0 = time.perf_counter()
        load_pg(url, generate(args.evaluations, "postgresql"))
        print(f"[postgresql] loaded in {time.perf_counter() - t0:.1f} s", flush=True)
        dsn = sa.engine.make_url(url).set(drivername="postgresql").render_as_string(False)
        with psycopg.connect(dsn) as con:
            queries = raw_queries("postgresql")
            ratios = compare("postgresql", make_app(url),
                             lambda q: [con.execute(s).fetchall() for s in queries[q]],
                             args.repeat)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    return max(ratios)


if __name__ == "__main__":
    sys.exit(main())

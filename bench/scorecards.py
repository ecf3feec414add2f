"""Benchmark: scorecards on a generated bank — KPI computation against raw SQL, PDFs per second
in one process and in a pool, and WeasyPrint against headless Chromium.

    python -m bench.scorecards [--scale 1.0] [--pdfs 40] [--repeat 3] [--no-chromium]

A temporary SQLite file gets the app's tables (same metadata, same indexes) and, at scale 1:
200 branches, 5,000 agents, 50,000 customers, 1,000,002 survey answers (CSAT, NPS and CES on
333,334 responses to 400,001 invitations), 120,000 interactions with 60,000 QA evaluations,
30,000 complaints, 6,000 mystery shops, audits and corrective actions, over the 14 months
around March 2026. The files are removed at the end (--keep leaves them).
--scale shrinks everything (0.05 runs in under a minute).

(a) K1's computation of every KPI of every branch and agent for 2026-03 with its 12-month
    trends (qms.scorecards.compute: `fetch_counts` = the source queries turned into counts;
    `compute_all` = everything a snapshot holds — values, normalisation, RAG, ranks, weakest
    items, complaint summary, audit lists — without writing snapshots), against the same
    figures' raw SQL GROUP BY queries run on sqlite3 with the rows fetched. Best of --repeat;
    ratio = service / raw. compute_period (with the snapshot writes) is timed once as well.
(b) PDFs per second: --pdfs branch scorecards rendered in this process and by the batch's
    pool of 2 processes (worker start-up included), force-rendered into a temp directory.
(c) one zh_Hans branch scorecard: the same HTML printed by WeasyPrint (warm), by headless
    Chromium started for the PDF (cold: launch, print, close) and by a Chromium kept running
    (warm: a new page per PDF), via Playwright with /usr/bin/chromium.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import shutil
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from qms import create_app
from qms.analytics import survey_metrics as sm
from qms.extensions import db

PERIOD = "2026-03"
NOW = datetime(2026, 4, 2, 1, 0, tzinfo=UTC)
FIRST = datetime(2025, 3, 1, tzinfo=UTC)  # 14 months: the 12-month window and one each side
SPAN = (datetime(2026, 5, 1, tzinfo=UTC) - FIRST).total_seconds()
WINDOW = ("2025-04-01 00:00:00.000000", "2026-04-01 00:00:00.000000")
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-dev-shm-usage"]


def ts(moment: datetime) -> str:
    """SQLAlchemy's SQLite text form of a UTC datetime (what UTCDateTime stores)."""
    return moment.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")


# -- data ------------------------------------------------------------------------------------

class Bank:
    def __init__(self, scale: float, seed: int = 2026):
        self.rng = random.Random(seed)
        self.branches = max(4, round(200 * scale))
        self.agents = max(4 * self.branches, round(5000 * scale))
        self.responses = max(300, math.ceil(1_000_000 * scale / 3))
        self.scale = scale
        self.stamp = ts(FIRST)

    def when(self) -> datetime:
        return FIRST + timedelta(seconds=self.rng.random() * SPAN)

    def agent(self) -> tuple[int, int]:
        a = self.rng.randint(1, self.agents)
        return a, (a - 1) * self.branches // self.agents + 1

    def tables(self):
        r, s = self.rng, self.stamp
        yield "branches", ["id", "code", "name", "region", "city", "timezone", "active",
                           "created_at"], [
            (b, f"B{b:03d}", f"测试支行{b}", ("华东", "华南", "华北", "西部")[b % 4], "上海",
             "Asia/Shanghai", True, s) for b in range(1, self.branches + 1)]
        yield "agents", ["id", "code", "name", "branch_id", "team", "active", "created_at"], [
            (a, f"A{a:05d}", f"坐席{a}", (a - 1) * self.branches // self.agents + 1, "柜面",
             True, s) for a in range(1, self.agents + 1)]
        yield "surveys", ["id", "kind", "title", "created_at"], [(1, "satisfaction", "满意度", s)]
        yield "survey_versions", ["id", "survey_id", "number", "definition", "created_at",
                                  "published_at"], [(1, 1, 1, '{"questions": []}', s, s)]
        yield "campaigns", ["id", "name", "version_id", "channel", "status", "link_valid_days",
                            "max_reminders", "contact_gap_days", "created_at"], [
            (1, "月度满意度", 1, "email", "running", 14, 1, 30, s)]
        n_cust = max(100, round(50_000 * self.scale))
        yield "customers", ["id", "ref", "name", "segment", "locale", "created_at",
                            "opted_out_at"], [
            (c, f"C{c:07d}", f"客户{c}", "standard", "zh_Hans", s,
             s if c % 50 == 0 else None) for c in range(1, n_cust + 1)]
        invitations, responses, answers = [], [], []
        n_inv = round(self.responses * 1.2)
        for i in range(1, n_inv + 1):
            a, b = self.agent()
            sent = self.when()
            status = "bounced" if r.random() < 0.03 else "sent"
            invitations.append((i, 1, r.randint(1, n_cust), b, a, "zh_Hans", f"{i:064x}",
                                status, s, ts(sent), 0))
            if len(responses) < self.responses and status == "sent" and r.random() < 0.86:
                rid = len(responses) + 1
                done = ts(sent + timedelta(hours=r.random() * 48))
                responses.append((rid, 1, 1, 1, i, b, a, "email", "zh_Hans", done, done, done))
                skill = (a % 7) / 10
                answers.append((3 * rid - 2, rid, "csat", "csat",
                                min(5, max(1, round(r.gauss(3.9 + skill, 0.9))))))
                answers.append((3 * rid - 1, rid, "nps", "nps",
                                min(10, max(0, round(r.gauss(7.6 + skill, 1.8))))))
                answers.append((3 * rid, rid, "ces", "ces", r.randint(3, 7)))
        yield "invitations", ["id", "campaign_id", "customer_id", "branch_id", "agent_id",
                              "locale",
                              "token_hash", "status", "created_at", "sent_at",
                              "reminders_sent"], invitations
        yield "responses", ["id", "version_id", "survey_id", "campaign_id", "invitation_id",
                            "branch_id", "agent_id", "channel", "locale", "started_at",
                            "updated_at", "completed_at"], responses
        yield "answers", ["id", "response_id", "question_key", "qtype", "num_value"], answers
        yield from self.qa_and_complaints()

    def qa_and_complaints(self):
        r, s, k = self.rng, self.stamp, self.scale
        yield "rubrics", ["id", "name", "created_at"], [(1, "来电质检", s)]
        yield "rubric_versions", ["id", "rubric_id", "number", "definition", "created_at",
                                  "published_at"], [(1, 1, 1, '{"sections": []}', s, s)]
        inter, evals = [], []
        for i in range(1, max(50, round(120_000 * k)) + 1):
            a, b = self.agent()
            at = self.when()
            inter.append((i, "call", f"R{i:08d}", a, b, ts(at), "bench", s))
            if i % 2 == 0:
                status = "acknowledged" if r.random() < 0.95 else "assigned"
                sub = ts(at + timedelta(days=2)) if status != "assigned" else None
                failed = r.random() < 0.03
                evals.append((i // 2, i, 1, a, b, status, failed, s, False,
                              0.0 if failed else round(r.uniform(60, 100), 2), sub, "{}"))
        yield "interactions", ["id", "channel", "external_ref", "agent_id", "branch_id",
                               "occurred_at", "source", "created_at"], inter
        yield "evaluations", ["id", "interaction_id", "rubric_version_id", "agent_id",
                              "branch_id", "status", "auto_failed", "created_at", "locked",
                              "total", "submitted_at", "answers"], evals
        complaints = []
        for c in range(1, max(40, round(30_000 * k)) + 1):
            a, b = self.agent()
            got = self.when()
            closed = got + timedelta(days=r.uniform(1, 30)) if r.random() < 0.85 else None
            complaints.append((
                c, f"C{c:08d}", "CLOSED" if closed else "INVESTIGATING", "CN-15", "客户",
                "zh_Hans", "normal", "normal", "服务态度", "api", "phone", ts(got), ts(got), s,
                0, 0, 0, 1, b, a, (got + timedelta(days=15)).date().isoformat(),
                ts(closed) if closed else None,
                r.choice(("upheld", "partly_upheld", "rejected")) if closed else None))
        yield "complaints", ["id", "reference", "status", "policy_code", "complainant_name",
                             "complainant_locale", "severity", "priority", "description",
                             "source", "intake_channel", "received_at", "clock_started_at",
                             "created_at", "extension_level", "paused_days", "escalated_pct",
                             "history_length", "branch_id", "agent_id", "due_on", "closed_at",
                             "outcome"], complaints
        shops = []
        for i in range(1, max(20, round(6000 * k)) + 1):
            a, b = self.agent()
            at = self.when()
            shops.append((i, 1, 1, b, a, ts(at), ts(at), ts(at), "approved", "{}", False, s,
                          round(r.uniform(55, 100), 1), ts(at)))
        yield "shop_assignments", ["id", "wave_id", "version_id", "branch_id", "agent_id",
                                   "window_start", "window_end", "due_at", "status", "answers",
                                   "auto_failed", "created_at", "score", "approved_at"], shops
        audits, actions = [], []
        for b in range(1, self.branches + 1):
            for m in range(14):
                at = FIRST + timedelta(days=30.4 * m + r.uniform(0, 25))
                audits.append((len(audits) + 1, 1, b, f"{at:%Y-%m}", "submitted", ts(at), ts(at),
                               "{}", "{}", False, s, round(r.uniform(70, 100), 1), ts(at)))
                if r.random() < 0.3:
                    due = at + timedelta(days=20)
                    done = due + timedelta(days=r.uniform(-10, 40)) if r.random() < 0.8 else None
                    actions.append((len(actions) + 1, len(actions) + 1, b, ts(due),
                                    "done" if done else "open", 0, ts(at),
                                    ts(done) if done else None))
        yield "audits", ["id", "template_version_id", "branch_id", "period", "status",
                         "planned_at", "due_at", "answers", "comments", "auto_failed",
                         "created_at", "score", "submitted_at"], audits
        yield "corrective_actions", ["id", "finding_id", "branch_id", "due_at", "status",
                                     "escalation_level", "created_at", "done_at"], actions


def load(path: Path, bank: Bank) -> dict[str, int]:
    engine = sa.create_engine(f"sqlite:///{path}")
    db.metadata.create_all(engine)
    engine.dispose()
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=WAL")
    counts = {}
    with con:
        for table, cols, rows in bank.tables():
            con.executemany(f"INSERT INTO {table} ({', '.join(cols)}) "
                            f"VALUES ({', '.join('?' * len(cols))})", rows)
            counts[table] = len(rows)
    con.execute("ANALYZE")
    con.close()
    return counts


# -- (a) the raw SQL of the same figures ---------------------------------------------------

def raw_queries(k: str, scope: str) -> list[str]:
    qs = [
        f"SELECT r.{k}, strftime('%Y-%m', r.completed_at), a.qtype, count(a.id), "
        f"sum(CASE WHEN (a.qtype = 'nps' AND a.num_value >= {sm.NPS_PROMOTER_MIN}) OR "
        f"(a.qtype = 'csat' AND a.num_value >= {sm.CSAT_SATISFIED_MIN}) THEN 1 ELSE 0 END), "
        f"sum(CASE WHEN a.qtype = 'nps' AND a.num_value <= {sm.NPS_DETRACTOR_MAX} THEN 1 "
        f"ELSE 0 END), sum(a.num_value) FROM answers a JOIN responses r ON r.id = a.response_id "
        f"JOIN surveys s ON s.id = r.survey_id WHERE s.kind = 'satisfaction' AND r.{k} IS NOT "
        f"NULL AND r.completed_at >= :start AND r.completed_at < :end AND a.qtype IN ('csat', "
        f"'nps', 'ces') AND a.num_value IS NOT NULL GROUP BY 1, 2, 3",
        f"SELECT i.{k}, strftime('%Y-%m', i.sent_at), count(i.id), count(r.id) FROM "
        f"invitations i JOIN campaigns c ON c.id = i.campaign_id JOIN survey_versions v ON "
        f"v.id = c.version_id JOIN surveys s ON s.id = v.survey_id LEFT JOIN customers cu ON "
        f"cu.id = i.customer_id LEFT JOIN responses r ON r.invitation_id = i.id AND "
        f"r.completed_at IS NOT NULL WHERE s.kind = 'satisfaction' AND i.{k} IS NOT NULL AND "
        f"i.sent_at >= :start AND i.sent_at < :end AND i.status NOT IN ('pending', 'sending', "
        f"'bounced', 'failed', 'suppressed') AND cu.opted_out_at IS NULL GROUP BY 1, 2",
        f"SELECT {k}, strftime('%Y-%m', submitted_at), count(id), count(total), sum(total), "
        f"sum(CASE WHEN auto_failed THEN 1 ELSE 0 END) FROM evaluations WHERE status IN "
        f"('submitted', 'acknowledged') AND calibration_session_id IS NULL AND replaced_by_id "
        f"IS NULL AND submitted_at >= :start AND submitted_at < :end GROUP BY 1, 2",
        f"SELECT {k}, strftime('%Y-%m', occurred_at), count(id) FROM interactions WHERE "
        f"occurred_at >= :start AND occurred_at < :end GROUP BY 1, 2",
        f"SELECT {k}, strftime('%Y-%m', received_at), count(id) FROM complaints WHERE {k} IS "
        f"NOT NULL AND received_at >= :start AND received_at < :end AND status NOT IN "
        f"('MERGED') GROUP BY 1, 2",
        f"SELECT c.{k}, strftime('%Y-%m', c.closed_at), c.outcome, c.due_on IS NOT NULL, "
        f"c.due_on IS NOT NULL AND date(c.closed_at, '+28800 seconds') <= c.due_on, "
        f"julianday(c.closed_at) - julianday(c.received_at) FROM complaints c LEFT JOIN "
        f"branches b ON b.id = c.branch_id WHERE c.{k} IS NOT NULL AND c.closed_at >= :start "
        f"AND c.closed_at < :end",
        f"SELECT {k}, strftime('%Y-%m', approved_at), count(score), sum(score) FROM "
        f"shop_assignments WHERE status = 'approved' AND {k} IS NOT NULL AND approved_at >= "
        f":start AND approved_at < :end AND score IS NOT NULL GROUP BY 1, 2",
    ]
    if scope == "branch":
        qs += [
            "SELECT branch_id, strftime('%Y-%m', submitted_at), count(score), sum(score) FROM "
            "audits WHERE status IN ('submitted', 'closed') AND submitted_at >= :start AND "
            "submitted_at < :end AND score IS NOT NULL GROUP BY 1, 2",
            "SELECT branch_id, created_at, due_at, coalesce(done_at, closed_at) FROM "
            "corrective_actions WHERE due_at < :end AND created_at < :end AND "
            "(coalesce(done_at, closed_at) IS NULL OR coalesce(done_at, closed_at) >= :start)",
        ]
    return qs


def time_raw(path: Path) -> tuple[float, int]:
    con = sqlite3.connect(path)
    params = {"start": WINDOW[0], "end": WINDOW[1]}
    t = time.perf_counter()
    rows = 0
    for k, scope in (("branch_id", "branch"), ("agent_id", "agent")):
        for q in raw_queries(k, scope):
            rows += len(con.execute(q, params).fetchall())
    elapsed = time.perf_counter() - t
    return elapsed, rows


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
        db.session.remove()  # no identity map carried from one run to the next
    return min(times)


def bench_compute(path: Path, repeat: int) -> dict:
    from qms.scorecards import compute
    from qms.scorecards.scorecard_models import ensure_default_models
    from qms.scorecards.snapshots import compute_period

    versions = ensure_default_models(NOW)
    db.session.commit()
    w = compute.window(PERIOD)

    def counts():
        for scope in ("branch", "agent"):
            compute.fetch_counts(scope, db.session.merge(versions[scope]), w)

    def everything():
        vs = {s: db.session.merge(v) for s, v in versions.items()}
        return compute.compute_all(PERIOD, vs, now=NOW)

    results = everything()  # warm: the page cache holds the tables, as in production
    raw = []
    service_counts, service_all = [], []
    for _ in range(repeat):  # alternate the sides so neither gets a warmer cache
        raw.append(time_raw(path)[0])
        service_counts.append(best(counts, 1))
        service_all.append(best(everything, 1))
    t = time.perf_counter()
    snaps = compute_period(PERIOD, now=NOW)
    db.session.commit()
    with_writes = time.perf_counter() - t
    return {"raw": min(raw), "raw_rows": time_raw(path)[1], "counts": min(service_counts),
            "all": min(service_all), "with_writes": with_writes, "snapshots": len(snaps),
            "entities": len(results)}


# -- (b) PDFs per second --------------------------------------------------------------------

def bench_pdfs(app, n: int, out: Path) -> dict:
    from concurrent.futures import ProcessPoolExecutor

    from qms.scorecards import batch

    jobs = [j for j in batch.plan(PERIOD, out) if j.scope == "branch"][:n]
    batch.render_period(PERIOD, out / "warm", workers=1, locale="zh_Hans", force=True,
                        jobs=[batch.PdfJob(j.snapshot_id, j.scope, j.code, j.content_hash,
                                           str(out / "warm.pdf")) for j in jobs[:1]])
    t = time.perf_counter()
    one = batch.render_period(PERIOD, out, workers=1, locale="zh_Hans", force=True, jobs=jobs)
    single = time.perf_counter() - t
    t = time.perf_counter()
    two = batch.render_period(PERIOD, out, workers=2, locale="zh_Hans", force=True, jobs=jobs)
    pool = time.perf_counter() - t
    assert not one.failed and not two.failed, (one.failed, two.failed)
    # the same pool once its workers are up (create_app and imports done)
    config = batch.worker_config(app)
    with ProcessPoolExecutor(2, initializer=batch._init_worker, initargs=(config,)) as ex:
        scratch = [batch.PdfJob(j.snapshot_id, j.scope, j.code, j.content_hash,
                                str(out / f"w{i}.pdf")) for i, j in enumerate(jobs[:2])]
        list(ex.map(batch._work, scratch, ["zh_Hans"] * 2))
        t = time.perf_counter()
        list(ex.map(batch._work, jobs, ["zh_Hans"] * len(jobs)))
        warm_pool = time.perf_counter() - t
    return {"n": len(jobs), "single": single, "pool": pool, "warm_pool": warm_pool,
            "size": sum(Path(j.path).stat().st_size for j in jobs) / len(jobs)}


# -- (c) WeasyPrint against Chromium ----------------------------------------------------------

def bench_engines(repeat: int, chromium: bool) -> dict:
    from qms.scorecards.batch import plan
    from qms.scorecards.models import ScorecardSnapshot
    from qms.scorecards.pdf import html_to_pdf, render_html

    job = next(j for j in plan(PERIOD, Path("/nonexistent")) if j.scope == "branch")
    html = render_html(db.session.get(ScorecardSnapshot, job.snapshot_id), locale="zh_Hans")
    html_to_pdf(html)
    weasy = []
    for _ in range(max(3, repeat)):
        t = time.perf_counter()
        pdf = html_to_pdf(html)
        weasy.append(time.perf_counter() - t)
    out = {"weasy": min(weasy), "weasy_size": len(pdf)}
    if not chromium or not Path(CHROMIUM).exists():
        return out
    from playwright.sync_api import sync_playwright

    def print_pdf(browser) -> bytes:
        page = browser.new_page()
        page.set_content(html, wait_until="load")
        data = page.pdf(format="A4", print_background=True, prefer_css_page_size=True)
        page.close()
        return data

    with sync_playwright() as pw:
        cold = []
        for _ in range(max(3, repeat)):
            t = time.perf_counter()
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            data = print_pdf(browser)
            browser.close()
            cold.append(time.perf_counter() - t)
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        print_pdf(browser)
        warm = []
        for _ in range(max(5, repeat)):
            t = time.perf_counter()
            data = print_pdf(browser)
            warm.append(time.perf_counter() - t)
        browser.close()
    out.update(cold=min(cold), warm=min(warm), chromium_size=len(data))
    return out


# -- main -------------------------------------------------------------------------------------

def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--pdfs", type=int, default=40)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-chromium", action="store_true")
    ap.add_argument("--keep", action="store_true", help="keep the generated files")
    args = ap.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="qms-bench-scorecards-"))
    try:
        return run(args, tmp)
    finally:
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def run(args, tmp: Path) -> int:
    path = tmp / "bank.sqlite"
    bank = Bank(args.scale)
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}", "SECRET_KEY": "bench",
                      "TESTING": True, "OUTBOX_DIR": str(tmp / "outbox")})  # imports the models
    t = time.perf_counter()
    counts = load(path, bank)
    print(f"generated in {time.perf_counter() - t:.1f} s: " + json.dumps(counts))
    with app.app_context():
        a = bench_compute(path, args.repeat)
        print(f"(a) KPIs of {a['entities']} branches and agents for {PERIOD}, 12-month trends")
        print(f"    raw SQL GROUP BY (sqlite3, {a['raw_rows']} rows fetched): {a['raw']:.3f} s")
        print(f"    fetch_counts (source queries -> counts): {a['counts']:.3f} s  "
              f"ratio {a['counts'] / a['raw']:.2f}")
        print(f"    compute_all (no snapshot writes): {a['all']:.3f} s  "
              f"ratio {a['all'] / a['raw']:.2f}  (aim <= 1.5)")
        print(f"    compute_period (with {a['snapshots']} snapshot writes, once): "
              f"{a['with_writes']:.3f} s")
        b = bench_pdfs(app, args.pdfs, tmp / "pdfs")
        print(f"(b) {b['n']} zh_Hans branch PDFs (avg {b['size'] / 1024:.0f} KB)")
        print(f"    one process: {b['n'] / b['single']:.2f} PDF/s")
        print(f"    pool of 2 incl. start-up: {b['n'] / b['pool']:.2f} PDF/s  "
              f"ratio {b['single'] / b['pool']:.2f}")
        print(f"    pool of 2 warm: {b['n'] / b['warm_pool']:.2f} PDF/s  "
              f"ratio {b['single'] / b['warm_pool']:.2f}  (aim >= 1.7)")
        c = bench_engines(args.repeat, not args.no_chromium)
        print(f"(c) one zh_Hans scorecard: WeasyPrint {c['weasy']:.3f} s "
              f"({c['weasy_size'] / 1024:.0f} KB)")
        if "cold" in c:
            print(f"    Chromium started per PDF: {c['cold']:.3f} s  "
                  f"ratio {c['cold'] / c['weasy']:.2f}")
            print(f"    Chromium kept warm: {c['warm']:.3f} s  ratio {c['warm'] / c['weasy']:.2f}"
                  f"  ({c['chromium_size'] / 1024:.0f} KB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

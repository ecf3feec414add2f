"""Benchmark: customers answering surveys from personal links, against a bare Flask + SQLite app.

    python -m bench.survey_submit [--links 3000] [--clients 8] [--workers 2]

Both sites run under gunicorn (sync workers) on loopback, on a temporary SQLite file in WAL
mode. Each client takes a distinct personal link and does what a phone does: GET the form,
then POST the answers (the QMS site validates them against the survey version, claims the
invitation, stores the response with its answer rows and, for detractors, a follow-up). The
bare app does the same GET + POST pattern, and each of its requests inserts one row: that is
the ceiling of "Flask + SQLite on this machine". Printed for both: submissions (GET + POST
pairs) per second, p50 and p99 of a pair's latency, the server's CPU time per submission
(gunicorn master and workers, from /proc); then the ratio (aim: >= 0.5). Every accepted
submission is checked to be in the database.
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent


def L(zh_hans: str, zh_hant: str, en: str) -> dict:
    return {"zh_Hans": zh_hans, "zh_Hant": zh_hant, "en": en}


DEFINITION = {
    "title": L("网点服务满意度调查", "網點服務滿意度調查", "Branch service survey"),
    "thanks": L("感谢您的反馈！", "感謝您的回饋！", "Thank you!"),
    "sections": [{"key": "main", "questions": [
        {"key": "csat", "type": "csat", "required": True, "label": L("满意度", "滿意度", "CSAT")},
        {"key": "nps", "type": "nps", "required": True, "label": L("推荐", "推薦", "NPS")},
        {"key": "why", "type": "textarea", "label": L("原因", "原因", "Why?"),
         "condition": {"q": "nps", "op": "at_most", "value": 6}},
        {"key": "ces", "type": "ces", "label": L("省力", "省力", "Effort")},
        {"key": "purpose", "type": "single", "required": True, "label": L("目的", "目的", "Purpose"),
         "options": [{"key": "deposit", "label": L("存款", "存款", "Deposit")},
                     {"key": "loan", "label": L("贷款", "貸款", "Loan")}]},
        {"key": "channels", "type": "multiple", "label": L("渠道", "渠道", "Channels"),
         "options": [{"key": "app", "label": L("手机银行", "手機銀行", "App")},
                     {"key": "atm", "label": L("自助设备", "自助設備", "ATM")},
                     {"key": "phone", "label": L("电话", "電話", "Phone")}]},
        {"key": "waited", "type": "yesno", "label": L("排队", "排隊", "Waited?")},
        {"key": "comment", "type": "text", "label": L("建议", "建議", "Comment")},
    ]}],
}


def answers_for(rng: random.Random) -> dict:
    nps = rng.randint(0, 10)
    form = {"q_csat": rng.randint(1, 5), "q_nps": nps, "q_ces": rng.randint(1, 7),
            "q_purpose": rng.choice(["deposit", "loan"]), "q_channels": ["app", "atm"],
            "q_waited": rng.choice(["yes", "no"]), "q_comment": "柜员很耐心", "action": "submit"}
    if nps <= 6:
        form["q_why"] = "排队时间太长"
    return form


# -- the QMS site's database ------------------------------------------------------------------------

def prepare_qms(db_url: str, links: int) -> list[tuple[str, int]]:
    """A fresh database with one running campaign and `links` invitations; their tokens."""
    import sqlalchemy as sa

    from qms import create_app
    from qms.core.db import now_utc
    from qms.core.tokens import hash_token, new_token
    from qms.extensions import db
    from qms.org.models import Branch
    from qms.surveys.models import Campaign, Invitation, Survey, SurveyVersion

    app = create_app({"SQLALCHEMY_DATABASE_URI": db_url, "SECRET_KEY": "bench",
                      "SCHEDULER_ENABLED": False})
    with app.app_context():
        db.create_all()
        branch = Branch(code="B001", name="测试支行", region="华东", city="上海")
        survey = Survey(title="bench")
        db.session.add_all([branch, survey])
        db.session.flush()
        version = SurveyVersion(survey_id=survey.id, number=1, definition=DEFINITION,
                                published_at=now_utc())
        db.session.add(version)
        db.session.flush()
        campaign = Campaign(name="bench", version_id=version.id, channel="email", status="running")
        db.session.add(campaign)
        db.session.flush()
        tokens = [new_token() for _ in range(links)]
        now = now_utc()
        db.session.execute(Invitation.__table__.insert(), [
            {"campaign_id": campaign.id, "branch_id": branch.id, "locale": "zh_Hans",
             "token_hash": hash_token(t), "status": "sent", "reminders_sent": 0,
             "created_at": now, "sent_at": now}
            for t in tokens])
        db.session.commit()
        ids = dict(db.session.execute(sa.select(Invitation.token_hash, Invitation.id)).all())
        db.engine.dispose()
    return [(t, ids[hash_token(t)]) for t in tokens]


def verify_qms(db_path: Path, accepted: list[int]) -> str:
    """Every accepted submission is stored, once, with its answers; nothing else is."""
    conn = sqlite3.connect(db_path)
    stored = [r[0] for r in conn.execute(
        "SELECT invitation_id FROM responses WHERE completed_at IS NOT NULL")]
    claimed = conn.execute(
        "SELECT count(*) FROM invitations WHERE completed_at IS NOT NULL").fetchone()[0]
    bare_responses = conn.execute(
        "SELECT count(*) FROM responses r WHERE NOT EXISTS "
        "(SELECT 1 FROM answers a WHERE a.response_id = r.id)").fetchone()[0]
    answers = conn.execute("SELECT count(*) FROM answers").fetchone()[0]
    follow_ups = conn.execute("SELECT count(*) FROM follow_ups").fetchone()[0]
    conn.close()
    assert sorted(stored) == sorted(accepted), (
        f"{len(accepted)} submissions accepted, {len(stored)} responses stored")
    assert claimed == len(accepted), f"{claimed} invitations completed"
    assert bare_responses == 0, f"{bare_responses} responses without answers"
    return (f"{len(stored)} responses, {answers} answers, {follow_ups} follow-ups stored; "
            "every accepted submission is there")


# -- the bare baseline ---------------------------------------------------------------------------------

def bare_app():
    """gunicorn 'bench.survey_submit:bare_app()': Flask + one SQLite INSERT per request, on one
    connection per worker kept open (WAL, synchronous=NORMAL, busy timeout), autocommit."""
    from flask import Flask, request

    app = Flask("bare")
    local = threading.local()

    def conn() -> sqlite3.Connection:
        c = getattr(local, "conn", None)
        if c is None:
            c = sqlite3.connect(os.environ["BENCH_BARE_DB"], timeout=30, isolation_level=None)
            c.execute("PRAGMA journal_mode=WAL")
            c.execute("PRAGMA synchronous=NORMAL")
            local.conn = c
        return c

    @app.route("/b/<token>", methods=["GET", "POST"])
    def hit(token):
        conn().execute("INSERT INTO hits (token, method, body, at) VALUES (?, ?, ?, ?)",
                       (token, request.method, request.get_data(as_text=True), time.time()))
        if request.method == "POST":
            return "", 303, {"Location": f"/b/{token}/thanks"}
        return "<!doctype html><title>bare</title><form method=post></form>"

    return app


def prepare_bare(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE hits (id INTEGER PRIMARY KEY, token TEXT, method TEXT, body TEXT, "
                 "at REAL)")
    conn.commit()
    conn.close()


# -- servers and clients -------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_gunicorn(app_spec: str, workers: int, env: dict) -> tuple[subprocess.Popen, int]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-w", str(workers), "-b", f"127.0.0.1:{port}",
         "--log-level", "warning", app_spec],
        cwd=ROOT, env={**os.environ, **env})
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return proc, port
        except OSError:
            if proc.poll() is not None:
                sys.exit(f"gunicorn {app_spec} exited with {proc.returncode}")
            time.sleep(0.1)
    proc.terminate()
    sys.exit(f"gunicorn {app_spec} did not start")


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()


def server_cpu(pid: int) -> float:
    """CPU seconds used so far by a gunicorn master and its workers (Linux /proc; 0 elsewhere)."""
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    total = 0
    try:
        entries = os.listdir("/proc")
    except OSError:
        return 0.0
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()  # after "pid (comm) "
        if int(entry) == pid or int(fields[1]) == pid:  # fields[1]: the parent's pid
            total += int(fields[11]) + int(fields[12])  # utime + stime
    return total / tick


@dataclass
class Run:
    latencies: list[float] = field(default_factory=list)  # seconds per GET + POST pair
    accepted: list[int] = field(default_factory=list)     # ids of the links answered
    failures: list[str] = field(default_factory=list)
    elapsed: float = 0.0
    server_cpu: float = 0.0  # CPU seconds the site's processes used meanwhile

    def figures(self) -> tuple[float, float, float]:
        lat = sorted(self.latencies)
        pick = (lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] * 1000) if lat else (
            lambda q: float("nan"))
        return len(lat) / self.elapsed, pick(0.50), pick(0.99)


def request(conn_port: int, method: str, path: str, body: bytes | None = None) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", conn_port, timeout=60)
    try:
        headers = {"Content-Type": "application/x-www-form-urlencoded"} if body else {}
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        resp.read()
        return resp.status
    finally:
        conn.close()


def drive(port: int, prefix: str, links: list[tuple[str, int]], clients: int, seed: int,
          server_pid: int | None = None) -> Run:
    """`clients` threads answer the links, each link once: GET, then POST."""
    run = Run()
    cpu_before = server_cpu(server_pid) if server_pid else 0.0
    lock = threading.Lock()
    queue = iter(enumerate(links))
    bodies = [urlencode(answers_for(random.Random(seed + i)), doseq=True).encode()
              for i in range(len(links))]

    def client() -> None:
        while True:
            with lock:
                item = next(queue, None)
            if item is None:
                return
            i, (token, link_id) = item
            start = time.perf_counter()
            got = request(port, "GET", f"{prefix}/{token}")
            sent = request(port, "POST", f"{prefix}/{token}", bodies[i])
            took = time.perf_counter() - start
            with lock:
                if got == 200 and sent == 303:
                    run.latencies.append(took)
                    run.accepted.append(link_id)
                else:
                    run.failures.append(f"{token[:6]}: GET {got}, POST {sent}")

    threads = [threading.Thread(target=client) for _ in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    run.elapsed = time.perf_counter() - start
    if server_pid:
        run.server_cpu = server_cpu(server_pid) - cpu_before
    return run


def merge(runs: list[Run]) -> Run:
    total = Run()
    for r in runs:
        total.latencies += r.latencies
        total.accepted += r.accepted
        total.failures += r.failures
        total.elapsed += r.elapsed
        total.server_cpu += r.server_cpu
    return total


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--links", type=int, default=3000, help="personal links answered per site")
    ap.add_argument("--clients", type=int, default=8, help="concurrent clients")
    ap.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    ap.add_argument("--rounds", type=int, default=6,
                    help="the sites take turns, so that a busy machine weighs on both alike")
    ap.add_argument("--warmup", type=int, default=50, help="untimed submissions first")
    args = ap.parse_args(argv)
    chunk = max(1, args.links // args.rounds)
    n = chunk * args.rounds + args.warmup

    with tempfile.TemporaryDirectory(prefix="qms-bench-") as tmp:
        tmp = Path(tmp)
        qms_db, bare_db = tmp / "qms.sqlite", tmp / "bare.sqlite"
        links = prepare_qms(f"sqlite:///{qms_db}", n)
        prepare_bare(bare_db)
        bare_links = [(f"t{i:06d}", i) for i in range(n)]
        env = {"QMS_DATABASE_URL": f"sqlite:///{qms_db}", "QMS_SECRET_KEY": "bench",
               "QMS_RATELIMIT_PUBLIC": "off", "QMS_SCHEDULER_ENABLED": "0",
               "QMS_SESSION_COOKIE_SECURE": "0"}
        qms_proc, qms_port = start_gunicorn("qms:create_app()", args.workers, env)
        bare_proc, bare_port = start_gunicorn("bench.survey_submit:bare_app()", args.workers,
                                              {"BENCH_BARE_DB": str(bare_db)})
        try:
            warm = drive(qms_port, "/s", links[:args.warmup], args.clients, seed=0)
            drive(bare_port, "/b", bare_links[:args.warmup], args.clients, seed=0)
            qms_runs, bare_runs = [], []
            for r in range(args.rounds):
                part = slice(args.warmup + r * chunk, args.warmup + (r + 1) * chunk)
                qms_runs.append(drive(qms_port, "/s", links[part], args.clients, seed=r + 1,
                                      server_pid=qms_proc.pid))
                bare_runs.append(drive(bare_port, "/b", bare_links[part], args.clients, seed=r + 1,
                                       server_pid=bare_proc.pid))
        finally:
            stop(qms_proc)
            stop(bare_proc)
        qms, bare = merge(qms_runs), merge(bare_runs)
        for name, run in (("QMS", qms), ("bare", bare)):
            if run.failures:
                sys.exit(f"{name}: {len(run.failures)} submissions failed, e.g. {run.failures[:3]}")
        note = verify_qms(qms_db, warm.accepted + qms.accepted)
        with sqlite3.connect(bare_db) as conn:
            rows = conn.execute("SELECT count(*) FROM hits").fetchone()[0]
        assert rows == 2 * n, f"bare app stored {rows} rows, expected {2 * n}"

    print(f"survey submissions: {chunk * args.rounds} personal links per site in {args.rounds} "
          f"alternating rounds, {args.clients} clients, gunicorn {args.workers} sync workers, "
          f"SQLite WAL, loopback; one submission = GET form + POST answers")
    print(f"{'':34}{'submissions/s':>14}{'p50 ms':>9}{'p99 ms':>9}{'CPU ms':>8}   per round /s")
    for name, run, runs in (("QMS /s/<token> (validate + store)", qms, qms_runs),
                            ("bare Flask, 1 INSERT per request", bare, bare_runs)):
        rate, p50, p99 = run.figures()
        rounds = " ".join(f"{r.figures()[0]:.0f}" for r in runs)
        cpu = run.server_cpu / len(run.latencies) * 1000 if run.latencies else float("nan")
        print(f"{name:34}{rate:14.1f}{p50:9.1f}{p99:9.1f}{cpu:8.2f}   {rounds}")
    ratio = qms.figures()[0] / bare.figures()[0]
    print(f"ratio QMS / bare: {ratio:.2f} (aim >= 0.50)")
    print(note)


if __name__ == "__main__":
    main()

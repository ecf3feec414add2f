"""The run log of scheduled jobs, retries, abandoned runs, the admin pages and the process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from qms import jobs
from qms.core import jobruns
from qms.core.jobruns import JobRun
from qms.extensions import db as _db
from qms.org.models import Branch

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


@pytest.fixture
def register():
    """register("id", func, "cron", hour=3): a job for this test only."""
    added = []

    def add(job_id, func, trigger="interval", **args):
        args = args or {"minutes": 15}
        jobs.job(job_id, trigger, f"test job {job_id}", **args)(func)
        added.append(job_id)
        return job_id

    yield add
    for job_id in added:
        jobs.JOBS.pop(job_id, None)


def runs(job_id) -> list[JobRun]:
    _db.session.expire_all()
    return list(_db.session.scalars(sa.select(JobRun).where(JobRun.job_id == job_id)
                                    .order_by(JobRun.id)))


def add_branch(code):
    _db.session.add(Branch(code=code, name=f"支行{code}", region="华东", city="上海"))
    _db.session.flush()


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


# -- the log --------------------------------------------------------------------------------

def test_a_run_is_recorded_with_outcome_items_and_now(app, register):
    def sweep(now):
        add_branch("J1")
        return 4

    register("t-ok", sweep)
    assert jobs.run_job("t-ok", T0) == 4
    [run] = runs("t-ok")
    assert (run.outcome, run.items, run.trigger, run.as_of) == ("ok", 4, "manual", T0)
    assert run.pid == os.getpid() and run.host == jobruns.this_host() and run.error is None
    assert run.started_at <= run.finished_at and run.duration >= timedelta(0)
    assert _db.session.scalar(sa.select(Branch.code)) == "J1"  # the job's work committed


def test_the_running_row_is_committed_before_the_job_starts(app, register):
    seen = []

    def sweep(now):
        # another connection sees the row: it was committed, not merely flushed
        with _db.engine.connect() as other:
            seen.extend(other.execute(sa.text(
                "SELECT outcome FROM job_runs WHERE job_id = 't-peek'")).scalars())
        return 0

    register("t-peek", sweep)
    jobs.run_job("t-peek", T0)
    assert seen == ["running"]
    assert [r.outcome for r in runs("t-peek")] == ["ok"]


def test_a_failing_job_leaves_a_failed_run_and_its_work_rolled_back(app, register):
    def sweep(now):
        add_branch("J2")
        raise RuntimeError("the core banking feed is down")

    register("t-fail", sweep)
    result = jobs.execute("t-fail", T0)
    assert result.outcome == "failed" and "the core banking feed is down" in result.error
    with pytest.raises(jobs.JobFailed):
        jobs.run_job("t-fail", T0)
    assert _db.session.scalar(sa.select(sa.func.count(Branch.id))) == 0
    failed = runs("t-fail")
    assert [r.outcome for r in failed] == ["failed", "failed"]
    assert "Traceback" in failed[0].error and failed[0].finished_at is not None
    assert failed[0].items is None


def test_a_job_that_commits_by_itself_keeps_what_it_committed(app, register):
    def sweep(now):  # like send_due: commits around each e-mail, then breaks
        add_branch("J3")
        _db.session.commit()
        add_branch("J4")
        raise ValueError("connection lost")

    register("t-commits", sweep)
    assert jobs.execute("t-commits", T0).outcome == "failed"
    assert list(_db.session.scalars(sa.select(Branch.code))) == ["J3"]
    assert [r.outcome for r in runs("t-commits")] == ["failed"]


def test_error_text_is_capped_and_keeps_the_cause(app, register):
    def sweep(now):
        raise RuntimeError("x" * 20000 + " THE CAUSE")

    register("t-long", sweep)
    jobs.execute("t-long", T0)
    [run] = runs("t-long")
    assert len(run.error) <= jobruns.ERROR_MAX and run.error.rstrip().endswith("THE CAUSE")


# -- abandoned runs -------------------------------------------------------------------------

def _running(job_id, host, pid, started):
    _db.session.add(JobRun(job_id=job_id, trigger="scheduled", outcome="running",
                           started_at=started, as_of=started, host=host, pid=pid))
    _db.session.commit()


def test_runs_of_dead_processes_are_marked_abandoned(app):
    now = datetime.now(UTC)
    here = jobruns.this_host()
    _running("a-dead", here, dead_pid(), now - timedelta(minutes=1))
    _running("a-live", here, os.getppid(), now - timedelta(minutes=1))
    _running("a-elsewhere", "another-host", 4242, now - timedelta(minutes=1))
    _running("a-stale", "another-host", 4243, now - timedelta(hours=7))
    _running("a-mine", here, os.getpid(), now - timedelta(minutes=1))

    assert jobruns.mark_abandoned(now) == 2
    outcome = {r.job_id: r.outcome for r in _db.session.scalars(sa.select(JobRun))}
    assert outcome == {"a-dead": "abandoned", "a-live": "running", "a-elsewhere": "running",
                       "a-stale": "abandoned", "a-mine": "running"}
    # a scheduler that just started ran nothing yet: a row with its (reused) pid is dead
    assert jobruns.mark_abandoned(now, own_pid_dead=True) == 1
    assert runs("a-mine")[0].outcome == "abandoned" and runs("a-mine")[0].finished_at == now


# -- retries and the timetable --------------------------------------------------------------

def test_retry_delay_backs_off_to_a_cap():
    assert [jobruns.retry_delay(n).total_seconds() / 60 for n in (1, 2, 3, 4, 5, 9)] == \
        [5, 10, 20, 40, 60, 60]


def _history(*outcomes, trigger="scheduled", start=T0):
    for i, outcome in enumerate(outcomes):
        at = start + timedelta(minutes=i)
        _db.session.add(JobRun(job_id="p", trigger=trigger, outcome=outcome, started_at=at,
                               finished_at=at + timedelta(seconds=5), as_of=at, host="h", pid=1))
    _db.session.commit()
    return jobruns.history("p", automatic=True)


def test_plan_of_a_daily_job_retries_a_failure_soon(app):
    h = _history("ok", "failed", "failed")
    p = jobruns.plan("cron", {"hour": 16, "minute": 30}, T0 + timedelta(minutes=3), h)
    assert h.failures == 2
    assert p.regular == datetime(2026, 3, 2, 16, 30, tzinfo=UTC)
    assert p.retry == T0 + timedelta(minutes=2, seconds=5) + timedelta(minutes=10)
    assert p.next == p.retry


def test_plan_runs_a_missed_fire_time_once_and_continues_intervals(app):
    h = _history("ok", start=datetime(2026, 3, 1, 16, 30, tzinfo=UTC))
    later = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)  # the scheduler was down for two fire times
    p = jobruns.plan("cron", {"hour": 16, "minute": 30}, later, h)
    assert p.regular == datetime(2026, 3, 2, 16, 30, tzinfo=UTC) and p.retry is None
    assert jobruns.plan("interval", {"minutes": 15}, later, h).regular == \
        datetime(2026, 3, 1, 16, 45, tzinfo=UTC)
    # an interval job's failure is left to its next tick when that comes first
    h = _history("failed", start=T0)
    assert jobruns.plan("interval", {"minutes": 1}, T0, h).retry is None


def test_manual_runs_do_not_move_the_timetable(app):
    h = _history("failed", trigger="manual")
    assert h.last is None and h.failures == 0


def test_a_failed_daily_job_is_retried_by_the_scheduler(app, register):
    """End to end on a running scheduler: the 16:30 job fails once, is retried after the
    (shortened) delay, succeeds, and waits for tomorrow's regular run."""
    from apscheduler.schedulers.background import BackgroundScheduler

    app.config["JOB_RETRY_BASE_SECONDS"] = 0.3
    calls = []

    def flaky(now):
        calls.append(now)
        if len(calls) == 1:
            raise RuntimeError("first run fails")
        return 2

    register("t-daily", flaky, "cron", hour=16, minute=30)
    scheduler = jobs.build_scheduler(app, BackgroundScheduler, only=["t-daily"])
    scheduler.start(paused=True)
    try:
        scheduler.modify_job("t-daily", next_run_time=datetime.now(UTC))  # its fire time
        scheduler.resume()
        deadline = time.monotonic() + 10
        while [r.outcome for r in runs("t-daily")] != ["failed", "ok"]:
            assert time.monotonic() < deadline, [r.outcome for r in runs("t-daily")]
            time.sleep(0.1)
        failed, ok = runs("t-daily")
        assert (failed.trigger, ok.trigger, ok.items) == ("scheduled", "retry", 2)
        assert ok.started_at - failed.finished_at >= timedelta(seconds=0.25)
        time.sleep(0.2)
        assert scheduler.get_job("t-daily#retry") is None
        nxt = scheduler.get_job("t-daily").next_run_time
        assert (nxt.hour, nxt.minute) == (16, 30) and nxt > datetime.now(UTC)
    finally:
        scheduler.shutdown(wait=True)
    assert len(calls) == 2


def test_a_start_after_a_kill_retries_the_abandoned_run_at_once(app, register):
    from apscheduler.schedulers.background import BackgroundScheduler

    register("t-killed", lambda now: 0, "cron", hour=16, minute=30)
    register("t-quiet", lambda now: 0, "interval", minutes=15)
    now = datetime.now(UTC)
    _running("t-killed", jobruns.this_host(), dead_pid(), now - timedelta(seconds=30))
    _db.session.add(JobRun(job_id="t-quiet", trigger="scheduled", outcome="ok",
                           started_at=now - timedelta(minutes=5), as_of=now,
                           finished_at=now - timedelta(minutes=5), host="h", pid=1))
    _db.session.commit()
    scheduler = jobs.build_scheduler(app, BackgroundScheduler, now=now,
                                     only=["t-killed", "t-quiet"])
    scheduler.start(paused=True)
    try:
        assert runs("t-killed")[0].outcome == "abandoned"
        assert scheduler.get_job("t-killed#retry").next_run_time == now
        assert scheduler.get_job("t-quiet").next_run_time == now + timedelta(minutes=10)
        assert scheduler.get_job("t-quiet#retry") is None
    finally:
        scheduler.shutdown(wait=False)


# -- the CLI --------------------------------------------------------------------------------

def test_jobs_run_command_records_a_manual_run(app, runner, register):
    register("t-cli", lambda now: 7)
    result = runner.invoke(args=["jobs", "run", "t-cli", "--now", "2026-03-02T08:00:00"])
    assert result.exit_code == 0, result.output
    [run] = runs("t-cli")
    assert (run.trigger, run.outcome, run.items, run.as_of) == ("manual", "ok", 7, T0)

    def broken(now):
        raise RuntimeError("boom")

    register("t-cli-fail", broken)
    result = runner.invoke(args=["jobs", "run", "t-cli-fail"])
    assert result.exit_code == 1 and "boom" in result.output
    assert [r.outcome for r in runs("t-cli-fail")] == ["failed"]
    listed = runner.invoke(args=["jobs", "list"])
    assert "t-cli " in listed.output and "scorecards-monthly" in listed.output


# -- the admin pages ------------------------------------------------------------------------

def test_admin_sees_every_job_with_its_next_run_in_their_time_zone(app, client, login,
                                                                   make_user, register):
    register("t-page", lambda now: 1, "cron", hour=16, minute=30)
    admin = make_user("admin", locale="en")
    c = login(admin)
    html = c.get("/admin/jobs").get_data(as_text=True)
    for job_id in ("survey-sends", "audits-create", "scorecards-monthly", "t-page"):
        assert job_id in html
    assert "daily at 16:30 UTC" in html
    # 16:30 UTC is 00:30 in Shanghai, the demo's time zone
    assert "12:30:00\u202fAM" in html or "12:30:00 AM" in html

    assert c.post("/admin/jobs/t-page/run").status_code == 302
    [run] = runs("t-page")
    assert (run.trigger, run.outcome, run.started_by_id) == ("manual", "ok", admin.id)
    detail = c.get("/admin/jobs/t-page").get_data(as_text=True)
    assert admin.name in detail and "Succeeded" in detail
    assert c.get("/admin/jobs/no-such-job").status_code == 404


def test_failures_are_shown_with_their_error(app, client, login, make_user, register):
    def broken(now):
        raise RuntimeError("ledger locked")

    register("t-broken", broken, "cron", hour=3, minute=0)
    jobs.execute("t-broken", T0, trigger="scheduled")
    html = login(make_user("admin", locale="en")).get("/admin/jobs").get_data(as_text=True)
    assert "ledger locked" in html and "retry of a failed run" in html


def test_history_is_paged(app, client, login, make_user, register):
    register("t-many", lambda now: 0)
    for i in range(55):
        _db.session.add(JobRun(job_id="t-many", trigger="scheduled", outcome="ok",
                               started_at=T0 + timedelta(minutes=i), as_of=T0, items=i,
                               finished_at=T0 + timedelta(minutes=i), host="h", pid=1))
    _db.session.commit()
    c = login(make_user("admin", locale="en"))
    first = c.get("/admin/jobs/t-many").get_data(as_text=True)
    second = c.get("/admin/jobs/t-many?page=2").get_data(as_text=True)
    assert "Page 1 of 2" in first and "55 runs" in first
    assert second.count("<tr>") == 5 + 1  # five runs and the header


def test_non_admins_are_refused(app, client, login, make_user, register):
    register("t-guarded", lambda now: 0)
    c = login(make_user("qa"))
    assert c.get("/admin/jobs").status_code == 403
    assert c.get("/admin/jobs/t-guarded").status_code == 403
    assert c.post("/admin/jobs/t-guarded/run").status_code == 403
    assert runs("t-guarded") == []


@pytest.mark.parametrize("app", [{"WTF_CSRF_ENABLED": True}], indirect=True)
def test_run_now_needs_the_csrf_token(app, client, login, make_user, register):
    register("t-csrf", lambda now: 0)
    c = login(make_user("admin"))
    assert c.post("/admin/jobs/t-csrf/run").status_code == 400
    assert runs("t-csrf") == []


# -- PostgreSQL -----------------------------------------------------------------------------

def test_the_run_log_works_on_postgresql(pg_app, register):
    def sweep(now):
        add_branch("PG1")
        raise RuntimeError("fails on pg")

    register("t-pg", sweep)
    register("t-pg-ok", lambda now: 3)
    assert jobs.run_job("t-pg-ok", T0) == 3
    assert jobs.execute("t-pg", T0).outcome == "failed"
    assert _db.session.scalar(sa.select(sa.func.count(Branch.id))) == 0
    assert [(r.outcome, r.as_of) for r in runs("t-pg")] == [("failed", T0)]
    _running("t-pg-dead", jobruns.this_host(), dead_pid(), datetime.now(UTC))
    assert jobruns.mark_abandoned() == 1 and runs("t-pg-dead")[0].outcome == "abandoned"
    assert jobruns.history("t-pg-ok").last_ok.items == 3


# -- the scheduler process ------------------------------------------------------------------

SLOW_JOB = '''
import os, time
from qms.jobs import job

@job("t-slow", "interval", "a slow sweep", hours=1)
def slow(now):
    time.sleep(float(os.environ["SLOW_SECONDS"]))
    return 1
'''


def _scheduler_process(app, tmp_path, seconds):
    (tmp_path / "slowjob.py").write_text(SLOW_JOB)
    root = Path(__file__).resolve().parents[2]
    env = dict(os.environ, QMS_DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
               QMS_SECRET_KEY="test", QMS_JOB_MODULES="slowjob", SLOW_SECONDS=str(seconds),
               QMS_OUTBOX_DIR=str(tmp_path / "outbox"), QMS_SMTP_HOST="",
               PYTHONPATH=os.pathsep.join([str(tmp_path), str(root)]))
    return subprocess.Popen([sys.executable, "-m", "flask", "--app", "qms", "scheduler",
                             "--only", "t-slow"], cwd=root, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def _wait_for(job_id, outcomes, proc, timeout=30):
    deadline = time.monotonic() + timeout
    while [r.outcome for r in runs(job_id)] != outcomes:
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            out = proc.communicate()[0].decode(errors="replace")
            pytest.fail(f"runs {[r.outcome for r in runs(job_id)]}, wanted {outcomes}\n{out}")
        time.sleep(0.1)
    return runs(job_id)


def test_sigkill_then_restart_then_sigterm(app, tmp_path):
    """Killed mid-run, the run stays "running"; the next start closes it as abandoned and runs
    the job again at once; SIGTERM then lets that run finish before the process exits."""
    proc = _scheduler_process(app, tmp_path, 60)
    try:
        [killed] = _wait_for("t-slow", ["running"], proc)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        proc.kill()
    assert runs("t-slow")[0].outcome == "running"  # nobody could write the outcome

    proc = _scheduler_process(app, tmp_path, 1.5)
    try:
        _wait_for("t-slow", ["abandoned", "running"], proc)
        proc.send_signal(signal.SIGTERM)
        out = proc.communicate(timeout=60)[0].decode()
    finally:
        proc.kill()
    assert proc.returncode == 0 and "scheduler stopped" in out, out
    abandoned, again = runs("t-slow")
    assert abandoned.id == killed.id and abandoned.finished_at is not None
    assert (again.outcome, again.trigger, again.items, again.pid) == ("ok", "retry", 1, proc.pid)


def test_a_disabled_scheduler_does_not_start(app, runner):
    result = runner.invoke(args=["scheduler"])  # the test config turns it off
    assert result.exit_code == 0 and "disabled" in result.output
    assert runs("survey-sends") == []

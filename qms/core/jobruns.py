"""The run log of scheduled jobs: one row per run, and when each job runs next.

A run is written in two transactions of its own around the job's unit of work: the "running"
row is committed before the job starts, the outcome after it ended. So a job whose work rolls
back still leaves a visible failed run, and a process killed mid-run leaves a "running" row
that the next start marks "abandoned".
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, joinedload, mapped_column, relationship

from qms.core.db import UTCDateTime, now_utc
from qms.extensions import db

RUNNING, OK, FAILED, ABANDONED = "running", "ok", "failed", "abandoned"
OUTCOMES = (RUNNING, OK, FAILED, ABANDONED)
NOT_OK = (FAILED, ABANDONED)
TRIGGERS = ("manual", "scheduled", "retry")

ERROR_MAX = 8000                       # characters of traceback kept (its end: the cause)
RUN_TIMEOUT = timedelta(hours=6)       # a run "running" longer than this is abandoned anywhere
RETRY_BASE = timedelta(minutes=5)      # first retry of a failed run; doubles per failure
RETRY_CAP = timedelta(hours=1)


class JobRun(db.Model):
    __tablename__ = "job_runs"
    __table_args__ = (
        sa.Index("ix_job_runs_job_started", "job_id", "started_at"),
        sa.Index("ix_job_runs_outcome", "outcome"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[str] = mapped_column(sa.String(64))
    trigger: Mapped[str] = mapped_column(sa.String(16))          # TRIGGERS
    outcome: Mapped[str] = mapped_column(sa.String(16), default=RUNNING)  # OUTCOMES
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)     # wall clock
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    as_of: Mapped[datetime] = mapped_column(UTCDateTime)          # the `now` the job was given
    items: Mapped[int | None] = mapped_column()
    error: Mapped[str | None] = mapped_column(sa.Text)
    host: Mapped[str] = mapped_column(sa.String(255))
    pid: Mapped[int] = mapped_column()
    started_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"))
    started_by = relationship("User")

    @property
    def duration(self) -> timedelta | None:
        return None if self.finished_at is None else self.finished_at - self.started_at

    def __repr__(self) -> str:
        return f"<JobRun {self.id} {self.job_id} {self.outcome}>"


def this_host() -> str:
    return socket.gethostname()[:255]


# -- writing the log (each function is its own transaction) ---------------------------------

def start_run(job_id: str, trigger: str, as_of: datetime, *, user=None,
              now: datetime | None = None) -> int:
    """Commit a "running" row before the job's own unit of work starts; returns its id."""
    if trigger not in TRIGGERS:
        raise ValueError(f"unknown trigger {trigger}")
    run = JobRun(job_id=job_id, trigger=trigger, outcome=RUNNING, started_at=now or now_utc(),
                 as_of=as_of, host=this_host(), pid=os.getpid(),
                 started_by_id=getattr(user, "id", None))
    db.session.add(run)
    db.session.commit()
    return run.id


def finish_run(run_id: int, outcome: str, *, items: int | None = None,
               error: str | None = None, now: datetime | None = None) -> None:
    """Record the outcome in a transaction of its own (the job's work may have rolled back)."""
    if outcome not in (OK, FAILED):
        raise ValueError(f"a run finishes ok or failed, not {outcome}")
    if error is not None and len(error) > ERROR_MAX:
        error = "…" + error[-(ERROR_MAX - 1):]
    db.session.rollback()  # whatever the job left behind is not part of this record
    db.session.execute(
        sa.update(JobRun).where(JobRun.id == run_id, JobRun.outcome == RUNNING)
        .values(outcome=outcome, finished_at=now or now_utc(), items=items, error=error),
        execution_options={"synchronize_session": False})
    db.session.commit()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def mark_abandoned(now: datetime | None = None, *, job_id: str | None = None,
                   own_pid_dead: bool = False, timeout: timedelta | None = None) -> int:
    """Close "running" rows whose process is gone: a dead pid on this host, or older than the
    timeout on any host. `own_pid_dead`: a freshly started scheduler ran nothing yet, so a row
    with its pid (reused after a kill) is a dead process's too. Returns how many were closed."""
    now = now or now_utc()
    timeout = timeout or _setting("JOB_RUN_TIMEOUT_SECONDS", RUN_TIMEOUT)
    host, me = this_host(), os.getpid()
    stmt = sa.select(JobRun.id, JobRun.host, JobRun.pid, JobRun.started_at).where(
        JobRun.outcome == RUNNING)
    if job_id is not None:
        stmt = stmt.where(JobRun.job_id == job_id)
    dead = [rid for rid, h, pid, started in db.session.execute(stmt)
            if started < now - timeout
            or (h == host and ((pid == me and own_pid_dead) or (pid != me and not _pid_alive(pid))))]
    db.session.commit()  # end the read before writing (SQLite: no lock upgrade)
    if not dead:
        return 0
    db.session.execute(
        sa.update(JobRun).where(JobRun.id.in_(dead), JobRun.outcome == RUNNING)
        .values(outcome=ABANDONED, finished_at=now,
                error="the process running this job ended before it finished"),
        execution_options={"synchronize_session": False})
    db.session.commit()
    return len(dead)


# -- reading the log ------------------------------------------------------------------------

@dataclass
class History:
    """What the scheduler and the admin page need to know about one job's past runs."""
    last: JobRun | None           # the latest run, whatever its outcome
    last_finished: JobRun | None  # the latest run that is no longer running
    last_ok: JobRun | None
    failures: int                 # failed runs since the last good one (abandoned not counted)


def history(job_id: str, *, automatic: bool = False) -> History:
    """`automatic`: only the scheduler's runs (a manual run does not move its timetable)."""
    where = [JobRun.job_id == job_id]
    if automatic:
        where.append(JobRun.trigger != "manual")
    base = sa.select(JobRun).where(*where).order_by(JobRun.started_at.desc(), JobRun.id.desc())
    last = db.session.scalar(base.limit(1))
    last_finished = db.session.scalar(base.where(JobRun.outcome != RUNNING).limit(1))
    last_ok = db.session.scalar(base.where(JobRun.outcome == OK).limit(1))
    since = sa.select(sa.func.count(JobRun.id)).where(*where, JobRun.outcome == FAILED)
    if last_ok is not None:
        since = since.where(JobRun.started_at > last_ok.started_at)
    return History(last, last_finished, last_ok, db.session.scalar(since) or 0)


def recent_failures(job_id: str, limit: int = 5) -> list[JobRun]:
    return list(db.session.scalars(
        sa.select(JobRun).where(JobRun.job_id == job_id, JobRun.outcome.in_(NOT_OK))
        .order_by(JobRun.started_at.desc(), JobRun.id.desc()).limit(limit)))


@dataclass
class RunPage:
    items: list
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def list_runs(job_id: str, *, page: int = 1, per_page: int = 50) -> RunPage:
    page = max(1, page)
    total = db.session.scalar(
        sa.select(sa.func.count(JobRun.id)).where(JobRun.job_id == job_id)) or 0
    items = list(db.session.scalars(
        sa.select(JobRun).where(JobRun.job_id == job_id).options(joinedload(JobRun.started_by))
        .order_by(JobRun.started_at.desc(), JobRun.id.desc())
        .limit(per_page).offset((page - 1) * per_page)))
    return RunPage(items, total, page, per_page)


# -- when a job runs next -------------------------------------------------------------------

def build_trigger(kind: str, args: dict):
    from apscheduler.triggers.cron import CronTrigger
    from apscheduler.triggers.interval import IntervalTrigger

    if kind == "cron":
        return CronTrigger(timezone=UTC, **args)
    if kind == "interval":
        return IntervalTrigger(timezone=UTC, **args)
    raise ValueError(f"unknown trigger {kind}")


def _setting(key: str, default: timedelta) -> timedelta:
    """JOB_RETRY_BASE_SECONDS, JOB_RETRY_CAP_SECONDS, JOB_RUN_TIMEOUT_SECONDS override these."""
    from flask import current_app, has_app_context

    if has_app_context() and current_app.config.get(key) is not None:
        return timedelta(seconds=float(current_app.config[key]))
    return default


def retry_delay(failures: int) -> timedelta:
    """5, 10, 20, 40 minutes, then hourly: a failure is retried soon, a broken job not hammered."""
    base = _setting("JOB_RETRY_BASE_SECONDS", RETRY_BASE)
    cap = _setting("JOB_RETRY_CAP_SECONDS", RETRY_CAP)
    return min(base * 2 ** max(0, failures - 1), cap)


@dataclass
class Plan:
    regular: datetime             # the trigger's next fire (in the past: overdue, run at start)
    retry: datetime | None = None  # a retry of a failed or abandoned run, when before `regular`

    @property
    def next(self) -> datetime:
        return self.retry if self.retry is not None else self.regular


def plan(kind: str, args: dict, now: datetime, h: History,
         grace: timedelta = timedelta(hours=1)) -> Plan:
    """When the scheduler runs this job next, from its trigger and its scheduled runs
    (`history(job_id, automatic=True)`).

    Interval jobs run one interval after their last run started (at once when they never ran:
    sweeps are cheap); cron jobs at the first fire time after their last run, so a fire time
    missed while the scheduler was down comes out in the past and runs once at start (without
    any run log only within `grace`, as APScheduler's misfire grace would). A failed last run is
    retried after retry_delay(failures), an abandoned one at once, unless the regular run is
    sooner anyway.
    """
    trigger = build_trigger(kind, args)
    started = h.last.started_at if h.last is not None else None
    if kind == "interval":
        regular = started + trigger.interval if started is not None else now
    else:
        after = started + timedelta(seconds=1) if started is not None else now - grace
        regular = trigger.get_next_fire_time(None, after)
    retry = None
    last = h.last_finished
    if h.last is not None and last is h.last and last.outcome in NOT_OK:
        wait = retry_delay(h.failures) if last.outcome == FAILED else timedelta(0)
        retry = (last.finished_at or last.started_at) + wait
        if retry >= regular:
            retry = None
    return Plan(regular, retry)


@dataclass
class JobStatus:
    """One row of the admin page."""
    id: str
    description: str
    trigger: str
    trigger_args: dict
    plan: Plan
    overdue: bool
    last: JobRun | None
    running: bool
    failures: list


def overview(jobs, now: datetime | None = None) -> list[JobStatus]:
    """Every registered job with its next run, its last run and its recent failures."""
    now = now or now_utc()
    rows = []
    for j in jobs:
        h = history(j.id)
        p = plan(j.trigger, j.trigger_args, now, history(j.id, automatic=True))
        running = h.last is not None and h.last.outcome == RUNNING
        rows.append(JobStatus(
            id=j.id, description=j.description, trigger=j.trigger, trigger_args=j.trigger_args,
            plan=p, overdue=not running and p.next < now - timedelta(minutes=2),
            last=h.last_finished, running=running, failures=recent_failures(j.id)))
    return rows

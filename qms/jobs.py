"""The one list of scheduled jobs, and the scheduler process that runs them.

Each job is a sweep over database state that calls a service with `now=`, so running it twice,
late or concurrently changes nothing the second time. The scheduler runs as its own process
(`flask --app qms scheduler`), never inside web workers: APScheduler's job store must not be
shared by processes.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from flask_babel import lazy_gettext as _l

from qms.core.db import now_utc
from qms.core.tx import unit_of_work
from qms.extensions import db

log = logging.getLogger("qms.jobs")


@dataclass(frozen=True)
class Job:
    id: str                      # stable: APScheduler and the run log key on it
    func: Callable[[datetime], int | None]  # takes now, returns the number of items touched
    trigger: str                 # "interval" or "cron"
    trigger_args: dict = field(default_factory=dict)
    description: object = ""    # a lazy_gettext string: shown to admins in their language


JOBS: dict[str, Job] = {}


def job(id: str, trigger: str, description: str = "", **trigger_args):
    """Register a sweep: @job("survey-sends", "interval", minutes=1)."""

    def decorator(func):
        if id in JOBS:
            raise ValueError(f"job {id} registered twice")
        JOBS[id] = Job(id, func, trigger, trigger_args, description)
        return func

    return decorator


@dataclass
class RunResult:
    run_id: int
    outcome: str                 # "ok" or "failed"
    items: int | None = None
    error: str | None = None


def _items(touched) -> int | None:
    """A job returns how many items it touched; anything else is recorded as unknown."""
    return int(touched) if isinstance(touched, int) else None


def execute(job_id: str, now: datetime | None = None, *, trigger: str = "manual",
            user=None) -> RunResult:
    """Run one job once and record the run; a failure is recorded and returned, not raised.

    The run log is written in transactions of its own around the job's unit of work (see
    qms.core.jobruns), so a job that commits by itself (send_due commits around each e-mail)
    is fine, and one whose work rolls back still leaves its failed run behind.
    """
    from qms.core import jobruns

    j = JOBS[job_id]
    as_of = now or now_utc()
    jobruns.mark_abandoned(job_id=job_id)
    run_id = jobruns.start_run(job_id, trigger, as_of, user=user)
    try:
        with unit_of_work():
            touched = j.func(as_of)
    except BaseException as exc:  # noqa: BLE001 - recorded; SIGTERM/Ctrl-C re-raised below
        error = traceback.format_exc()
        try:
            jobruns.finish_run(run_id, jobruns.FAILED, error=error)
        except Exception:  # noqa: BLE001 - the log must not hide the job's own error
            log.exception("could not record the failure of job %s", job_id)
        if not isinstance(exc, Exception):
            raise
        log.error("job %s failed: %s", job_id, exc)
        return RunResult(run_id, jobruns.FAILED, error=error)
    jobruns.finish_run(run_id, jobruns.OK, items=_items(touched))
    log.info("job %s touched %s items", job_id, touched)
    return RunResult(run_id, jobruns.OK, items=_items(touched))


class JobFailed(RuntimeError):
    def __init__(self, job_id: str, result: RunResult):
        super().__init__(f"job {job_id} failed (run {result.run_id})")
        self.result = result


def run_job(job_id: str, now: datetime | None = None, *, trigger: str = "manual",
            user=None) -> int | None:
    """Run one job once, recorded, in its own unit of work; raises JobFailed on failure."""
    result = execute(job_id, now, trigger=trigger, user=user)
    if result.outcome != "ok":
        raise JobFailed(job_id, result)
    return result.items


def _load_jobs() -> None:
    """Import modules that register more jobs: JOB_MODULES in the config, a list or a
    comma-separated string (QMS_JOB_MODULES), e.g. for a site's own sweeps."""
    import importlib

    from flask import current_app, has_app_context

    names = current_app.config.get("JOB_MODULES") if has_app_context() else None
    if isinstance(names, str):
        names = [n.strip() for n in names.split(",")]
    for name in names or ():
        if name:
            importlib.import_module(name)


# -- the scheduler process --------------------------------------------------------------------

RETRY_SUFFIX = "#retry"


def run_scheduled(app, scheduler, job_id: str, trigger: str = "scheduled") -> RunResult | None:
    """What the scheduler calls at each fire time: run the job, and after a failure add a
    one-off retry when the job's next regular run is later (a daily job is not left failed
    until tomorrow); the delay grows with consecutive failures, up to a cap."""
    from apscheduler.schedulers.base import STATE_STOPPED

    from qms.core import jobruns

    with app.app_context():
        try:
            result = execute(job_id, trigger=trigger)
        except Exception:  # noqa: BLE001 - the run log could not be written; next tick retries
            log.exception("job %s could not run", job_id)
            return None
        retry_at = None
        if result.outcome != jobruns.OK:
            try:
                failures = jobruns.history(job_id, automatic=True).failures
                retry_at = now_utc() + jobruns.retry_delay(failures)
            except Exception:  # noqa: BLE001
                log.exception("job %s: could not plan its retry", job_id)
        # The scheduler's lock, taken without blocking for long: shutdown(wait=True) holds it
        # while it waits for this very thread, so blocking here would deadlock a SIGTERM.
        # A stopping scheduler plans nothing; the next start plans retries from the run log.
        lock = scheduler._jobstores_lock
        if scheduler.state == STATE_STOPPED or not lock.acquire(timeout=2):
            return result
        try:
            if scheduler.state != STATE_STOPPED:
                _after_run(scheduler, app, job_id, trigger, result.outcome, retry_at)
        finally:
            lock.release()
        return result


def _after_run(scheduler, app, job_id: str, trigger: str, outcome: str,
               retry_at: datetime | None) -> None:
    """With the scheduler's lock held: drop a retry this good run made moot, or add one."""
    if outcome == "ok":
        if trigger != "retry" and scheduler.get_job(job_id + RETRY_SUFFIX) is not None:
            _remove_quietly(scheduler, job_id + RETRY_SUFFIX)  # done by this run
        return
    if retry_at is None:
        return
    regular = scheduler.get_job(job_id)
    if regular is None or regular.next_run_time is None or retry_at < regular.next_run_time:
        scheduler.add_job(run_scheduled, "date", run_date=retry_at,
                          args=[app, scheduler, job_id, "retry"],
                          id=job_id + RETRY_SUFFIX, name=f"retry {job_id}",
                          replace_existing=True)
        log.warning("job %s failed; retry at %s", job_id, retry_at.isoformat())


def _remove_quietly(scheduler, job_id: str) -> None:
    from apscheduler.jobstores.base import JobLookupError

    try:
        scheduler.remove_job(job_id)
    except JobLookupError:
        pass


def build_scheduler(app, scheduler_cls=None, now: datetime | None = None,
                    only: list[str] | None = None):
    """The scheduler with every registered job, its first run planned from the run log: a run
    left "running" by a killed process is closed as abandoned and retried at once, a fire time
    missed while no scheduler ran is run once now (coalesce), an interval job continues one
    interval after its last run. `only`: run just these job ids (a site that runs some sweeps
    elsewhere, or a test)."""
    from apscheduler.schedulers.blocking import BlockingScheduler

    from qms.core import jobruns

    cls = scheduler_cls or BlockingScheduler
    scheduler = cls(timezone="UTC", job_defaults={
        "coalesce": True, "max_instances": 1, "misfire_grace_time": 3600,
    })
    with app.app_context():
        _load_jobs()
        unknown = set(only or ()) - set(JOBS)
        if unknown:
            raise KeyError(f"no such jobs: {', '.join(sorted(unknown))}")
        selected = [j for j in JOBS.values() if only is None or j.id in only]
        now = now or now_utc()
        closed = jobruns.mark_abandoned(now, own_pid_dead=True)
        if closed:
            log.warning("%s runs of a stopped process marked abandoned", closed)
        plans = {j.id: jobruns.plan(j.trigger, j.trigger_args, now,
                                    jobruns.history(j.id, automatic=True))
                 for j in selected}
        db.session.remove()

    for j in selected:
        p = plans[j.id]
        scheduler.add_job(run_scheduled, j.trigger, args=[app, scheduler, j.id],
                          id=j.id, name=j.id, replace_existing=True,
                          next_run_time=max(p.regular, now), **j.trigger_args)
        if p.retry is not None:
            scheduler.add_job(run_scheduled, "date", run_date=max(p.retry, now),
                              args=[app, scheduler, j.id, "retry"], id=j.id + RETRY_SUFFIX,
                              name=f"retry {j.id}", replace_existing=True)
    return scheduler


# -- the jobs ---------------------------------------------------------------------------------

@job("survey-sends", "interval", _l("Send due survey invitations by e-mail"), minutes=1)
def survey_sends(now: datetime) -> int:
    # send_due commits around each e-mail itself: a message goes out between two commits
    from qms.surveys.campaigns import send_due

    return send_due(now)


@job("survey-reminders", "interval", _l("Remind survey non-responders"), hours=1)
def survey_reminders(now: datetime) -> int:
    from qms.surveys.campaigns import send_reminders

    return send_reminders(now)


@job("complaints-escalation", "interval",
     _l("Flag complaints at 50, 80 and 100 percent of their time"), hours=1)
def complaints_escalation(now: datetime) -> int:
    # commits the flags, then e-mails the handlers and supervisors (once per threshold)
    from qms.complaints.escalation import run

    return run(now)


@job("complaint-letters", "interval", _l("Send complaint letters left unsent"), minutes=5)
def complaint_letters(now: datetime) -> int:
    # letters normally go out right after their commit; this picks up what a crash left
    from qms.complaints.letters import deliver_pending

    return deliver_pending(now=now)


@job("qa-queues", "cron", _l("Build QA evaluation queues from the sampling rules"),
     hour=16, minute=30)
def qa_queues(now: datetime) -> int:
    # 00:30 in China: yesterday is complete, so a period that ended is topped up to N items
    from qms.qa.sampling import build_queues

    return build_queues(now)


@job("audits-create", "interval", _l("Create the audits of each programme's current period"),
     minutes=15)
def audits_create(now: datetime) -> int:
    # unique on (programme, branch, period): a re-run creates nothing twice, and the first run
    # after downtime creates a missed period once
    from qms.audits.scheduling import create_due_audits

    return create_due_audits(now)


@job("audit-actions-escalation", "interval", _l("Escalate overdue corrective actions"),
     hours=1)
def audit_actions_escalation(now: datetime) -> int:
    # owner, then the branch head, then QA: once per level
    from qms.audits.actions import escalate_overdue

    return escalate_overdue(now)


@job("mystery-reminders", "interval", _l("Remind shoppers of visits due soon or overdue"),
     hours=1)
def mystery_reminders(now: datetime) -> int:
    from qms.mystery.reminders import remind_due

    return remind_due(now)


@job("scorecards-monthly", "cron", _l("Generate last month's scorecards"),
     day=1, hour=20, minute=0)
def scorecards_monthly(now: datetime) -> int:
    # 04:00 in China on the 2nd: the month ended 28 hours ago, so late evaluations and survey
    # answers of its last day are in; a failed run is retried within the hour, not next month
    from qms.scorecards.monthly import run_monthly

    return run_monthly(now)

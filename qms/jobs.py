"""The one list of scheduled jobs, and the scheduler process that runs them.

Each job is a sweep over database state that calls a service with `now=`, so running it twice,
late or concurrently changes nothing the second time. The scheduler runs as its own process
(`flask --app qms scheduler`), never inside web workers: APScheduler's job store must not be
shared by processes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from qms.core.db import now_utc
from qms.core.tx import unit_of_work

log = logging.getLogger("qms.jobs")


@dataclass(frozen=True)
class Job:
    id: str                      # stable: APScheduler and the run log key on it
    func: Callable[[datetime], int | None]  # takes now, returns the number of items touched
    trigger: str                 # "interval" or "cron"
    trigger_args: dict = field(default_factory=dict)
    description: str = ""


JOBS: dict[str, Job] = {}


def job(id: str, trigger: str, description: str = "", **trigger_args):
    """Register a sweep: @job("survey-sends", "interval", minutes=1)."""

    def decorator(func):
        if id in JOBS:
            raise ValueError(f"job {id} registered twice")
        JOBS[id] = Job(id, func, trigger, trigger_args, description)
        return func

    return decorator


def run_job(job_id: str, now: datetime | None = None) -> int | None:
    """Run one job once, in its own unit of work (also what the scheduler calls)."""
    j = JOBS[job_id]
    with unit_of_work():
        touched = j.func(now or now_utc())
    log.info("job %s touched %s items", job_id, touched)
    return touched


def _load_jobs() -> None:
    """Import the modules that register jobs (each domain's jobs live beside its services)."""


def build_scheduler(app, scheduler_cls=None):
    from apscheduler.schedulers.blocking import BlockingScheduler

    _load_jobs()
    cls = scheduler_cls or BlockingScheduler
    scheduler = cls(timezone="UTC", job_defaults={
        "coalesce": True, "max_instances": 1, "misfire_grace_time": 3600,
    })

    def runner(job_id: str):
        with app.app_context():
            try:
                run_job(job_id)
            except Exception:  # noqa: BLE001 - logged; the next tick retries
                log.exception("job %s failed", job_id)

    for j in JOBS.values():
        scheduler.add_job(runner, j.trigger, args=[j.id], id=j.id, name=j.description or j.id,
                          replace_existing=True, **j.trigger_args)
    return scheduler


# -- the jobs ---------------------------------------------------------------------------------

@job("survey-sends", "interval", "Send due survey invitations by e-mail", minutes=1)
def survey_sends(now: datetime) -> int:
    # send_due commits around each e-mail itself: a message goes out between two commits
    from qms.surveys.campaigns import send_due

    return send_due(now)


@job("survey-reminders", "interval", "Remind survey non-responders", hours=1)
def survey_reminders(now: datetime) -> int:
    from qms.surveys.campaigns import send_reminders

    return send_reminders(now)


@job("complaints-escalation", "interval", "Flag complaints at 50/80/100% of their time",
     hours=1)
def complaints_escalation(now: datetime) -> int:
    # commits the flags, then e-mails the handlers and supervisors (once per threshold)
    from qms.complaints.escalation import run

    return run(now)


@job("complaint-letters", "interval", "Send complaint letters left unsent", minutes=5)
def complaint_letters(now: datetime) -> int:
    # letters normally go out right after their commit; this picks up what a crash left
    from qms.complaints.letters import deliver_pending

    return deliver_pending(now=now)


@job("qa-queues", "cron", "Build QA evaluation queues from the sampling rules", hour=16, minute=30)
def qa_queues(now: datetime) -> int:
    # 00:30 in China: yesterday is complete, so a period that ended is topped up to N items
    from qms.qa.sampling import build_queues

    return build_queues(now)

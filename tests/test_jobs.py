"""The job registry and the scheduler process's configuration."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from qms import jobs


@pytest.fixture
def registered():
    seen = []

    @jobs.job("test-sweep", "interval", "a test sweep", minutes=5)
    def sweep(now):
        seen.append(now)
        return 3

    yield seen
    jobs.JOBS.pop("test-sweep", None)


def test_scheduler_uses_utc_coalesce_and_single_instances(app, registered):
    from apscheduler.schedulers.background import BackgroundScheduler

    scheduler = jobs.build_scheduler(app, BackgroundScheduler)
    scheduler.start(paused=True)
    try:
        j = scheduler.get_job("test-sweep")
        assert j.coalesce is True and j.max_instances == 1 and j.misfire_grace_time >= 60
        assert str(scheduler.timezone) == "UTC"
    finally:
        scheduler.shutdown(wait=False)


def test_jobs_run_command_passes_now(app, runner, registered):
    result = runner.invoke(args=["jobs", "run", "test-sweep", "--now", "2026-03-01T08:00:00"])
    assert result.exit_code == 0, result.output
    assert "3 items" in result.output
    assert registered == [datetime(2026, 3, 1, 8, 0, tzinfo=UTC)]


def test_unknown_job_is_refused(app, runner):
    result = runner.invoke(args=["jobs", "run", "no-such-job"])
    assert result.exit_code == 2


def test_a_job_id_cannot_be_registered_twice(registered):
    with pytest.raises(ValueError):
        jobs.job("test-sweep", "interval", minutes=1)(lambda now: None)


DOMAIN_JOBS = {
    "audits-create": ("qms.audits.scheduling", "create_due_audits"),
    "audit-actions-escalation": ("qms.audits.actions", "escalate_overdue"),
    "mystery-reminders": ("qms.mystery.reminders", "remind_due"),
    "scorecards-monthly": ("qms.scorecards.monthly", "run_monthly"),
}


@pytest.mark.parametrize("job_id", sorted(DOMAIN_JOBS))
def test_domain_jobs_call_their_service_with_now(app, monkeypatch, job_id):
    """Stable ids, each calling its service by name with the scheduler's now."""
    import types

    module, name = DOMAIN_JOBS[job_id]
    seen = []
    fake = types.ModuleType(module)
    setattr(fake, name, lambda now: seen.append(now) or 2)
    monkeypatch.setitem(__import__("sys").modules, module, fake)
    now = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    assert jobs.run_job(job_id, now) == 2
    assert seen == [now]


def test_every_job_of_the_product_is_registered():
    assert {"survey-sends", "survey-reminders", "complaints-escalation", "complaint-letters",
            "qa-queues", *DOMAIN_JOBS} <= set(jobs.JOBS)


def test_monthly_scorecards_run_at_four_in_china_on_the_second():
    from zoneinfo import ZoneInfo

    from qms.core.jobruns import build_trigger

    j = jobs.JOBS["scorecards-monthly"]
    fire = build_trigger(j.trigger, j.trigger_args).get_next_fire_time(
        None, datetime(2026, 3, 15, tzinfo=UTC))
    local = fire.astimezone(ZoneInfo("Asia/Shanghai"))
    assert (local.month, local.day, local.hour, local.minute) == (4, 2, 4, 0)

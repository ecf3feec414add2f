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

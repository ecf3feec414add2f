"""`flask --app qms ...` commands: users, API tokens, CSV import, demo data."""

from __future__ import annotations

import os
import sys

import click
from flask import current_app
from flask.cli import AppGroup

from qms.core.tx import unit_of_work

users_cli = AppGroup("users", help="Manage user accounts.")
tokens_cli = AppGroup("api-tokens", help="Manage API tokens for /api/v1.")


@users_cli.command("create")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--role", "roles", multiple=True, required=True,
              help="Repeat for several roles.")
@click.option("--branch", "branch_code", default=None, help="Branch code for branch roles.")
@click.option("--region", default=None, help="Region scope instead of a branch.")
@click.option("--agent", "agent_code", default=None, help="Agent record of an agent's login.")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
def users_create(email, name, roles, branch_code, region, agent_code, password):
    """Create a user with one or more roles."""
    from qms.auth.services import GrantSpec, ValidationError, create_user
    from qms.core.permissions import GLOBAL_CAPABLE

    grants = [GrantSpec(r, None if (r in GLOBAL_CAPABLE and not branch_code) or r == "shopper"
                        else branch_code, region if r != "shopper" else None) for r in roles]
    try:
        with unit_of_work():
            user = create_user(email=email, name=name, password=password, grants=grants,
                               agent_code=agent_code)
    except ValidationError as exc:
        for field, message in exc.fields.items():
            click.echo(f"{field}: {message}", err=True)
        sys.exit(2)
    click.echo(f"created {user.email} ({', '.join(sorted(user.roles))})")


@tokens_cli.command("create")
@click.option("--name", required=True)
@click.option("--role", required=True)
@click.option("--branch", "branch_code", default=None)
@click.option("--region", default=None)
def tokens_create(name, role, branch_code, region):
    """Create an API token and print it once; only its hash is stored."""
    from qms.auth.services import ValidationError, create_api_token

    try:
        with unit_of_work():
            _token, secret = create_api_token(name=name, role=role, branch_code=branch_code,
                                              region=region)
    except ValidationError as exc:
        for field, message in exc.fields.items():
            click.echo(f"{field}: {message}", err=True)
        sys.exit(2)
    click.echo(secret)


@click.command("import")
@click.argument("kind", type=click.Choice(["branches", "agents", "customers"]))
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--encoding", default="utf-8-sig", show_default=True,
              help="Text encoding of the file (utf-8-sig, gb18030, big5).")
def import_command(kind, path, encoding):
    """Import a CSV file of branches, agents or customers: all rows or none."""
    import codecs

    from qms.core import audit
    from qms.org.importer import ImportRejected, import_csv

    try:
        codecs.lookup(encoding)
    except LookupError:
        raise click.BadParameter(f"unknown text encoding {encoding!r}",
                                 param_hint="'--encoding'") from None
    size = os.path.getsize(path)
    batch = current_app.config["IMPORT_BATCH_SIZE"]
    try:
        with open(path, "rb") as fh, click.progressbar(length=size, label=f"Importing {kind}",
                                                       file=sys.stderr) as bar:
            with unit_of_work():
                result = import_csv(kind, fh, encoding=encoding, batch_size=batch,
                                    progress=bar.update)
                audit.record("import", subject=kind, details={"rows": result.rows, "file": path})
    except ImportRejected as exc:
        errors = exc.result.errors
        click.echo(f"nothing imported: {len(errors)} errors", err=True)
        for e in errors:
            click.echo(f"line {e.line}, column {e.column or '-'}: {e.message}", err=True)
        sys.exit(1)
    click.echo(f"imported {result.rows} {kind}")


@click.command("demo")
@click.option("--seed", default=2026, show_default=True, type=int)
@click.option("--if-empty", is_flag=True, help="Do nothing (and succeed) if data exists.")
def demo_command(seed, if_empty):
    """Fill an empty database with a realistic demo bank."""
    from qms.demo import DemoRefused, build_demo

    try:
        with unit_of_work():
            logins = build_demo(seed=seed)
    except DemoRefused as exc:
        if if_empty:
            click.echo(f"demo data skipped: {exc}")
            return
        click.echo(str(exc), err=True)
        sys.exit(1)
    click.echo("Demo bank created. Sign in at http://127.0.0.1:5000/login with:")
    for role, email, password in logins:
        click.echo(f"  {role:<12} {email:<32} {password}")


@click.command("scheduler")
@click.option("--only", "only", multiple=True, help="Run only this job id (repeatable).")
def scheduler_command(only):
    """Run the scheduler process (one per installation). SIGTERM or Ctrl-C stop it after the
    running jobs finished; after a SIGKILL the next start closes the killed runs as abandoned
    and runs what was missed once."""
    import logging
    import signal

    from qms.jobs import build_scheduler

    if not logging.getLogger().handlers:  # each run and failure on stderr, for the operator
        logging.basicConfig(level=logging.INFO,
                            format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        logging.getLogger("apscheduler").setLevel(logging.WARNING)

    def _stop(signum, _frame):
        raise SystemExit(0)

    if not current_app.config.get("SCHEDULER_ENABLED", True):
        click.echo("scheduler disabled (SCHEDULER_ENABLED is off): not starting")
        return
    try:
        scheduler = build_scheduler(current_app._get_current_object(), only=list(only) or None)
    except KeyError as exc:
        click.echo(str(exc.args[0]), err=True)
        sys.exit(2)
    signal.signal(signal.SIGTERM, _stop)
    ids = sorted(j.id for j in scheduler.get_jobs() if not j.id.endswith("#retry"))
    click.echo(f"scheduler started with {len(ids)} jobs: {', '.join(ids) or '-'}", nl=True)
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a second SIGTERM ends it regardless
        if scheduler.running:
            click.echo("scheduler stopping: waiting for running jobs to finish")
            scheduler.shutdown(wait=True)
        click.echo("scheduler stopped")


jobs_cli = AppGroup("jobs", help="Inspect and run scheduled jobs by hand.")


@jobs_cli.command("list")
def jobs_list():
    from qms.core.jobruns import overview
    from qms.jobs import JOBS, _load_jobs

    _load_jobs()
    for row in overview(JOBS.values()):
        last = row.last.outcome if row.last is not None else "-"
        nxt = row.plan.next.strftime("%Y-%m-%d %H:%M") + "Z"
        click.echo(f"{row.id:<28} {row.trigger} {row.trigger_args}  next {nxt}  last {last}  "
                   f"{row.description}")


@jobs_cli.command("run")
@click.argument("job_id")
@click.option("--now", "now_iso", default=None, help="Pretend it is this time (ISO 8601).")
def jobs_run(job_id, now_iso):
    """Run one job now (for operators and tests); the run is recorded as manual."""
    from datetime import UTC, datetime

    from qms.jobs import JOBS, _load_jobs, execute

    _load_jobs()
    if job_id not in JOBS:
        click.echo(f"no job {job_id}; known: {', '.join(sorted(JOBS)) or '-'}", err=True)
        sys.exit(2)
    now = None
    if now_iso:
        try:
            now = datetime.fromisoformat(now_iso)
        except ValueError:
            click.echo(f"--now: not an ISO 8601 time: {now_iso}", err=True)
            sys.exit(2)
        now = now.replace(tzinfo=UTC) if now.tzinfo is None else now
    result = execute(job_id, now, trigger="manual")
    if result.outcome != "ok":
        click.echo(result.error or "", err=True)
        click.echo(f"{job_id}: failed (run {result.run_id})", err=True)
        sys.exit(1)
    click.echo(f"{job_id}: {result.items if result.items is not None else 0} items "
               f"(run {result.run_id})")


def init_app(app) -> None:
    app.cli.add_command(users_cli)
    app.cli.add_command(tokens_cli)
    app.cli.add_command(import_command)
    app.cli.add_command(demo_command)
    app.cli.add_command(scheduler_command)
    app.cli.add_command(jobs_cli)

    from qms.surveys.cli import surveys_cli

    app.cli.add_command(surveys_cli)
    from qms.qa.cli import qa_cli

    app.cli.add_command(qa_cli)

    from qms.complaints.cli import complaints_cli

    app.cli.add_command(complaints_cli)

    from qms.scorecards.cli import scorecards_cli

    app.cli.add_command(scorecards_cli)

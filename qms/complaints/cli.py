"""`flask --app qms complaints ...`: check the history chains, run the escalation by hand."""

from __future__ import annotations

import sys
from datetime import UTC, datetime

import click
from flask.cli import AppGroup

complaints_cli = AppGroup("complaints", help="Complaint history checks and escalation.")


@complaints_cli.command("verify")
def verify_command():
    """Check every complaint's hash chain; exit 1 naming each complaint whose history was
    altered, reordered or cut."""
    import sqlalchemy as sa

    from qms.complaints.history import verify_all
    from qms.complaints.models import Complaint
    from qms.extensions import db

    problems = verify_all()
    total = db.session.scalar(sa.select(sa.func.count()).select_from(Complaint))
    db.session.rollback()  # read only
    if not problems:
        click.echo(f"all {total} chains intact")
        return
    for p in problems:
        click.echo(f"{p.reference}: {p.problem}", err=True)
    broken = len({p.complaint_id for p in problems})
    click.echo(f"{broken} of {total} chains broken", err=True)
    sys.exit(1)


@complaints_cli.command("escalate")
@click.option("--now", "now_iso", default=None, help="Pretend it is this time (ISO 8601).")
def escalate_command(now_iso):
    """Flag complaints at 50/80/100% of their time now (what the hourly job does)."""
    from qms.complaints.escalation import run
    from qms.core.tx import unit_of_work

    now = None
    if now_iso:
        now = datetime.fromisoformat(now_iso)
        now = now.replace(tzinfo=UTC) if now.tzinfo is None else now
    with unit_of_work():
        new = run(now)
    click.echo(f"{new} new escalations")

"""`flask --app qms scorecards ...`: compute a period's snapshots, render its PDFs in a batch."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from qms.config import LOCALES
from qms.core.tx import unit_of_work

scorecards_cli = AppGroup("scorecards", help="Quality scorecards: compute periods, render PDFs.")

_PERIOD = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def _period(_ctx, _param, value: str) -> str:
    if not _PERIOD.match(value or ""):
        raise click.BadParameter("expected a month as YYYY-MM, e.g. 2026-03")
    return value


@scorecards_cli.command("compute")
@click.option("--period", required=True, callback=_period, help="The month, YYYY-MM.")
def compute_command(period):
    """Compute every branch's and agent's scorecard of a month and store them as snapshots.

    A snapshot whose figures have not changed is kept; one that changed is superseded by a
    new snapshot (the old one stays, marked superseded).
    """
    from qms.core.db import now_utc
    from qms.scorecards.snapshots import compute_period

    try:
        with unit_of_work():
            snapshots = compute_period(period, now=now_utc())
            branches = sum(1 for s in snapshots if s.scope == "branch")
    except ValueError as exc:
        click.echo(f"cannot compute {period}: {exc}", err=True)
        sys.exit(2)
    click.echo(f"{period}: {branches} branch and {len(snapshots) - branches} agent "
               f"scorecards current")


@scorecards_cli.command("render")
@click.option("--period", required=True, callback=_period, help="The month, YYYY-MM.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=None,
              help="Output directory [default: instance/scorecards].")
@click.option("--workers", type=click.IntRange(1, 64), default=None,
              help="Processes rendering in parallel [default: the number of CPUs].")
@click.option("--locale", type=click.Choice(LOCALES), default=None,
              help="Language of the PDFs [default: the site's default].")
@click.option("--force", is_flag=True, help="Render again even if a PDF is up to date.")
def render_command(period, out_dir, workers, locale, force):
    """Render the PDF of every current snapshot of a period: OUT/<period>/branches/<code>.pdf
    and OUT/<period>/agents/<code>.pdf. Resumable: PDFs of unchanged snapshots are skipped."""
    from qms.scorecards.batch import plan, render_period

    out = Path(out_dir) if out_dir else Path(current_app.instance_path) / "scorecards"
    workers = workers or os.cpu_count() or 1
    jobs = plan(period, out)
    if not jobs:
        click.echo(f"no scorecards computed for {period}: run `scorecards compute --period "
                   f"{period}` first", err=True)
        sys.exit(1)
    with click.progressbar(length=len(jobs), label=f"Rendering {period}",
                           file=sys.stderr) as bar:
        result = render_period(period, out, workers=workers, locale=locale, force=force,
                               progress=bar.update, jobs=jobs)
    click.echo(f"{len(result.rendered)} rendered, {len(result.skipped)} unchanged, "
               f"{len(result.failed)} failed -> {out / period}")
    for path, error in sorted(result.failed.items()):
        click.echo(f"failed: {path}: {error}", err=True)
    if result.failed:
        sys.exit(1)

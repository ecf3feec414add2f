"""`flask --app qms qa ...` commands: importing interactions."""

from __future__ import annotations

import codecs
import os
import sys

import click
from flask import current_app
from flask.cli import AppGroup

from qms.core.tx import unit_of_work

qa_cli = AppGroup("qa", help="QA: interactions, rubrics and evaluations.")


@qa_cli.command("import-interactions")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--encoding", default="utf-8-sig", show_default=True,
              help="Text encoding of the file (utf-8-sig, gb18030, big5).")
def import_interactions_command(path, encoding):
    """Import a CSV file of interactions: all rows or none, every bad row listed.

    Columns: channel, external_ref, agent_code, occurred_at (required), duration_seconds,
    customer_ref, summary, media_url. A recorded (channel, external_ref) is updated.
    """
    from qms.core import audit
    from qms.org.importer import ImportRejected
    from qms.qa.interactions import import_interactions

    try:
        codecs.lookup(encoding)
    except LookupError:
        raise click.BadParameter(f"unknown text encoding {encoding!r}",
                                 param_hint="'--encoding'") from None
    size = os.path.getsize(path)
    batch = current_app.config["IMPORT_BATCH_SIZE"]
    try:
        with open(path, "rb") as fh, click.progressbar(length=size, label="Importing interactions",
                                                       file=sys.stderr) as bar:
            with unit_of_work():
                result = import_interactions(fh, encoding=encoding, batch_size=batch,
                                             progress=bar.update)
                audit.record("import", subject="interactions",
                             details={"rows": result.rows, "file": path})
    except ImportRejected as exc:
        errors = exc.result.errors
        click.echo(f"nothing imported: {len(errors)} errors", err=True)
        for e in errors:
            click.echo(f"line {e.line}, column {e.column or '-'}: {e.message}", err=True)
        sys.exit(1)
    click.echo(f"imported {result.rows} interactions")

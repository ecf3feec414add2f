"""`flask --app qms surveys ...`: survey commands for operators (bounces)."""

from __future__ import annotations

import mailbox
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

import click
from flask.cli import AppGroup

from qms.core.tx import unit_of_work

surveys_cli = AppGroup("surveys", help="Survey campaigns: bounces of survey e-mails.")


@surveys_cli.command("bounces")
@click.argument("paths", nargs=-1, required=True,
                type=click.Path(exists=True, readable=True, path_type=Path))
def bounces_command(paths):
    """Record bounced survey e-mails from delivery status notifications.

    PATHS: .eml files, directories of .eml files, maildirs or mbox files. Each file is one unit
    of work; delays and mail that is no bounce are skipped.
    """
    from qms.surveys.campaigns.bounces import record_dsn

    recorded = messages = failed = 0
    for path in _mail_files(paths):
        try:
            with unit_of_work():
                found = 0
                for raw in _messages(path):
                    messages += 1
                    found += record_dsn(raw)
        except (OSError, mailbox.Error) as exc:
            failed += 1
            click.echo(f"{path}: not read: {exc}", err=True)
            continue
        recorded += found
    click.echo(f"recorded {recorded} bounces from {messages} messages")
    if failed:
        sys.exit(1)


def _mail_files(paths: Iterable[Path]) -> Iterator[Path]:
    for path in paths:
        if not path.is_dir():
            yield path
        elif (path / "cur").is_dir() and (path / "new").is_dir():  # a maildir; tmp/ is unfinished
            for sub in ("new", "cur"):
                yield from sorted(p for p in (path / sub).iterdir()
                                  if p.is_file() and not p.name.startswith("."))
        else:
            yield from sorted(p for p in path.rglob("*.eml") if p.is_file())


def _messages(path: Path) -> Iterator[bytes]:
    """The messages of one file: an mbox holds many (each after a "From " line), others one."""
    with path.open("rb") as fh:
        is_mbox = path.suffix.lower() != ".eml" and fh.read(5) == b"From "
    if not is_mbox:
        yield path.read_bytes()
        return
    box = mailbox.mbox(path, create=False)
    try:
        for key in box.iterkeys():
            yield box.get_bytes(key)
    finally:
        box.close()

"""Batch rendering of a period's scorecard PDFs in a process pool, resumable.

Layout: OUT/<period>/branches/<code>.pdf and OUT/<period>/agents/<code>.pdf, each with a
<code>.pdf.sha256 sidecar holding the snapshot's content hash and the locale it was printed in.
A PDF whose sidecar matches the current snapshot is skipped, so an interrupted run picks up
where it stopped and a recompute (a new snapshot with other content) re-renders only what
changed. Each worker process builds its own app (create_app) and reads snapshots by id: no
database connection or session crosses a process boundary.
"""

from __future__ import annotations

import os
import pickle
import re
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from flask import current_app

from qms.extensions import db
from qms.scorecards.models import ScorecardSnapshot

FOLDERS = {"branch": "branches", "agent": "agents"}
_SAFE = re.compile(r"[^A-Za-z0-9._-]")


@dataclass(frozen=True)
class PdfJob:
    snapshot_id: int
    scope: str
    code: str
    content_hash: str
    path: str


@dataclass
class BatchResult:
    rendered: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return len(self.rendered) + len(self.skipped) + len(self.failed)


def safe_name(code: str) -> str:
    """A file name for an entity code: codes are short ASCII in practice, but never a path."""
    name = _SAFE.sub("_", code).lstrip(".")
    return name or "_"


def pdf_path(out_dir: Path, period: str, scope: str, code: str) -> Path:
    return Path(out_dir) / period / FOLDERS[scope] / f"{safe_name(code)}.pdf"


def sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def stamp(content_hash: str, locale: str) -> str:
    return f"{content_hash} {locale}\n"


def is_current(path: Path, content_hash: str, locale: str) -> bool:
    try:
        return path.is_file() and sidecar(path).read_text() == stamp(content_hash, locale)
    except OSError:
        return False


def plan(period: str, out_dir: Path, *, scopes=("branch", "agent")) -> list[PdfJob]:
    """One job per current snapshot of the period, branches first."""
    rows = db.session.execute(
        sa.select(ScorecardSnapshot.id, ScorecardSnapshot.scope, ScorecardSnapshot.entity_code,
                  ScorecardSnapshot.content_hash)
        .where(ScorecardSnapshot.period == period, ScorecardSnapshot.scope.in_(scopes),
               ScorecardSnapshot.superseded_by_id.is_(None))
        .order_by(ScorecardSnapshot.scope.desc(), ScorecardSnapshot.entity_code))
    return [PdfJob(r.id, r.scope, r.entity_code, r.content_hash,
                   str(pdf_path(out_dir, period, r.scope, r.entity_code))) for r in rows]


def _write_atomic(path: Path, data: bytes | str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data if isinstance(data, bytes) else data.encode())
    os.replace(tmp, path)


def render_job(job: PdfJob, locale: str) -> str:
    """Render one PDF in the current app context; the sidecar is written last, so a PDF
    without a matching sidecar is never taken for finished."""
    from qms.scorecards.pdf import render_pdf

    snapshot = db.session.get(ScorecardSnapshot, job.snapshot_id)
    if snapshot is None:
        raise LookupError(f"snapshot {job.snapshot_id} is gone")
    path = Path(job.path)
    _write_atomic(path, render_pdf(snapshot, locale=locale))
    _write_atomic(sidecar(path), stamp(snapshot.content_hash, locale))
    db.session.rollback()  # read only: end the read transaction, keep no identity map
    return job.path


# -- worker processes ------------------------------------------------------------------

_worker_app = None


def worker_config(app) -> dict:
    """The parent app's settings that can travel to a worker (all plain values do)."""
    out = {}
    for key, value in app.config.items():
        try:
            pickle.dumps(value)
        except Exception:  # noqa: BLE001 - leave out what cannot be pickled
            continue
        out[key] = value
    return out


def _init_worker(config: dict) -> None:
    global _worker_app
    from qms import create_app

    _worker_app = create_app(config)
    _worker_app.app_context().push()


def _work(job: PdfJob, locale: str) -> str:
    return render_job(job, locale)


def render_period(period: str, out_dir: Path, *, workers: int = 1, locale: str | None = None,
                  force: bool = False, progress: Callable[[int], None] | None = None,
                  jobs: list[PdfJob] | None = None) -> BatchResult:
    """Render every current snapshot's PDF of `period` into out_dir; skip unchanged ones."""
    locale = locale or current_app.config["BABEL_DEFAULT_LOCALE"]
    result = BatchResult()
    todo = []
    for job in plan(period, Path(out_dir)) if jobs is None else jobs:
        if not force and is_current(Path(job.path), job.content_hash, locale):
            result.skipped.append(job.path)
            if progress:
                progress(1)
        else:
            todo.append(job)
    if workers <= 1 or len(todo) <= 1:
        for job in todo:
            try:
                result.rendered.append(render_job(job, locale))
            except Exception as exc:  # noqa: BLE001 - one bad PDF must not stop the batch
                result.failed[job.path] = repr(exc)
            if progress:
                progress(1)
        return result
    config = worker_config(current_app)
    with ProcessPoolExecutor(max_workers=workers, initializer=_init_worker,
                             initargs=(config,)) as pool:
        futures = {pool.submit(_work, job, locale): job for job in todo}
        for future in as_completed(futures):
            job = futures[future]
            try:
                result.rendered.append(future.result())
            except Exception as exc:  # noqa: BLE001
                result.failed[job.path] = repr(exc)
            if progress:
                progress(1)
    return result

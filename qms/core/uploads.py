"""Uploaded files: checked by content and size, stored under their SHA-256, never served from a
path the uploader chose. Shared by complaints, mystery shopping and audits."""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Mapped, mapped_column

from qms.core.db import UTCDateTime, now_utc
from qms.extensions import db


class Attachment(db.Model):
    __tablename__ = "attachments"
    __table_args__ = (sa.Index("ix_attachments_owner", "owner_type", "owner_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_type: Mapped[str] = mapped_column(sa.String(32))   # "complaint", "shop_report", ...
    owner_id: Mapped[int]
    sha256: Mapped[str] = mapped_column(sa.String(64), index=True)
    size: Mapped[int]
    mime: Mapped[str] = mapped_column(sa.String(100))         # from the content, not the client
    filename: Mapped[str] = mapped_column(sa.String(200))     # display name only, sanitised
    uploaded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    uploaded_by_label: Mapped[str | None] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)


# -- the service ----------------------------------------------------------------------------
#
# Files are named by their SHA-256 under UPLOAD_DIR/<sha[:2]>/<sha>: the same content is kept
# once, and no part of a stored path ever comes from the uploader. The type is decided from the
# first bytes (magic numbers), never from the name or the client's Content-Type, and served back
# with that type, as a download, with nosniff — so an HTML page renamed .jpg is refused, and a
# stored file can never run as a page of this site.
#
# A file is written before the complaint's transaction commits (it has to be somewhere while
# the rows are written); if the transaction then rolls back, an unreferenced blob stays, which
# the next upload of the same content reuses. Rows are never written without their file.

# mime -> (signatures at offset 0, canonical extension, other accepted extensions)
SIGNATURES: dict[str, tuple[tuple[bytes, ...], str, tuple[str, ...]]] = {
    "image/jpeg": ((b"\xff\xd8\xff",), ".jpg", (".jpeg", ".jpe")),
    "image/png": ((b"\x89PNG\r\n\x1a\n",), ".png", ()),
    "application/pdf": ((b"%PDF-",), ".pdf", ()),
    "image/gif": ((b"GIF87a", b"GIF89a"), ".gif", ()),
}
DEFAULT_ALLOWED = ("image/jpeg", "image/png", "application/pdf")
DEFAULT_MAX_BYTES = 10 * 1024 * 1024
FILENAME_MAX = 120
_CHUNK = 64 * 1024
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_UNSAFE_CHARS = frozenset('<>:"|?*')  # not allowed in file names on Windows


class UploadError(Exception):
    """A refused upload: `status` 413 for too large, 400 otherwise; `message` for people."""

    def __init__(self, message, status: int = 400):
        super().__init__(str(message))
        self.message = message
        self.status = status


@dataclass(frozen=True)
class CheckedUpload:
    """An upload that passed the checks, held in memory until it is stored."""

    data: bytes
    sha256: str
    mime: str
    filename: str

    @property
    def size(self) -> int:
        return len(self.data)


def max_bytes() -> int:
    return int(current_app.config.get("UPLOAD_MAX_BYTES") or DEFAULT_MAX_BYTES)


def allowed_types() -> tuple[str, ...]:
    configured = current_app.config.get("UPLOAD_ALLOWED_TYPES") or DEFAULT_ALLOWED
    return tuple(t for t in configured if t in SIGNATURES)


def sniff(head: bytes) -> str | None:
    """The type the content says it is, or None when no known signature matches."""
    for mime, (signatures, _ext, _others) in SIGNATURES.items():
        if any(head.startswith(sig) for sig in signatures):
            return mime
    return None


def sanitise_filename(name: str | None, mime: str) -> str:
    """A display name: no directories, no control or bidi characters, capped, with an extension
    that matches the content (report.pdf.exe that is really a PDF becomes report.pdf.pdf)."""
    name = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in unicodedata.normalize("NFC", name)
                   if unicodedata.category(ch)[0] != "C" and ch not in _UNSAFE_CHARS)
    name = " ".join(name.split()).strip(" .")
    _sigs, ext, others = SIGNATURES[mime]
    stem, dot, suffix = name.rpartition(".")
    if not dot:
        stem, suffix = name, ""
    if not stem:
        stem = "attachment"
    if f".{suffix.lower()}" not in (ext, *others):
        stem, suffix = name or "attachment", ext[1:]
    stem = stem[:FILENAME_MAX - len(suffix) - 1].rstrip(" .") or "attachment"
    return f"{stem}.{suffix}"


def read_upload(file_storage) -> CheckedUpload:
    """Read and check one upload (size, then content type); raises UploadError."""
    from flask_babel import lazy_gettext as _l

    limit = max_bytes()
    stream = getattr(file_storage, "stream", file_storage)
    digest = hashlib.sha256()
    chunks, size = [], 0
    while True:
        chunk = stream.read(_CHUNK)
        if not chunk:
            break
        size += len(chunk)
        if size > limit:
            raise UploadError(_l("The file is larger than %(mb)s MB.",
                                 mb=megabytes(limit)), status=413)
        digest.update(chunk)
        chunks.append(chunk)
    data = b"".join(chunks)
    if not data:
        raise UploadError(_l("The file is empty."))
    mime = sniff(data[:16])
    if mime is None or mime not in allowed_types():
        raise UploadError(_l("This kind of file is not accepted. Send a JPEG or PNG picture "
                             "or a PDF document."))
    filename = sanitise_filename(getattr(file_storage, "filename", None), mime)
    return CheckedUpload(data=data, sha256=digest.hexdigest(), mime=mime, filename=filename)


def megabytes(n: int) -> str:
    mb = n / (1024 * 1024)
    return f"{mb:.0f}" if mb >= 1 else f"{mb:.2f}"


def path_for(sha256: str) -> Path:
    """Where the content with this hash lives; only ever built from a hash we computed."""
    if not _SHA256.match(sha256 or ""):
        raise ValueError("not a SHA-256 hex digest")
    return Path(current_app.config["UPLOAD_DIR"]) / sha256[:2] / sha256


def _write_blob(checked: CheckedUpload) -> None:
    target = path_for(checked.sha256)
    if target.exists() and target.stat().st_size == checked.size:
        return  # the same content is stored already
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(checked.data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)  # atomic: a reader sees the whole file or none
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def save_upload(checked: CheckedUpload, owner_type: str, owner_id: int, *, actor=None,
                actor_label: str | None = None) -> Attachment:
    """Store checked content (once per hash) and add its row to the unit of work."""
    _write_blob(checked)
    att = Attachment(owner_type=owner_type, owner_id=owner_id, sha256=checked.sha256,
                     size=checked.size, mime=checked.mime, filename=checked.filename,
                     uploaded_by_id=getattr(actor, "id", None) if hasattr(actor, "email") else None,
                     uploaded_by_label=actor_label or getattr(actor, "name", None))
    db.session.add(att)
    db.session.flush()
    return att


def store_upload(file_storage, owner_type: str, owner_id: int, *, actor=None,
                 actor_label: str | None = None) -> Attachment:
    """Check and store one upload for its owner; raises UploadError (nothing stored)."""
    return save_upload(read_upload(file_storage), owner_type, owner_id, actor=actor,
                       actor_label=actor_label)


def attachments_of(owner_type: str, owner_id: int) -> list[Attachment]:
    return list(db.session.scalars(sa.select(Attachment).where(
        Attachment.owner_type == owner_type, Attachment.owner_id == owner_id)
        .order_by(Attachment.id)))


def open_attachment(att: Attachment):
    """A download response for a stored attachment: its checked type, as a file to save, never
    rendered by the browser."""
    from flask import abort, send_file

    path = path_for(att.sha256)
    if not path.is_file():
        abort(404)
    resp = send_file(path, mimetype=att.mime, as_attachment=True, download_name=att.filename,
                     conditional=False, etag=False, max_age=0)
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    resp.headers["Cache-Control"] = "private, no-store"
    return resp

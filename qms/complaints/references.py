"""Complaint references and the private status link: the yearly counter, the token, its URL.

The reference comes from a per-year counter row incremented by one atomic upsert (INSERT .. ON
CONFLICT DO UPDATE .. RETURNING, SQLite 3.35+ and PostgreSQL), which is also the intake's first
write: on SQLite the write lock is taken there and the rest of the transaction only writes, so
concurrent intakes queue on the busy timeout instead of failing.

The status token is derived (HMAC-SHA256 of the complaint id under LINK_TOKEN_KEY, else
SECRET_KEY), like the survey links: 192 bits, only its SHA-256 stored, and the acknowledgement or
a later letter can print the same link again without the database ever holding it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app, has_request_context, request

from qms.complaints.models import Complaint, ReferenceCounter
from qms.core.db import now_utc
from qms.core.tokens import TOKEN_BYTES, hash_token
from qms.extensions import db

# Configuration keys of the reference with their defaults (part of intake.SETTINGS).
REFERENCE_SETTINGS: dict[str, object] = {
    "COMPLAINT_REFERENCE_PREFIX": "CMP",
    # The zone whose calendar year numbers the references (CMP-2026-...).
    "COMPLAINT_REFERENCE_TIMEZONE": "Asia/Shanghai",
}


def _setting(name: str):
    return current_app.config.get(name, REFERENCE_SETTINGS[name])


# -- references ---------------------------------------------------------------------------------

def next_reference(now: datetime | None = None) -> str:
    """CMP-2026-000123: the next number of the year, by one atomic upsert of the counter row.

    INSERT .. ON CONFLICT (name, year) DO UPDATE SET value = value + 1 RETURNING value: the
    first intake of a year creates the row, every other one increments it; the row stays locked
    until the intake commits, so two intakes never get the same number (and a rolled-back
    intake gives its number back).
    """
    now = now or now_utc()
    prefix = _setting("COMPLAINT_REFERENCE_PREFIX")
    year = now.astimezone(ZoneInfo(_setting("COMPLAINT_REFERENCE_TIMEZONE"))).year
    table = ReferenceCounter.__table__
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:  # pragma: no cover - the two supported databases
        raise RuntimeError(f"no atomic counter for {dialect}")
    stmt = (insert(table).values(name=prefix, year=year, value=1)
            .on_conflict_do_update(index_elements=[table.c.name, table.c.year],
                                   set_={"value": table.c.value + 1})
            .returning(table.c.value))
    value = db.session.execute(stmt).scalar_one()
    return f"{prefix}-{year}-{value:06d}"


# -- the private status link --------------------------------------------------------------------

def _derive(complaint_id: int) -> str:
    cfg = current_app.config
    key = (cfg.get("LINK_TOKEN_KEY") or cfg["SECRET_KEY"]).encode()
    mac = hmac.new(key, f"qms-complaint-status/{complaint_id}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac[:TOKEN_BYTES]).decode().rstrip("=")


def assign_status_token(complaint: Complaint) -> str:
    token = _derive(complaint.id)
    complaint.status_token_hash = hash_token(token)
    return token


def status_token_for(complaint: Complaint) -> str | None:
    """The complaint's status token again (for letters); None when the key changed since."""
    if complaint.status_token_hash is None:
        return None
    token = _derive(complaint.id)
    return token if hmac.compare_digest(hash_token(token), complaint.status_token_hash) else None


def status_url(token: str) -> str:
    base = current_app.config.get("PUBLIC_BASE_URL")
    if base:
        root = base.rstrip("/")
    elif has_request_context():
        root = request.url_root.rstrip("/")
    else:
        root = "http://127.0.0.1:5000"
    return f"{root}/complaint-status/{token}"


def find_by_status_token(token: str) -> Complaint | None:
    if not token or len(token) > 200:
        return None
    return db.session.scalar(sa.select(Complaint).where(
        Complaint.status_token_hash == hash_token(token)))

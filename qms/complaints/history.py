"""The complaint history: append-only events chained by SHA-256, and the check of the chains.

Each event's hash covers its own content and the previous event's hash; the complaint keeps
the head (length and last hash), so an edited, deleted, inserted, reordered or cut-off event
shows up in `verify_all`. Corrections are new events; nothing here updates or deletes one.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

from qms.complaints.models import Complaint, ComplaintEvent
from qms.core.db import now_utc
from qms.extensions import db


class HistoryIsAppendOnly(Exception):
    pass


@sa_event.listens_for(Session, "before_flush")
def _events_are_append_only(session, _ctx, _instances):
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, ComplaintEvent) and (obj in session.deleted
                                                or session.is_modified(obj)):
            raise HistoryIsAppendOnly("complaint events cannot be changed or deleted")


def _plain(value):
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def _canonical(complaint_id: int, seq: int, at: datetime, actor_id, actor_label, kind,
               from_status, to_status, changes, reason, approver_id, prev_hash) -> bytes:
    body = {
        # UTC, so that the value hashes the same before and after a round trip through the DB
        "complaint": complaint_id, "seq": seq,
        "at": at.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor": actor_id, "actor_label": actor_label, "kind": kind, "from": from_status,
        "to": to_status, "changes": changes, "reason": reason, "approver": approver_id,
        "prev": prev_hash,
    }
    return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"),
                      default=_plain).encode()


def event_hash(ev: ComplaintEvent) -> str:
    return hashlib.sha256(_canonical(
        ev.complaint_id, ev.seq, ev.at, ev.actor_id, ev.actor_label, ev.kind, ev.from_status,
        ev.to_status, ev.changes, ev.reason, ev.approver_id, ev.prev_hash)).hexdigest()


def normalise_changes(changes: dict | None) -> dict | None:
    """JSON-safe {field: [from, to]} (dates, decimals as strings), as stored and hashed."""
    if not changes:
        return None
    return json.loads(json.dumps(changes, default=_plain, ensure_ascii=False))


def record(complaint: Complaint, kind: str, *, actor=None, actor_label: str | None = None,
           from_status: str | None = None, to_status: str | None = None,
           changes: dict | None = None, reason: str | None = None, approver=None,
           now: datetime | None = None) -> ComplaintEvent:
    """Append one event to the complaint's chain in the caller's unit of work.

    The complaint row is the chain's head: its history_length/history_head are updated in the
    same transaction, and the unique (complaint_id, seq) refuses a concurrent fork.
    """
    if complaint.id is None:
        db.session.flush()
    at = now or now_utc()
    seq = (complaint.history_length or 0) + 1
    ev = ComplaintEvent(
        complaint_id=complaint.id, seq=seq, at=at, actor_id=getattr(actor, "id", None),
        actor_label=actor_label or getattr(actor, "name", None), kind=kind,
        from_status=from_status, to_status=to_status, changes=normalise_changes(changes),
        reason=reason, approver_id=getattr(approver, "id", None), prev_hash=complaint.history_head,
    )
    ev.hash = event_hash(ev)
    db.session.add(ev)
    complaint.history_length = seq
    complaint.history_head = ev.hash
    db.session.flush()
    return ev


@dataclass(frozen=True)
class ChainProblem:
    complaint_id: int
    reference: str
    problem: str


def verify_complaint(complaint: Complaint, events: list[ComplaintEvent]) -> list[str]:
    problems = []
    prev = None
    for expected_seq, ev in enumerate(events, start=1):
        if ev.seq != expected_seq:
            problems.append(f"event #{ev.id}: sequence {ev.seq}, expected {expected_seq} "
                            "(an event was removed or reordered)")
            break
        if ev.prev_hash != prev:
            problems.append(f"event {ev.seq}: does not follow the previous event")
            break
        if event_hash(ev) != ev.hash:
            problems.append(f"event {ev.seq}: content does not match its hash (altered)")
            break
        prev = ev.hash
    if not problems:
        if len(events) != complaint.history_length or prev != complaint.history_head:
            problems.append(f"history has {len(events)} events, the complaint records "
                            f"{complaint.history_length} (the history was cut)")
    return problems


def verify_all(batch: int = 500) -> list[ChainProblem]:
    """Check every complaint's chain; events are read in (complaint, seq) order in batches."""
    problems: list[ChainProblem] = []
    complaints = {c.id: c for c in db.session.scalars(sa.select(Complaint))}
    current_id, bucket = None, []

    def flush():
        if current_id is not None:
            c = complaints.pop(current_id)
            problems.extend(ChainProblem(c.id, c.reference, p) for p in verify_complaint(c, bucket))

    stmt = sa.select(ComplaintEvent).order_by(ComplaintEvent.complaint_id, ComplaintEvent.seq,
                                              ComplaintEvent.id)
    for ev in db.session.scalars(stmt.execution_options(yield_per=batch)):
        if ev.complaint_id != current_id:
            flush()
            current_id, bucket = ev.complaint_id, []
        if ev.complaint_id in complaints:
            bucket.append(ev)
    flush()
    for c in complaints.values():  # complaints whose events are all gone
        problems.extend(ChainProblem(c.id, c.reference, p) for p in verify_complaint(c, []))
    return problems

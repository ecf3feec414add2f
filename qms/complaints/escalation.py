"""Escalation of complaints running out of time: flags at 50 / 80 / 100 % of the allowed time,
each once per complaint, however often (or concurrently) the job runs.

Who is told: at every threshold the handler (the assignee, or the owner while nobody is
assigned); at 100 % also the supervisors — the branch heads of the complaint's branch (granted
for that branch or its region) and the complaint officers with a bank-wide grant (no branch,
no region), active, minus the handler. The unique (complaint, threshold, level) row is
inserted with INSERT .. ON CONFLICT DO NOTHING: only the run that inserts it notifies and
records the event, so a second run finds nothing to do.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask import current_app, has_request_context, url_for
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from werkzeug.routing import BuildError

from qms.auth.models import RoleGrant, User
from qms.complaints import history, letters, sla
from qms.complaints.models import Complaint, ComplaintEscalation
from qms.complaints.states import LABELS, OPEN, Status
from qms.complaints.workflow.core import clock_start, setting, zone_of
from qms.core.db import now_utc
from qms.core.i18n import normalise_locale
from qms.extensions import db
from qms.mail import OutgoingMessage
from qms.org.models import Branch

ASSIGNEE, SUPERVISOR = "assignee", "supervisor"
SUPERVISOR_FROM = 100  # the threshold from which supervisors are told as well


def thresholds() -> list[int]:
    return sorted({int(t) for t in setting("COMPLAINT_ESCALATION_THRESHOLDS")})


def handler_of(complaint: Complaint) -> User | None:
    user_id = complaint.assignee_id or complaint.owner_id
    return db.session.get(User, user_id) if user_id else None


def supervisors(complaint: Complaint) -> list[User]:
    """Branch heads of the branch (branch or region grant) and bank-wide complaint officers,
    active, without the handler."""
    region = None
    if complaint.branch_id is not None:
        region = db.session.scalar(sa.select(Branch.region).where(
            Branch.id == complaint.branch_id))
    heads = sa.and_(RoleGrant.role == "branch_head", sa.or_(
        RoleGrant.branch_id == complaint.branch_id if complaint.branch_id else sa.false(),
        sa.and_(RoleGrant.branch_id.is_(None), RoleGrant.region == region)
        if region else sa.false()))
    central = sa.and_(RoleGrant.role == "complaints", RoleGrant.branch_id.is_(None),
                      RoleGrant.region.is_(None))
    handler = complaint.assignee_id or complaint.owner_id
    users = db.session.scalars(
        sa.select(User).join(RoleGrant).where(User.active.is_(True), sa.or_(heads, central))
        .distinct().order_by(User.id))
    return [u for u in users if u.id != handler]


def _insert(complaint: Complaint, threshold: int, level: str, user: User | None,
            now: datetime) -> bool:
    """Insert-or-ignore the flag; True for the one run that inserted it."""
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:  # pragma: no cover - only the two supported databases
        raise RuntimeError(f"no insert-or-ignore for {dialect}")
    stmt = insert(ComplaintEscalation).values(
        complaint_id=complaint.id, threshold=threshold, level=level,
        notified_user_id=getattr(user, "id", None), at=now,
    ).on_conflict_do_nothing(index_elements=["complaint_id", "threshold", "level"])
    # RETURNING, not rowcount: the ORM's insert path reports no rowcount on PostgreSQL
    stmt = stmt.returning(ComplaintEscalation.__table__.c.id)
    return db.session.connection().execute(stmt).first() is not None


def _link(complaint: Complaint) -> str:
    try:
        if has_request_context():
            return url_for("complaints.detail", complaint_id=complaint.id, _external=True)
        base = (current_app.config.get("PUBLIC_BASE_URL") or "http://127.0.0.1:5000").rstrip("/")
        path = current_app.url_map.bind("localhost").build(
            "complaints.detail", {"complaint_id": complaint.id})
        return base + path
    except BuildError:
        base = (current_app.config.get("PUBLIC_BASE_URL") or "http://127.0.0.1:5000").rstrip("/")
        return f"{base}/complaints/{complaint.id}"


SUBJECT = _l("Complaint %(reference)s: %(pct)d%% of the time used")


def notification(complaint: Complaint, user: User, threshold: int, *,
                 supervisor: bool) -> OutgoingMessage:
    """The staff e-mail in the recipient's language."""
    locale = normalise_locale(user.locale) or current_app.config["BABEL_DEFAULT_LOCALE"]
    handler = handler_of(complaint)
    with force_locale(locale):
        from flask_babel import format_date

        ctx = {"reference": complaint.reference, "threshold": threshold,
               "due": format_date(complaint.due_on, "long") if complaint.due_on else "",
               "status": str(LABELS.get(Status(complaint.status), complaint.status)),
               "assignee": handler.name if handler else None, "supervisor": supervisor,
               "url": _link(complaint)}
        subject = str(SUBJECT) % {"reference": complaint.reference, "pct": threshold}
        text = current_app.jinja_env.get_template("complaints/mail/escalation.txt").render(ctx)
    return OutgoingMessage(to=user.email, subject=subject, text=text.strip() + "\n",
                           key=("escalation", complaint.id, threshold, user.id))


def _escalate(complaint: Complaint, threshold: int, now: datetime) -> int:
    handler = handler_of(complaint)
    won = []
    if _insert(complaint, threshold, ASSIGNEE, handler, now):
        won.append(ASSIGNEE)
    bosses: list[User] = []
    if threshold >= SUPERVISOR_FROM:
        bosses = supervisors(complaint)
        if _insert(complaint, threshold, SUPERVISOR, bosses[0] if bosses else None, now):
            won.append(SUPERVISOR)
    if not won:
        return 0
    # This run owns the flag: take the complaint row (FOR UPDATE on PostgreSQL) so the event
    # extends the chain as it stands now.
    db.session.refresh(complaint, with_for_update=True)
    told = []
    if ASSIGNEE in won and handler is not None and handler.active:
        letters.queue_mail(notification(complaint, handler, threshold, supervisor=False))
        told.append(handler.id)
    if SUPERVISOR in won:
        for user in bosses:
            letters.queue_mail(notification(complaint, user, threshold, supervisor=True))
            told.append(user.id)
    before = complaint.escalated_pct or 0
    complaint.escalated_pct = max(before, threshold)
    history.record(complaint, "escalated", actor_label="scheduler",
                   from_status=complaint.status, to_status=complaint.status,
                   changes={"escalated_pct": [before, complaint.escalated_pct],
                            "notified": [None, told]},
                   reason=f"{threshold}% of the time used (due {complaint.due_on})", now=now)
    return len(won)


def escalate_due(now: datetime | None = None) -> int:
    """Flag every running complaint (open, not paused) that has reached a threshold it has
    not been flagged for; returns the number of new flags. Runs in the caller's unit of work;
    the e-mails go out after its commit (see run())."""
    now = now or now_utc()
    levels = thresholds()
    if not levels:
        return 0
    running = db.session.scalars(sa.select(Complaint).where(
        Complaint.status.in_([str(s) for s in OPEN]), Complaint.paused_since.is_(None),
        Complaint.due_on.is_not(None), Complaint.escalated_pct < levels[-1])
        .order_by(Complaint.id)).all()
    new = 0
    for complaint in running:
        used = sla.elapsed_fraction(clock_start(complaint), complaint.due_on, now,
                                    zone_of(complaint))
        for threshold in levels:
            if used * 100 + 1e-9 < threshold:
                break
            if threshold <= (complaint.escalated_pct or 0):
                continue
            new += _escalate(complaint, threshold, now)
    return new


def run(now: datetime | None = None) -> int:
    """The job: escalate, commit, then send the notifications. A boundary (it commits)."""
    new = escalate_due(now)
    db.session.commit()
    letters.deliver_committed(now)
    return new

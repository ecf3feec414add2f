"""Due-date reminders to mystery shoppers and the overdue list for planners.

`remind_due(now)` is the scheduler job "mystery-reminders": each assignment whose report is
due within REMIND_BEFORE and not yet submitted gets one e-mail to its shopper, ever. The
reminded_at stamp is claimed with a conditional UPDATE (WHERE reminded_at IS NULL) and
committed before the e-mail goes out, so a second or concurrent run finds nothing to do.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app, has_request_context, request
from flask_babel import force_locale, format_datetime
from flask_babel import gettext as _

from qms.auth.models import User
from qms.core.db import now_utc
from qms.core.i18n import normalise_locale
from qms.core.permissions import scope_filter
from qms.extensions import db
from qms.mail import Outcome, OutgoingMessage, open_mailer
from qms.mystery.models import ShopAssignment

log = logging.getLogger("qms.mystery.reminders")

REMIND_BEFORE = timedelta(hours=24)
PENDING = ("accepted", "in_progress", "returned")      # reminded: the shopper owes a report
NOT_IN = ("offered", *PENDING)                           # overdue: not submitted in time


def _link(assignment_id: int) -> str:
    """Absolute address of the assignment in the portal (PUBLIC_BASE_URL for the scheduler)."""
    base = current_app.config.get("PUBLIC_BASE_URL") or (
        request.url_root if has_request_context() else "http://127.0.0.1:5000")
    parts = urlsplit(base.rstrip("/") + "/")
    adapter = current_app.url_map.bind(parts.netloc, script_name=parts.path,
                                       url_scheme=parts.scheme or "http")
    return adapter.build("mystery.shopper_assignment", {"assignment_id": assignment_id},
                         force_external=True)


def reminder(a: ShopAssignment, shopper: User) -> OutgoingMessage:
    """The reminder in the shopper's language, with the due time in the branch's time zone."""
    locale = normalise_locale(shopper.locale) or current_app.config["BABEL_DEFAULT_LOCALE"]
    zone = ZoneInfo(a.branch.timezone or "Asia/Shanghai")
    with force_locale(locale):
        due = format_datetime(a.due_at.astimezone(zone), "medium", rebase=False)
        subject = _("Mystery shop report due %(due)s", due=due)
        lines = [
            _("Hello %(name)s,", name=shopper.name), "",
            _("Your report for %(branch)s is due %(due)s.", branch=a.branch.name, due=due),
            _("Open the assignment to fill in and submit the report:"), _link(a.id), "",
            _("This is an automatic reminder; it is sent once."),
        ]
    return OutgoingMessage(to=shopper.email, subject=subject, text="\n".join(lines) + "\n",
                           key=("mystery-reminder", a.id),
                           headers={"X-QMS-Shop-Assignment": str(a.id)})


def _claim(assignment_id: int, now: datetime) -> bool:
    table = ShopAssignment.__table__
    result = db.session.execute(
        sa.update(table).where(table.c.id == assignment_id, table.c.reminded_at.is_(None),
                               table.c.status.in_(PENDING))
        .values(reminded_at=now))
    return result.rowcount == 1


def remind_due(now: datetime | None = None) -> int:
    """E-mail each shopper whose report is due within 24 hours, once per assignment; commits
    the stamps, then sends. Returns the number of e-mails handed over."""
    now = now or now_utc()
    due = db.session.execute(
        sa.select(ShopAssignment.id, ShopAssignment.shopper_id).where(
            ShopAssignment.status.in_(PENDING), ShopAssignment.reminded_at.is_(None),
            ShopAssignment.shopper_id.is_not(None), ShopAssignment.due_at > now,
            ShopAssignment.due_at <= now + REMIND_BEFORE)
        .order_by(ShopAssignment.due_at, ShopAssignment.id)).all()
    claimed = [row.id for row in due if _claim(row.id, now)]
    messages = []
    for assignment_id in claimed:
        a = db.session.get(ShopAssignment, assignment_id)
        shopper = db.session.get(User, a.shopper_id)
        if shopper is not None and shopper.active and shopper.email:
            messages.append(reminder(a, shopper))
    db.session.commit()  # the stamps first: at most one e-mail per assignment
    sent = 0
    if messages:
        with open_mailer() as mailer:
            for message in messages:
                result = mailer.send(message)
                if result.outcome == Outcome.SENT:
                    sent += 1
                else:
                    log.warning("mystery reminder %s: %s %s", message.key, result.outcome,
                                result.error)
    return sent


def overdue(principal, *, now: datetime | None = None, roles=None) -> list[ShopAssignment]:
    """Assignments past their due time without a submitted report (offered, accepted, in
    progress or returned), in the planner's branch scope, most overdue first."""
    now = now or now_utc()
    stmt = sa.select(ShopAssignment).where(ShopAssignment.status.in_(NOT_IN),
                                           ShopAssignment.due_at < now)
    stmt = scope_filter(stmt, ShopAssignment.branch_id, principal, roles)
    return list(db.session.scalars(stmt.order_by(ShopAssignment.due_at, ShopAssignment.id)))

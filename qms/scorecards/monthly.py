"""The monthly scorecard run: compute the month that just ended, then e-mail each branch head
their branch's PDF, in the head's language, exactly once per (head, snapshot).

Who is a branch head of a branch: an active user with a branch_head grant for that branch, or
for the branch's region. Each delivery is claimed (a unique row) and committed before its
e-mail goes out; a message that was never handed over gives the claim back for the next run,
one that may have arrived is not sent again (at most once, like every e-mail of QMS).
"""

from __future__ import annotations

import logging
from datetime import datetime

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _

from qms.auth.models import RoleGrant, User
from qms.core.i18n import normalise_locale
from qms.extensions import db
from qms.mail import Outcome
from qms.org.models import Branch
from qms.scorecards.batch import safe_name
from qms.scorecards.deliveries import (
    CLAIMED,
    REFUSED,
    SENT,
    UNKNOWN,
    ScorecardDelivery,
)
from qms.scorecards.mailing import Attachment, MessageWithAttachments, open_attachment_mailer
from qms.scorecards.models import ScorecardSnapshot

log = logging.getLogger("qms.scorecards.monthly")

FINAL = {Outcome.SENT: SENT, Outcome.REFUSED: REFUSED, Outcome.UNKNOWN: UNKNOWN}


def branch_heads(branch_id: int) -> list[User]:
    """Active users who head the branch (a grant for the branch or for its region)."""
    region = db.session.scalar(sa.select(Branch.region).where(Branch.id == branch_id))
    grant = sa.and_(RoleGrant.role == "branch_head", sa.or_(
        RoleGrant.branch_id == branch_id,
        sa.and_(RoleGrant.branch_id.is_(None), RoleGrant.region == region)))
    return list(db.session.scalars(
        sa.select(User).join(RoleGrant, RoleGrant.user_id == User.id)
        .where(User.active.is_(True), User.email.is_not(None), grant)
        .distinct().order_by(User.id)))


def _claim(snapshot_id: int, user_id: int, now: datetime) -> bool:
    """Insert-or-ignore the delivery row; True for the one run that inserted it."""
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    stmt = (insert(ScorecardDelivery)
            .values(snapshot_id=snapshot_id, user_id=user_id, status=CLAIMED, claimed_at=now)
            .on_conflict_do_nothing(index_elements=["snapshot_id", "user_id"])
            .returning(ScorecardDelivery.__table__.c.id))
    return db.session.connection().execute(stmt).first() is not None


def claim_deliveries(period: str, now: datetime) -> list[tuple[int, int]]:
    """(snapshot id, user id) of every branch scorecard of the period not yet claimed for a
    head; the claims are flushed, the caller commits."""
    snapshots = db.session.execute(
        sa.select(ScorecardSnapshot.id, ScorecardSnapshot.branch_id)
        .where(ScorecardSnapshot.period == period, ScorecardSnapshot.scope == "branch",
               ScorecardSnapshot.superseded_by_id.is_(None))
        .order_by(ScorecardSnapshot.entity_code)).all()
    claimed = []
    for snapshot_id, branch_id in snapshots:
        for user in branch_heads(branch_id):
            if _claim(snapshot_id, user.id, now):
                claimed.append((snapshot_id, user.id))
    return claimed


def scorecard_message(snapshot: ScorecardSnapshot, user: User) -> MessageWithAttachments:
    """The e-mail with the branch's PDF, in the head's language."""
    from qms.scorecards.pdf import render_pdf

    locale = normalise_locale(user.locale) or current_app.config["BABEL_DEFAULT_LOCALE"]
    entity = snapshot.data.get("entity") or {}
    ctx = {"name": user.name, "branch": entity.get("name") or snapshot.entity_code,
           "code": snapshot.entity_code, "period": snapshot.period,
           "overall": (snapshot.data.get("overall") or {})}
    with force_locale(locale):
        subject = _("Quality scorecard %(period)s: %(branch)s", period=snapshot.period,
                    branch=ctx["branch"])
        text = current_app.jinja_env.get_template("scorecards/pdf/mail.txt").render(ctx)
    pdf = render_pdf(snapshot, locale=locale)
    filename = f"scorecard-{safe_name(snapshot.entity_code)}-{snapshot.period}.pdf"
    return MessageWithAttachments(
        to=user.email, subject=subject, text=text.strip() + "\n",
        key=(snapshot.id, user.id), attachments=[Attachment(filename, pdf)],
        headers={"X-QMS-Scorecard": f"{snapshot.entity_code} {snapshot.period}"})


def send_claimed(claims: list[tuple[int, int]], now: datetime) -> int:
    """Send the claimed deliveries (after their commit), record each outcome, commit."""
    sent = 0
    with open_attachment_mailer() as mailer:
        for snapshot_id, user_id in claims:
            row = db.session.scalar(sa.select(ScorecardDelivery).where(
                ScorecardDelivery.snapshot_id == snapshot_id,
                ScorecardDelivery.user_id == user_id))
            if mailer.broken:  # the server is gone: no PDF to print, the claim goes back
                db.session.delete(row)
                db.session.commit()
                continue
            message = scorecard_message(db.session.get(ScorecardSnapshot, snapshot_id),
                                        db.session.get(User, user_id))
            result = mailer.send(message)
            if result.outcome in FINAL:
                row.status, row.error = FINAL[result.outcome], result.error
                row.message_id = result.message_id
                row.sent_at = now if result.outcome == Outcome.SENT else None
                sent += result.outcome == Outcome.SENT
            else:  # never handed over: give the claim back for the next run
                log.warning("scorecard to %s: %s %s", message.to, result.outcome, result.error)
                db.session.delete(row)
            db.session.commit()
    return sent


def run_monthly(now: datetime) -> int:
    """Compute the month before `now` and send its branch scorecards; returns e-mails sent."""
    from qms.scorecards.compute import last_closed_period
    from qms.scorecards.snapshots import compute_period

    period = last_closed_period(now)
    compute_period(period, now=now)
    claims = claim_deliveries(period, now)
    db.session.commit()  # the snapshots and the claims, before any e-mail leaves
    return send_claimed(claims, now)

"""The e-mail sweeps: due invitations and reminders, each e-mail sent at most once.

Every e-mail is claimed and committed before it is handed to the SMTP server, then marked
right after. If sending stops in between (a dropped connection, a crash), the e-mail stays
'sending' — shown to operators as "unknown" — and is never sent again: a customer asked twice
is worse than one asked not at all. E-mails never handed over go back to the queue. These two
functions are boundaries like a job or a view: they commit, because mail goes out between
two commits, and they start each claim with its write (SQLite cannot upgrade a read lock).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from babel.dates import format_datetime
from flask import current_app
from flask_babel import force_locale

from qms.core.db import now_utc
from qms.extensions import db
from qms.mail import Outcome, OutgoingMessage, open_mailer
from qms.org.models import Customer
from qms.surveys import definition as defn
from qms.surveys.campaigns.links import (
    PERSONAL,
    LinkKeyChanged,
    assign_token,
    opt_out_url,
    personal_url,
    token_for,
)
from qms.surveys.campaigns.rules import OPTED_OUT, CampaignStatus, link_expiry
from qms.surveys.models import Campaign, Channel, Invitation, InvitationStatus, Response

log = logging.getLogger("qms.surveys.sending")

INVITATION = "invitation"
REMINDER = "reminder"


def _open_campaigns(now: datetime, *extra) -> list[Campaign]:
    return list(db.session.scalars(sa.select(Campaign).where(
        Campaign.status == CampaignStatus.RUNNING,
        sa.or_(Campaign.opens_at.is_(None), Campaign.opens_at <= now),
        sa.or_(Campaign.closes_at.is_(None), Campaign.closes_at > now), *extra)))


def build_message(inv: Invitation, kind: str, token: str) -> OutgoingMessage:
    """The e-mail in the invitation's language: subject, text and HTML, link and opt-out."""
    env = current_app.jinja_env
    tz = ZoneInfo(inv.branch.timezone if inv.branch else
                  current_app.config["BABEL_DEFAULT_TIMEZONE"])
    with force_locale(inv.locale):
        ctx = {
            "locale": inv.locale,
            "name": inv.customer.name if inv.customer else "",
            "survey_title": defn.text(inv.campaign.version.definition.get("title"), inv.locale),
            "branch_name": inv.branch.name if inv.branch else "",
            "url": personal_url(token),
            "opt_out_url": opt_out_url(token),
            "expires": format_datetime(inv.expires_at, "medium", tzinfo=tz,
                                       locale=inv.locale) if inv.expires_at else "",
        }
        subject = env.get_template(f"surveys/mail/{kind}_subject.txt").render(ctx)
        text = env.get_template(f"surveys/mail/{kind}.txt").render(ctx)
        html = env.get_template(f"surveys/mail/{kind}.html").render(ctx)
    return OutgoingMessage(to=inv.email, subject=" ".join(subject.split()), text=text,
                           html=html, key=inv.id,
                           headers={"List-Unsubscribe": f"<{ctx['opt_out_url']}>"})


# -- invitations ----------------------------------------------------------------------------

def _claim_next(campaign_ids: list[int], now: datetime) -> int | None:
    """pending -> sending for the next due invitation; the conditional UPDATE makes two
    concurrent sweeps (which should not exist) still claim each invitation once."""
    due = (sa.select(Invitation.id)
           .where(Invitation.status == InvitationStatus.PENDING,
                  Invitation.campaign_id.in_(campaign_ids),
                  sa.or_(Invitation.send_after.is_(None), Invitation.send_after <= now))
           .order_by(Invitation.id).limit(1).scalar_subquery())
    stmt = (sa.update(Invitation)
            .where(Invitation.id == due, Invitation.status == InvitationStatus.PENDING)
            .values(status=InvitationStatus.SENDING, sent_at=now)
            .returning(Invitation.id))
    return db.session.execute(stmt, execution_options={"synchronize_session": False}).scalar()


def _prepare(inv_id: int, now: datetime) -> OutgoingMessage | None:
    """In the claim's transaction: last checks, the expiry, the message."""
    inv = db.session.get(Invitation, inv_id, populate_existing=True)
    if inv.customer is not None and inv.customer.opted_out_at is not None:
        inv.status, inv.error, inv.sent_at = InvitationStatus.SUPPRESSED, OPTED_OUT, None
        return None
    if not inv.email:
        inv.status, inv.error, inv.sent_at = InvitationStatus.FAILED, "no e-mail address", None
        return None
    inv.expires_at = link_expiry(inv.campaign, now)
    try:
        token = token_for(inv, PERSONAL)
    except LinkKeyChanged:  # never sent yet, so a link under the current key is safe
        token = assign_token(inv, PERSONAL)
    msg = build_message(inv, INVITATION, token)
    msg.message_id = inv.message_id = _message_id()
    return msg


def _message_id() -> str:
    from qms.mail import new_message_id

    return new_message_id(current_app.config.get("MAIL_FROM") or "qms@localhost")


_AFTER_SEND = {
    Outcome.SENT: {"status": InvitationStatus.SENT, "error": None},
    Outcome.REFUSED: {"status": InvitationStatus.BOUNCED},
    Outcome.DEFERRED: {"status": InvitationStatus.FAILED},
    # never handed over: back in the queue, as if never claimed
    Outcome.NOT_SENT: {"status": InvitationStatus.PENDING, "sent_at": None, "expires_at": None,
                       "message_id": None},
    Outcome.UNKNOWN: {},  # stays 'sending' for good
}


def _record(inv_id: int, outcome: Outcome, error: str | None) -> None:
    values = dict(_AFTER_SEND[outcome])
    if outcome != Outcome.SENT:
        values["error"] = (error or outcome.value)[:500]
    db.session.execute(sa.update(Invitation).where(Invitation.id == inv_id).values(**values),
                       execution_options={"synchronize_session": False})


def send_due(now: datetime | None = None, batch_size: int = 100) -> int:
    """Send every due invitation, batch_size per SMTP connection; returns how many were
    handled. Stops at a broken connection; the next run carries on."""
    now = now or now_utc()
    campaign_ids = [c.id for c in _open_campaigns(now)]
    db.session.commit()  # end the read: each claim below starts with its write
    handled = 0
    while campaign_ids:
        claimed = 0
        with open_mailer() as mailer:
            while claimed < batch_size:
                inv_id = _claim_next(campaign_ids, now)
                if inv_id is None:
                    break
                try:
                    msg = _prepare(inv_id, now)
                    db.session.commit()
                except BaseException:
                    db.session.rollback()  # the claim too: nothing was sent
                    raise
                claimed += 1
                if msg is None:  # suppressed or failed at the last check
                    handled += 1
                    continue
                result = mailer.send(msg)
                _record(inv_id, result.outcome, result.error)
                db.session.commit()
                handled += result.outcome != Outcome.NOT_SENT
                if mailer.broken:
                    return handled
        if claimed < batch_size:
            break
    return handled


# -- reminders ------------------------------------------------------------------------------

@dataclass
class _Due:
    id: int
    seen: int  # reminders_sent when selected: the claim only succeeds if nobody changed it
    last: datetime | None


def _due_reminders(campaign: Campaign, now: datetime) -> list[_Due]:
    cutoff = now - timedelta(days=campaign.reminder_after_days)
    answered = sa.exists().where(Response.invitation_id == Invitation.id,
                                 Response.completed_at.is_not(None))
    rows = db.session.execute(
        sa.select(Invitation.id, Invitation.reminders_sent, Invitation.last_reminded_at)
        .outerjoin(Customer, Customer.id == Invitation.customer_id)
        .where(Invitation.campaign_id == campaign.id,
               Invitation.status == InvitationStatus.SENT,
               Invitation.email.is_not(None),
               Invitation.reminders_sent < campaign.max_reminders,
               sa.func.coalesce(Invitation.last_reminded_at, Invitation.sent_at) <= cutoff,
               sa.or_(Invitation.expires_at.is_(None), Invitation.expires_at > now),
               Invitation.completed_at.is_(None),
               Customer.opted_out_at.is_(None),
               ~answered)
        .order_by(Invitation.id))
    return [_Due(*r) for r in rows]


def _claim_reminder(due: _Due, now: datetime) -> bool:
    stmt = (sa.update(Invitation)
            .where(Invitation.id == due.id, Invitation.status == InvitationStatus.SENT,
                   Invitation.reminders_sent == due.seen)
            .values(reminders_sent=Invitation.reminders_sent + 1, last_reminded_at=now))
    return db.session.execute(stmt, execution_options={"synchronize_session": False}).rowcount == 1


def send_reminders(now: datetime | None = None) -> int:
    """Remind non-responders reminder_after_days after the invitation (or the last reminder),
    at most max_reminders times, while the link and the campaign are open."""
    now = now or now_utc()
    due: list[_Due] = []
    for campaign in _open_campaigns(now, Campaign.channel == Channel.EMAIL,
                                    Campaign.reminder_after_days.is_not(None),
                                    Campaign.max_reminders > 0):
        due += _due_reminders(campaign, now)
    db.session.commit()  # end the read before the first claim
    sent = 0
    if not due:
        return 0
    with open_mailer() as mailer:
        for item in due:
            try:
                if not _claim_reminder(item, now):
                    db.session.rollback()
                    continue
                inv = db.session.get(Invitation, item.id, populate_existing=True)
                msg = build_message(inv, REMINDER, token_for(inv, PERSONAL))
                db.session.commit()
            except LinkKeyChanged:
                db.session.rollback()  # the link sent earlier cannot be written again
                log.warning("reminder for invitation %s skipped: link key changed", item.id)
                continue
            except BaseException:
                db.session.rollback()
                raise
            result = mailer.send(msg)
            if result.outcome in (Outcome.NOT_SENT, Outcome.DEFERRED):
                # not accepted: undo the claim, the next run tries again
                values = {"reminders_sent": item.seen, "last_reminded_at": item.last,
                          "error": result.error}
            elif result.outcome == Outcome.REFUSED:
                values = {"status": InvitationStatus.BOUNCED, "error": result.error}
            else:
                values = {"error": result.error} if result.error else {}
            if values:
                db.session.execute(sa.update(Invitation).where(Invitation.id == item.id)
                                   .values(**values),
                                   execution_options={"synchronize_session": False})
                db.session.commit()
            sent += result.outcome in (Outcome.SENT, Outcome.UNKNOWN)
            if mailer.broken:
                break
    return sent


def record_bounce(message_id: str, reason: str, *, now: datetime | None = None) -> bool:
    """A bounce reported after the server accepted the message (a DSN), by Message-ID."""
    inv = db.session.scalar(sa.select(Invitation).where(Invitation.message_id == message_id))
    if inv is None:
        return False
    inv.status, inv.error = InvitationStatus.BOUNCED, (reason or "bounced")[:500]
    db.session.flush()
    return True

"""Letters to the complainant: rendered in the customer's language from templates, kept as
ComplaintMessage rows, and e-mailed after the commit; plus the staff notifications' postbox.

A service calls `compose()` inside its unit of work: the letter is stored and its event
recorded there. Nothing is sent until the transaction has committed: the boundary (a view,
the job, the CLI) then calls `deliver_committed()`. Each letter is claimed (its Message-ID
set by a conditional UPDATE, committed) before it is handed to the server, so two deliverers
never send it twice; one never handed over goes back to the queue, and the `complaint-letters`
job sends whatever a crash left behind.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale, format_currency, format_date
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

from qms.complaints import history
from qms.complaints.models import Complaint, ComplaintMessage
from qms.core.db import now_utc
from qms.core.i18n import normalise_locale
from qms.extensions import db
from qms.mail import Outcome, OutgoingMessage, new_message_id, open_mailer

log = logging.getLogger("qms.complaints.letters")

# The kinds of letter, with their subjects; a kind's body is templates/complaints/letters/<kind>.txt.
SUBJECTS = {
    "acknowledgement": _l("We have received your complaint %(reference)s"),
    "info_request": _l("Your complaint %(reference)s: we need some information"),
    "pause": _l("Your complaint %(reference)s: external appraisal"),
    "resume": _l("Your complaint %(reference)s: the appraisal is complete"),
    "extension": _l("Your complaint %(reference)s: we need more time"),
    "holding": _l("Your complaint %(reference)s: our response is not ready yet"),
    "final": _l("Our decision on your complaint %(reference)s"),
    "summary": _l("Your complaint %(reference)s is resolved"),
    "not_accepted": _l("Your complaint %(reference)s"),
    "review_decision": _l("The review of your complaint %(reference)s"),
}
KINDS = tuple(SUBJECTS)
OUTCOME_LABELS = {"upheld": _l("Upheld"), "partly_upheld": _l("Partly upheld"),
                  "rejected": _l("Not upheld")}
CURRENCIES = {"CN": "CNY", "GB": "GBP", "US": "USD"}
NO_ADDRESS = "no e-mail address"

# The UK Financial Ombudsman Service, as DISP 1 Annex 3 asks firms to give it.
OMBUDSMAN = {
    "name": "Financial Ombudsman Service",
    "address": "Exchange Tower, London E14 9SR",
    "phone": "0800 023 4567",
    "email": "complaint.info@financial-ombudsman.org.uk",
    "website": "www.financial-ombudsman.org.uk",
}

_PENDING, _READY = "qms_letters_pending", "qms_letters_ready"
_MAIL_PENDING, _MAIL_READY = "qms_mail_pending", "qms_mail_ready"


# -- after the commit, and only then ----------------------------------------------------------

@sa_event.listens_for(Session, "after_commit")
def _committed(session):
    for pending, ready in ((_PENDING, _READY), (_MAIL_PENDING, _MAIL_READY)):
        items = session.info.pop(pending, None)
        if items:
            session.info.setdefault(ready, []).extend(items)


@sa_event.listens_for(Session, "after_rollback")
def _rolled_back(session):
    session.info.pop(_PENDING, None)
    session.info.pop(_MAIL_PENDING, None)


def queue_mail(message: OutgoingMessage) -> None:
    """A staff e-mail (no record of its own) to send once the unit of work has committed."""
    db.session.info.setdefault(_MAIL_PENDING, []).append(message)


def has_committed_mail() -> bool:
    info = db.session.info
    return bool(info.get(_READY) or info.get(_MAIL_READY))


def deliver_committed(now: datetime | None = None) -> int:
    """Send what the committed units of work queued: letters and staff e-mails. A boundary
    (it commits); call it after `with unit_of_work():`. Returns the number handed over."""
    letters = db.session.info.pop(_READY, [])
    mails = db.session.info.pop(_MAIL_READY, [])
    sent = deliver_pending(ids=letters, now=now) if letters else 0
    if mails:
        with open_mailer() as mailer:
            for message in mails:
                result = mailer.send(message)
                if result.outcome == Outcome.SENT:
                    sent += 1
                else:
                    log.warning("staff notification to %s: %s %s", message.to,
                                result.outcome, result.error)
    return sent


# -- composing --------------------------------------------------------------------------------

def recipient(complaint: Complaint) -> str | None:
    email = complaint.complainant_email or (complaint.customer.email if complaint.customer
                                            else None)
    return (email or "").strip() or None


def letter_locale(complaint: Complaint) -> str:
    return normalise_locale(complaint.complainant_locale) \
        or current_app.config["BABEL_DEFAULT_LOCALE"]


def _status_link(complaint: Complaint) -> str | None:
    try:
        from qms.complaints import intake

        token = intake.status_token_for(complaint)
        return intake.status_url(token) if token else None
    except (ImportError, AttributeError):  # intake not there (yet): no link
        return None


def _context(complaint: Complaint, kind: str, now: datetime, reason: str | None) -> dict:
    """Plain values for the templates; dates and money already formatted in the locale."""
    from qms.complaints import workflow

    policy = workflow.policy_for(complaint)
    tz = workflow.zone_of(complaint, policy)

    def day(value):
        return format_date(value, "long") if value is not None else ""

    currency = CURRENCIES.get(policy.country, "CNY")
    ctx = {
        "kind": kind, "country": policy.country, "reference": complaint.reference,
        "name": complaint.complainant_name, "product": complaint.product or "",
        "branch": complaint.branch.name if complaint.branch else "",
        "received": day(complaint.received_at.astimezone(tz).date()),
        "today": day(now.astimezone(tz).date()),
        "due": day(complaint.due_on),
        "reason": (reason or "").strip(),
        "outcome": OUTCOME_LABELS.get(complaint.outcome or "", ""),
        "redress": format_currency(complaint.redress_amount, currency)
        if complaint.redress_amount else "",
        "findings": complaint.decision_findings or "",
        "reasons": complaint.decision_reasons or "",
        "basis": complaint.decision_basis or "",
        "remedies": complaint.remedies or "",
        "ombudsman": OMBUDSMAN,
        "waiver": bool(workflow.setting("COMPLAINT_OMBUDSMAN_WAIVER")),
        "signature": workflow.setting("COMPLAINT_LETTER_SIGNATURE")
        or _l("Customer Complaints Team"),
        "status_url": _status_link(complaint),
        "offer_review": kind == "final" and complaint.review_requested_at is None,
        "review_days": None, "review_by": "", "final_by": "", "summary_by": "",
    }
    if "review_request" in policy.milestones:
        ctx["review_days"] = policy.milestone("review_request").count
        if complaint.response_issued_at is not None:
            ctx["review_by"] = day(workflow.review_window_end(complaint))
    if kind == "acknowledgement":
        ctx["final_by"] = day(workflow.compute_due(complaint))
        summary = "summary" in policy.milestones and workflow.core.milestone_due(
            complaint, "summary")
        ctx["summary_by"] = day(summary) if summary else ""
    return ctx


def _tidy(text: str) -> str:
    lines = [line.rstrip() for line in text.strip().splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)) + "\n"


def render(complaint: Complaint, kind: str, *, now: datetime | None = None,
           reason: str | None = None, locale: str | None = None) -> tuple[str, str]:
    """(subject, text body) of a letter in the customer's language."""
    if kind not in SUBJECTS:
        raise ValueError(f"unknown letter {kind!r}")
    now = now or now_utc()
    env = current_app.jinja_env
    with force_locale(locale or letter_locale(complaint)):
        ctx = _context(complaint, kind, now, reason)
        subject = str(SUBJECTS[kind]) % {"reference": complaint.reference}
        body = env.get_template(f"complaints/letters/{kind}.txt").render(ctx)
    return " ".join(subject.split()), _tidy(body)


def render_html(message: ComplaintMessage) -> str:
    """The HTML part, made from the kept text so that what was sent is what was kept."""
    paragraphs = [Markup("<br>").join(escape(line) for line in block.split("\n"))
                  for block in message.body.strip().split("\n\n")]
    with force_locale(message.locale):
        return current_app.jinja_env.get_template("complaints/letters/letter.html").render(
            subject=message.subject, paragraphs=paragraphs, locale=message.locale)


def compose(complaint: Complaint, kind: str, *, actor=None, now: datetime | None = None,
            reason: str | None = None) -> ComplaintMessage:
    """Render, keep and queue a letter in the caller's unit of work; record it in the history."""
    now = now or now_utc()
    locale = letter_locale(complaint)
    subject, body = render(complaint, kind, now=now, reason=reason, locale=locale)
    to = recipient(complaint)
    message = ComplaintMessage(complaint_id=complaint.id, kind=kind, locale=locale, to_email=to,
                               subject=subject[:300], body=body, created_at=now,
                               error=None if to else NO_ADDRESS)
    db.session.add(message)
    db.session.flush()
    if to:
        db.session.info.setdefault(_PENDING, []).append(message.id)
    history.record(complaint, "letter", actor=actor, from_status=complaint.status,
                   to_status=complaint.status,
                   changes={"letter": [None, kind], "message": [None, message.id],
                            "to": [None, to]}, now=now)
    return message


# -- sending ----------------------------------------------------------------------------------

def _claim(message_id: int, mid: str) -> bool:
    result = db.session.execute(
        sa.update(ComplaintMessage)
        .where(ComplaintMessage.id == message_id, ComplaintMessage.message_id.is_(None),
               ComplaintMessage.sent_at.is_(None), ComplaintMessage.error.is_(None),
               ComplaintMessage.to_email.is_not(None))
        .values(message_id=mid), execution_options={"synchronize_session": False})
    return result.rowcount == 1


def _after(message_id: int, outcome: Outcome, error: str | None, now: datetime) -> None:
    if outcome == Outcome.SENT:
        values = {"sent_at": now, "error": None}
    elif outcome == Outcome.NOT_SENT:  # never handed over: back in the queue
        values = {"message_id": None}
    else:  # refused, deferred, or may have arrived (unknown): never again by itself
        values = {"error": (error or str(outcome))[:500]}
    db.session.execute(sa.update(ComplaintMessage).where(ComplaintMessage.id == message_id)
                       .values(**values), execution_options={"synchronize_session": False})


def pending_ids() -> list[int]:
    return list(db.session.scalars(sa.select(ComplaintMessage.id).where(
        ComplaintMessage.message_id.is_(None), ComplaintMessage.sent_at.is_(None),
        ComplaintMessage.error.is_(None), ComplaintMessage.to_email.is_not(None))
        .order_by(ComplaintMessage.id)))


def deliver_pending(ids: list[int] | None = None, *, now: datetime | None = None) -> int:
    """Send the given letters (default: every letter not yet handed over). A boundary: it
    commits around each e-mail. Stops at a broken connection; the job carries on later."""
    now = now or now_utc()
    ids = pending_ids() if ids is None else list(ids)
    db.session.commit()
    sender = current_app.config.get("MAIL_FROM") or "qms@localhost"
    sent = 0
    with open_mailer() as mailer:
        for message_id in ids:
            mid = new_message_id(sender)
            try:
                claimed = _claim(message_id, mid)
                db.session.commit()
            except BaseException:
                db.session.rollback()
                raise
            if not claimed:
                continue
            message = db.session.get(ComplaintMessage, message_id, populate_existing=True)
            outgoing = OutgoingMessage(to=message.to_email, subject=message.subject,
                                       text=message.body, html=render_html(message),
                                       message_id=mid, key=message_id,
                                       headers={"X-QMS-Complaint": _reference(message)})
            result = mailer.send(outgoing)
            _after(message_id, result.outcome, result.error, now_utc())
            db.session.commit()
            sent += result.outcome == Outcome.SENT
            if mailer.broken:
                break
    return sent


def _reference(message: ComplaintMessage) -> str:
    return db.session.scalar(sa.select(Complaint.reference).where(
        Complaint.id == message.complaint_id)) or ""

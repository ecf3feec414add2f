"""E-mails to the evaluated agent (an evaluation released, a dispute decided): queued in the
service's unit of work and sent by the boundary after the commit, never before it and never
after a rollback. The agent's own list in the application shows the same news."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import current_app, has_request_context, request
from flask_babel import force_locale, format_date, format_decimal
from flask_babel import lazy_gettext as _l
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

from qms.auth.models import User
from qms.extensions import db
from qms.mail import Outcome, OutgoingMessage, open_mailer
from qms.qa.models import Evaluation
from qms.qa.sampling import zone

log = logging.getLogger("qms.qa.notices")

_PENDING, _READY = "qms_qa_notices_pending", "qms_qa_notices_ready"


@sa_event.listens_for(Session, "after_commit")
def _committed(session):
    items = session.info.pop(_PENDING, None)
    if items:
        session.info.setdefault(_READY, []).extend(items)


@sa_event.listens_for(Session, "after_rollback")
def _rolled_back(session):
    session.info.pop(_PENDING, None)


def agent_user(agent_id: int) -> User | None:
    return db.session.scalar(sa.select(User).where(User.agent_id == agent_id,
                                                   User.active.is_(True)))


def evaluation_url(evaluation_id: int) -> str:
    """An absolute link to the evaluation (PUBLIC_BASE_URL; the scheduler has no request)."""
    base = current_app.config.get("PUBLIC_BASE_URL") or (
        request.url_root if has_request_context() else "http://127.0.0.1:5000")
    parts = urlsplit(base.rstrip("/") + "/")
    adapter = current_app.url_map.bind(parts.netloc, script_name=parts.path,
                                       url_scheme=parts.scheme or "http")
    return adapter.build("qa.evaluation", {"evaluation_id": evaluation_id}, force_external=True)


SUBJECTS = {
    "released": _l("Your QA evaluation is ready"),
    "dispute_decided": _l("The decision on your QA evaluation dispute"),
}


def notify_agent(evaluation: Evaluation, kind: str, **extra) -> None:
    """Queue an e-mail to the evaluated agent's login (if they have one with an address); it
    goes out after the commit. The agent's list shows the same news in the application."""
    user = agent_user(evaluation.agent_id)
    if user is None or not user.email:
        return
    from qms.qa import disputes, evaluations

    locale = user.locale or current_app.config["BABEL_DEFAULT_LOCALE"]
    with force_locale(locale):
        deadline = disputes.dispute_deadline(evaluation)
        ctx = {
            "name": user.name, "evaluation": evaluation, "url": evaluation_url(evaluation.id),
            "occurred": format_date(evaluation.interaction.occurred_at.astimezone(zone()).date(),
                                    "long"),
            "total": "" if evaluation.total is None else format_decimal(evaluation.total,
                                                                        format="#,##0.0"),
            "deadline": format_date(deadline, "long") if deadline else "",
            "channel": evaluations.channel_label(evaluation.interaction.channel), **extra,
        }
        body = current_app.jinja_env.get_template(f"qa/evaluations/mail/{kind}.txt").render(ctx)
        subject = str(SUBJECTS[kind])
    db.session.info.setdefault(_PENDING, []).append(
        OutgoingMessage(to=user.email, subject=subject, text=body, key=evaluation.id,
                        headers={"X-QMS-Evaluation": str(evaluation.id)}))


def send_notices() -> int:
    """Send the e-mails of committed units of work; a boundary calls it after its commit.
    Returns how many were handed over. A failed one is logged: the agent's list shows it too."""
    messages = db.session.info.pop(_READY, [])
    if not messages:
        return 0
    sent = 0
    with open_mailer() as mailer:
        for message in messages:
            result = mailer.send(message)
            if result.outcome == Outcome.SENT:
                sent += 1
            else:
                log.warning("QA notice to %s: %s %s", message.to, result.outcome, result.error)
    return sent

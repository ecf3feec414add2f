"""Escalation of overdue corrective actions, once per level however often (or concurrently)
the job runs.

Level n is due `AUDIT_ESCALATION_DAYS[n-1]` days after the due date (default 0, 7, 14):
level 1 tells the owner, level 2 the branch heads (of the branch or its region), level 3 QA
staff whose scope covers the branch. Only open actions escalate (a "done" action waits for its
check, which is not the owner's delay). Each level is taken with a conditional
`UPDATE ... SET escalation_level = n WHERE id = ? AND escalation_level < n AND status = 'open'`:
only the run whose update changed the row writes the note and sends the e-mails. The update is
the first statement of its transaction, so on SQLite the run waits for the write lock instead
of failing on a stale read snapshot. After downtime every level that is due is taken in order,
each once. `escalate_overdue` is a boundary: it commits, then sends the e-mails.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app, has_request_context, url_for
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from werkzeug.routing import BuildError

from qms.audits import checklists
from qms.audits.actions import branch_heads
from qms.audits.models import ActionNote, CorrectiveAction
from qms.auth.models import RoleGrant, User
from qms.core.db import now_utc
from qms.core.i18n import normalise_locale
from qms.extensions import db
from qms.mail import Outcome, OutgoingMessage, send_batch
from qms.org.models import Branch

log = logging.getLogger("qms.audits.escalation")

DEFAULT_DAYS = (0, 7, 14)
SUBJECTS = {
    1: _l("Corrective action overdue: %(branch)s, %(item)s"),
    2: _l("Escalated to the branch head: overdue corrective action at %(branch)s"),
    3: _l("Escalated to QA: overdue corrective action at %(branch)s"),
}


def level_days() -> tuple[int, ...]:
    days = current_app.config.get("AUDIT_ESCALATION_DAYS") or DEFAULT_DAYS
    return tuple(int(d) for d in days)[:3]


def qa_users(branch_id: int) -> list[User]:
    """Active QA staff whose grant covers the branch (unscoped, its region, or the branch)."""
    region = db.session.scalar(sa.select(Branch.region).where(Branch.id == branch_id))
    covers = sa.or_(RoleGrant.branch_id == branch_id,
                    sa.and_(RoleGrant.branch_id.is_(None), RoleGrant.region.is_(None)),
                    sa.and_(RoleGrant.branch_id.is_(None), RoleGrant.region == region)
                    if region else sa.false())
    return list(db.session.scalars(
        sa.select(User).join(RoleGrant, RoleGrant.user_id == User.id)
        .where(RoleGrant.role == "qa", covers, User.active.is_(True))
        .distinct().order_by(User.id)))


def recipients(action: CorrectiveAction, level: int) -> list[User]:
    if level == 1:
        owner = db.session.get(User, action.owner_id) if action.owner_id else None
        return [owner] if owner is not None and owner.active else branch_heads(action.branch_id)
    if level == 2:
        return branch_heads(action.branch_id, region=True)
    return qa_users(action.branch_id)


def _link(action: CorrectiveAction) -> str:
    base = (current_app.config.get("PUBLIC_BASE_URL") or "http://127.0.0.1:5000").rstrip("/")
    try:
        if has_request_context():
            return url_for("audits.finding_detail", finding_id=action.finding_id, _external=True)
        return base + current_app.url_map.bind("localhost").build(
            "audits.finding_detail", {"finding_id": action.finding_id})
    except BuildError:
        return f"{base}/audits/findings/{action.finding_id}"


def message(action: CorrectiveAction, user: User, level: int, now: datetime) -> OutgoingMessage:
    """The e-mail for one recipient, in their language."""
    from flask_babel import format_date

    locale = normalise_locale(user.locale) or current_app.config["BABEL_DEFAULT_LOCALE"]
    finding = action.finding
    meta = checklists.item_meta(finding.audit.template_version.definition).get(
        finding.item_key, {})
    owner = db.session.get(User, action.owner_id) if action.owner_id else None
    with force_locale(locale):
        item = checklists.text(meta.get("label"), locale) or finding.item_key
        branch = f"{action.branch.code} {action.branch.name}"
        subject = str(SUBJECTS[level]) % {"branch": branch, "item": item}
        text = current_app.jinja_env.get_template(
            "audits/action_escalation_mail.txt").render(
            level=level, branch=branch, item=item, severity=finding.severity,
            due=format_date(action.due_at, "long"), days=max(0, (now - action.due_at).days),
            owner=owner.name if owner else None, url=_link(action), correction=action.correction)
    return OutgoingMessage(to=user.email, subject=subject, text=text.strip() + "\n",
                           key=("audit-action", action.id, level, user.id))


def _take_level(action_id: int, level: int) -> bool:
    """The conditional update: True for the one run that raised the action to `level`."""
    table = CorrectiveAction.__table__
    result = db.session.connection().execute(
        sa.update(table).where(table.c.id == action_id, table.c.escalation_level < level,
                               table.c.status == "open")
        .values(escalation_level=level))
    return result.rowcount == 1


def escalate_overdue(now: datetime | None = None) -> int:
    """Raise every overdue open action to each level it has reached, once per level; commit;
    then e-mail. Returns the number of levels taken by this run."""
    now = now or now_utc()
    days = level_days()
    candidates = db.session.execute(
        sa.select(CorrectiveAction.id, CorrectiveAction.due_at,
                  CorrectiveAction.escalation_level)
        .where(CorrectiveAction.status == "open", CorrectiveAction.due_at <= now,
               CorrectiveAction.escalation_level < len(days))
        .order_by(CorrectiveAction.id)).all()
    outgoing: list[OutgoingMessage] = []
    taken = 0
    for action_id, due_at, level in candidates:
        for n, offset in enumerate(days, start=1):
            if n <= level:
                continue
            if now < due_at + timedelta(days=offset):
                break
            if not _take_level(action_id, n):
                continue
            taken += 1
            action = db.session.get(CorrectiveAction, action_id, populate_existing=True)
            told = recipients(action, n)
            db.session.add(ActionNote(
                action_id=action.id, author_id=None, kind="escalated", created_at=now,
                text=f"level {n}: " + (", ".join(u.name for u in told) or "-")))
            outgoing.extend(message(action, u, n, now) for u in told)
    db.session.commit()
    if outgoing:
        for result in send_batch(outgoing):
            if result.outcome != Outcome.SENT:
                log.warning("audit escalation mail %s: %s %s", result.key, result.outcome,
                            result.error)
    return taken

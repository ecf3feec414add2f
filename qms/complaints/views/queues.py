"""The complaint queues: tabs (mine, my branches, unassigned, due soon, overdue, awaiting my
approval, all) with filters, search and pages."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from flask import render_template, request
from flask_babel import get_locale
from flask_login import current_user

from qms.complaints import codes, queues
from qms.complaints.casefile import status_label
from qms.complaints.intake import PRIORITY_LABELS, SEVERITY_LABELS
from qms.complaints.states import LABELS
from qms.complaints.views import bp
from qms.complaints.views.intake import branch_choices
from qms.core.permissions import roles_required, route_roles
from qms.extensions import db
from qms.org.models import Branch

READERS = ("admin", "complaints", "qa", "auditor", "branch_head")
FILTER_ARGS = ("status", "branch", "severity", "priority", "channel", "business", "cause",
               "from", "to", "q")


def _me():
    return current_user._get_current_object()


def _date(name: str) -> date | None:
    raw = (request.args.get(name) or "").strip()
    try:
        return date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


def parse_filters(args) -> queues.Filters:
    branch = args.get("branch") or None
    branch_id = db.session.scalar(sa.select(Branch.id).where(Branch.code == branch)) \
        if branch else None
    status = args.get("status") or None
    return queues.Filters(
        status=status if status in {str(s) for s in LABELS} else None,
        branch_id=branch_id if branch_id is not None else (-1 if branch else None),
        severity=args.get("severity") if args.get("severity") in SEVERITY_LABELS else None,
        priority=args.get("priority") if args.get("priority") in PRIORITY_LABELS else None,
        channel_code=args.get("channel") or None, business_code=args.get("business") or None,
        cause_code=args.get("cause") or None, received_from=_date("from"),
        received_to=_date("to"), q=(args.get("q") or "").strip()[:100] or None)


def default_queue(user) -> str:
    if user.has_role("complaints"):
        return "mine"
    return "branch"


@bp.get("/")
@roles_required(*READERS)
def queue():
    me = _me()
    name = request.args.get("queue") or default_queue(me)
    if name not in queues.QUEUES:
        name = default_queue(me)
    filters = parse_filters(request.args)
    page = queues.list_queue(name, me, roles=route_roles(), filters=filters,
                             page=request.args.get("page", 1, type=int) or 1, with_counts=True)
    locale = str(get_locale() or "zh_Hans")
    args = {k: request.args[k] for k in FILTER_ARGS if request.args.get(k, "").strip()}
    return render_template(
        "complaints/queue.html", page=page, queue=name, queues=queues.QUEUES, args=args,
        statuses={str(k): v for k, v in LABELS.items()}, status_label=status_label,
        severities=SEVERITY_LABELS, priorities=PRIORITY_LABELS,
        branches=branch_choices(me, route_roles()), labels=codes.all_labels(locale),
        axis_choices={axis: codes.choices(axis, locale) for axis in ("A", "B", "C")})

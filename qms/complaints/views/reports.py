"""Complaint reports page and its CSV downloads (each download is written to the audit log)."""

from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa
from flask import Response, render_template, request
from flask_babel import get_locale
from flask_login import current_user

from qms.complaints import codes
from qms.complaints import reports as svc
from qms.complaints.casefile import status_label
from qms.complaints.views import bp
from qms.complaints.views.intake import branch_choices
from qms.config import LOCALES
from qms.core import audit
from qms.core.db import now_utc
from qms.core.permissions import roles_required, route_roles
from qms.core.tx import unit_of_work
from qms.extensions import db
from qms.org.models import Branch

READERS = ("admin", "complaints", "qa", "auditor", "branch_head")
MAX_DAYS = 3660  # ten years: months are a CASE of boundaries, keep it small
ARGS = ("from", "to", "branch", "channel", "business", "cause", "product", "month", "by")


def _me():
    return current_user._get_current_object()


def _locale() -> str:
    loc = get_locale()
    return str(loc) if loc else "zh_Hans"


def _date(name: str) -> date | None:
    raw = (request.args.get(name) or "").strip()
    try:
        return date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


def _filters() -> svc.ReportFilters:
    default = svc.default_period()
    start, end = _date("from") or default.start, _date("to") or default.end
    if end < start:
        start, end = end, start
    start = max(start, end - timedelta(days=MAX_DAYS))
    code = request.args.get("branch") or None
    branch_id = None
    if code:
        branch_id = db.session.scalar(sa.select(Branch.id).where(Branch.code == code))
        branch_id = -1 if branch_id is None else branch_id
    return svc.ReportFilters(
        period=svc.Period(start, end), branch_id=branch_id,
        channel_code=request.args.get("channel") or None,
        business_code=request.args.get("business") or None,
        cause_code=request.args.get("cause") or None,
        product=(request.args.get("product") or "").strip() or None)


def _month(f: svc.ReportFilters) -> str:
    raw = request.args.get("month") or ""
    try:
        svc.month_period(raw)
        return raw
    except ValueError:
        return f.period.end.strftime("%Y-%m")


@bp.get("/reports")
@roles_required(*READERS)
def reports():
    me, roles, locale = _me(), route_roles(), _locale()
    f = _filters()
    by = request.args.get("by") if request.args.get("by") in svc.DIMENSIONS else "cause"
    month = _month(f)
    args = {k: request.args[k] for k in ARGS if request.args.get(k, "").strip()}
    return render_template(
        "complaints/reports.html", f=f, by=by, month=month, args=args,
        dimensions=svc.DIMENSIONS,
        summary=svc.summary(f, me, roles=roles),
        volumes=svc.volumes(by, f, me, roles=roles, locale=locale),
        by_month=svc.volumes("month", f, me, roles=roles, locale=locale),
        pareto=svc.root_cause_pareto(f, me, roles=roles, locale=locale),
        overdue=svc.overdue_list(me, roles=roles, branch_id=f.branch_id, limit=100),
        monthly=svc.monthly_code_table(month, me, roles=roles, branch_id=f.branch_id),
        labels=codes.all_labels(locale), status_label=status_label,
        branches=branch_choices(me, roles),
        axis_choices={axis: codes.choices(axis, locale) for axis in ("A", "B", "C")})


@bp.get("/reports/<any(complaints, volumes, monthly, overdue, pareto):report>.csv")
@roles_required(*READERS)
def reports_csv(report: str):
    kind = report
    me, roles = _me(), route_roles()
    f = _filters()
    locale = request.args.get("lang") if request.args.get("lang") in LOCALES else _locale()
    by = request.args.get("by") if request.args.get("by") in svc.DIMENSIONS else "cause"
    month = _month(f)
    header, rows = svc.export_rows(kind, f, me, roles=roles, locale=locale, by=by,
                                       month=month, now=now_utc())
    with unit_of_work():
        audit.record("export", actor=me, subject=f"complaints:{kind}", ip=request.remote_addr,
                     details={"rows": len(rows), "from": f.period.start.isoformat(),
                              "to": f.period.end.isoformat(), "branch_id": f.branch_id,
                              "by": by if kind == "volumes" else None,
                              "month": month if kind == "monthly" else None})
    stamp = now_utc().strftime("%Y%m%d-%H%M")
    # the rows are in memory already (reports are aggregates or one period's complaints)
    resp = Response("".join(svc.to_csv(header, rows)), mimetype="text/csv; charset=utf-8")
    resp.headers["Content-Disposition"] = f'attachment; filename="complaints-{kind}-{stamp}.csv"'
    resp.headers["Cache-Control"] = "no-store"
    return resp

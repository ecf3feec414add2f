"""The audit report page: scores by branch and month, findings by severity and checklist
section, corrective-action closure on time — all from qms.audits.reports, in the reader's
branch scope."""

from __future__ import annotations

from datetime import timedelta

from flask import render_template, request
from flask_login import current_user

from qms.audits import reports as svc
from qms.audits.performing import SEVERITY_LABELS
from qms.audits.views import bp
from qms.audits.views.perform import locale
from qms.core.daterange import read_range
from qms.core.db import now_utc
from qms.core.permissions import branch_scope, roles_required, route_roles

VIEWERS = ("admin", "qa", "auditor", "branch_head")


@bp.get("/reports")
@roles_required(*VIEWERS)
def reports():
    now = now_utc()
    kw: dict = {}
    errors: dict = {}
    read_range(request.args.get, kw, errors)
    start = kw.get("start") or (now - timedelta(days=365)).replace(
        day=1, hour=0, minute=0, second=0, microsecond=0)
    end = kw.get("end") or now + timedelta(seconds=1)
    scope = branch_scope(current_user._get_current_object(), route_roles())
    scores = svc.scores_by_branch_month(start, end, scope)
    months = sorted({r.month for r in scores})
    table: dict[tuple[int, str], list] = {}
    for r in scores:
        table.setdefault((r.branch_id, f"{r.code} {r.name}"), [None] * len(months))[
            months.index(r.month)] = r
    return render_template(
        "audits/reports.html", errors=errors, start=start, end=end, months=months,
        score_rows=sorted(table.items(), key=lambda kv: kv[0][1]),
        severity=svc.findings_by_severity(start, end, scope),
        sections=svc.findings_by_section(start, end, scope, locale=locale()),
        closure=svc.action_closure(start, end, scope, now=now),
        overdue=len(svc.overdue_actions(now, scope)),
        severity_labels=SEVERITY_LABELS, args=request.args)

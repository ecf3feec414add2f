"""Scorecard PDF downloads: /scorecards/branches/<code>/<period>.pdf and
/scorecards/agents/<code>/<period>.pdf, in the reader's language."""

from __future__ import annotations

from flask import abort, render_template
from flask_babel import get_locale
from flask_babel import gettext as _

from qms.core.permissions import current_principal, roles_required, route_roles
from qms.scorecards.batch import safe_name
from qms.scorecards.pdf import render_pdf
from qms.scorecards.pdf_access import Lookup, pdf_snapshot
from qms.scorecards.views import bp

PDF_HEADERS = {"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"}


def pdf_response(snapshot, locale: str):
    body = render_pdf(snapshot, locale=locale)
    name = f"scorecard-{safe_name(snapshot.entity_code)}-{snapshot.period}.pdf"
    return body, 200, {**PDF_HEADERS, "Content-Type": "application/pdf",
                       "Content-Disposition": f'inline; filename="{name}"'}


def _download(scope: str, code: str, period: str):
    found, snapshot = pdf_snapshot(current_principal(), scope, code, period, route_roles())
    if found in (Lookup.HIDDEN, Lookup.BAD_PERIOD):
        abort(404)
    if found is Lookup.NO_SNAPSHOT:
        message = _("No scorecard has been computed for %(code)s in %(period)s yet.",
                    code=code, period=period)
        return render_template("errors/error.html", code=404, message=message), 404
    return pdf_response(snapshot, str(get_locale() or "zh_Hans"))


@bp.get("/branches/<code>/<period>.pdf")
@roles_required("admin", "qa", "auditor", "branch_head")
def branch_pdf(code: str, period: str):
    return _download("branch", code, period)


@bp.get("/agents/<code>/<period>.pdf")
@roles_required("admin", "qa", "auditor", "branch_head", "agent")
def agent_pdf(code: str, period: str):
    return _download("agent", code, period)

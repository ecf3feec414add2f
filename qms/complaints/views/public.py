"""Public complaint form and status page.

No login. The form is CSRF-protected (it is a form of this site, posted from this site) and
rate-limited twice: every request by RATELIMIT_PUBLIC, submissions also by
RATELIMIT_COMPLAINT (default 10/hour per address). A submission redirects (303) to the
complaint's private status page, so a reload does not file the complaint again; that page shows
the reference and its own address for the complainant to keep. The status page is in the
complainant's language and shows stages and dates only: no staff names, no internal notes.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, current_app, make_response, redirect, render_template, request, url_for
from flask_babel import force_locale
from flask_babel import gettext as _

from qms.complaints import casefile, codes, intake
from qms.complaints.intake_forms import PublicComplaintForm
from qms.complaints.views import public_bp
from qms.core.forms import attach_errors
from qms.core.i18n import LOCALE_NAMES, normalise_locale, select_locale
from qms.core.permissions import public
from qms.core.ratelimit import rate_limited
from qms.core.tx import unit_of_work
from qms.extensions import db
from qms.org.models import Branch

FIELDS = ("complainant_name", "complainant_email", "complainant_phone", "representative",
          "branch_code", "product", "channel_code", "business_code", "description",
          "requested_outcome")


@public_bp.record_once
def _defaults(state) -> None:
    # A default for the submission limit without touching the shared config module.
    state.app.config.setdefault("RATELIMIT_COMPLAINT", "10/hour")


def _page_locale(default: str | None = None) -> str:
    asked = request.form.get("lang") if request.method == "POST" else None
    return (normalise_locale(asked) or normalise_locale(request.args.get("lang"))
            or normalise_locale(default) or select_locale()
            or current_app.config["BABEL_DEFAULT_LOCALE"])


def _render(template: str, locale: str, status: int = 200, **context):
    with force_locale(locale):
        body = render_template(template, locale=locale, locale_names=LOCALE_NAMES, **context)
    resp = make_response(body, status)
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["Referrer-Policy"] = "no-referrer"  # the status address is the credential
    return resp


def _too_many(retry_after: str):
    return _render("complaints/public/limited.html", _page_locale(), 429,
                   retry_after=retry_after)


def _fill_choices(form: PublicComplaintForm, locale: str) -> None:
    with force_locale(locale):
        branches = db.session.execute(sa.select(Branch.code, Branch.name)
                                      .where(Branch.active).order_by(Branch.code)).all()
        form.branch_code.choices = [("", _("I don't know / not at a branch"))] + [
            (code, name) for code, name in branches]
        form.channel_code.choices = [("", _("Not sure"))] + [
            (c.code, codes.label_of(c.labels, locale, c.code))
            for c in codes.list_codes("A", active_only=True)]
        form.business_code.choices = [("", _("Not sure"))] + [
            (c.code, codes.label_of(c.labels, locale, c.code))
            for c in codes.list_codes("B", active_only=True)]


@public_bp.get("/complaint")
@public
@rate_limited("PUBLIC", on_limit=_too_many)
def complaint_form():
    locale = _page_locale()
    with force_locale(locale):
        form = PublicComplaintForm()
    _fill_choices(form, locale)
    return _render("complaints/public/form.html", locale, form=form)


@public_bp.post("/complaint")
@public
@rate_limited("PUBLIC", on_limit=_too_many)
@rate_limited("COMPLAINT", on_limit=_too_many)
def complaint_submit():
    locale = _page_locale()
    with force_locale(locale):
        form = PublicComplaintForm()
        _fill_choices(form, locale)
        if form.validate_on_submit():
            data = {name: form[name].data for name in FIELDS}
            data["complainant_locale"] = locale
            data["attachments"] = [f for f in (form.attachments.data or []) if f and f.filename]
            try:
                with unit_of_work():
                    _complaint, token = intake.create_complaint(data, via="public")
            except intake.IntakeError as exc:
                attach_errors(exc.fields, form)
            else:
                return redirect(url_for(".status", token=token, new=1, lang=locale), 303)
        return _render("complaints/public/form.html", locale, 400, form=form)


@public_bp.get("/complaint-status/<token>")
@public
@rate_limited("PUBLIC", on_limit=_too_many)
def status(token: str):
    complaint = intake.find_by_status_token(token)
    if complaint is None:
        abort(404)
    locale = normalise_locale(request.args.get("lang")) or complaint.complainant_locale
    with force_locale(locale):  # the stage names are texts too
        progress = casefile.public_progress(complaint, locale)
    return _render("complaints/public/status.html", locale, progress=progress,
                   new=request.args.get("new") == "1",
                   status_url=intake.status_url(token), token=token)

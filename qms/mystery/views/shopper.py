"""The shopper portal (role shopper, phone-first): my assignments, accept / decline, the report
with evidence (save and resume, submit), a returned report's comments, my evidence files.

Only the shopper's own assignments exist here: any other id is a 404, whoever's it is.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from qms.core import uploads
from qms.core.permissions import roles_required
from qms.core.tx import unit_of_work
from qms.mystery import portal
from qms.mystery.forms_portal import ActionForm, DeclineForm
from qms.mystery.views import bp
from qms.surveys.definition import questions, visible_keys
from qms.surveys.question_evidence import UPLOAD_TYPES

NOT_FIELDS = ("csrf_token", "action", "lang", "_seen")


def page(template: str, **context):
    return render_template(template, status_labels=portal.STATUS_LABELS, **context)


def _me():
    return current_user._get_current_object()


def locale() -> str:
    loc = get_locale()
    return str(loc) if loc else "zh_Hans"


def _own_or_404(assignment_id: int):
    a = portal.own_assignment(_me(), assignment_id)
    if a is None:
        abort(404)
    return a


def sent_values(definition: dict, form: dict[str, list[str]]) -> dict:
    """What was sent, shaped for the question templates, so a re-rendered page shows exactly
    what the shopper typed (also when it was wrong)."""
    values: dict = {}
    for _section, q in questions(definition):
        name = f"q_{q['key']}"
        if q["type"] == "matrix":
            rows = {r["key"]: form.get(f"{name}__{r['key']}", [""])[0] for r in q.get("rows", [])}
            values[q["key"]] = {k: v for k, v in rows.items() if v}
        elif q["type"] == "multiple":
            values[q["key"]] = form.get(name, [])
        elif q["type"] in UPLOAD_TYPES:
            values[q["key"]] = [int(v) for v in form.get(name, []) if v.isdigit()]
        elif form.get(name):
            values[q["key"]] = form[name][0]
    return values


def answer_form(form) -> dict[str, list[str]]:
    return {k: v for k, v in form.to_dict(flat=False).items() if k not in NOT_FIELDS}


def render_report(a, *, values: dict, errors: dict | None = None, status: int = 200,
                  parsed: dict | None = None, **extra):
    """The report form; `parsed`: the answers that decide which questions show (the stored
    ones when None)."""
    definition = portal.definition_of(a)
    returned = portal.latest_return(a)
    return page(
        "mystery/shopper_report.html", a=a, definition=definition, values=values,
        errors=errors or {},
        visible=visible_keys(definition, a.answers if parsed is None else parsed), locale=locale(),
        scenario=portal.scenario_of(a, locale()), files={f.id: f for f in portal.files_of(a)},
        returned=returned, comments=returned.question_comments if returned else {},
        form=ActionForm(), upload_types=UPLOAD_TYPES, allow_new=True, na_in_macros=False,
        evidence_url=lambda att_id: url_for("mystery.shopper_evidence", assignment_id=a.id,
                                            attachment_id=att_id), **extra), status


# -- pages ------------------------------------------------------------------------------------

@bp.get("/my")
@roles_required("shopper")
def shopper_assignments():
    groups = portal.my_assignments(_me())
    scenarios = {a.id: portal.scenario_of(a, locale()) for g in groups.values() for a in g}
    return page("mystery/shopper_list.html", groups=groups, scenarios=scenarios)


@bp.get("/my/<int:assignment_id>")
@roles_required("shopper")
def shopper_assignment(assignment_id: int):
    a = _own_or_404(assignment_id)
    return page("mystery/shopper_assignment.html", a=a,
                           scenario=portal.scenario_of(a, locale()), form=ActionForm(),
                           decline_form=DeclineForm(), returned=portal.latest_return(a),
                           can_edit=portal.can_edit(a))


@bp.post("/my/<int:assignment_id>/accept")
@roles_required("shopper")
def shopper_accept(assignment_id: int):
    a = _own_or_404(assignment_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        with unit_of_work():
            portal.accept_assignment(a, _me())
    except portal.PortalError as exc:
        flash(str(exc.message), "error")
    else:
        flash(_("Assignment accepted."), "success")
    return redirect(url_for("mystery.shopper_assignment", assignment_id=a.id), 303)


@bp.post("/my/<int:assignment_id>/decline")
@roles_required("shopper")
def shopper_decline(assignment_id: int):
    a = _own_or_404(assignment_id)
    form = DeclineForm()
    if form.validate_on_submit():
        try:
            with unit_of_work():
                portal.decline_assignment(a, _me(), form.reason.data)
        except portal.PortalError as exc:
            if exc.status != 400:
                flash(str(exc.message), "error")
                return redirect(url_for("mystery.shopper_assignment", assignment_id=a.id), 303)
            form.reason.errors = [str(m) for m in exc.fields.values()]
        else:
            flash(_("Assignment declined."), "success")
            return redirect(url_for("mystery.shopper_assignments"), 303)
    return page("mystery/shopper_assignment.html", a=a,
                           scenario=portal.scenario_of(a, locale()), form=ActionForm(),
                           decline_form=form, returned=None, can_edit=False), 400


@bp.route("/my/<int:assignment_id>/report", methods=["GET", "POST"])
@roles_required("shopper")
def shopper_report(assignment_id: int):
    a = _own_or_404(assignment_id)
    if not portal.can_edit(a):
        flash(str(portal.refusal(a)), "error")
        return redirect(url_for("mystery.shopper_assignment", assignment_id=a.id), 303)
    definition = portal.definition_of(a)
    if request.method == "GET":
        return render_report(a, values=portal.form_values(definition, a.answers),
                             saved=request.args.get("saved") == "1")
    if not ActionForm().validate_on_submit():
        abort(400)
    form = answer_form(request.form)
    files = {q["key"]: request.files.getlist(f"f_{q['key']}")
             for _s, q in questions(definition) if q["type"] in UPLOAD_TYPES}
    try:
        with unit_of_work():
            added = portal.add_files(a, _me(), files)
    except portal.InvalidReport as exc:
        return render_report(a, values=sent_values(definition, form), errors=exc.errors,
                             status=exc.status,
                             parsed=portal.read_report(a, definition, form, final=False).answers)
    except portal.PortalError as exc:
        flash(str(exc.message), "error")
        return redirect(url_for("mystery.shopper_assignment", assignment_id=a.id), 303)
    for key, ids in added.items():
        form.setdefault(f"q_{key}", []).extend(str(i) for i in ids)
    submit = request.form.get("action") == "submit"
    try:
        with unit_of_work():
            if submit:
                portal.submit_report(a, _me(), form)
            else:
                portal.save_report(a, _me(), form)
    except portal.InvalidReport as exc:
        return render_report(a, values=sent_values(definition, form), errors=exc.errors,
                             status=400, kept=bool(added), parsed=exc.answers)
    except portal.PortalError as exc:
        flash(str(exc.message), "error")
        return redirect(url_for("mystery.shopper_assignment", assignment_id=a.id), 303)
    if submit:
        flash(_("Report submitted. A reviewer will check it."), "success")
        return redirect(url_for("mystery.shopper_assignment", assignment_id=a.id), 303)
    return redirect(url_for("mystery.shopper_report", assignment_id=a.id, saved=1), 303)


@bp.get("/my/<int:assignment_id>/evidence/<int:attachment_id>")
@roles_required("shopper")
def shopper_evidence(assignment_id: int, attachment_id: int):
    a = _own_or_404(assignment_id)
    att = portal.file_of(a, attachment_id)
    if att is None:
        abort(404)
    return uploads.open_attachment(att)

"""Administration of complaints: the classification code lists and custom SLA policies."""

from __future__ import annotations

import json

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from qms.complaints import codes, policies, sla
from qms.complaints.intake_forms import CodeForm, PolicyForm
from qms.complaints.views import bp
from qms.core.forms import attach_errors
from qms.core.permissions import roles_required
from qms.core.tx import unit_of_work

ADMIN = ("admin",)


def _me():
    return current_user._get_current_object()


def _labels(form: CodeForm) -> dict:
    return {"zh_Hans": form.label_zh_Hans.data, "zh_Hant": form.label_zh_Hant.data,
            "en": form.label_en.data}


@bp.route("/admin/codes", methods=["GET", "POST"])
@roles_required(*ADMIN)
def codes_admin():
    form = CodeForm()
    form.axis.choices = [(k, f"{k} {v}") for k, v in codes.AXES.items()]
    status = 200
    if form.validate_on_submit():
        try:
            with unit_of_work():
                row = codes.create_code(axis=form.axis.data, code=form.code.data,
                                        labels=_labels(form), sort=form.sort.data, actor=_me())
                added = f"{row.axis} {row.code}"
        except codes.CodeError as exc:
            attach_errors(exc.fields, form)
            status = 400
        else:
            flash(_("Code %(code)s added.", code=added), "success")
            return redirect(url_for("complaints.codes_admin", axis=form.axis.data), 303)
    elif request.method == "POST":
        status = 400
    axis = request.args.get("axis") if request.args.get("axis") in codes.AXES else None
    return render_template("complaints/admin/codes.html", form=form, axes=codes.AXES,
                           axis=axis, rows=codes.list_codes(axis)), status


@bp.route("/admin/codes/<int:code_id>", methods=["GET", "POST"])
@roles_required(*ADMIN)
def code_edit(code_id: int):
    row = codes.get_code(code_id)
    if row is None:
        abort(404)
    form = CodeForm(obj=None if request.method == "POST" else row)
    form.axis.choices = [(row.axis, f"{row.axis} {codes.AXES.get(row.axis, '')}")]
    if request.method == "GET":
        form.axis.data, form.code.data = row.axis, row.code
        form.label_zh_Hans.data = (row.labels or {}).get("zh_Hans")
        form.label_zh_Hant.data = (row.labels or {}).get("zh_Hant")
        form.label_en.data = (row.labels or {}).get("en")
    else:  # the axis and code of a row never change: complaints refer to them
        form.axis.data, form.code.data = row.axis, row.code
    status = 200
    if form.validate_on_submit():
        try:
            with unit_of_work():
                codes.update_code(row, labels=_labels(form),
                                  sort=form.sort.data if form.sort.data is not None else row.sort,
                                  active=bool(form.active.data), actor=_me())
        except codes.CodeError as exc:
            attach_errors(exc.fields, form)
            status = 400
        else:
            flash(_("Code %(code)s saved.", code=row.code), "success")
            return redirect(url_for("complaints.codes_admin", axis=row.axis), 303)
    elif request.method == "POST":
        status = 400
    return render_template("complaints/admin/code_form.html", form=form, row=row), status


@bp.post("/admin/codes/seed")
@roles_required(*ADMIN)
def codes_seed():
    with unit_of_work():
        added = codes.seed_codes()
    flash(_("%(n)d default codes added.", n=added), "success")
    return redirect(url_for("complaints.codes_admin"), 303)


# -- custom SLA policies ------------------------------------------------------------------------

@bp.get("/admin/policies")
@roles_required(*ADMIN)
def policies_admin():
    presets = sorted(sla.PRESETS.values(), key=lambda p: p.code)
    custom = policies.list_custom()
    return render_template("complaints/admin/policies.html", presets=presets, custom=custom,
                           usage={p.code: policies.in_use(p.code) for p in custom})


@bp.route("/admin/policies/new", methods=["GET", "POST"])
@roles_required(*ADMIN)
def policy_new():
    form = PolicyForm()
    base = request.args.get("from")
    if request.method == "GET":
        base = base if base in sla.PRESETS else next(iter(sorted(sla.PRESETS)))
        form.definition.data = policies.preset_json(base)
        form.code.data = f"{base}_CUSTOM"[:32]
        form.name.data = sla.PRESETS[base].name
    status = 200
    if form.validate_on_submit():
        try:
            with unit_of_work():
                record = policies.create_policy(code=form.code.data, name=form.name.data,
                                                definition_text=form.definition.data,
                                                active=bool(form.active.data), actor=_me())
                code = record.code
        except policies.PolicyFormError as exc:
            attach_errors(exc.fields, form)
            status = 400
        else:
            flash(_("Policy %(code)s saved.", code=code), "success")
            return redirect(url_for("complaints.policies_admin"), 303)
    elif request.method == "POST":
        status = 400
    return render_template("complaints/admin/policy_form.html", form=form, record=None), status


@bp.route("/admin/policies/<int:policy_id>", methods=["GET", "POST"])
@roles_required(*ADMIN)
def policy_edit(policy_id: int):
    record = policies.get_custom(policy_id)
    if record is None:
        abort(404)
    form = PolicyForm(obj=None if request.method == "POST" else record)
    if request.method == "GET":
        form.definition.data = json.dumps(record.definition, ensure_ascii=False, indent=2)
    form.code.data = record.code  # fixed: complaints refer to it
    status = 200
    if form.validate_on_submit():
        try:
            with unit_of_work():
                policies.update_policy(record, name=form.name.data,
                                       definition_text=form.definition.data,
                                       active=bool(form.active.data), actor=_me())
        except policies.PolicyFormError as exc:
            attach_errors(exc.fields, form)
            status = 400
        else:
            flash(_("Policy %(code)s saved.", code=record.code), "success")
            return redirect(url_for("complaints.policies_admin"), 303)
    elif request.method == "POST":
        status = 400
    return render_template("complaints/admin/policy_form.html", form=form,
                           record=record), status

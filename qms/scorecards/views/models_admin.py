"""Scorecard model pages: models and versions (KPIs, targets, RAG thresholds, weights),
publishing, activation, and the AHP page that derives weights from pairwise comparisons."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from qms.analytics.ahp import CR_LIMIT, AhpError, from_upper
from qms.core.permissions import roles_required
from qms.core.tx import unit_of_work
from qms.scorecards import present
from qms.scorecards import scorecard_models as svc
from qms.scorecards.forms import ModelCreateForm, VersionForm, ahp_form_class, scale_text
from qms.scorecards.kpis import KPIS, kpis_for
from qms.scorecards.views import bp

READERS = ("admin", "qa", "auditor")
EDITORS = ("admin", "qa")


def _can_edit() -> bool:
    return current_user.has_role(*EDITORS)


def _version_or_404(model_id: int, version_id: int):
    version = svc.get_version(model_id, version_id)
    if version is None:
        abort(404)
    return version


@bp.get("/models")
@roles_required(*READERS)
def models():
    return render_template("scorecards/model_list.html", models=svc.list_models(),
                           form=ModelCreateForm() if _can_edit() else None)


@bp.post("/models")
@roles_required(*EDITORS)
def model_create():
    form = ModelCreateForm()
    if form.validate_on_submit():
        try:
            with unit_of_work():
                model = svc.create_model(form.name.data, form.scope.data)
            flash(_("Model created with a draft version."), "success")
            return redirect(url_for("scorecards.version", model_id=model.id,
                                    version_id=model.versions[0].id))
        except svc.ModelError as exc:
            for name, message in exc.fields.items():
                getattr(form, name, form.name).errors = [message]
    return render_template("scorecards/model_list.html", models=svc.list_models(),
                           form=form), 400


def _version_form(version) -> VersionForm:
    chosen = {k["key"]: k for k in version.kpis or []}
    data = {"overall_green": version.overall_green, "overall_amber": version.overall_amber,
            "kpis": []}
    ordered = [KPIS[k] for k in chosen if k in KPIS] + \
        [k for k in kpis_for(version.model.scope) if k.key not in chosen]
    for kpi in ordered:
        item = chosen.get(kpi.key, {})
        data["kpis"].append({"key": kpi.key, "include": kpi.key in chosen,
                             "target": item.get("target"), "green": item.get("green"),
                             "amber": item.get("amber"), "weight": item.get("weight", 0),
                             "min_sample": item.get("min_sample")})
    return VersionForm(formdata=None, data=data)


def _render_version(version, form, errors=None, status=200):
    return render_template("scorecards/model_version.html", version=version,
                           model=version.model, form=form, errors=errors or {},
                           labels={k: present.kpi_label(k) for k in KPIS}, kpis=KPIS,
                           can_edit=_can_edit() and not version.is_published), status


@bp.get("/models/<int:model_id>/versions/<int:version_id>")
@roles_required(*READERS)
def version(model_id, version_id):
    v = _version_or_404(model_id, version_id)
    return _render_version(v, _version_form(v))


@bp.post("/models/<int:model_id>/versions/<int:version_id>")
@roles_required(*EDITORS)
def version_save(model_id, version_id):
    v = _version_or_404(model_id, version_id)
    form = VersionForm()
    if not form.validate_on_submit():
        return _render_version(v, form, status=400)
    try:
        with unit_of_work():
            svc.update_version(v, form.rows(), overall_green=form.overall_green.data,
                               overall_amber=form.overall_amber.data)
    except svc.ModelError as exc:
        return _render_version(v, form, exc.fields, 400)
    flash(_("Version saved."), "success")
    return redirect(url_for("scorecards.version", model_id=model_id, version_id=version_id))


@bp.post("/models/<int:model_id>/versions")
@roles_required(*EDITORS)
def version_new(model_id):
    model = svc.get_model(model_id)
    if model is None:
        abort(404)
    with unit_of_work():
        draft = svc.new_version(model)
    return redirect(url_for("scorecards.version", model_id=model_id, version_id=draft.id))


@bp.post("/models/<int:model_id>/versions/<int:version_id>/publish")
@roles_required(*EDITORS)
def version_publish(model_id, version_id):
    v = _version_or_404(model_id, version_id)
    try:
        with unit_of_work():
            svc.publish_version(v)
        flash(_("Version published; the model is now the active one for its scope."), "success")
    except svc.ModelError as exc:
        for message in exc.fields.values():
            flash(message, "error")
    return redirect(url_for("scorecards.version", model_id=model_id, version_id=version_id))


@bp.post("/models/<int:model_id>/activate")
@roles_required(*EDITORS)
def model_activate(model_id):
    model = svc.get_model(model_id)
    if model is None:
        abort(404)
    try:
        with unit_of_work():
            svc.activate_model(model)
        flash(_("Model activated."), "success")
    except svc.ModelError as exc:
        for message in exc.fields.values():
            flash(message, "error")
    return redirect(url_for("scorecards.models"))


# -- AHP ----------------------------------------------------------------------------------------

def _ahp_form(v, formdata=None):
    n = len(v.kpis or [])
    form = ahp_form_class(n)(formdata=formdata)
    if formdata is None and v.ahp_matrix and len(v.ahp_matrix) == n:
        for i, j, field in form.pairs():
            field.data = scale_text(v.ahp_matrix[i][j])
    return form


def _render_ahp(v, form, result=None, worst=None, error=None, status=200):
    keys = [k["key"] for k in v.kpis or []]
    names = [present.kpi_label(k) for k in keys]
    return render_template(
        "scorecards/ahp.html", version=v, model=v.model, form=form, names=names,
        result=result, worst=worst or [], error=error, limit=CR_LIMIT,
        can_edit=_can_edit() and not v.is_published, weights=list(zip(
            names, result.weights, strict=True)) if result else []), status


@bp.get("/models/<int:model_id>/versions/<int:version_id>/ahp")
@roles_required(*READERS)
def ahp(model_id, version_id):
    v = _version_or_404(model_id, version_id)
    result = None
    if v.ahp_matrix:
        result, _worst = svc.evaluate_matrix(v.ahp_matrix)
    return _render_ahp(v, _ahp_form(v), result)


@bp.post("/models/<int:model_id>/versions/<int:version_id>/ahp")
@roles_required(*EDITORS)
def ahp_apply(model_id, version_id):
    v = _version_or_404(model_id, version_id)
    form = _ahp_form(v, request.form)
    if v.is_published:
        return _render_ahp(v, form, error=_("A published version cannot be changed; make a "
                                            "new version."), status=400)
    if len(v.kpis or []) < 2 or not form.validate_on_submit():
        return _render_ahp(v, form, error=_("Choose a judgement for every pair (the version "
                                            "needs at least two KPIs)."), status=400)
    try:
        matrix = from_upper(form.upper(), len(v.kpis))
        result, worst = svc.evaluate_matrix(matrix)
    except AhpError as exc:
        return _render_ahp(v, form, error=str(exc), status=400)
    if not result.consistent:
        return _render_ahp(v, form, result, worst, error=_(
            "Refused: the consistency ratio is %(cr)s, at or above 0.10. Revisit the "
            "judgements below, which disagree most with the weights they imply.",
            cr=f"{result.cr:.3f}"), status=400)
    with unit_of_work():
        svc.apply_ahp(v, matrix)
    flash(_("AHP weights applied (CR %(cr)s).", cr=f"{result.cr:.3f}"), "success")
    return redirect(url_for("scorecards.version", model_id=model_id, version_id=version_id))

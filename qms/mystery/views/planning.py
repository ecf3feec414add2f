"""Planning pages (QA staff, administrators): programmes, waves, generating assignments, the
assignment list, reassigning with a warning, and shoppers' declared conflicts."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from qms.core.db import now_utc
from qms.core.permissions import roles_required
from qms.core.tx import unit_of_work
from qms.mystery import assignment as asg
from qms.mystery import waves
from qms.mystery.forms_planning import (
    CHANNEL_LABELS,
    ActionForm,
    AssignmentFilterForm,
    ConflictForm,
    GenerateForm,
    ProgrammeForm,
    ReassignForm,
    WaveForm,
)
from qms.mystery.portal import STATUS_LABELS
from qms.mystery.views import bp
from qms.surveys.definition import text

PLANNERS = ("admin", "qa")


def _me():
    return current_user._get_current_object()


def _locale() -> str:
    from flask_babel import get_locale

    return str(get_locale() or "zh_Hans")


def _fields_to(form, fields: dict) -> None:
    for name, message in fields.items():
        field = getattr(form, name, None)
        if field is not None and name:
            field.errors = [*field.errors, str(message)] if isinstance(field.errors, list) \
                else [str(message)]
        else:
            form.form_errors.append(str(message))


def _or_404(obj):
    if obj is None:
        abort(404)
    return obj


@bp.get("/planning")
@roles_required(*PLANNERS)
def planning_index():
    programmes = waves.list_programmes()
    by_programme = {p.id: waves.list_waves(p) for p in programmes}
    surveys = {s.id: s.title for s in waves.mystery_surveys()}
    return render_template("mystery/planning_index.html", programmes=programmes,
                           by_programme=by_programme, surveys=surveys)


@bp.route("/programmes/new", methods=["GET", "POST"])
@roles_required(*PLANNERS)
def programme_new():
    form = ProgrammeForm()
    form.survey_id.choices = [(s.id, s.title) for s in waves.mystery_surveys()]
    if form.validate_on_submit():
        try:
            with unit_of_work():
                programme = waves.create_programme(
                    name=form.name.data, survey=waves.get_survey(form.survey_id.data),
                    actor=_me())
        except waves.PlanningError as exc:
            _fields_to(form, exc.fields)
        else:
            flash(_("Programme created. Add its first wave."), "success")
            return redirect(url_for("mystery.wave_new", programme_id=programme.id))
    return render_template("mystery/planning_programme_form.html", form=form), \
        400 if form.errors or form.form_errors else 200


def _wave_form(programme) -> WaveForm:
    form = WaveForm()
    versions = waves.published_versions(programme.survey_id)
    form.version_id.choices = [(v.id, _("Version %(n)d", n=v.number)) for v in versions]
    form.branch_ids.choices = [(b.id, f"{b.code} {b.name}") for b in waves.active_branches()]
    form.agent_ids.choices = waves.agent_choices()
    form.shopper_ids.choices = [(u.id, u.name) for u in waves.active_shoppers()]
    scenarios = {}
    for v in versions:
        for sc in waves.scenarios_of(v):
            scenarios.setdefault(sc.get("key"), text(sc.get("label"), _locale()))
    form.scenarios.choices = list(scenarios.items())
    return form


@bp.route("/programmes/<int:programme_id>/waves/new", methods=["GET", "POST"])
@roles_required(*PLANNERS)
def wave_new(programme_id: int):
    programme = _or_404(waves.get_programme(programme_id))
    form = _wave_form(programme)
    if form.validate_on_submit():
        spec = waves.WaveSpec(
            name=form.name.data, starts_on=form.starts_on.data, ends_on=form.ends_on.data,
            branch_ids=form.branch_ids.data or None, agent_ids=form.agent_ids.data or None,
            shopper_ids=form.shopper_ids.data or None, scenarios=tuple(form.scenarios.data),
            channel=form.channel.data, visits_per_branch=form.visits_per_branch.data,
            rotation_days=form.rotation_days.data, daily_cap=form.daily_cap.data,
            days_to_submit=form.days_to_submit.data, version_id=form.version_id.data)
        try:
            with unit_of_work():
                wave = waves.create_wave(programme, spec, actor=_me())
        except waves.PlanningError as exc:
            _fields_to(form, exc.fields)
        else:
            flash(_("Wave created. Generate its assignments when ready."), "success")
            return redirect(url_for("mystery.wave_detail", wave_id=wave.id))
    return render_template("mystery/planning_wave_form.html", form=form, programme=programme), \
        400 if form.errors or form.form_errors else 200


def _wave_page(wave, generation=None, status=200):
    filters = AssignmentFilterForm(request.args)
    branches = waves.wave_branches(wave)
    shoppers = waves.wave_shoppers(wave)
    filters.branch.choices = [("", _("All branches"))] + [(b.id, f"{b.code} {b.name}")
                                                         for b in branches]
    filters.shopper.choices = [("", _("All shoppers"))] + [(u.id, u.name) for u in shoppers]
    filters.scenario.choices = [("", _("All scenarios"))] + [(s, s) for s in wave.scenarios]
    filters.validate()
    rows = waves.list_assignments(
        wave, status=filters.status.data or None, branch_id=filters.branch.data,
        shopper_id=filters.shopper.data, scenario=filters.scenario.data or None)
    branch_names = {b.id: f"{b.code} {b.name}" for b in branches}
    return render_template(
        "mystery/planning_wave.html", wave=wave, rows=rows, filters=filters,
        counts=waves.assignment_counts(wave), generate_form=GenerateForm(),
        branch_names=branch_names, status_labels=STATUS_LABELS, generation=generation,
        channel_labels=CHANNEL_LABELS, warning_text=asg.warning_text,
        shoppers=len(shoppers)), status


@bp.get("/waves/<int:wave_id>")
@roles_required(*PLANNERS)
def wave_detail(wave_id: int):
    return _wave_page(_or_404(waves.get_wave(wave_id)))


@bp.post("/waves/<int:wave_id>/generate")
@roles_required(*PLANNERS)
def wave_generate(wave_id: int):
    wave = _or_404(waves.get_wave(wave_id))
    form = GenerateForm()
    if not form.validate_on_submit():
        flash(_("Give a seed from 0 upwards."), "error")
        return redirect(url_for("mystery.wave_detail", wave_id=wave.id))
    if wave.status == "closed":
        flash(_("This wave is closed."), "error")
        return redirect(url_for("mystery.wave_detail", wave_id=wave.id))
    with unit_of_work():
        generation = asg.generate_assignments(wave, now=now_utc(), seed=form.seed.data)
    flash(_("%(n)d assignments created, %(k)d kept, %(u)d could not be placed.",
            n=len(generation.created), k=generation.kept, u=len(generation.unplaced)),
          "success" if not generation.unplaced else "info")
    return _wave_page(wave, generation)


@bp.post("/waves/<int:wave_id>/status")
@roles_required(*PLANNERS)
def wave_status(wave_id: int):
    """Close a wave (no more generation) or open it again."""
    wave = _or_404(waves.get_wave(wave_id))
    status = request.form.get("status", "")
    if ActionForm().validate_on_submit() and status in ("open", "closed"):
        with unit_of_work():
            waves.set_wave_status(wave, status)
        flash(_("Wave closed.") if status == "closed" else _("Wave open again."), "success")
    return redirect(url_for("mystery.wave_detail", wave_id=wave.id))


@bp.route("/assignments/<int:assignment_id>/reassign", methods=["GET", "POST"])
@roles_required(*PLANNERS)
def assignment_reassign(assignment_id: int):
    a = _or_404(waves.get_assignment(assignment_id))
    form = ReassignForm()
    form.shopper_id.choices = [(u.id, u.name) for u in waves.active_shoppers()]
    warnings = []
    if form.validate_on_submit():
        shopper = waves.get_user(form.shopper_id.data)
        try:
            with unit_of_work():
                codes = asg.reassign(a, shopper, by=_me(), now=now_utc(),
                                     force=form.force.data)
        except waves.PlanningError as exc:
            warnings = asg.broken_rules(a, shopper)
            _fields_to(form, exc.fields)
        else:
            if codes:
                flash(_("Reassigned against the rules: %(w)s", w=asg.warning_text(
                    "; ".join(codes))), "info")
            else:
                flash(_("Reassigned."), "success")
            return redirect(url_for("mystery.wave_detail", wave_id=a.wave_id))
    return render_template(
        "mystery/planning_reassign.html", a=a, form=form, warnings=warnings,
        warning_text=asg.warning_text, status_labels=STATUS_LABELS,
        current=waves.get_user(a.shopper_id)), 400 if form.errors or form.form_errors else 200


@bp.post("/assignments/<int:assignment_id>/cancel")
@roles_required(*PLANNERS)
def assignment_cancel(assignment_id: int):
    a = _or_404(waves.get_assignment(assignment_id))
    if ActionForm().validate_on_submit():
        try:
            with unit_of_work():
                asg.cancel_assignment(a, by=_me(), now=now_utc())
        except waves.PlanningError as exc:
            for message in exc.fields.values():
                flash(str(message), "error")
        else:
            flash(_("Assignment cancelled."), "success")
    return redirect(url_for("mystery.wave_detail", wave_id=a.wave_id))


@bp.route("/conflicts", methods=["GET", "POST"])
@roles_required(*PLANNERS)
def conflicts():
    form = ConflictForm()
    form.shopper_id.choices = [(u.id, u.name) for u in waves.active_shoppers()]
    form.branch_id.choices = [(b.id, f"{b.code} {b.name}") for b in waves.active_branches()]
    if form.validate_on_submit():
        with unit_of_work():
            waves.declare_conflict(waves.get_user(form.shopper_id.data),
                                   waves.get_branch(form.branch_id.data), form.reason.data)
        flash(_("Conflict recorded: this shopper will not be sent to this branch."), "success")
        return redirect(url_for("mystery.conflicts"))
    return render_template("mystery/planning_conflicts.html", form=form,
                           rows=waves.list_conflicts()), 400 if form.errors else 200


# The mystery-shop parts of the survey builder are planning pages too (own module for size).
from qms.mystery.views import planning_builder  # noqa: E402,F401

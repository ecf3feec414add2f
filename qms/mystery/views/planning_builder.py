"""The mystery-shop parts of the survey builder (QA staff, administrators): a new mystery-shop
survey, scoring of questions and sections, scenarios, evidence questions. The rest of the
editing is the survey builder's own pages; these pages 404 for a satisfaction survey."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from qms.core.permissions import roles_required
from qms.core.tx import unit_of_work
from qms.mystery.forms_planning import (
    EvidenceQuestionForm,
    NewEvidenceForm,
    NewMysterySurveyForm,
    QuestionScoringForm,
    ScenariosForm,
    SectionScoringForm,
)
from qms.mystery.views import bp
from qms.surveys import builder, builder_mystery, services
from qms.surveys.definition_mystery import MYSTERY_SHOP, SCORED_TYPES
from qms.surveys.forms import labels_data
from qms.surveys.question_evidence import UPLOAD_TYPES
from qms.surveys.questions import EVIDENCE, LOCALES
from qms.surveys.services import SurveyError

PLANNERS = ("admin", "qa")


def _me():
    return current_user._get_current_object()


def _survey(survey_id: int):
    survey = services.get_survey(survey_id)
    if survey is None or survey.archived_at is not None or survey.kind != MYSTERY_SHOP:
        abort(404)
    return survey


def _editor(survey, anchor=None):
    return redirect(url_for("surveys.survey_edit", survey_id=survey.id, _anchor=anchor))


def _refused(form, exc: SurveyError) -> None:
    form.form_errors.extend(str(p) for p in exc.problems)


def _status(form) -> int:
    return 400 if form.errors or form.form_errors else 200


@bp.route("/surveys/new", methods=["GET", "POST"])
@roles_required(*PLANNERS)
def survey_new():
    form = NewMysterySurveyForm()
    if form.validate_on_submit():
        with unit_of_work():
            survey = builder_mystery.create_mystery_survey(
                name=form.name.data, title=labels_data(form.title), actor=_me())
        flash(_("Mystery-shop survey created. Add scenarios, scored questions and evidence, "
                "then publish it."), "success")
        return _editor(survey)
    return render_template("mystery/planning_survey_new.html", form=form), _status(form)


@bp.route("/surveys/<int:survey_id>/scoring/<key>", methods=["GET", "POST"])
@roles_required(*PLANNERS)
def survey_scoring(survey_id: int, key: str):
    """Points, critical and N/A of a question, or weight and bonus of a section."""
    survey = _survey(survey_id)
    _version, d = builder.current(survey)
    try:
        _i, section = builder.find_section(d, key)
        question = None
    except SurveyError:
        section = None
        try:
            _s, _i, question = builder.find_question(d, key)
        except SurveyError:
            abort(404)
    if question is not None and question.get("type") not in SCORED_TYPES:
        abort(404)
    if section is not None:
        form = SectionScoringForm(data={"base": builder.revision(d),
                                        "weight": section.get("weight"),
                                        "bonus": bool(section.get("bonus"))})
    else:
        form = QuestionScoringForm(data={
            "base": builder.revision(d), "scored": question.get("points") is not None,
            "points": question.get("points"), "critical": question.get("critical") or "",
            "pass_threshold": question.get("pass_threshold"),
            "na_allowed": bool(question.get("na_allowed")),
            "evidence": question.get("evidence") or ""})
        form.evidence.choices = [("", _("None"))] + [
            (q.get("key"), q.get("key")) for _s, q in builder.walk(d)
            if q is not None and q.get("type") in UPLOAD_TYPES]
    if form.validate_on_submit():
        try:
            with unit_of_work():
                if section is not None:
                    builder_mystery.set_section_scoring(
                        survey, key, weight=form.weight.data, bonus=form.bonus.data,
                        base=form.base.data, actor=_me())
                else:
                    builder_mystery.set_question_scoring(
                        survey, key, points=form.points.data if form.scored.data else None,
                        critical=form.critical.data or None, na_allowed=form.na_allowed.data,
                        pass_threshold=form.pass_threshold.data,
                        evidence=form.evidence.data or None, base=form.base.data, actor=_me())
        except SurveyError as exc:
            _refused(form, exc)
        else:
            flash(_("Scoring saved."), "success")
            return _editor(survey, f"{'s' if section is not None else 'q'}-{key}")
    return render_template("mystery/planning_survey_scoring.html", survey=survey, form=form,
                           key=key, section=section, question=question), _status(form)


@bp.route("/surveys/<int:survey_id>/scenarios", methods=["GET", "POST"])
@roles_required(*PLANNERS)
def survey_scenarios(survey_id: int):
    survey = _survey(survey_id)
    _version, d = builder.current(survey)
    current = [sc for sc in d.get("scenarios") or [] if isinstance(sc, dict)]
    # On a POST the rows are what was sent only: stored rows must not fill in missing inputs.
    form = ScenariosForm() if request.method == "POST" else ScenariosForm(data={
        "base": builder.revision(d), "scenarios": current,
        "allow_above_100": bool(d.get("allow_above_100"))})
    if form.validate_on_submit():
        # e.form: a FormField's own .label would shadow the scenario's "label" field
        rows = [{"key": e.form.key.data, "label": labels_data(e.form.label),
                 "script": labels_data(e.form.script)} for e in form.scenarios]
        try:
            with unit_of_work():
                builder_mystery.set_scenarios(survey, rows,
                                              allow_above_100=form.allow_above_100.data,
                                              base=form.base.data, actor=_me())
        except SurveyError as exc:
            _refused(form, exc)
        else:
            flash(_("Scenarios saved."), "success")
            return _editor(survey)
    while len(form.scenarios) < len(current) + 2:
        form.scenarios.append_entry()
    return render_template("mystery/planning_survey_scenarios.html", survey=survey, form=form,
                           locales=LOCALES), _status(form)


@bp.post("/surveys/<int:survey_id>/evidence")
@roles_required(*PLANNERS)
def survey_evidence_add(survey_id: int):
    survey = _survey(survey_id)
    _version, d = builder.current(survey)
    form = NewEvidenceForm()
    form.section.choices = [(s.get("key"), s.get("key")) for s, q in builder.walk(d)
                            if q is None]
    form.qtype.choices = [(name, t.label) for name, t in EVIDENCE.items()]
    if form.validate_on_submit():
        try:
            with unit_of_work():
                key = builder_mystery.add_evidence_question(
                    survey, form.section.data, form.qtype.data, base=form.base.data,
                    actor=_me())
        except SurveyError as exc:
            for p in exc.problems:
                flash(str(p), "error")
        else:
            return redirect(url_for("mystery.survey_evidence_edit", survey_id=survey.id,
                                    key=key))
    else:
        flash(_("Choose a section and a kind of evidence."), "error")
    return _editor(survey)


@bp.route("/surveys/<int:survey_id>/evidence/<key>", methods=["GET", "POST"])
@roles_required(*PLANNERS)
def survey_evidence_edit(survey_id: int, key: str):
    survey = _survey(survey_id)
    _version, d = builder.current(survey)
    try:
        _s, _i, q = builder.find_question(d, key)
    except SurveyError:
        abort(404)
    if q.get("type") not in EVIDENCE:
        abort(404)
    form = EvidenceQuestionForm(data={
        "base": builder.revision(d), "key": q.get("key"), "label": q.get("label") or {},
        "help": q.get("help") or {}, "required": bool(q.get("required")),
        "max_files": q.get("max_files", 5)})
    if form.validate_on_submit():
        try:
            with unit_of_work():
                new_key = builder_mystery.update_evidence_question(
                    survey, key, new_key=form.key.data.strip(), label=labels_data(form.label),
                    help=labels_data(form.help), required=form.required.data,
                    max_files=form.max_files.data, base=form.base.data, actor=_me())
        except SurveyError as exc:
            _refused(form, exc)
        else:
            flash(_("Question saved."), "success")
            return _editor(survey, f"q-{new_key}")
    return render_template("mystery/planning_survey_evidence.html", survey=survey, form=form,
                           q=q, qt=EVIDENCE[q["type"]], uploads=q["type"] in UPLOAD_TYPES), \
        _status(form)

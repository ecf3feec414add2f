"""Survey builder pages: the survey list, creating a survey, and editing its draft."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from qms.core.i18n import normalise_locale
from qms.core.permissions import roles_required
from qms.core.tx import unit_of_work
from qms.surveys import builder, services
from qms.surveys import definition as defn
from qms.surveys.forms import (
    ActionForm,
    ConditionForm,
    NewQuestionForm,
    NewSurveyForm,
    QuestionForm,
    SectionForm,
    SettingsForm,
    labels_data,
)
from qms.surveys.models import SurveyKind
from qms.surveys.questions import LOCALES, REGISTRY
from qms.surveys.services import SurveyError
from qms.surveys.views import bp

BUILDERS = ("admin", "qa")


def _me():
    return current_user._get_current_object()


def _survey(survey_id: int):
    survey = services.get_survey(survey_id)
    if survey is None or survey.archived_at is not None:
        abort(404)
    return survey


def _locale() -> str:
    return normalise_locale(str(get_locale())) or LOCALES[0]


def _refused(exc: SurveyError, form=None) -> None:
    for problem in exc.problems:
        if form is not None:
            form.form_errors.append(str(problem))
        else:
            flash(str(problem), "error")


def _to_editor(survey, anchor: str | None = None):
    return redirect(url_for("surveys.survey_edit", survey_id=survey.id,
                            _anchor=anchor or None))


def _draft_note(version) -> None:
    """Say so before the first change to a published version makes a new one."""
    if version.is_published:
        flash(_("Version %(n)d is published and stays as it is: your change starts "
                "version %(m)d as a draft.", n=version.number, m=version.number + 1), "info")


@bp.get("/")
@roles_required(*BUILDERS)
def index():
    kind = request.args.get("kind") or None
    if kind not in (None, *SurveyKind):
        kind = None
    return render_template("surveys/builder/index.html", rows=builder.survey_rows(kind),
                           kind=kind, kinds=list(SurveyKind))


@bp.route("/new", methods=["GET", "POST"])
@roles_required(*BUILDERS)
def survey_new():
    form = NewSurveyForm()
    if form.validate_on_submit():
        try:
            with unit_of_work():
                survey = services.create_survey(
                    title=form.name.data, kind=SurveyKind.SATISFACTION, actor=_me(),
                    definition=builder.new_definition(labels_data(form.title)))
        except SurveyError as exc:
            _refused(exc, form)
        else:
            flash(_("Survey created. Add questions, then publish it."), "success")
            return _to_editor(survey)
    return render_template("surveys/builder/new.html", form=form)


@bp.get("/<int:survey_id>")
@roles_required(*BUILDERS)
def survey_edit(survey_id: int):
    survey = _survey(survey_id)
    version = services.latest_version(survey)
    d = version.definition
    problems = defn.validate(d)
    sections = [s for s in d.get("sections") or [] if isinstance(s, dict)] \
        if isinstance(d.get("sections"), list) else []
    new_question = NewQuestionForm(base=builder.revision(d))
    new_question.section.choices = [(s.get("key"), s.get("key")) for s in sections]
    return render_template(
        "surveys/builder/edit.html", survey=survey, version=version, definition=d,
        sections=sections, problems=problems, by_key=builder.problems_by_key(d, problems),
        qmap={q.get("key"): q for s in sections for q in s.get("questions") or []
              if isinstance(q, dict)},
        published=services.latest_published(survey), registry=REGISTRY,
        action=ActionForm(base=builder.revision(d)), new_question=new_question,
        locale=_locale())


@bp.route("/<int:survey_id>/settings", methods=["GET", "POST"])
@roles_required(*BUILDERS)
def survey_settings(survey_id: int):
    survey = _survey(survey_id)
    version, d = builder.current(survey)
    data = {"base": builder.revision(d), "name": survey.title,
            **{k: d.get(k) if isinstance(d.get(k), dict) else {}
               for k in ("title", "intro", "thanks")}}
    form = SettingsForm(data=data)
    if form.validate_on_submit():
        try:
            with unit_of_work():
                builder.update_settings(
                    survey, name=form.name.data, title=labels_data(form.title),
                    intro=labels_data(form.intro), thanks=labels_data(form.thanks),
                    base=form.base.data, actor=_me())
        except SurveyError as exc:
            _refused(exc, form)
        else:
            _draft_note(version)
            flash(_("Survey settings saved."), "success")
            return _to_editor(survey)
    return render_template("surveys/builder/settings.html", survey=survey, form=form)


# -- sections ------------------------------------------------------------------------------

@bp.post("/<int:survey_id>/sections")
@roles_required(*BUILDERS)
def section_add(survey_id: int):
    survey = _survey(survey_id)
    version = services.latest_version(survey)
    form = ActionForm()
    if form.validate_on_submit():
        try:
            with unit_of_work():
                key = builder.add_section(survey, base=form.base.data, actor=_me())
        except SurveyError as exc:
            _refused(exc)
        else:
            _draft_note(version)
            return redirect(url_for("surveys.section_edit", survey_id=survey.id, key=key))
    return _to_editor(survey)


@bp.route("/<int:survey_id>/sections/<key>", methods=["GET", "POST"])
@roles_required(*BUILDERS)
def section_edit(survey_id: int, key: str):
    survey = _survey(survey_id)
    version, d = builder.current(survey)
    section = _find(builder.find_section, d, key)[1]
    form = SectionForm(data={"base": builder.revision(d), "key": key,
                             "title": section.get("title") or {}})
    if form.validate_on_submit():
        try:
            with unit_of_work():
                new_key = builder.update_section(survey, key, new_key=form.key.data.strip(),
                                                 title=labels_data(form.title),
                                                 base=form.base.data, actor=_me())
        except SurveyError as exc:
            _refused(exc, form)
        else:
            _draft_note(version)
            flash(_("Section saved."), "success")
            return _to_editor(survey, f"s-{new_key}")
    return render_template("surveys/builder/section.html", survey=survey, form=form, key=key)


def _find(finder, d, key):
    try:
        return finder(d, key)
    except SurveyError:
        abort(404)


def _move(survey_id: int, key: str, mover):
    survey = _survey(survey_id)
    version = services.latest_version(survey)
    form = ActionForm()
    step = {"up": -1, "down": 1}.get(request.form.get("direction", ""))
    if form.validate_on_submit() and step:
        try:
            with unit_of_work():
                mover(survey, key, step, base=form.base.data, actor=_me())
        except SurveyError as exc:
            _refused(exc)
        else:
            _draft_note(version)
    return _to_editor(survey, key)


@bp.post("/<int:survey_id>/sections/<key>/move")
@roles_required(*BUILDERS)
def section_move(survey_id: int, key: str):
    return _move(survey_id, key, builder.move_section)


@bp.post("/<int:survey_id>/questions/<key>/move")
@roles_required(*BUILDERS)
def question_move(survey_id: int, key: str):
    return _move(survey_id, key, builder.move_question)


def _delete(survey_id: int, key: str, finder, deleter, what: str):
    survey = _survey(survey_id)
    version, d = builder.current(survey)
    found = _find(finder, d, key)
    item = found[-1]
    form = ActionForm(base=builder.revision(d))
    if form.validate_on_submit():
        try:
            with unit_of_work():
                deleter(survey, key, base=form.base.data, actor=_me())
        except SurveyError as exc:
            _refused(exc, form)
        else:
            _draft_note(version)
            flash(_("Deleted %(key)s.", key=key), "success")
            return _to_editor(survey)
    return render_template("surveys/builder/delete.html", survey=survey, form=form, key=key,
                           item=item, what=what, locale=_locale(),
                           users=builder.references_to(d, key))


@bp.route("/<int:survey_id>/sections/<key>/delete", methods=["GET", "POST"])
@roles_required(*BUILDERS)
def section_delete(survey_id: int, key: str):
    return _delete(survey_id, key, builder.find_section, builder.delete_section, "section")


@bp.route("/<int:survey_id>/questions/<key>/delete", methods=["GET", "POST"])
@roles_required(*BUILDERS)
def question_delete(survey_id: int, key: str):
    return _delete(survey_id, key, builder.find_question, builder.delete_question, "question")


# -- questions -----------------------------------------------------------------------------

@bp.post("/<int:survey_id>/questions")
@roles_required(*BUILDERS)
def question_add(survey_id: int):
    survey = _survey(survey_id)
    version, d = builder.current(survey)
    form = NewQuestionForm()
    try:
        form.section.choices = [(s.get("key"), s.get("key")) for s, q in builder.walk(d)
                                if q is None]
    except SurveyError as exc:  # no list of sections: the JSON editor is the way out
        _refused(exc)
        return _to_editor(survey)
    if form.validate_on_submit():
        try:
            with unit_of_work():
                key = builder.add_question(survey, form.section.data, form.qtype.data,
                                           base=form.base.data, actor=_me())
        except SurveyError as exc:
            _refused(exc)
        else:
            _draft_note(version)
            return redirect(url_for("surveys.question_edit", survey_id=survey.id, key=key))
    else:
        for errors in form.errors.values():
            for e in errors if isinstance(errors, list) else [errors]:
                flash(str(e), "error")
    return _to_editor(survey)


@bp.route("/<int:survey_id>/questions/<key>", methods=["GET", "POST"])
@roles_required(*BUILDERS)
def question_edit(survey_id: int, key: str):
    survey = _survey(survey_id)
    version, d = builder.current(survey)
    _section, _i, q = _find(builder.find_question, d, key)
    qt = REGISTRY.get(q.get("type"))
    if qt is None:
        flash(_("This question has an unknown type; fix it in the JSON editor."), "error")
        return redirect(url_for("surveys.survey_json", survey_id=survey.id))
    form = QuestionForm(data={"base": builder.revision(d), **QuestionForm.data_from(q)})
    if form.validate_on_submit():
        try:
            with unit_of_work():
                new_key = builder.update_question(survey, key, form.to_question(form.qtype.data),
                                                  base=form.base.data, actor=_me())
        except SurveyError as exc:
            _refused(exc, form)
        else:
            _draft_note(version)
            if form.qtype.data != q["type"]:
                flash(_("The type is now %(type)s: check its settings.",
                        type=REGISTRY[form.qtype.data].label), "info")
                return redirect(url_for("surveys.question_edit", survey_id=survey.id,
                                        key=new_key))
            flash(_("Question saved."), "success")
            problems = builder.problems_by_key(
                services.latest_version(survey).definition,
                defn.validate(services.latest_version(survey).definition)).get(new_key)
            if problems:
                flash(_("Still to do before publishing: %(p)s", p="; ".join(problems)),
                      "info")
            return _to_editor(survey, f"q-{new_key}")
    form.add_blank_items(2)
    problems = builder.problems_by_key(d, defn.validate(d)).get(key, [])
    return render_template("surveys/builder/question.html", survey=survey, form=form, q=q,
                           qt=qt, settings=set(qt.settings), problems=problems)


@bp.route("/<int:survey_id>/conditions/<key>", methods=["GET", "POST"])
@roles_required(*BUILDERS)
def condition_edit(survey_id: int, key: str):
    """Show a question or section only when earlier answers meet the rules."""
    survey = _survey(survey_id)
    version, d = builder.current(survey)
    try:
        target = builder.find_section(d, key)[1]
    except SurveyError:
        target = _find(builder.find_question, d, key)[2]
    earlier = builder.earlier_questions(d, key)
    shape = ConditionForm.data_from(target.get("condition"))
    form = ConditionForm(data={"base": builder.revision(d), **(shape or {})})
    form.setup(earlier, _locale())
    if form.validate_on_submit():
        try:
            cond = None if "clear" in request.form else form.to_condition(earlier)
        except ValueError:
            cond = False
        if cond is not False:
            try:
                with unit_of_work():
                    builder.set_condition(survey, key, cond, base=form.base.data,
                                          actor=_me())
            except SurveyError as exc:
                _refused(exc, form)
            else:
                _draft_note(version)
                flash(_("Condition saved.") if cond else _("Shown always."), "success")
                return _to_editor(survey, key)
    form.setup(earlier, _locale(), blanks=True)
    return render_template("surveys/builder/condition.html", survey=survey, form=form,
                           key=key, target=target, earlier=earlier, nested=shape is None,
                           locale=_locale())


from qms.surveys.views import builder_versions  # noqa: E402,F401  (the rest of the builder)

"""Survey builder pages around versions: raw JSON, publishing, history, preview, export, import."""

from __future__ import annotations

import json

from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from jinja2 import TemplateNotFound

from qms.core import audit
from qms.core.permissions import roles_required
from qms.core.tx import unit_of_work
from qms.surveys import builder, services
from qms.surveys import definition as defn
from qms.surveys.forms import ImportForm, JsonForm, PublishForm
from qms.surveys.questions import LOCALES
from qms.surveys.services import SurveyError
from qms.surveys.views import bp
from qms.surveys.views.builder import BUILDERS, _draft_note, _locale, _me, _refused, _survey

MAX_IMPORT_BYTES = 2 * 1024 * 1024
PREVIEW_TEMPLATE = "surveys/respond/form.html"


def _version(survey, number: int):
    version = builder.get_version_number(survey, number)
    if version is None:
        abort(404)
    return version


def dump(document) -> str:
    """Stable, readable JSON (keys in the author's order) so that files diff well in review."""
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"


@bp.route("/<int:survey_id>/json", methods=["GET", "POST"])
@roles_required(*BUILDERS)
def survey_json(survey_id: int):
    """The advanced editor: the whole draft definition as JSON, with validate()'s problems."""
    survey = _survey(survey_id)
    version, d = builder.current(survey)
    form = JsonForm(base=builder.revision(d), definition=dump(d))
    problems = defn.validate(d)
    status = 200
    if form.validate_on_submit():
        try:
            parsed = json.loads(form.definition.data)
        except ValueError as exc:
            form.definition.errors.append(_("This is not valid JSON: %(e)s", e=str(exc)))
            status = 400
        else:
            try:
                with unit_of_work():
                    problems = builder.replace_definition(survey, parsed, base=form.base.data,
                                                          actor=_me())
            except SurveyError as exc:
                _refused(exc, form)
                status = 400
            else:
                _draft_note(version)
                flash(_("Definition saved.") if not problems else
                      _("Definition saved as a draft; fix the problems below before "
                        "publishing."), "success" if not problems else "info")
                return redirect(url_for("surveys.survey_json", survey_id=survey.id))
    return render_template("surveys/builder/json.html", survey=survey, form=form,
                           problems=problems), status


@bp.route("/<int:survey_id>/publish", methods=["GET", "POST"])
@roles_required(*BUILDERS)
def survey_publish(survey_id: int):
    """A confirm step, then publish: the version is frozen from then on."""
    survey = _survey(survey_id)
    version = services.latest_version(survey)
    form = PublishForm(base=builder.revision(version.definition))
    problems = [] if version.is_published else defn.validate(version.definition)
    status = 200
    if form.validate_on_submit():
        if form.base.data != builder.revision(version.definition):
            form.form_errors.append(_("The draft changed since this page was shown: "
                                      "check it again before publishing."))
            status = 409
        else:
            try:
                with unit_of_work():
                    published = services.publish(survey, actor=_me())
                    audit.record("survey_publish", actor=_me(), ip=request.remote_addr,
                                 subject=f"survey:{survey.id}",
                                 details={"version": published.number})
            except SurveyError as exc:
                problems = [str(p) for p in exc.problems]
                status = 400
            else:
                flash(_("Version %(n)d is published.", n=published.number), "success")
                return redirect(url_for("surveys.survey_versions", survey_id=survey.id))
    return render_template("surveys/builder/publish.html", survey=survey, version=version,
                           form=form, problems=problems,
                           previous=services.latest_published(survey)), status


@bp.get("/<int:survey_id>/versions")
@roles_required(*BUILDERS)
def survey_versions(survey_id: int):
    survey = _survey(survey_id)
    return render_template("surveys/builder/versions.html", survey=survey,
                           versions=sorted(survey.versions, key=lambda v: -v.number),
                           counts=builder.response_counts(survey))


@bp.get("/<int:survey_id>/versions/<int:number>")
@roles_required(*BUILDERS)
def version_view(survey_id: int, number: int):
    """A read-only view of one version, as it was published (or as the draft stands)."""
    survey = _survey(survey_id)
    version = _version(survey, number)
    d = version.definition
    sections = [s for s in d.get("sections") or [] if isinstance(s, dict)] \
        if isinstance(d.get("sections"), list) else []
    return render_template("surveys/builder/version.html", survey=survey, version=version,
                           definition=d, sections=sections, problems=defn.validate(d),
                           locale=request.args.get("locale") if request.args.get("locale")
                           in LOCALES else _locale())


@bp.get("/<int:survey_id>/preview")
@roles_required(*BUILDERS)
def survey_preview(survey_id: int):
    """The survey exactly as a customer sees it (the answering page's own template)."""
    survey = _survey(survey_id)
    number = request.args.get("version", type=int)
    version = _version(survey, number) if number else services.latest_version(survey)
    # ?lang= too: the answering layout's language links use it
    locale = request.args.get("locale") or request.args.get("lang")
    locale = locale if locale in LOCALES else _locale()
    context = dict(definition=version.definition, version=version, locale=locale,
                   answers={}, errors={}, form_action=None, preview=True)
    try:
        current_app.jinja_env.get_template(PREVIEW_TEMPLATE)
    except TemplateNotFound:
        # The answering page is not there yet: show the read-only view instead.
        return redirect(url_for("surveys.version_view", survey_id=survey.id,
                                number=version.number, locale=locale))
    with force_locale(locale):  # the page's own texts in the respondent's language too
        return render_template(PREVIEW_TEMPLATE, survey=survey, **context)


@bp.get("/<int:survey_id>/versions/<int:number>/export")
@roles_required(*BUILDERS)
def version_export(survey_id: int, number: int):
    survey = _survey(survey_id)
    version = _version(survey, number)
    with unit_of_work():
        audit.record("survey_export", actor=_me(), ip=request.remote_addr,
                     subject=f"survey:{survey.id}", details={"version": number})
    body = dump(services.export_survey(version))
    name = f"survey-{survey.id}-v{number}{'' if version.is_published else '-draft'}.json"
    return Response(body, mimetype="application/json", headers={
        "Content-Disposition": f'attachment; filename="{name}"',
        "X-Content-Type-Options": "nosniff"})


def read_upload(storage) -> tuple[object, list[str]]:
    """The uploaded file as JSON, or the problems that stop it being read."""
    raw = storage.stream.read(MAX_IMPORT_BYTES + 1)
    if len(raw) > MAX_IMPORT_BYTES:
        return None, [_("The file is larger than %(n)d MB.", n=MAX_IMPORT_BYTES // 2**20)]
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None, [_("The file is not UTF-8 text.")]
    try:
        return json.loads(text), []
    except ValueError as exc:
        return None, [_("The file is not valid JSON: %(e)s", e=str(exc))]


def _import(survey):
    form = ImportForm()
    problems: list[str] = []
    status = 200
    if form.validate_on_submit():
        document, problems = read_upload(form.file.data)
        if not problems:
            try:
                with unit_of_work():
                    target = services.import_survey(document, actor=_me(), into=survey)
                    audit.record("survey_import", actor=_me(), ip=request.remote_addr,
                                 subject=f"survey:{target.id}",
                                 details={"file": form.file.data.filename})
            except SurveyError as exc:
                problems = [str(p) for p in exc.problems]
            else:
                if survey is None:
                    flash(_("Survey imported."), "success")
                else:
                    flash(_("The file is now the draft of this survey."), "success")
                return redirect(url_for("surveys.survey_edit", survey_id=target.id))
        status = 400
    return render_template("surveys/builder/import.html", survey=survey, form=form,
                           problems=problems), status


@bp.route("/import", methods=["GET", "POST"])
@roles_required(*BUILDERS)
def survey_import():
    """A new survey from an exported file."""
    return _import(None)


@bp.route("/<int:survey_id>/import", methods=["GET", "POST"])
@roles_required(*BUILDERS)
def survey_import_draft(survey_id: int):
    """An exported file as the next draft of an existing survey."""
    return _import(_survey(survey_id))

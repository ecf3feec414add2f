"""Rubric pages around versions: publishing, discarding a draft, history, a read-only view,
the "try it" scorer, copying and archiving."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from qms.core import audit
from qms.core.permissions import roles_required
from qms.core.tx import unit_of_work
from qms.qa import rubrics as svc
from qms.qa.interaction_forms import channel_labels
from qms.qa.rubric_format import check_definition, score_answers, sections
from qms.qa.rubric_forms import ActionForm, CopyForm, try_form
from qms.qa.rubrics import RubricError
from qms.qa.views import bp
from qms.qa.views.rubrics import BUILDERS, READERS, _locale, _me, _rubric, _to_editor


def _version(rubric, number: int, *, published_only: bool = False):
    version = svc.get_version_number(rubric, number)
    if version is None or (published_only and version.published_at is None):
        abort(404)
    return version


@bp.route("/rubrics/<int:rubric_id>/publish", methods=["GET", "POST"])
@roles_required(*BUILDERS)
def rubric_publish(rubric_id: int):
    """A confirm step, then publish: the version is frozen from then on."""
    rubric = _rubric(rubric_id)
    version = svc.latest_version(rubric)
    form = ActionForm(base=svc.revision(version.definition))
    problems = [] if version.published_at else check_definition(version.definition)
    status = 200
    if form.validate_on_submit():
        if form.base.data != svc.revision(version.definition):
            form.form_errors.append(_("The draft changed since this page was shown: check it "
                                      "again before publishing."))
            status = 409
        else:
            try:
                with unit_of_work():
                    published = svc.publish_rubric(rubric, actor=_me())
                    audit.record("rubric_publish", actor=_me(), ip=request.remote_addr,
                                 subject=f"rubric:{rubric.id}",
                                 details={"version": published.number})
            except RubricError as exc:
                problems = exc.problems
                status = 400
            else:
                flash(_("Version %(n)d is published.", n=published.number), "success")
                return redirect(url_for("qa.rubric_versions", rubric_id=rubric.id))
    return render_template("qa/rubrics/publish.html", rubric=rubric, version=version,
                           form=form, problems=problems,
                           previous=svc.latest_published(rubric)), status


@bp.route("/rubrics/<int:rubric_id>/discard", methods=["GET", "POST"])
@roles_required(*BUILDERS)
def rubric_discard(rubric_id: int):
    rubric = _rubric(rubric_id)
    version = svc.latest_version(rubric)
    form = ActionForm(base=svc.revision(version.definition))
    if form.validate_on_submit():
        try:
            with unit_of_work():
                back = svc.discard_draft(rubric)
        except RubricError as exc:
            for p in exc.problems:
                flash(p, "error")
        else:
            flash(_("The draft is discarded; version %(n)d is the latest again.",
                    n=back.number), "success")
        return _to_editor(rubric)
    if version.published_at is not None or version.number == 1:
        abort(404)
    return render_template("qa/rubrics/discard.html", rubric=rubric, version=version,
                           form=form)


@bp.get("/rubrics/<int:rubric_id>/versions")
@roles_required(*BUILDERS)
def rubric_versions(rubric_id: int):
    rubric = _rubric(rubric_id, editable=False)
    return render_template("qa/rubrics/versions.html", rubric=rubric,
                           versions=sorted(rubric.versions, key=lambda v: -v.number),
                           counts=svc.evaluation_counts(rubric))


@bp.get("/rubrics/<int:rubric_id>/versions/<int:number>")
@roles_required(*READERS)
def rubric_version(rubric_id: int, number: int):
    """One version read-only, with its guidance: what graders score against. Branch heads
    see published versions only."""
    rubric = _rubric(rubric_id, editable=False)
    builds = _me().has_role(*BUILDERS)
    version = _version(rubric, number, published_only=not builds)
    d = version.definition
    return render_template("qa/rubrics/version.html", rubric=rubric, version=version,
                           definition=d, sections=sections(d), builds=builds,
                           problems=check_definition(d) if builds else [],
                           channels=channel_labels(), locale=_locale())


@bp.route("/rubrics/<int:rubric_id>/try", methods=["GET", "POST"])
@roles_required(*BUILDERS)
def rubric_try(rubric_id: int):
    """Score sample answers with the pure scoring function; nothing is stored."""
    rubric = _rubric(rubric_id, editable=False)
    number = request.values.get("version", type=int)
    version = _version(rubric, number) if number else svc.latest_version(rubric)
    d = version.definition
    problems = check_definition(d)
    result, error, layout, form = None, None, [], None
    if not problems:
        form_class, layout = try_form(d, _locale(), _("N/A"), _("Yes"), _("No"))
        form = form_class()
        if form.validate_on_submit():
            answers = {c["key"]: {"score": _answer(form[name].data)}
                       for _s, crits in layout for c, name in crits if form[name].data}
            try:
                result = score_answers(d, answers, partial=True)
            except ValueError as exc:
                error = str(exc)
    return render_template("qa/rubrics/try.html", rubric=rubric, version=version, form=form,
                           layout=layout, result=result, error=error, problems=problems,
                           locale=_locale())


def _answer(value: str):
    if value == "na":
        return value
    number = float(value)
    return int(number) if number.is_integer() else number


@bp.route("/rubrics/<int:rubric_id>/copy", methods=["GET", "POST"])
@roles_required(*BUILDERS)
def rubric_copy(rubric_id: int):
    rubric = _rubric(rubric_id, editable=False)
    form = CopyForm(data={"name": _("Copy of %(name)s", name=rubric.name)[:200]})
    if form.validate_on_submit():
        try:
            with unit_of_work():
                copied = svc.copy_rubric(rubric, name=form.name.data, actor=_me())
        except RubricError as exc:
            form.form_errors.extend(exc.problems)
        else:
            flash(_("Copied as a new draft rubric."), "success")
            return _to_editor(copied)
    return render_template("qa/rubrics/copy.html", rubric=rubric, form=form)


@bp.route("/rubrics/<int:rubric_id>/archive", methods=["GET", "POST"])
@roles_required(*BUILDERS)
def rubric_archive(rubric_id: int):
    """Archive (or restore) a rubric: archived rubrics are not offered for new work; their
    versions and evaluations stay."""
    rubric = _rubric(rubric_id, editable=False)
    form = ActionForm()
    if form.validate_on_submit():
        with unit_of_work():
            if rubric.archived_at is None:
                svc.archive_rubric(rubric)
                message = _("Rubric archived.")
            else:
                svc.restore_rubric(rubric)
                message = _("Rubric restored.")
            audit.record("rubric_archive", actor=_me(), ip=request.remote_addr,
                         subject=f"rubric:{rubric.id}",
                         details={"archived": rubric.archived_at is not None})
        flash(message, "success")
        return redirect(url_for("qa.rubrics", archived="1" if rubric.archived_at else None))
    return render_template("qa/rubrics/archive.html", rubric=rubric, form=form)

"""Checklist template pages: the list, a new template (empty or imported), the builder of its
draft, the preview of a version, publishing and JSON export. Admin and QA build; auditors read
published versions."""

from __future__ import annotations

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from qms.audits import checklists
from qms.audits import templates as svc
from qms.audits.forms_setup import (
    BuilderForm,
    NewTemplateForm,
    PublishForm,
    critical_labels,
    definition_from_form,
    kind_labels,
    severity_labels,
    weighting_labels,
)
from qms.audits.templates import TemplateError
from qms.audits.views import bp
from qms.core.i18n import normalise_locale
from qms.core.permissions import current_principal, roles_required
from qms.core.tx import unit_of_work

BUILDERS = ("admin", "qa")
READERS = ("admin", "qa", "auditor")


def _locale() -> str:
    return normalise_locale(str(get_locale())) or checklists.LOCALES[0]


def _builds() -> bool:
    return current_principal().has_role(*BUILDERS)


def _template(template_id: int, *, editable: bool = False):
    template = svc.get_template(template_id)
    if template is None or (editable and template.archived_at is not None):
        abort(404)
    return template


def _words() -> dict:
    return {"severity": severity_labels(), "kind": kind_labels(),
            "critical": critical_labels(), "weighting": weighting_labels()}


@bp.get("/templates")
@roles_required(*READERS)
def templates():
    builds = _builds()
    archived = builds and request.args.get("archived") == "1"
    return render_template("audits/template_list.html", builds=builds, archived=archived,
                           rows=svc.template_rows(archived=archived, published_only=not builds))


@bp.route("/templates/new", methods=["GET", "POST"])
@roles_required(*BUILDERS)
def template_new():
    form = NewTemplateForm()
    if form.validate_on_submit():
        raw = form.upload.data.read() if form.upload.data else (form.source.data or "").strip()
        try:
            with unit_of_work():
                if raw:
                    template = svc.import_json(raw, name=form.name.data or None)
                else:
                    template = svc.create_template(name=form.name.data or "")
        except TemplateError as exc:
            form.form_errors.extend(exc.problems)
        else:
            flash(_("Checklist created as a draft. Build it, preview it, then publish it."),
                  "success")
            return redirect(url_for("audits.template_edit", template_id=template.id))
    return render_template("audits/template_new.html", form=form)


@bp.route("/templates/<int:template_id>/edit", methods=["GET", "POST"])
@roles_required(*BUILDERS)
def template_edit(template_id: int):
    template = _template(template_id, editable=True)
    version = svc.latest_version(template)
    form = BuilderForm(base=svc.revision(version.definition), name=template.name)
    if request.method == "POST":
        if not form.validate_on_submit():
            for errors in form.errors.values():
                for e in errors:
                    flash(e, "error")
            return redirect(url_for("audits.template_edit", template_id=template.id))
        definition, anchor = definition_from_form(request.form)
        try:
            with unit_of_work():
                svc.rename_template(template, name=form.name.data)
                saved = svc.save_draft(template, definition, base=form.base.data)
        except TemplateError as exc:
            for p in exc.problems:
                flash(p, "error")
        else:
            if saved.number != version.number:
                flash(_("Version %(n)d is published and stays as it is: your change starts "
                        "version %(m)d as a draft.", n=version.number, m=saved.number), "info")
            elif request.form.get("op", "save") == "save":
                flash(_("Draft saved."), "success")
        return redirect(url_for("audits.template_edit", template_id=template.id,
                                _anchor=anchor))
    published = svc.latest_published(template)
    return render_template(
        "audits/template_edit.html", template=template, version=version, form=form,
        d=version.definition, sections=checklists.sections(version.definition),
        problems=checklists.problems_by_key(version.definition), published=published,
        locales=checklists.LOCALES, locale=_locale(), words=_words())


def _version_or_404(template, number: int | None, builds: bool):
    if number is None:
        version = svc.latest_version(template) if builds else svc.latest_published(template)
    else:
        version = svc.get_version_number(template, number)
    if version is None or (not builds and version.published_at is None):
        abort(404)
    return version


@bp.get("/templates/<int:template_id>")
@roles_required(*READERS)
def template_preview(template_id: int):
    builds = _builds()
    template = _template(template_id)
    version = _version_or_404(template, request.args.get("version", type=int), builds)
    versions = [v for v in template.versions if builds or v.published_at is not None]
    return render_template(
        "audits/template_preview.html", template=template, version=version, builds=builds,
        versions=versions, sections=checklists.sections(version.definition),
        weighting=version.definition.get("weighting", "sections"),
        problems=checklists.check_definition(version.definition), locale=_locale(),
        words=_words())


@bp.route("/templates/<int:template_id>/publish", methods=["GET", "POST"])
@roles_required(*BUILDERS)
def template_publish(template_id: int):
    template = _template(template_id, editable=True)
    version = svc.latest_version(template)
    form = PublishForm(base=svc.revision(version.definition))
    if form.validate_on_submit():
        if form.base.data != svc.revision(version.definition):
            flash(_("The draft was changed by someone else in the meantime; check it and "
                    "publish again."), "error")
            return redirect(url_for("audits.template_publish", template_id=template.id))
        try:
            with unit_of_work():
                published = svc.publish_template(template)
        except TemplateError as exc:
            form.form_errors.extend(exc.problems)
        else:
            flash(_("Version %(n)d is published: new audits use it.", n=published.number),
                  "success")
            return redirect(url_for("audits.template_preview", template_id=template.id,
                                    version=published.number))
    return render_template("audits/template_publish.html", template=template, version=version,
                           form=form, problems=checklists.check_definition(version.definition))


@bp.get("/templates/<int:template_id>/export")
@roles_required(*READERS)
def template_export(template_id: int):
    template = _template(template_id)
    version = _version_or_404(template, request.args.get("version", type=int), _builds())
    body = svc.export_json(template, version)
    filename = f"audit-checklist-{template.id}-v{version.number}.json"
    return Response(body, mimetype="application/json",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@bp.post("/templates/<int:template_id>/archive")
@roles_required(*BUILDERS)
def template_archive(template_id: int):
    """Archive (archive=1) or restore (archive=0) a checklist; programmes keep using its
    published version until they are changed."""
    template = _template(template_id)
    if PublishForm().validate_on_submit():
        with unit_of_work():
            if request.form.get("archive") == "1":
                svc.archive_template(template)
            else:
                svc.restore_template(template)
        flash(_("Checklist archived.") if template.archived_at else _("Checklist restored."),
              "success")
    return redirect(url_for("audits.template_preview", template_id=template.id))

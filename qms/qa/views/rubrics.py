"""Rubric pages: the list, creating a rubric, and the builder of its draft (settings,
sections and their weights, criteria). Versions, publishing and the scorer are in
rubric_versions. QA and administrators build; branch heads read published versions."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from qms.core.i18n import normalise_locale
from qms.core.permissions import roles_required
from qms.core.tx import unit_of_work
from qms.qa import rubric_builder as builder
from qms.qa import rubrics as svc
from qms.qa.demo_rubrics import demo_rubrics
from qms.qa.interaction_forms import channel_labels
from qms.qa.rubric_format import LOCALES, problems_by_key, sections, weight_sum
from qms.qa.rubric_forms import (
    ActionForm,
    CriterionForm,
    NewCriterionForm,
    NewRubricForm,
    SectionForm,
    SettingsForm,
    WeightsForm,
    labels_data,
)
from qms.qa.rubrics import RubricError
from qms.qa.views import bp

BUILDERS = ("admin", "qa")
READERS = ("admin", "qa", "branch_head")


def _me():
    return current_user._get_current_object()


def _locale() -> str:
    return normalise_locale(str(get_locale())) or LOCALES[0]


def _rubric(rubric_id: int, *, editable: bool = True):
    rubric = svc.get_rubric(rubric_id)
    if rubric is None or (editable and rubric.archived_at is not None):
        abort(404)
    return rubric


def _refused(exc: RubricError, form=None) -> None:
    for problem in exc.problems:
        if form is not None:
            form.form_errors.append(problem)
        else:
            flash(problem, "error")


def _to_editor(rubric, anchor: str | None = None):
    return redirect(url_for("qa.rubric_edit", rubric_id=rubric.id, _anchor=anchor or None))


def _draft_note(version) -> None:
    """Say so when a change to a frozen version made a new one."""
    if svc.is_frozen(version):
        flash(_("Version %(n)d stays as it is (published or scored): your change starts "
                "version %(m)d as a draft.", n=version.number, m=version.number + 1), "info")


def _templates() -> dict:
    return {str(i): t for i, t in enumerate(demo_rubrics(), start=1)}


@bp.get("/rubrics")
@roles_required(*READERS)
def rubrics():
    builds = _me().has_role(*BUILDERS)
    archived = builds and request.args.get("archived") == "1"
    return render_template("qa/rubrics/index.html", channels=channel_labels(),
                           rows=svc.rubric_rows(archived=archived, published_only=not builds),
                           archived=archived, builds=builds)


@bp.route("/rubrics/new", methods=["GET", "POST"])
@roles_required(*BUILDERS)
def rubric_new():
    templates = _templates()
    form = NewRubricForm(templates=[(k, t["name"]) for k, t in templates.items()])
    if request.method == "GET" and request.args.get("template") in templates:
        form.template.data = request.args["template"]
    if form.validate_on_submit():
        template = templates.get(form.template.data)
        try:
            with unit_of_work():
                rubric = svc.create_rubric(
                    name=form.name.data, channel=form.channel.data or
                    (template["channel"] if template else None),
                    definition=template["definition"] if template else None, actor=_me())
        except RubricError as exc:
            _refused(exc, form)
        else:
            flash(_("Rubric created as a draft. Build it, try it, then publish it."), "success")
            return _to_editor(rubric)
    return render_template("qa/rubrics/new.html", form=form)


@bp.get("/rubrics/<int:rubric_id>")
@roles_required(*BUILDERS)
def rubric_edit(rubric_id: int):
    rubric = _rubric(rubric_id)
    version = svc.latest_version(rubric)
    d = version.definition
    base = svc.revision(d)
    secs = sections(d)
    new_criterion = NewCriterionForm(base=base)
    new_criterion.section.choices = [(s.get("key"), s.get("key")) for s in secs]
    weights = WeightsForm(base=base, data={"rows": [
        {"key": s.get("key"), "weight": s.get("weight")} for s in secs]})
    return render_template(
        "qa/rubrics/edit.html", rubric=rubric, version=version, definition=d, sections=secs,
        problems=problems_by_key(d), weight_sum=weight_sum(d), frozen=svc.is_frozen(version),
        published=svc.latest_published(rubric), action=ActionForm(base=base),
        new_criterion=new_criterion, weights=weights, channels=channel_labels(),
        locale=_locale())


@bp.route("/rubrics/<int:rubric_id>/settings", methods=["GET", "POST"])
@roles_required(*BUILDERS)
def rubric_settings(rubric_id: int):
    rubric = _rubric(rubric_id)
    version, d = builder.current(rubric)
    form = SettingsForm(data={"base": svc.revision(d), "name": rubric.name,
                              "channel": rubric.channel or "",
                              "allow_above_100": bool(d.get("allow_above_100"))})
    if form.validate_on_submit():
        try:
            with unit_of_work():
                builder.update_settings(rubric, name=form.name.data,
                                        channel=form.channel.data or None,
                                        allow_above_100=form.allow_above_100.data,
                                        base=form.base.data, actor=_me())
        except RubricError as exc:
            _refused(exc, form)
        else:
            if d.get("allow_above_100") != form.allow_above_100.data:
                _draft_note(version)
            flash(_("Rubric settings saved."), "success")
            return _to_editor(rubric)
    return render_template("qa/rubrics/settings.html", rubric=rubric, form=form)


# -- sections ------------------------------------------------------------------------------

@bp.post("/rubrics/<int:rubric_id>/sections")
@roles_required(*BUILDERS)
def rubric_section_add(rubric_id: int):
    rubric = _rubric(rubric_id)
    version = svc.latest_version(rubric)
    form = ActionForm()
    if form.validate_on_submit():
        try:
            with unit_of_work():
                key = builder.add_section(rubric, bonus=request.form.get("bonus") == "1",
                                          base=form.base.data, actor=_me())
        except RubricError as exc:
            _refused(exc)
        else:
            _draft_note(version)
            return redirect(url_for("qa.rubric_section_edit", rubric_id=rubric.id, key=key))
    return _to_editor(rubric)


def _find(finder, d, key):
    try:
        return finder(d, key)
    except RubricError:
        abort(404)


@bp.route("/rubrics/<int:rubric_id>/sections/<key>", methods=["GET", "POST"])
@roles_required(*BUILDERS)
def rubric_section_edit(rubric_id: int, key: str):
    rubric = _rubric(rubric_id)
    version, d = builder.current(rubric)
    section = _find(builder.find_section, d, key)[1]
    form = SectionForm(data={"base": svc.revision(d), "key": key,
                             "title": section.get("title") or {},
                             "weight": section.get("weight"),
                             "bonus": bool(section.get("bonus"))})
    if form.validate_on_submit():
        try:
            with unit_of_work():
                new_key = builder.update_section(
                    rubric, key, new_key=form.key.data.strip(), title=labels_data(form.title),
                    weight=form.weight.data, bonus=form.bonus.data, base=form.base.data,
                    actor=_me())
        except RubricError as exc:
            _refused(exc, form)
        else:
            _draft_note(version)
            flash(_("Section saved."), "success")
            return _to_editor(rubric, f"s-{new_key}")
    others = weight_sum(d) - (section.get("weight") or 0 if not section.get("bonus") else 0)
    return render_template("qa/rubrics/section.html", rubric=rubric, form=form, key=key,
                           others=others)


@bp.post("/rubrics/<int:rubric_id>/weights")
@roles_required(*BUILDERS)
def rubric_weights(rubric_id: int):
    rubric = _rubric(rubric_id)
    version = svc.latest_version(rubric)
    form = WeightsForm()
    if form.validate_on_submit():
        try:
            with unit_of_work():
                builder.set_weights(rubric, form.weights(), base=form.base.data, actor=_me())
        except RubricError as exc:
            _refused(exc)
        else:
            _draft_note(version)
            flash(_("Weights saved."), "success")
    else:
        flash(_("Weights are numbers from 0 to 100."), "error")
    return _to_editor(rubric, "weights")


def _move(rubric_id: int, key: str, mover):
    rubric = _rubric(rubric_id)
    version = svc.latest_version(rubric)
    form = ActionForm()
    step = {"up": -1, "down": 1}.get(request.form.get("direction", ""))
    if form.validate_on_submit() and step:
        try:
            with unit_of_work():
                mover(rubric, key, step, base=form.base.data, actor=_me())
        except RubricError as exc:
            _refused(exc)
        else:
            _draft_note(version)
    return _to_editor(rubric, key)


@bp.post("/rubrics/<int:rubric_id>/sections/<key>/move")
@roles_required(*BUILDERS)
def rubric_section_move(rubric_id: int, key: str):
    return _move(rubric_id, key, builder.move_section)


@bp.post("/rubrics/<int:rubric_id>/criteria/<key>/move")
@roles_required(*BUILDERS)
def rubric_criterion_move(rubric_id: int, key: str):
    return _move(rubric_id, key, builder.move_criterion)


def _delete(rubric_id: int, key: str, finder, deleter, what: str):
    rubric = _rubric(rubric_id)
    version, d = builder.current(rubric)
    item = _find(finder, d, key)[-1]
    form = ActionForm(base=svc.revision(d))
    if form.validate_on_submit():
        try:
            with unit_of_work():
                deleter(rubric, key, base=form.base.data, actor=_me())
        except RubricError as exc:
            _refused(exc, form)
        else:
            _draft_note(version)
            flash(_("Deleted %(key)s.", key=key), "success")
            return _to_editor(rubric)
    return render_template("qa/rubrics/delete.html", rubric=rubric, form=form, key=key,
                           item=item, what=what, locale=_locale())


@bp.route("/rubrics/<int:rubric_id>/sections/<key>/delete", methods=["GET", "POST"])
@roles_required(*BUILDERS)
def rubric_section_delete(rubric_id: int, key: str):
    return _delete(rubric_id, key, builder.find_section, builder.delete_section, "section")


@bp.route("/rubrics/<int:rubric_id>/criteria/<key>/delete", methods=["GET", "POST"])
@roles_required(*BUILDERS)
def rubric_criterion_delete(rubric_id: int, key: str):
    return _delete(rubric_id, key, builder.find_criterion, builder.delete_criterion,
                   "criterion")


# -- criteria ------------------------------------------------------------------------------

@bp.post("/rubrics/<int:rubric_id>/criteria")
@roles_required(*BUILDERS)
def rubric_criterion_add(rubric_id: int):
    rubric = _rubric(rubric_id)
    version, d = builder.current(rubric)
    form = NewCriterionForm()
    form.section.choices = [(s.get("key"), s.get("key")) for s in sections(d)]
    if form.validate_on_submit():
        try:
            with unit_of_work():
                key = builder.add_criterion(rubric, form.section.data, form.kind.data,
                                            base=form.base.data, actor=_me())
        except RubricError as exc:
            _refused(exc)
        else:
            _draft_note(version)
            return redirect(url_for("qa.rubric_criterion_edit", rubric_id=rubric.id, key=key))
    else:
        flash(_("Choose a section and a kind."), "error")
    return _to_editor(rubric)


@bp.route("/rubrics/<int:rubric_id>/criteria/<key>", methods=["GET", "POST"])
@roles_required(*BUILDERS)
def rubric_criterion_edit(rubric_id: int, key: str):
    rubric = _rubric(rubric_id)
    version, d = builder.current(rubric)
    section, _i, criterion = _find(builder.find_criterion, d, key)
    form = CriterionForm(data={"base": svc.revision(d), **CriterionForm.data_from(criterion)})
    if form.validate_on_submit():
        new = form.to_criterion()
        try:
            with unit_of_work():
                new_key = builder.update_criterion(rubric, key, new, base=form.base.data,
                                                   actor=_me())
        except RubricError as exc:
            _refused(exc, form)
        else:
            _draft_note(version)
            flash(_("Criterion saved."), "success")
            if (new["kind"], new["max_points"]) != (criterion.get("kind"),
                                                    criterion.get("max_points")):
                flash(_("The scores changed: check the guidance for each score."), "info")
                return redirect(url_for("qa.rubric_criterion_edit", rubric_id=rubric.id,
                                        key=new_key))
            return _to_editor(rubric, f"c-{new_key}")
    mine = problems_by_key(d).get(key, [])
    return render_template("qa/rubrics/criterion.html", rubric=rubric, form=form, key=key,
                           section=section, problems=mine, locale=_locale())


from qms.qa.views import rubric_versions  # noqa: E402,F401  (versions, publishing, the scorer)

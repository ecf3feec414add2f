"""Report review for QA staff (qa, admin): the queue with filters, a report with its evidence
and scored breakdown, the decision (approve / return with comments per question / reject), a
correction of an approved report, and the overdue list for planners."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from qms.core import uploads
from qms.core.permissions import roles_required, route_roles
from qms.core.tx import unit_of_work
from qms.mystery import portal, reminders
from qms.mystery import review as svc
from qms.mystery.forms_portal import (
    DECISIONS,
    CorrectionForm,
    QueueFilterForm,
    decision_form_class,
)
from qms.mystery.views import bp
from qms.mystery.views.shopper import answer_form, locale, sent_values
from qms.surveys.definition import question_map, questions, text, visible_keys
from qms.surveys.question_evidence import UPLOAD_TYPES

REVIEWERS = svc.REVIEWERS


def _me():
    return current_user._get_current_object()


def _report_or_404(assignment_id: int):
    a = svc.visible_report(_me(), assignment_id, route_roles())
    if a is None:
        abort(404)
    return a


def _int(value) -> int | None:
    return int(value) if value and str(value).isdigit() else None


def _answer_text(q: dict, value, loc: str) -> str:
    """An answer as a reviewer reads it."""
    if value is None or value == "" or value == []:
        return "—"
    if value == portal.NA:
        return _("Not applicable")
    if q["type"] == "yesno":
        return _("Yes") if value in (True, "yes") else _("No")
    if q["type"] in ("single", "multiple"):
        labels = {o["key"]: text(o.get("label"), loc) for o in q.get("options", [])}
        chosen = value if isinstance(value, list) else [value]
        return ", ".join(labels.get(v, str(v)) for v in chosen)
    if q["type"] == "matrix" and isinstance(value, dict):
        rows = {r["key"]: text(r.get("label"), loc) for r in q.get("rows", [])}
        return "; ".join(f"{rows.get(k, k)}: {v}" for k, v in value.items())
    if q["type"] in ("visit_start", "visit_end") and isinstance(value, str):
        return value.replace("T", " ")
    return str(value)


def report_sections(a, definition: dict, loc: str) -> list[dict]:
    """Sections of the report with each question's answer, evidence and item score."""
    from qms.mystery import scoring

    answers = a.answers or {}
    try:
        items = {row["item_key"]: row for row in scoring.item_scores(definition, answers)}
    except ValueError:
        items = {}
    shown = visible_keys(definition, {k: v for k, v in answers.items() if v != portal.NA})
    out = []
    for section in definition.get("sections", []):
        rows = []
        for q in section.get("questions", []):
            if q["type"] == "static":
                continue
            value = answers.get(q["key"])
            rows.append({"q": q, "label": text(q.get("label"), loc), "shown": q["key"] in shown,
                         "text": _answer_text(q, value, loc),
                         "files": value if q["type"] in UPLOAD_TYPES and value else [],
                         "item": items.get(q["key"])})
        out.append({"key": section["key"], "title": text(section.get("title"), loc),
                    "weight": section.get("weight"), "rows": rows})
    return out


# -- the queue -------------------------------------------------------------------------------

@bp.get("/review")
@roles_required(*REVIEWERS)
def review_queue():
    roles = route_roles()
    filters = QueueFilterForm(request.args)
    waves, branches = svc.filter_choices(_me(), roles)
    filters.status.choices = [("submitted", _("To review"))] + [
        (s, portal.STATUS_LABELS[s]) for s in svc.STATUS_FILTERS if s not in ("submitted", "all")
    ] + [("all", _("All"))]
    filters.wave.choices = [("", _("Any"))] + [(str(i), n) for i, n in waves]
    filters.branch.choices = [("", _("Any"))] + [(str(i), n) for i, n in branches]
    status = request.args.get("status") or "submitted"
    if status not in svc.STATUS_FILTERS:
        status = "submitted"
    filters.status.data = status
    items = svc.review_queue(_me(), status=status, wave_id=_int(request.args.get("wave")),
                             branch_id=_int(request.args.get("branch")), roles=roles)
    return render_template("mystery/review_queue.html", items=items, filters=filters,
                           status_labels=portal.STATUS_LABELS,
                           shoppers=svc.names(a.shopper_id for a in items))


# -- one report --------------------------------------------------------------------------------

def _render_report(a, form=None, status: int = 200):
    definition = portal.definition_of(a)
    loc = locale()
    keys = [q["key"] for _s, q in questions(definition)]
    form = form or decision_form_class(keys)()
    history = svc.history(a)
    return render_template(
        "mystery/review_report.html", a=a, definition=definition, locale=loc,
        sections=report_sections(a, definition, loc), result=svc.breakdown(a),
        history=history, people=svc.names([a.shopper_id, *(r.reviewer_id for r in history)]),
        files={f.id: f for f in portal.files_of(a)}, scenario=portal.scenario_of(a, loc),
        form=form, status_labels=portal.STATUS_LABELS, qmap=question_map(definition),
        stored=svc.stored_items(a)), status


@bp.get("/review/<int:assignment_id>")
@roles_required(*REVIEWERS)
def review_report(assignment_id: int):
    return _render_report(_report_or_404(assignment_id))


@bp.post("/review/<int:assignment_id>/decide")
@roles_required(*REVIEWERS)
def review_decide(assignment_id: int):
    a = _report_or_404(assignment_id)
    keys = [q["key"] for _s, q in questions(portal.definition_of(a))]
    form = decision_form_class(keys)()
    decision = request.form.get("decision")
    if not form.validate_on_submit() or decision not in DECISIONS:
        return _render_report(a, form, 400)
    notes = {k: form[f"c_{k}"].data for k in keys if (form[f"c_{k}"].data or "").strip()}
    try:
        with unit_of_work():
            if decision == "approve":
                svc.approve_report(a, _me(), form.comment.data)
            elif decision == "return":
                svc.return_report(a, _me(), form.comment.data, notes)
            else:
                svc.reject_report(a, _me(), form.comment.data)
    except svc.ReviewError as exc:
        if exc.status == 400:
            for name, message in exc.fields.items():
                if name in form:
                    form[name].errors = [str(message)]
            return _render_report(a, form, 400)
        flash(str(exc.message), "error")
        return redirect(url_for("mystery.review_report", assignment_id=a.id), 303)
    flash({"approve": _("Report approved: it counts in the results now."),
           "return": _("Report returned to the shopper for correction."),
           "reject": _("Report rejected: it does not count.")}[decision], "success")
    return redirect(url_for("mystery.review_report", assignment_id=a.id), 303)


@bp.route("/review/<int:assignment_id>/correct", methods=["GET", "POST"])
@roles_required(*REVIEWERS)
def review_correct(assignment_id: int):
    a = _report_or_404(assignment_id)
    if a.status != "approved":
        flash(_("Only an approved report is corrected; decide this one instead."), "error")
        return redirect(url_for("mystery.review_report", assignment_id=a.id), 303)
    definition = portal.definition_of(a)
    form = CorrectionForm()
    values, errors, parsed, status = portal.form_values(definition, a.answers), {}, a.answers, 200
    if request.method == "POST":
        sent = answer_form(request.form)
        sent.pop("reason", None)
        if form.validate_on_submit():
            try:
                with unit_of_work():
                    svc.correct_report(a, _me(), sent, form.reason.data)
            except portal.InvalidReport as exc:
                errors, parsed = exc.errors, exc.answers
            except svc.ReviewError as exc:
                form.reason.errors = [str(exc.message)]
            else:
                flash(_("Correction recorded."), "success")
                return redirect(url_for("mystery.review_report", assignment_id=a.id), 303)
        values, status = sent_values(definition, sent), 400
    return render_template(
        "mystery/review_correct.html", a=a, definition=definition, values=values,
        errors=errors, visible=visible_keys(definition, parsed or {}), locale=locale(),
        files={f.id: f for f in portal.files_of(a)}, upload_types=UPLOAD_TYPES,
        allow_new=False, na_in_macros=False, comments={}, form=form,
        evidence_url=lambda att_id: url_for("mystery.review_evidence", assignment_id=a.id,
                                            attachment_id=att_id)), status


@bp.get("/review/<int:assignment_id>/evidence/<int:attachment_id>")
@roles_required(*REVIEWERS)
def review_evidence(assignment_id: int, attachment_id: int):
    a = _report_or_404(assignment_id)
    att = portal.file_of(a, attachment_id)
    if att is None:
        abort(404)
    return uploads.open_attachment(att)


@bp.get("/overdue")
@roles_required(*REVIEWERS)
def overdue():
    items = reminders.overdue(_me(), roles=route_roles())
    return render_template("mystery/overdue.html", items=items,
                           status_labels=portal.STATUS_LABELS,
                           shoppers=svc.names(a.shopper_id for a in items))

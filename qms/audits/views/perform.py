"""One audit: its page, starting it, the checklist form (save and resume, live partial score,
evidence per item), submitting, and the evidence files."""

from __future__ import annotations

from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import format_decimal, get_locale
from flask_babel import gettext as _
from flask_login import current_user

from qms.audits import access, checklists, evidence, performing
from qms.audits.access import AuditWorkError
from qms.audits.forms_work import (
    RemoveEvidenceForm,
    StartForm,
    answers_from,
    initial_data,
    perform_form,
)
from qms.audits.views import bp
from qms.audits.worklists import user_names
from qms.core import uploads
from qms.core.forms import attach_errors
from qms.core.permissions import roles_required, route_roles
from qms.core.tx import unit_of_work

VIEWERS = ("admin", "qa", "auditor", "branch_head")
PERFORMERS = ("admin", "qa", "auditor")


def me():
    return current_user._get_current_object()


def locale() -> str:
    loc = get_locale()
    return str(loc) if loc else "zh_Hans"


def audit_or_404(audit_id: int):
    audit = access.find_audit(audit_id, me(), route_roles())
    if audit is None:
        abort(404)
    return audit


def percent(value) -> str:
    return "" if value is None else format_decimal(value, format="#,##0.0")


def sheet(audit, answers=None, comments=None, result=None, failed=()) -> list[dict]:
    """The checklist as plain values in the reader's language, with answers and evidence."""
    loc = locale()
    definition = performing.definition_of(audit)
    answers = (audit.answers or {}) if answers is None else answers
    comments = (audit.comments or {}) if comments is None else comments
    files = evidence.evidence_by_item(audit)
    failed = set(failed)
    out = []
    for s in checklists.sections(definition):
        items = []
        for i in checklists.items(s):
            key = i["key"]
            items.append({
                "key": key, "label": checklists.text(i.get("label"), loc),
                "guidance": checklists.text(i.get("guidance"), loc),
                "kind": i.get("kind", "passfail"), "max": i.get("max_points"),
                "na_allowed": bool(i.get("na_allowed")), "severity": i.get("severity"),
                "evidence_required": bool(i.get("evidence_required")),
                "critical": i.get("critical"), "answer": answers.get(key),
                "comment": comments.get(key, ""), "files": files.get(key, []),
                "failed": key in failed})
        res = result.per_section.get(s["key"]) if result is not None else None
        out.append({"key": s["key"], "label": checklists.text(s.get("label"), loc),
                    "weight": s.get("weight"), "entries": items,
                    "percent": percent(res.percent) if res is not None else ""})
    return out


def summary(prog: performing.Progress) -> dict:
    result = prog.result
    total = None if result is None or result.total is None else round(result.total, 2)
    text = _("No score yet.") if total is None else _("Score so far: %(total)s",
                                                       total=percent(result.total))
    if result is not None and result.auto_failed:
        text += " " + _("A critical item failed: the score is 0.")
    return {"answered": prog.answered, "total": prog.total, "done": prog.percent_done,
            "score": total, "text": text,
            "progress": _("%(answered)d of %(total)d items answered", answered=prog.answered,
                          total=prog.total),
            "sections": {k: percent(s.percent) for k, s in result.per_section.items()}
            if result else {}}


@bp.get("/<int:audit_id>")
@roles_required(*VIEWERS)
def audit_detail(audit_id: int):
    audit = audit_or_404(audit_id)
    user = me()
    definition = performing.definition_of(audit)
    findings = performing.findings_of(audit)
    result = None
    if audit.status in ("submitted", "closed"):
        result = checklists.score_answers(definition, audit.answers or {})
    prog = performing.progress(audit)
    return render_template(
        "audits/audit_detail.html", audit=audit, sheet=sheet(
            audit, result=result or prog.result,
            failed=checklists.failed_items(definition, audit.answers or {})),
        summary=summary(prog), findings=findings, locale=locale(),
        meta=checklists.item_meta(definition), can_perform=access.can_perform(user, audit),
        start_form=StartForm(), status_labels=performing.STATUS_LABELS,
        severity_labels=performing.SEVERITY_LABELS,
        names=user_names(audit.auditor_id))


@bp.post("/<int:audit_id>/start")
@roles_required(*PERFORMERS)
def audit_start(audit_id: int):
    audit = audit_or_404(audit_id)
    if not StartForm().validate_on_submit():
        abort(400)
    try:
        with unit_of_work():
            performing.start_audit(audit, me())
    except AuditWorkError as exc:
        if exc.status == 403:
            abort(403)
        flash(exc.message, "error")
        return redirect(url_for("audits.audit_detail", audit_id=audit_id), 303)
    return redirect(url_for("audits.audit_perform", audit_id=audit_id), 303)


@bp.route("/<int:audit_id>/perform", methods=["GET", "POST"])
@roles_required(*PERFORMERS)
def audit_perform(audit_id: int):
    audit = audit_or_404(audit_id)
    user = me()
    if not access.can_perform(user, audit):
        abort(403)
    if audit.status != "in_progress":
        return redirect(url_for("audits.audit_detail", audit_id=audit_id), 303)
    definition = performing.definition_of(audit)
    form = perform_form(definition, data=initial_data(definition, audit.answers or {},
                                                      audit.comments or {}))
    status, problems = 200, {}
    answers = comments = None
    if form.validate_on_submit():
        answers, comments, files = answers_from(form, definition)
        submitting = "submit_audit" in request.form
        try:
            with unit_of_work():
                performing.save_answers(audit, user, answers=answers, comments=comments,
                                        files=files)
            if submitting:
                with unit_of_work():
                    performing.submit_audit(audit, user)
        except AuditWorkError as exc:
            problems, status = exc.fields, exc.status
        except uploads.UploadError as exc:
            problems, status = {"": str(exc.message)}, exc.status
        else:
            if submitting:
                flash(_("Audit submitted: findings and corrective actions are created."),
                      "success")
                return redirect(url_for("audits.audit_detail", audit_id=audit_id), 303)
            flash(_("Saved. You can continue later."), "success")
            anchor = request.form.get("next_item") or ""
            return redirect(url_for("audits.audit_perform", audit_id=audit_id)
                            + (f"#item-{anchor}" if anchor.isidentifier() else ""), 303)
    elif request.method == "POST":
        status = 400
    if problems:
        attach_errors({(f"a_{k}" if k and f"a_{k}" in form else k): v
                       for k, v in problems.items()}, form)
    if status >= 400 and answers is None:
        answers, comments = audit.answers, audit.comments
    prog = performing.progress(audit, answers if problems else None)
    return render_template(
        "audits/perform.html", audit=audit, form=form, problems=problems,
        sheet=sheet(audit, answers=answers if problems else None,
                    comments=comments if problems else None, result=prog.result),
        summary=summary(prog), remove_form=RemoveEvidenceForm(),
        status_labels=performing.STATUS_LABELS,
        severity_labels=performing.SEVERITY_LABELS), status


@bp.post("/<int:audit_id>/preview")
@roles_required(*PERFORMERS)
def audit_preview(audit_id: int):
    """The progress and partial score of the posted form, as JSON (for audit-perform.js)."""
    audit = audit_or_404(audit_id)
    definition = performing.definition_of(audit)
    form = perform_form(definition, meta={"csrf": False})
    answers, _comments, _files = answers_from(form, definition)
    answers = {k: v for k, v in answers.items() if v is not None}
    problems = checklists.answer_problems(definition, answers, partial=True)
    if problems:
        resp = jsonify({"error": _("Some answers do not fit this checklist."),
                        "fields": problems})
        resp.status_code = 400
        return resp
    return jsonify(summary(performing.progress(audit, answers)))


@bp.get("/<int:audit_id>/evidence/<int:attachment_id>")
@roles_required(*VIEWERS)
def audit_evidence(audit_id: int, attachment_id: int):
    audit = audit_or_404(audit_id)
    att = evidence.audit_attachment(audit, attachment_id)
    if att is None:
        abort(404)
    return uploads.open_attachment(att)


@bp.post("/<int:audit_id>/evidence/<int:attachment_id>/remove")
@roles_required(*PERFORMERS)
def audit_evidence_remove(audit_id: int, attachment_id: int):
    audit = audit_or_404(audit_id)
    if not RemoveEvidenceForm().validate_on_submit():
        abort(400)
    try:
        with unit_of_work():
            removed = performing.remove_evidence(audit, me(), attachment_id)
    except AuditWorkError as exc:
        if exc.status == 403:
            abort(403)
        flash(exc.message, "error")
        return redirect(url_for("audits.audit_detail", audit_id=audit_id), 303)
    if not removed:
        abort(404)
    flash(_("The file was removed."), "success")
    return redirect(url_for("audits.audit_perform", audit_id=audit_id), 303)

"""Findings and corrective actions: a branch's findings, one finding with its action (the
owner's updates, marking done, the effectiveness check, the owner, a follow-up audit), the
overdue list."""

from __future__ import annotations

from datetime import UTC, datetime, time

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from qms.audits import access, actions, checklists, evidence, followups, reports, worklists
from qms.audits.access import AuditWorkError
from qms.audits.forms_work import (
    ActionDoneForm,
    ActionUpdateForm,
    FollowUpForm,
    OwnerForm,
    VerifyForm,
)
from qms.audits.performing import SEVERITY_LABELS, STATUS_LABELS
from qms.audits.views import bp
from qms.audits.views.perform import locale, me
from qms.auth.services import get_user
from qms.core import uploads
from qms.core.db import now_utc
from qms.core.forms import attach_errors
from qms.core.permissions import roles_required, route_roles
from qms.core.tx import unit_of_work

VIEWERS = ("admin", "qa", "auditor", "branch_head")
WORKERS = ("admin", "branch_head")
CHECKERS = ("admin", "qa", "auditor")


def finding_or_404(finding_id: int):
    finding = access.find_finding(finding_id, me(), route_roles())
    if finding is None:
        abort(404)
    return finding


def action_or_404(action_id: int):
    action = access.find_action(action_id, me(), route_roles())
    if action is None:
        abort(404)
    return action


def _end_of_day(d) -> datetime:
    return datetime.combine(d, time(23, 59), tzinfo=UTC)


@bp.get("/findings")
@roles_required(*VIEWERS)
def findings():
    user = me()
    roles = route_roles()
    branches = worklists.visible_branches(user, roles)
    branch_id = request.args.get("branch", type=int)
    if branch_id is not None and branch_id not in {b for b, _label in branches}:
        branch_id = None
    state = request.args.get("state") or "open"
    if state not in worklists.STATES:
        state = "open"
    rows = worklists.finding_rows(user, roles, branch_id=branch_id, state=state,
                                  now=now_utc(), locale=locale())
    return render_template("audits/branch_findings.html", rows=rows, branches=branches,
                           branch_id=branch_id, state=state, severity_labels=SEVERITY_LABELS,
                           action_labels=actions.STATUS_LABELS)


@bp.get("/overdue")
@roles_required(*VIEWERS)
def overdue():
    from qms.core.permissions import branch_scope

    now = now_utc()
    rows = reports.overdue_actions(now, branch_scope(me(), route_roles()))
    return render_template("audits/overdue.html", rows=rows, now=now,
                           names=worklists.user_names(*[r.owner_id for r in rows]),
                           severity_labels=SEVERITY_LABELS, items=_item_labels(rows))


def _item_labels(rows) -> dict[int, str]:
    out = {}
    for r in rows:
        finding = access.find_finding(r.finding_id, me(), route_roles())
        if finding is not None:
            meta = checklists.item_meta(finding.audit.template_version.definition)
            out[r.finding_id] = checklists.text(meta.get(r.item_key, {}).get("label"),
                                                locale()) or r.item_key
    return out


@bp.get("/findings/<int:finding_id>")
@roles_required(*VIEWERS)
def finding_detail(finding_id: int):
    finding = finding_or_404(finding_id)
    return render_finding(finding)


def render_finding(finding, *, update_form=None, done_form=None, verify_form=None,
                   follow_form=None, status: int = 200):
    user = me()
    action = next((a for f, a in _pair(finding) if a is not None), None)
    audit = finding.audit
    meta = checklists.item_meta(audit.template_version.definition).get(finding.item_key, {})
    ctx = {"finding": finding, "action": action, "audit": audit, "meta": meta,
           "item_label": checklists.text(meta.get("label"), locale()) or finding.item_key,
           "section_label": checklists.text(meta.get("section_label"), locale()),
           "guidance": checklists.text(meta.get("guidance"), locale()),
           "answer": (audit.answers or {}).get(finding.item_key),
           "severity_labels": SEVERITY_LABELS, "action_labels": actions.STATUS_LABELS,
           "note_labels": actions.NOTE_LABELS, "audit_labels": STATUS_LABELS,
           "follow_up": followups.follow_up_of(finding), "now": now_utc()}
    if action is not None:
        ctx["notes"] = actions.notes_of(action)
        ctx["files"] = evidence.action_evidence(action)
        ctx["names"] = worklists.user_names(action.owner_id, action.verified_by_id,
                                            *[n.author_id for n in ctx["notes"]])
        ctx["can_work"] = access.can_work_on(user, action) and user.has_role(*WORKERS)
        ctx["verify_refusal"] = access.verify_refusal(user, action)
        if ctx["can_work"] and action.status == "open":
            ctx["update_form"] = update_form or ActionUpdateForm(
                data={"correction": action.correction or "", "action": action.action or ""})
            ctx["done_form"] = done_form or ActionDoneForm()
        if action.status == "done" and ctx["verify_refusal"] is None:
            ctx["verify_form"] = verify_form or VerifyForm()
        if user.has_role(*CHECKERS) and action.status != "closed":
            owner_form = OwnerForm()
            owner_form.owner_id.choices = actions.owner_choices(action)
            owner_form.owner_id.data = action.owner_id
            ctx["owner_form"] = owner_form if owner_form.owner_id.choices else None
    if finding.severity == "critical" and ctx["follow_up"] is None \
            and user.has_role(*CHECKERS):
        form = follow_form or FollowUpForm()
        form.auditor_id.choices = [(0, _("The auditor of this audit"))] + \
            followups.auditor_choices(finding.branch_id)
        ctx["follow_form"] = form
    return render_template("audits/finding_detail.html", **ctx), status


def _pair(finding):
    from qms.audits.performing import findings_of

    return [(f, a) for f, a in findings_of(finding.audit) if f.id == finding.id]


def _after(action, message: str):
    flash(message, "success")
    return redirect(url_for("audits.finding_detail", finding_id=action.finding_id), 303)


def _refused(exc: AuditWorkError, action, **forms):
    if exc.status == 403:
        abort(403)
    for form in forms.values():
        if form is not None:
            attach_errors(exc.fields, form)
            break
    return render_finding(action.finding, status=exc.status, **forms)


@bp.post("/actions/<int:action_id>/update")
@roles_required(*WORKERS)
def action_update(action_id: int):
    action = action_or_404(action_id)
    form = ActionUpdateForm()
    if not form.validate_on_submit():
        return render_finding(action.finding, update_form=form, status=400)
    files = [f for f in (form.files.data or []) if f and getattr(f, "filename", "")]
    try:
        with unit_of_work():
            actions.record_progress(action, me(), correction=form.correction.data,
                                    corrective=form.action.data, note=form.note.data,
                                    files=files)
    except AuditWorkError as exc:
        return _refused(exc, action, update_form=form)
    except uploads.UploadError as exc:
        form.files.errors = [str(exc.message)]
        return render_finding(action.finding, update_form=form, status=exc.status)
    return _after(action, _("Saved."))


@bp.post("/actions/<int:action_id>/done")
@roles_required(*WORKERS)
def action_done(action_id: int):
    action = action_or_404(action_id)
    form = ActionDoneForm()
    if not form.validate_on_submit():
        return render_finding(action.finding, done_form=form, status=400)
    try:
        with unit_of_work():
            actions.mark_done(action, me(), note=form.note.data)
    except AuditWorkError as exc:
        return _refused(exc, action, done_form=form)
    return _after(action, _("Marked done: the effectiveness check comes next."))


@bp.post("/actions/<int:action_id>/verify")
@roles_required(*CHECKERS)
def action_verify(action_id: int):
    action = action_or_404(action_id)
    form = VerifyForm()
    if not form.validate_on_submit():
        return render_finding(action.finding, verify_form=form, status=400)
    effective = form.effective.data == "yes"
    try:
        with unit_of_work():
            actions.verify(action, me(), effective=effective, note=form.note.data,
                           new_due_at=_end_of_day(form.new_due.data) if form.new_due.data
                           else None)
    except AuditWorkError as exc:
        if exc.status == 403:
            flash(exc.message, "error")
            return redirect(url_for("audits.finding_detail", finding_id=action.finding_id),
                            303)
        return _refused(exc, action, verify_form=form)
    return _after(action, _("Checked effective: the action and its finding are closed.")
                  if effective else _("Not effective: the action is open again."))


@bp.post("/actions/<int:action_id>/owner")
@roles_required(*CHECKERS)
def action_owner(action_id: int):
    action = action_or_404(action_id)
    form = OwnerForm()
    form.owner_id.choices = actions.owner_choices(action)
    owner = get_user(form.owner_id.data) if form.validate_on_submit() else None
    if owner is None:
        flash(_("Choose a head of the branch."), "error")
        return redirect(url_for("audits.finding_detail", finding_id=action.finding_id), 303)
    try:
        with unit_of_work():
            actions.assign_owner(action, owner, me())
    except AuditWorkError as exc:
        flash(exc.message, "error")
        return redirect(url_for("audits.finding_detail", finding_id=action.finding_id), 303)
    return _after(action, _("The owner was changed."))


@bp.get("/actions/<int:action_id>/evidence/<int:attachment_id>")
@roles_required(*VIEWERS)
def action_evidence(action_id: int, attachment_id: int):
    action = action_or_404(action_id)
    att = evidence.action_attachment(action, attachment_id)
    if att is None:
        abort(404)
    return uploads.open_attachment(att)


@bp.post("/findings/<int:finding_id>/follow-up")
@roles_required(*CHECKERS)
def finding_follow_up(finding_id: int):
    finding = finding_or_404(finding_id)
    form = FollowUpForm()
    form.auditor_id.choices = [(0, "")] + followups.auditor_choices(finding.branch_id)
    if not form.validate_on_submit():
        return render_finding(finding, follow_form=form, status=400)
    auditor = get_user(form.auditor_id.data) if form.auditor_id.data else None
    try:
        with unit_of_work():
            audit = followups.schedule_follow_up(finding, me(), _end_of_day(form.due.data),
                                                 auditor=auditor)
            audit_id = audit.id
    except AuditWorkError as exc:
        if exc.status == 403:
            abort(403)
        attach_errors(exc.fields, form)
        return render_finding(finding, follow_form=form, status=exc.status)
    flash(_("Follow-up audit scheduled."), "success")
    return redirect(url_for("audits.audit_detail", audit_id=audit_id), 303)

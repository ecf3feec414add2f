"""The workflow's actions on the complaint page: one POST route per action (a registry of
form + service call), the approval decision, and the actions panel the page includes.

Each action: scoped lookup (another branch's complaint is 404) -> its form -> one service call
in one unit of work -> letters sent after the commit -> flash and back to the complaint page.
A refused move shows the form again with the reason.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask import abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from qms.auth.models import User
from qms.complaints import letters, workflow
from qms.complaints.models import Complaint, ComplaintApproval
from qms.complaints.views import action_forms as f
from qms.complaints.views import bp
from qms.core.db import now_utc
from qms.core.forms import attach_errors
from qms.core.permissions import can_see_branch, get_scoped_or_404, roles_required
from qms.core.tx import unit_of_work
from qms.extensions import db

HANDLERS = ("complaints",)
APPROVERS = ("complaints", "admin")


def _me():
    return current_user._get_current_object()


def _text(value) -> str | None:
    return (value or "").strip() or None


def _user(user_id) -> User | None:
    return db.session.get(User, user_id) if user_id else None


def _merge(complaint, form, me, now):
    into = db.session.scalar(sa.select(Complaint).where(
        Complaint.reference == form.into_reference.data.strip()))
    if into is None or not can_see_branch(me, into.branch_id, set(HANDLERS)):
        raise workflow.WorkflowError(_l("No complaint has this reference."),
                                     {"into_reference": _l("No complaint has this reference.")})
    return workflow.merge(complaint, into, me, reason=form.reason.data, now=now)


@dataclass(frozen=True)
class Action:
    form: type
    call: Callable  # (complaint, form, actor, now) -> event
    done: object    # flashed on success


def _reason(service):
    return lambda c, form, me, now: service(c, me, reason=form.reason.data, now=now)


def _plain(service):
    return lambda c, form, me, now: service(c, me, now=now)


def _decision(service):
    return lambda c, form, me, now: service(
        c, me, outcome=form.outcome.data, redress_amount=form.redress_amount.data,
        findings=form.findings.data, reasons=form.reasons.data, basis=form.basis.data,
        remedies=form.remedies.data, now=now)


ACTIONS: dict[str, Action] = {
    "acknowledge": Action(f.ConfirmForm, _plain(workflow.acknowledge),
                          _l("Acknowledged; the acknowledgement was sent to the customer.")),
    "take_ownership": Action(f.ConfirmForm, _plain(workflow.take_ownership),
                             _l("You now handle this complaint.")),
    "assign": Action(f.AssignForm, lambda c, form, me, now: workflow.assign(
        c, me, _user(form.assignee.data), reason=form.reason.data, now=now),
        _l("Handler assigned.")),
    "declare_no_conflict": Action(f.ConflictForm, lambda c, form, me, now:
                                  workflow.declare_no_conflict(
                                      c, me, statement=form.statement.data, now=now),
                                  _l("Your declaration is recorded.")),
    "triage": Action(f.TriageForm, lambda c, form, me, now: workflow.triage(
        c, me, channel_code=form.channel_code.data, business_code=form.business_code.data,
        cause_code=form.cause_code.data, severity=form.severity.data,
        priority=form.priority.data, product=form.product.data or "", now=now),
        _l("Classification saved.")),
    "start_investigation": Action(f.ConfirmForm, _plain(workflow.start_investigation),
                                  _l("Investigation started.")),
    "pause_external": Action(f.ReasonForm, _reason(workflow.pause_external),
                             _l("The clock is paused; the customer was told.")),
    "resume": Action(f.NoteForm, lambda c, form, me, now: workflow.resume(
        c, me, note=form.note.data, now=now),
        _l("The clock runs again; the deadline was recomputed.")),
    "request_info": Action(f.ReasonForm, _reason(workflow.request_info),
                           _l("The request was sent to the customer.")),
    "info_received": Action(f.NoteForm, lambda c, form, me, now: workflow.info_received(
        c, me, note=form.note.data, now=now), _l("Back in investigation.")),
    "request_extension": Action(f.ReasonForm, _reason(workflow.request_extension),
                                _l("The extension is waiting for approval.")),
    "restart_clock": Action(f.RestartForm, lambda c, form, me, now: workflow.restart_clock(
        c, me, new_facts=form.new_facts.data, received_at=f.to_utc(form.received_at.data),
        now=now), _l("The clock restarted from the new material.")),
    "send_holding_response": Action(f.ReasonForm, _reason(workflow.send_holding_response),
                                    _l("The holding response was sent.")),
    "draft_decision": Action(f.DecisionForm, _decision(workflow.draft_decision),
                             _l("Decision drafted.")),
    "return_to_investigation": Action(f.ReasonForm,
                                      _reason(workflow.return_to_investigation),
                                      _l("Back in investigation.")),
    "submit_for_approval": Action(f.ConfirmForm, _plain(workflow.submit_for_approval),
                                  _l("The decision is waiting for approval.")),
    "issue_decision": Action(f.ConfirmForm, _plain(workflow.issue_decision),
                             _l("The decision letter was sent.")),
    "summary_resolve": Action(f.SummaryForm, lambda c, form, me, now:
                              workflow.summary_resolve(c, me, resolution=form.resolution.data,
                                                       now=now),
                              _l("Resolved; the summary resolution was sent.")),
    "request_not_accepted": Action(f.ReasonForm, _reason(workflow.request_not_accepted),
                                   _l("The proposal is waiting for approval.")),
    "request_review": Action(f.ReviewRequestForm, lambda c, form, me, now:
                             workflow.request_review(c, me, reason=form.reason.data,
                                                     applied_at=f.to_utc(form.applied_at.data),
                                                     now=now),
                             _l("The review request is recorded.")),
    "start_review": Action(f.ReviewStartForm, lambda c, form, me, now: workflow.start_review(
        c, me, reviewer=_user(form.reviewer.data), now=now), _l("The review started.")),
    "review_decision": Action(f.DecisionForm, _decision(workflow.review_decision),
                              _l("The review decision was sent.")),
    "refer_external": Action(f.ReferralForm, lambda c, form, me, now: workflow.refer_external(
        c, me, body=form.body.data, reference=form.reference.data, now=now),
        _l("The referral is recorded.")),
    "start_redress": Action(f.RedressStartForm, lambda c, form, me, now:
                            workflow.start_redress(c, me, amount=form.amount.data, now=now),
                            _l("Redress payment started.")),
    "record_redress_paid": Action(f.RedressPaidForm, lambda c, form, me, now:
                                  workflow.record_redress_paid(
                                      c, me, paid_at=f.to_utc(form.paid_at.data),
                                      root_cause=form.root_cause.data,
                                      remediation=form.remediation.data, now=now),
                                  _l("Redress paid; the complaint is closed.")),
    "close": Action(f.CloseForm, lambda c, form, me, now: workflow.close(
        c, me, root_cause=form.root_cause.data, remediation=form.remediation.data, now=now),
        _l("The complaint is closed.")),
    "withdraw": Action(f.ReasonForm, _reason(workflow.withdraw), _l("Withdrawn.")),
    "merge": Action(f.MergeForm, _merge, _l("Merged into the original complaint.")),
    "reopen": Action(f.ReasonForm, _reason(workflow.reopen), _l("Reopened.")),
}


def action_form(name: str, complaint: Complaint, user, formdata=None):
    spec = ACTIONS[name]
    kwargs = {} if formdata is None else {"formdata": formdata}
    return spec.form(prefix=name, complaint=complaint, user=user, **kwargs)


# -- routes ----------------------------------------------------------------------------------

def _back(complaint: Complaint):
    return redirect(url_for("complaints.detail", complaint_id=complaint.id))


def _refused(complaint: Complaint, name: str, form, status: int):
    return render_template("complaints/actions/refused.html", complaint=complaint,
                           entry=_entry(complaint, name, form), status_label=workflow.core.label,
                           ), status


def _deliver() -> None:
    try:
        letters.deliver_committed()
    except Exception:  # noqa: BLE001 - the letters are kept; the job sends them later
        current_app.logger.exception("complaint letters not sent now")


@bp.post("/<int:complaint_id>/actions/<name>")
@roles_required(*HANDLERS)
def act(complaint_id: int, name: str):
    if name not in ACTIONS:
        abort(404)
    me = _me()
    complaint = get_scoped_or_404(Complaint, complaint_id, me)
    form = action_form(name, complaint, me)
    if not form.validate_on_submit():
        return _refused(complaint, name, form, 400)
    try:
        with unit_of_work():
            ACTIONS[name].call(complaint, form, me, now_utc())
    except workflow.IllegalMove as exc:
        form.form_errors.append(str(exc.message))
        return _refused(complaint, name, form, 409)
    except workflow.WorkflowError as exc:
        attach_errors(exc.fields, form)
        return _refused(complaint, name, form, 400)
    _deliver()
    flash(str(ACTIONS[name].done), "success")
    return _back(complaint)


@bp.post("/<int:complaint_id>/approvals/<int:approval_id>")
@roles_required(*APPROVERS)
def approval_decide(complaint_id: int, approval_id: int):
    me = _me()
    complaint = get_scoped_or_404(Complaint, complaint_id, me)
    approval = db.session.get(ComplaintApproval, approval_id)
    if approval is None or approval.complaint_id != complaint.id:
        abort(404)
    form = f.ApprovalForm(prefix="decide_approval", complaint=complaint, user=me)
    if not form.validate_on_submit():
        return _refused(complaint, "decide_approval", form, 400)
    try:
        with unit_of_work():
            workflow.decide_approval(approval, me, approve=form.decision.data == "approve",
                                     note=form.note.data, now=now_utc())
    except workflow.IllegalMove as exc:
        form.form_errors.append(str(exc.message))
        return _refused(complaint, "decide_approval", form, 409)
    except workflow.WorkflowError as exc:
        attach_errors(exc.fields, form)
        return _refused(complaint, "decide_approval", form, 400)
    _deliver()
    flash(_("Approved.") if form.decision.data == "approve" else _("Rejected; the maker was "
                                                                   "told why."), "success")
    return _back(complaint)


# -- the panel -------------------------------------------------------------------------------

APPROVAL_KINDS = {"decision": _l("Decision"), "extension": _l("Extension of the time limit"),
                  "not_accepted": _l("Not accepting the complaint")}


def _approval_details(approval: ComplaintApproval) -> dict:
    requester = _user(approval.requested_by_id)
    return {"id": approval.id, "kind": APPROVAL_KINDS.get(approval.kind, approval.kind),
            "requested_by": requester.name if requester else "",
            "requested_at": approval.requested_at, "payload": dict(approval.payload or {}),
            "required_role": approval.required_role}


def _entry(complaint: Complaint, name: str, form=None, user=None) -> dict:
    """One action of the panel: its label, form and the URL it posts to (plain values)."""
    user = user or _me()
    if name == "decide_approval":
        approval = workflow.pending_approval(complaint)
        form = form or f.ApprovalForm(prefix=name, complaint=complaint, user=user,
                                      formdata=None)
        return {"name": name, "label": workflow.action_label(name), "form": form,
                "url": url_for("complaints.approval_decide", complaint_id=complaint.id,
                               approval_id=approval.id) if approval else None,
                "approval": _approval_details(approval) if approval else None}
    form = form or action_form(name, complaint, user, formdata=None)
    return {"name": name, "label": workflow.action_label(name), "form": form,
            "url": url_for("complaints.act", complaint_id=complaint.id, name=name),
            "approval": None}


def actions_panel(complaint: Complaint, user, now: datetime | None = None) -> list[dict]:
    """The entries of the actions panel: what `user` may do now, each with its form."""
    return [_entry(complaint, name, user=user)
            for name in workflow.available_actions(complaint, user, now)]


@bp.app_context_processor
def _panel_helper():
    def complaint_actions_panel(complaint):
        if complaint is None or not current_user.is_authenticated:
            return []
        return actions_panel(complaint, _me())

    return {"complaint_actions_panel": complaint_actions_panel}

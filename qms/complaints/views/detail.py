"""The complaint page: summary, deadlines, what is due next, the timeline, messages,
attachments (download and add) and the workflow's actions panel."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from qms.auth.models import User
from qms.complaints import casefile, codes, intake
from qms.complaints.intake import PRIORITY_LABELS, SEVERITY_LABELS, SOURCE_LABELS
from qms.complaints.models import Complaint
from qms.complaints.views import bp
from qms.core import uploads
from qms.core.permissions import get_scoped_or_404, roles_required
from qms.core.tx import unit_of_work
from qms.extensions import db

READERS = ("admin", "complaints", "qa", "auditor", "branch_head")
HANDLERS = ("admin", "complaints")


def _me():
    return current_user._get_current_object()


def _locale() -> str:
    loc = get_locale()
    return str(loc) if loc else "zh_Hans"


def _actions(complaint: Complaint) -> list[str]:
    from qms.complaints import workflow

    return list(workflow.available_actions(complaint, _me()))


@bp.get("/<int:complaint_id>")
@roles_required(*READERS)
def detail(complaint_id: int):
    complaint = get_scoped_or_404(Complaint, complaint_id, _me())
    locale = _locale()
    ids = [i for i in (complaint.owner_id, complaint.assignee_id, complaint.decision_maker_id,
                       complaint.approved_by_id, complaint.closed_by_id) if i]
    people = {uid: name for uid, name in db.session.execute(
        sa.select(User.id, User.name).where(User.id.in_(ids)))}
    can_handle = _me().has_role(*HANDLERS)
    token = intake.status_token_for(complaint) if can_handle else None
    return render_template(
        "complaints/detail.html", complaint=complaint, clock=casefile.clock(complaint),
        timeline=casefile.timeline(complaint, locale), messages=casefile.messages(complaint),
        attachments=casefile.attachments(complaint), actions=_actions(complaint),
        duplicates=intake.duplicates_of(complaint), labels=codes.all_labels(locale),
        people=people, status_label=casefile.status_label, severities=SEVERITY_LABELS,
        priorities=PRIORITY_LABELS, sources=SOURCE_LABELS,
        status_url=intake.status_url(token) if token else None, can_handle=can_handle,
        message_labels=casefile.MESSAGE_LABELS, outcomes=casefile.OUTCOME_LABELS)


@bp.get("/<int:complaint_id>/attachments/<int:attachment_id>")
@roles_required(*READERS)
def attachment(complaint_id: int, attachment_id: int):
    complaint = get_scoped_or_404(Complaint, complaint_id, _me())
    att = casefile.get_attachment(complaint, attachment_id)
    if att is None:
        abort(404)
    return uploads.open_attachment(att)


@bp.post("/<int:complaint_id>/attachments")
@roles_required(*HANDLERS)
def attachment_add(complaint_id: int):
    complaint = get_scoped_or_404(Complaint, complaint_id, _me())
    files = [f for f in request.files.getlist("attachment") if f and f.filename]
    if not files:
        flash(_("Choose a file to attach."), "error")
        return redirect(url_for("complaints.detail", complaint_id=complaint.id), 303)
    try:
        with unit_of_work():
            for f in files:
                intake.add_attachment(complaint, f, actor=_me())
    except uploads.UploadError as exc:
        flash(str(exc.message), "error")
        return redirect(url_for("complaints.detail", complaint_id=complaint_id), 303)
    flash(_("Attachment added."), "success")
    return redirect(url_for("complaints.detail", complaint_id=complaint_id), 303)

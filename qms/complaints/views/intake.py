"""Staff intake: the complaint form (with the duplicate warning to confirm past) and the
one-click complaint from a survey follow-up."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.exc import IntegrityError

from qms.complaints import codes, intake
from qms.complaints.intake_forms import StaffComplaintForm
from qms.complaints.models import Complaint
from qms.complaints.views import bp
from qms.core import uploads
from qms.core.forms import attach_errors
from qms.core.permissions import branch_scope, roles_required, route_roles
from qms.core.tx import unit_of_work
from qms.extensions import db
from qms.org.models import Branch

INTAKE = ("admin", "complaints")
# Whoever works survey follow-ups may turn one into a complaint (of a branch in their scope).
FROM_FOLLOW_UP = ("admin", "complaints", "qa", "branch_head")


def _me():
    return current_user._get_current_object()


def _locale() -> str:
    loc = get_locale()
    return str(loc) if loc else "zh_Hans"


def branch_choices(principal, roles) -> list[tuple[str, str]]:
    scope = branch_scope(principal, roles)
    stmt = sa.select(Branch.code, Branch.name).where(Branch.active).order_by(Branch.code)
    if scope is not None:
        stmt = stmt.where(Branch.id.in_(sorted(scope) or [-1]))
    return [(code, f"{code} {name}") for code, name in db.session.execute(stmt)]


def _fill_choices(form: StaffComplaintForm) -> None:
    locale = _locale()
    form.branch_code.choices = [("", _("Choose a branch"))] + branch_choices(_me(),
                                                                             intake.INTAKE_ROLES)
    form.channel_code.choices = [("", _("Choose"))] + codes.choices("A", locale)
    form.business_code.choices = [("", _("Choose"))] + codes.choices("B", locale)
    form.cause_code.choices = [("", _("Not yet known"))] + codes.choices("C", locale)


FIELDS = ("customer_ref", "complainant_name", "complainant_email", "complainant_phone",
          "complainant_locale", "segment", "representative", "branch_code", "agent_code",
          "product", "channel_code", "business_code", "cause_code", "severity", "description",
          "requested_outcome", "received_at", "source", "regulator_ref")


@bp.route("/new", methods=["GET", "POST"])
@roles_required(*INTAKE)
def new():
    form = StaffComplaintForm()
    _fill_choices(form)
    duplicates = []
    if request.method == "GET" and request.args.get("customer"):
        form.customer_ref.data = request.args["customer"]
    if form.validate_on_submit():
        data = {name: form[name].data for name in FIELDS}
        data["attachments"] = [f for f in (form.attachments.data or []) if f and f.filename]
        try:
            with unit_of_work():
                complaint, _token = intake.create_complaint(
                    data, actor=_me(), via="staff",
                    confirm_duplicate=bool(form.confirm_duplicate.data))
                reference, complaint_id = complaint.reference, complaint.id
        except intake.IntakeError as exc:
            attach_errors(exc.fields, form)
        except intake.PossibleDuplicate as exc:
            duplicates = [(c.id, c.reference, c.status, c.received_at) for c in exc.duplicates]
        else:
            flash(_("Complaint %(ref)s registered.", ref=reference), "success")
            return redirect(url_for("complaints.detail", complaint_id=complaint_id), 303)
    status = 400 if request.method == "POST" and not duplicates else 200
    return render_template("complaints/new.html", form=form, duplicates=duplicates,
                           max_files=int(intake.setting("COMPLAINT_MAX_ATTACHMENTS")),
                           max_mb=uploads.megabytes(uploads.max_bytes())), status


@bp.post("/from-follow-up/<int:follow_up_id>")
@roles_required(*FROM_FOLLOW_UP)
def from_follow_up(follow_up_id: int):
    from qms.surveys import followups

    item = followups.get_follow_up(follow_up_id, _me(), route_roles())
    if item is None:
        abort(404)
    try:
        with unit_of_work():
            complaint, _token = intake.from_follow_up(item, _me())
            target = complaint.id
    except intake.AlreadyRaised as exc:
        flash(_("This follow-up is complaint %(ref)s already.", ref=exc.complaint.reference),
              "info")
        target = exc.complaint.id
    except IntegrityError:  # a second click raced the first past the check
        existing = db.session.scalar(sa.select(Complaint).where(
            Complaint.follow_up_id == follow_up_id))
        if existing is None:
            raise
        target = existing.id
    except intake.IntakeError as exc:
        flash(" ".join(str(m) for m in exc.fields.values()), "error")
        return redirect(url_for("surveys.follow_up", follow_up_id=follow_up_id), 303)
    else:
        flash(_("Complaint %(ref)s registered from the follow-up.", ref=complaint.reference),
              "success")
    return redirect(url_for("complaints.detail", complaint_id=target), 303)

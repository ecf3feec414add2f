"""Audit programme pages (list, new, edit, detail, run now) and the audit calendar and list.
Admin and QA set programmes up; auditors read them. The calendar and the list are scoped: a
branch head sees their own branch, an auditor every audit (and always their own)."""

from __future__ import annotations

from datetime import timedelta

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from qms.audits import audit_list, periods
from qms.audits import programmes as svc
from qms.audits.forms_setup import (
    ActiveForm,
    ProgrammeForm,
    recurrence_labels,
    scope_labels,
)
from qms.audits.programmes import ProgrammeError, ProgrammeSpec
from qms.audits.scheduling import create_due_audits
from qms.audits.templates import get_template, template_rows
from qms.audits.views import bp
from qms.core.db import now_utc
from qms.core.permissions import current_principal, roles_required, route_roles
from qms.core.tx import unit_of_work

EDITORS = ("admin", "qa")
READERS = ("admin", "qa", "auditor")
VIEWERS = ("admin", "qa", "auditor", "branch_head")


def _programme(programme_id: int):
    programme = svc.get_programme(programme_id)
    if programme is None:
        abort(404)
    return programme


def _form(obj_spec: ProgrammeSpec | None = None) -> ProgrammeForm:
    templates = template_rows(published_only=True)
    if obj_spec is not None and obj_spec.template_id not in {t.id for t in templates}:
        current = get_template(obj_spec.template_id)  # archived since: keep it selectable
        if current is not None:
            templates.append(current)
    kwargs = dict(templates=templates, regions=svc.regions(),
                  branches=svc.active_branches(), auditors=svc.auditor_users())
    if obj_spec is None or request.method == "POST":
        return ProgrammeForm(**kwargs)
    tz = periods.bank_timezone()
    return ProgrammeForm(data={
        "name": obj_spec.name, "template_id": obj_spec.template_id,
        "recurrence": obj_spec.recurrence, "cron": obj_spec.cron, "scope": obj_spec.scope,
        "region": obj_spec.region or "", "branch_ids": obj_spec.branch_ids,
        "pool": "all" if obj_spec.auditor_ids is None else "list",
        "auditor_ids": obj_spec.auditor_ids or [], "days_allowed": obj_spec.days_allowed,
        "starts_on": obj_spec.starts_on.astimezone(tz).date(), "active": obj_spec.active,
    }, **kwargs)


def _spec(form: ProgrammeForm) -> ProgrammeSpec:
    return ProgrammeSpec(
        name=form.name.data or "", template_id=form.template_id.data,
        recurrence=form.recurrence.data, cron=form.cron.data, scope=form.scope.data,
        region=form.region.data or None, branch_ids=list(form.branch_ids.data or []),
        auditor_ids=list(form.auditor_ids.data or []) if form.pool.data == "list" else None,
        days_allowed=form.days_allowed.data, starts_on=form.starts_on.data,
        active=bool(form.active.data))


def _refused(form: ProgrammeForm, exc: ProgrammeError) -> None:
    for name, message in exc.fields.items():
        f = getattr(form, name, None)
        if f is not None and name:
            f.errors = list(f.errors or []) + [message]
        else:
            form.form_errors.append(message)


def _words() -> dict:
    return {"recurrence": recurrence_labels(), "scope": scope_labels()}


@bp.get("/programmes")
@roles_required(*READERS)
def programmes():
    now = now_utc()
    rows = [(p, periods.next_period_start(p, now) if p.active else None)
            for p in svc.list_programmes()]
    return render_template("audits/programme_list.html", rows=rows, counts=svc.audit_counts(),
                           edits=current_principal().has_role(*EDITORS), words=_words(),
                           run_form=ActiveForm())


@bp.route("/programmes/new", methods=["GET", "POST"])
@roles_required(*EDITORS)
def programme_new():
    form = _form()
    if request.method == "GET":
        form.starts_on.data = now_utc().astimezone(periods.bank_timezone()).date()
    if form.validate_on_submit():
        try:
            with unit_of_work():
                programme = svc.create_programme(_spec(form))
        except ProgrammeError as exc:
            _refused(form, exc)
        else:
            flash(_("Programme created. The scheduler creates its audits when each period "
                    "starts."), "success")
            return redirect(url_for("audits.programme_detail", programme_id=programme.id))
    return render_template("audits/programme_form.html", form=form, programme=None)


@bp.route("/programmes/<int:programme_id>/edit", methods=["GET", "POST"])
@roles_required(*EDITORS)
def programme_edit(programme_id: int):
    programme = _programme(programme_id)
    form = _form(svc.spec_of(programme))
    if form.validate_on_submit():
        try:
            with unit_of_work():
                svc.update_programme(programme, _spec(form))
        except ProgrammeError as exc:
            _refused(form, exc)
        else:
            flash(_("Programme saved. Audits already created keep their auditor and due "
                    "date."), "success")
            return redirect(url_for("audits.programme_detail", programme_id=programme.id))
    return render_template("audits/programme_form.html", form=form, programme=programme)


@bp.get("/programmes/<int:programme_id>")
@roles_required(*READERS)
def programme_detail(programme_id: int):
    programme = _programme(programme_id)
    now = now_utc()
    names = {u.id: u.name for u in svc.auditor_users()}
    return render_template(
        "audits/programme_detail.html", programme=programme, words=_words(),
        next_start=periods.next_period_start(programme, now) if programme.active else None,
        branches=svc.scoped_branches(programme), pool=[names.get(i, i) for i in
                                                       svc.pool_ids(programme)],
        recent=svc.latest_periods(programme), counts=svc.audit_counts().get(programme.id, {}),
        edits=current_principal().has_role(*EDITORS), form=ActiveForm())


@bp.post("/programmes/<int:programme_id>/active")
@roles_required(*EDITORS)
def programme_active(programme_id: int):
    programme = _programme(programme_id)
    if ActiveForm().validate_on_submit():
        with unit_of_work():
            svc.set_active(programme, request.form.get("active") == "1")
        flash(_("Programme resumed.") if programme.active else _("Programme paused."),
              "success")
    return redirect(url_for("audits.programme_detail", programme_id=programme.id))


@bp.post("/programmes/run")
@roles_required(*EDITORS)
def programmes_run():
    """Create the due audits now (what the scheduler does on its next tick)."""
    if ActiveForm().validate_on_submit():
        with unit_of_work():
            created = create_due_audits(now_utc())
        flash(_("%(n)d audits created.", n=created), "success")
    return redirect(url_for("audits.programmes"))


# -- the calendar and the list -------------------------------------------------------------

def _choices_and_filters():
    filters = audit_list.AuditFilters.from_args(request.args)
    return filters, audit_list.filter_choices(current_principal(), route_roles())


@bp.get("/")
@roles_required(*VIEWERS)
def audit_list_page():
    filters, choices = _choices_and_filters()
    me = current_principal()
    page = audit_list.audit_page(me, route_roles(), filters, now=now_utc(),
                                 page=request.args.get("page", 1, type=int))
    return render_template("audits/list.html", page=page, filters=filters, choices=choices,
                           me=me)


@bp.get("/calendar")
@roles_required(*VIEWERS)
def calendar():
    filters, choices = _choices_and_filters()
    now = now_utc()
    today = now.astimezone(periods.bank_timezone()).date()
    month = audit_list.parse_month(request.args.get("month"), today)
    by = "planned" if request.args.get("by") == "planned" else "due"
    weeks, count = audit_list.month_grid(current_principal(), route_roles(), filters, month,
                                         now=now, by=by)
    prev_month = (month - timedelta(days=1)).replace(day=1)
    next_month = (month.replace(day=28) + timedelta(days=4)).replace(day=1)
    return render_template("audits/calendar.html", weeks=weeks, count=count, month=month,
                           prev_month=prev_month, next_month=next_month, today=today, by=by,
                           filters=filters, choices=choices)


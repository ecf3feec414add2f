"""Interaction pages: list with search and filters, detail, the new-interaction form, CSV
import. QA and administrators record and import; branch heads read their branch's."""

from __future__ import annotations

from datetime import date

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.exc import IntegrityError

from qms.core import audit
from qms.core.forms import attach_errors
from qms.core.i18n import select_timezone
from qms.core.permissions import roles_required, route_roles
from qms.core.tx import unit_of_work
from qms.org.forms import ImportForm
from qms.org.importer import ImportRejected
from qms.qa import interactions as svc
from qms.qa.interaction_fields import COLUMNS
from qms.qa.interaction_forms import InteractionForm, channel_labels
from qms.qa.models import CHANNELS
from qms.qa.views import bp

READERS = ("admin", "qa", "branch_head")
WRITERS = ("admin", "qa")
ERRORS_SHOWN = 2000
TEMPLATE_CSV = (
    "channel,external_ref,agent_code,occurred_at,duration_seconds,customer_ref,summary,media_url\r\n"
    "call,CC-20260301-0001,A001,2026-03-01T09:30:00+08:00,312,,"
    "信用卡额度咨询,https://recordings.example.com/CC-20260301-0001\r\n"
)


def _me():
    return current_user._get_current_object()


def _date(name: str) -> date | None:
    try:
        return date.fromisoformat(request.args.get(name, ""))
    except ValueError:
        return None


@bp.get("/interactions")
@roles_required(*READERS)
def interactions():
    args = request.args
    channel = args.get("channel") if args.get("channel") in CHANNELS else None
    evaluated = {"yes": True, "no": False}.get(args.get("evaluated", ""))
    filters = dict(q=args.get("q", "").strip(), channel=channel,
                   branch_id=args.get("branch", type=int), agent_code=args.get("agent", "").strip()
                   or None, date_from=_date("from"), date_to=_date("to"), evaluated=evaluated)
    page = svc.search_interactions(_me(), **filters, page=args.get("page", 1, type=int) or 1,
                                   roles=route_roles(), tz=select_timezone())
    return render_template(
        "qa/interactions/index.html", page=page, filters=filters,
        summaries=svc.evaluation_summaries(i.id for i in page.items),
        branches=svc.branches_in_scope(_me(), route_roles()), channels=channel_labels())


@bp.get("/interactions/<int:interaction_id>")
@roles_required(*READERS)
def interaction_detail(interaction_id: int):
    interaction = svc.get_interaction(_me(), interaction_id, route_roles())
    if interaction is None:
        abort(404)
    return render_template("qa/interactions/detail.html", interaction=interaction,
                           customer=svc.customer_of(interaction), channels=channel_labels(),
                           evaluations=svc.interaction_evaluations(interaction))


@bp.route("/interactions/new", methods=["GET", "POST"])
@roles_required(*WRITERS)
def interaction_new():
    form = InteractionForm()
    status = 200
    if form.validate_on_submit():
        try:
            with unit_of_work():
                saved = svc.create_interaction(form.to_data(), principal=_me(),
                                               roles=route_roles(), source="manual")
        except svc.InteractionError as exc:
            attach_errors(exc.fields, form)
            status = 400
        except IntegrityError:
            form.form_errors.append(_("This interaction was recorded at the same moment by "
                                      "someone else."))
            status = 409
        else:
            flash(_("Interaction %(ref)s recorded.", ref=saved.interaction.external_ref),
                  "success")
            return redirect(url_for("qa.interaction_detail",
                                    interaction_id=saved.interaction.id))
    elif request.method == "POST":
        status = 400
    return render_template("qa/interactions/new.html", form=form), status


@bp.route("/interactions/import", methods=["GET", "POST"])
@roles_required(*WRITERS)
def interaction_import():
    form = ImportForm()
    result = None
    status = 200
    if form.validate_on_submit():
        upload = form.file.data
        try:
            with unit_of_work():
                result = svc.import_interactions(upload.stream, principal=_me(),
                                                 roles=route_roles(),
                                                 encoding=form.encoding.data)
                audit.record("import", actor=_me(), ip=request.remote_addr,
                             subject="interactions",
                             details={"rows": result.rows, "file": upload.filename})
        except ImportRejected as exc:
            result = exc.result
            status = 400
    elif request.method == "POST":
        status = 400
    return render_template("qa/interactions/import.html", form=form, result=result,
                           columns=COLUMNS, shown=ERRORS_SHOWN), status


@bp.get("/interactions/import/template.csv")
@roles_required(*WRITERS)
def interaction_import_template():
    return Response("\ufeff" + TEMPLATE_CSV, mimetype="text/csv", headers={
        "Content-Disposition": 'attachment; filename="interactions-template.csv"'})

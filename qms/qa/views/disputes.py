"""Dispute pages: the agent raises one from their evaluation; QA reviewers list and decide them."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from qms.core.forms import attach_errors
from qms.core.permissions import roles_required, route_roles
from qms.core.tx import unit_of_work
from qms.extensions import db
from qms.qa import disputes as dsp
from qms.qa import evaluations as svc
from qms.qa import notices
from qms.qa.evaluation_forms import DisputeForm, answers_from, decision_form, initial_data
from qms.qa.models import Dispute
from qms.qa.views import bp
from qms.qa.views.evaluations import (
    interaction_facts,
    render_detail,
    score_summary,
    sheet,
    visible_or_404,
)

REVIEWERS = ("admin", "qa")


def _me():
    return current_user._get_current_object()


@bp.post("/evaluations/<int:evaluation_id>/dispute")
@roles_required("agent")
def dispute_raise(evaluation_id: int):
    ev = visible_or_404(evaluation_id)
    form = DisputeForm()
    form.criteria.choices = [(k, k) for k in dsp.disputable_criteria(ev)]
    if form.validate_on_submit():
        try:
            with unit_of_work():
                dsp.raise_dispute(ev, _me(), form.criteria.data, form.comment.data)
        except dsp.DisputeError as exc:
            attach_errors(exc.fields, form)
        else:
            flash(_("Your dispute has been sent to a reviewer."), "success")
            return redirect(url_for("qa.evaluation", evaluation_id=ev.id), 303)
    if dsp.refusal(ev, _me()) is not None:
        flash(str(dsp.refusal(ev, _me())), "error")
        return redirect(url_for("qa.evaluation", evaluation_id=ev.id), 303)
    return render_detail(ev, dispute_form=form, status=400)


@bp.get("/disputes")
@roles_required(*REVIEWERS)
def disputes():
    status = request.args.get("status") or "open"
    items = dsp.search_disputes(_me(), status=status, roles=route_roles())
    return render_template("qa/evaluations/disputes.html", items=items, status=status,
                           outcome_label=dsp.outcome_label, channel_label=svc.channel_label,
                           reviewable={d.id for d in items if dsp.can_review(_me(), d)})


@bp.route("/disputes/<int:dispute_id>", methods=["GET", "POST"])
@roles_required(*REVIEWERS)
def dispute_review(dispute_id: int):
    dispute = db.session.get(Dispute, dispute_id)
    if dispute is None:
        abort(404)
    ev = visible_or_404(dispute.evaluation_id)
    me = _me()
    if dispute.status != "open":
        return redirect(url_for("qa.evaluation", evaluation_id=ev.id))
    if not dsp.can_review(me, dispute):
        abort(403)
    definition = ev.rubric_version.definition
    form = decision_form(definition, dispute.criteria, data=initial_data(ev.answers))
    status = 200
    answers = None
    if form.validate_on_submit():
        answers = answers_from(form, definition, only=set(dispute.criteria))
        try:
            with unit_of_work():
                dsp.decide_dispute(dispute, me, form.outcome.data or "", answers,
                                   form.note.data)
        except dsp.DisputeError as exc:
            attach_errors(exc.fields, form)
            status = 400
        else:
            notices.send_notices()
            flash(_("The dispute is decided; the evaluation is now locked."), "success")
            return redirect(url_for("qa.disputes"), 303)
    elif request.method == "POST":
        status = 400
    merged = dict(ev.answers or {})
    if answers:
        merged.update(answers)
    try:
        result = svc.preview_score(ev.rubric_version, merged)
    except svc.EvaluationError:
        result = svc.stored_score(ev)
    return render_template(
        "qa/evaluations/dispute_review.html", dispute=dispute, evaluation=ev, form=form,
        facts=interaction_facts(ev), sheet=sheet(ev, answers=merged, result=result),
        summary=score_summary(result), before=score_summary(svc.stored_score(ev)),
        disputed=set(dispute.criteria)), status

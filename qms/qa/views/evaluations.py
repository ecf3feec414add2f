"""Evaluation pages: the queue (QA staff), my evaluations (agents), the branch's evaluations
(branch heads), the scoring form with its live score, acknowledging, replacing and handing over
a queue item. Disputes and sampling rules have their own modules, imported at the end."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import format_decimal, get_locale
from flask_babel import gettext as _
from flask_login import current_user

from qms.auth.models import User
from qms.core.forms import attach_errors
from qms.core.permissions import roles_required, route_roles
from qms.core.tx import unit_of_work
from qms.extensions import db
from qms.qa import disputes as dsp
from qms.qa import evaluations as svc
from qms.qa import notices, sampling
from qms.qa import rubric_format as fmt
from qms.qa.evaluation_forms import (
    AcknowledgeForm,
    DisputeForm,
    ReassignForm,
    ReplaceForm,
    answers_from,
    evaluation_form,
    initial_data,
)
from qms.qa.models import Evaluation
from qms.qa.views import bp

GRADERS = ("admin", "qa")
READERS = ("admin", "qa", "branch_head", "agent")


def _me():
    return current_user._get_current_object()


def _locale() -> str:
    loc = get_locale()
    return str(loc) if loc else "zh_Hans"


def visible_or_404(evaluation_id: int, roles=None) -> Evaluation:
    evaluation = svc.find_visible(evaluation_id, _me(), roles or route_roles())
    if evaluation is None:
        abort(404)
    return evaluation


# -- what the templates get -------------------------------------------------------------------

def _percent(value) -> str:
    return "" if value is None else format_decimal(value, format="#,##0.0")


def sheet(evaluation: Evaluation, answers: dict | None = None, result=None) -> list[dict]:
    """The rubric as plain values in the reader's language: sections, criteria, the scores a
    grader can give with their guidance, and the answers and results given."""
    locale = _locale()
    answers = answers if answers is not None else (evaluation.answers or {})
    failed = {s.criterion_key: s.failed for s in evaluation.scores}
    out = []
    for section in fmt.sections(evaluation.rubric_version.definition):
        criteria = []
        for c in fmt.criteria(section):
            guidance = c.get("guidance") or {}
            options = []
            for points in fmt.scores_of(c):
                key = fmt.score_key(points)
                label = key
                if c.get("kind") == "yesno":
                    label = _("Yes") if points else _("No")
                options.append({"value": key, "label": label,
                                "guidance": fmt.text(guidance.get(key), locale)})
            answer = answers.get(c["key"]) or {}
            score = answer.get("score")
            criteria.append({
                "key": c["key"], "label": fmt.text(c.get("label"), locale),
                "kind": c.get("kind", "scale"), "max": fmt.score_key(c["max_points"]),
                "na_allowed": bool(c.get("na_allowed")), "critical": c.get("critical"),
                "options": options,
                "score": None if score is None else fmt.score_key(score),
                "score_label": _score_label(c, score),
                "comment": answer.get("comment") or "",
                "failed": failed.get(c["key"], False),
            })
        res = result.per_section.get(section["key"]) if result is not None else None
        out.append({"key": section["key"], "title": fmt.text(section.get("title"), locale),
                     "weight": section.get("weight"), "bonus": bool(section.get("bonus")),
                     "criteria": criteria,
                     "percent": _percent(res.percent) if res is not None else "",
                     "failed_by_critical": bool(res and res.failed_by_critical)})
    return out


def _score_label(criterion: dict, score) -> str:
    if score is None:
        return ""
    if score == fmt.NA:
        return _("N/A")
    if criterion.get("kind") == "yesno":
        return _("Yes") if score else _("No")
    return f"{fmt.score_key(score)} / {fmt.score_key(criterion['max_points'])}"


def score_summary(result) -> dict:
    """The score line shown beside the form (and returned by the live preview)."""
    if result is None or result.total is None:
        message = _("No score yet.")
        total = None
    else:
        total = round(result.total, 2)
        message = _("Score: %(total)s", total=_percent(result.total))
    parts = [message]
    if result is not None and result.auto_failed:
        parts.append(_("Auto-fail: a critical criterion failed."))
    if result is not None and result.missing:
        parts.append(_("%(n)d criteria not scored yet.", n=len(result.missing)))
    return {"total": total, "text": " ".join(parts),
            "auto_failed": bool(result and result.auto_failed),
            "missing": list(result.missing) if result else [],
            "failed_criteria": list(result.failed_criteria) if result else [],
            "sections": {k: _percent(s.percent) for k, s in result.per_section.items()}
            if result else {}}


def interaction_facts(evaluation: Evaluation) -> dict:
    i = evaluation.interaction
    media = i.media_url or ""
    safe_media = media if urlsplit(media).scheme in ("http", "https") else ""
    duration = ""
    if i.duration_seconds is not None:
        minutes, seconds = divmod(int(i.duration_seconds), 60)
        duration = f"{minutes}:{seconds:02d}"
    return {"channel": svc.channel_label(i.channel), "ref": i.external_ref,
            "occurred_at": i.occurred_at, "duration": duration, "summary": i.summary or "",
            "media_url": safe_media, "transcript": i.transcript or "",
            "agent": f"{evaluation.agent.code} {evaluation.agent.name}",
            "branch": f"{i.branch.code} {i.branch.name}"}


def _names(*ids) -> dict[int, str]:
    wanted = [i for i in ids if i]
    if not wanted:
        return {}
    return {u.id: u.name for u in db.session.query(User).filter(User.id.in_(wanted))}


# -- lists ------------------------------------------------------------------------------------

@bp.get("/queue")
@roles_required(*READERS)
def queue():
    me = _me()
    roles = route_roles() or set(READERS)
    page_no = request.args.get("page", 1, type=int) or 1
    ctx = {"qa_page": None, "branch_page": None, "own": None, "filters": None}
    if me.has_role(*GRADERS) and set(GRADERS) & set(roles):
        filters = svc.Filters(
            status=request.args.get("status") or "open",
            assignee=request.args.get("assignee") or "me",
            period=(request.args.get("period") or "").strip(),
            rule_id=request.args.get("rule", type=int), q=(request.args.get("q") or "").strip())
        ctx["filters"] = filters
        ctx["qa_page"] = svc.search_evaluations(me, filters, roles=set(GRADERS), page=page_no)
        ctx["rules"] = sampling.list_rules(me, set(GRADERS))
        ctx["open_disputes"] = len(dsp.search_disputes(me, roles=set(GRADERS)))
    if me.has_role("branch_head"):
        ctx["branch_page"] = svc.branch_evaluations(
            me, page=page_no if ctx["qa_page"] is None else 1)
    if me.has_role("agent"):
        ctx["own"] = svc.own_evaluations(me)
    evaluations = list(ctx["qa_page"].items if ctx["qa_page"] else []) \
        + list(ctx["branch_page"].items if ctx["branch_page"] else []) + list(ctx["own"] or [])
    return render_template("qa/evaluations/queue.html", names=_names(
        *{e.evaluator_id for e in evaluations}), status_label=svc.status_label,
        channel_label=svc.channel_label, **ctx)


# -- one evaluation ---------------------------------------------------------------------------

@bp.get("/evaluations/<int:evaluation_id>")
@roles_required(*READERS)
def evaluation(evaluation_id: int):
    ev = visible_or_404(evaluation_id)
    me = _me()
    if svc.can_score(me, ev):
        return redirect(url_for("qa.evaluation_score", evaluation_id=ev.id))
    return render_detail(ev)


def render_detail(ev: Evaluation, dispute_form: DisputeForm | None = None, status: int = 200):
    me = _me()
    result = svc.stored_score(ev)
    own = svc.is_own(ev, me)
    refusal = dsp.refusal(ev, me) if own else None
    raised = dsp.disputes_of(ev)
    sheet_ = sheet(ev, result=result)
    labels = {c["key"]: c["label"] for s in sheet_ for c in s["criteria"]}
    if own and refusal is None and dispute_form is None:
        dispute_form = DisputeForm()
    if dispute_form is not None:
        dispute_form.criteria.choices = [(k, labels.get(k, k))
                                         for k in dsp.disputable_criteria(ev)]
    open_dispute = next((d for d in raised if d.status == "open"), None)
    return render_template(
        "qa/evaluations/detail.html", evaluation=ev, facts=interaction_facts(ev), sheet=sheet_,
        summary=score_summary(result), own=own, refusal=refusal,
        ack_form=AcknowledgeForm() if own and ev.status == "submitted" else None,
        dispute_form=dispute_form if own and refusal is None else None,
        deadline=dsp.dispute_deadline(ev), disputes=raised, labels=labels,
        revisions=dsp.revisions_of(ev), outcome_label=dsp.outcome_label,
        status_label=svc.status_label,
        can_review=open_dispute is not None and dsp.can_review(me, open_dispute),
        open_dispute=open_dispute,
        names=_names(ev.evaluator_id, *[d.reviewer_id for d in raised])), status


@bp.route("/evaluations/<int:evaluation_id>/score", methods=["GET", "POST"])
@roles_required(*GRADERS)
def evaluation_score(evaluation_id: int):
    ev = visible_or_404(evaluation_id)
    me = _me()
    if not svc.can_score(me, ev):
        abort(403)
    definition = ev.rubric_version.definition
    state = svc.open_evaluation(ev, me)
    form = evaluation_form(definition, data={**initial_data(state.answers),
                                             "feedback": state.feedback})
    result = state.result
    status = 200
    if form.validate_on_submit():
        answers = answers_from(form, definition)
        submitting = bool(form.submit.data)
        try:
            with unit_of_work():
                if submitting:
                    svc.submit_evaluation(ev, me, answers, form.feedback.data)
                else:
                    svc.save_draft(ev, me, answers, form.feedback.data)
        except svc.EvaluationError as exc:
            attach_errors(exc.fields, form)
            status = 400
            try:
                result = svc.preview_score(ev.rubric_version, answers)
            except svc.EvaluationError:
                result = None
        else:
            if submitting:
                notices.send_notices()
                flash(_("Evaluation submitted and released to the agent."), "success")
                return redirect(url_for("qa.queue"))
            flash(_("Draft saved."), "success")
            return redirect(url_for("qa.evaluation_score", evaluation_id=ev.id))
    elif request.method == "POST":
        status = 400
    reassign = ReassignForm(prefix="assign")
    reassign.evaluator_id.choices = [(0, _("Nobody (unassigned)"))] + list(
        sampling.evaluator_choices())
    reassign.evaluator_id.data = ev.evaluator_id or 0
    return render_template(
        "qa/evaluations/form.html", evaluation=ev, form=form, facts=interaction_facts(ev),
        sheet=sheet(ev, answers=answers_from(form, definition) if request.method == "POST"
                    else state.answers, result=result),
        summary=score_summary(result), reassign=reassign, status_label=svc.status_label,
        names=_names(ev.evaluator_id)), status


@bp.post("/evaluations/<int:evaluation_id>/preview")
@roles_required(*GRADERS)
def evaluation_preview(evaluation_id: int):
    """The live score of the posted form, as JSON (the page's script calls it as you go)."""
    ev = visible_or_404(evaluation_id)
    definition = ev.rubric_version.definition
    form = evaluation_form(definition, meta={"csrf": False})
    try:
        result = svc.preview_score(ev.rubric_version, answers_from(form, definition))
    except svc.EvaluationError as exc:
        fields = {k: str(v) for k, v in exc.fields.items()}
        resp = jsonify({"error": _("Some answers do not fit this rubric."), "fields": fields})
        resp.status_code = 400
        return resp
    return jsonify(score_summary(result))


@bp.post("/evaluations/<int:evaluation_id>/acknowledge")
@roles_required("agent")
def evaluation_acknowledge(evaluation_id: int):
    ev = visible_or_404(evaluation_id)
    form = AcknowledgeForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        with unit_of_work():
            svc.acknowledge_evaluation(ev, _me())
    except svc.EvaluationError as exc:
        flash(str(next(iter(exc.fields.values()))), "error")
    else:
        flash(_("Thank you: the evaluation is acknowledged."), "success")
    return redirect(url_for("qa.evaluation", evaluation_id=ev.id), 303)


@bp.route("/evaluations/<int:evaluation_id>/replace", methods=["GET", "POST"])
@roles_required(*GRADERS)
def evaluation_replace(evaluation_id: int):
    ev = visible_or_404(evaluation_id)
    if ev.sampling_rule_id is None or ev.status not in svc.OPEN:
        abort(409)
    form = ReplaceForm()
    status = 200
    if form.validate_on_submit():
        try:
            with unit_of_work():
                new = sampling.replace_item(ev, form.reason.data, _me())
                new_id = new.id if new is not None else None
        except sampling.SamplingError as exc:
            attach_errors(exc.fields, form)
            status = 400
        else:
            if new_id is None:
                flash(_("No other interaction is left in this period: the item was "
                        "withdrawn."), "success")
                return redirect(url_for("qa.queue"), 303)
            flash(_("The item was replaced by another interaction."), "success")
            return redirect(url_for("qa.evaluation", evaluation_id=new_id), 303)
    elif request.method == "POST":
        status = 400
    return render_template("qa/evaluations/replace.html", evaluation=ev, form=form,
                           facts=interaction_facts(ev)), status


@bp.post("/evaluations/<int:evaluation_id>/assign")
@roles_required(*GRADERS)
def evaluation_assign(evaluation_id: int):
    ev = visible_or_404(evaluation_id)
    form = ReassignForm(prefix="assign")
    form.evaluator_id.choices = [(0, "")] + list(sampling.evaluator_choices())
    if not form.validate_on_submit():
        flash(_("Choose someone from the list."), "error")
        return redirect(url_for("qa.evaluation", evaluation_id=ev.id), 303)
    evaluator = db.session.get(User, form.evaluator_id.data) if form.evaluator_id.data else None
    try:
        with unit_of_work():
            sampling.reassign_item(ev, evaluator, _me())
    except sampling.SamplingError as exc:
        flash(str(next(iter(exc.fields.values()))), "error")
    else:
        flash(_("The item was handed over."), "success")
    return redirect(url_for("qa.queue"), 303)


from qms.qa.views import disputes, sampling_rules  # noqa: E402,F401

"""Calibration pages: sessions, blind score sheets, results after the deadline, alignment over time."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from qms.core.db import now_utc
from qms.core.permissions import branch_scope, roles_required, route_roles
from qms.core.tx import unit_of_work
from qms.extensions import db
from qms.qa import calibration as svc
from qms.qa import rubric_format
from qms.qa.evaluations import CHANNEL_LABELS
from qms.qa.models import Interaction, Rubric
from qms.qa.rubrics import latest_published, rubric_rows
from qms.qa.views import bp
from qms.qa.views.calibration_forms import SessionForm, answers_from, score_form
from qms.surveys.views.campaign_forms import to_local, to_utc

STAFF = ("admin", "qa")


def _me():
    return current_user._get_current_object()


def _locale() -> str:
    loc = get_locale()
    return str(loc) if loc else "zh_Hans"


def _session_or_404(session_id: int):
    session = svc.get_session(session_id, _me(), route_roles())
    if session is None:
        abort(404)
    return session


@bp.get("/calibration")
@roles_required(*STAFF)
def calibration_list():
    rows = svc.list_sessions(_me(), route_roles())
    return render_template("qa/calibration/list.html", rows=rows)


@bp.route("/calibration/new", methods=["GET", "POST"])
@roles_required(*STAFF)
def calibration_new():
    form = SessionForm()
    form.rubric_id.choices = [(r.id, r.name) for r in rubric_rows(published_only=True)]
    people = svc.grader_choices()
    form.graders.choices = people
    form.benchmark.choices = people
    if request.method == "GET":
        form.deadline.data = to_local(now_utc()).replace(hour=18, minute=0)
        if me_id := _me().id:
            form.benchmark.data = me_id
    if form.validate_on_submit():
        rubric = db.session.get(Rubric, form.rubric_id.data)
        version = latest_published(rubric) if rubric else None
        refs = (form.references.data or "").replace(",", "\n").splitlines()
        ids, unknown = svc.interactions_by_reference(refs)
        if not refs or not any(r.strip() for r in refs):
            if form.pick.data:
                channel = form.channel.data or (rubric.channel if rubric else None)
                ids = svc.pick_interactions(
                    count=form.pick.data, channel=channel, seed=int(now_utc().timestamp()),
                    until=now_utc(), scope=branch_scope(_me(), route_roles()))
        if unknown:
            form.references.errors = [_("Unknown interactions: %(refs)s",
                                        refs=", ".join(unknown[:10]))]
        else:
            try:
                with unit_of_work():
                    session = svc.create_session(
                        name=form.name.data, rubric_version=version, interaction_ids=ids,
                        grader_ids=form.graders.data, benchmark_user_id=form.benchmark.data,
                        deadline=to_utc(form.deadline.data), actor=_me(), roles=route_roles())
            except svc.CalibrationError as exc:
                fields = {"rubric": "rubric_id", "interactions": "references"}
                for name, message in exc.fields.items():
                    target = form[fields.get(name, name)]
                    target.errors = [*target.errors, message]
            else:
                flash(_("Calibration session created. Graders score blind until the "
                        "deadline."), "success")
                return redirect(url_for("qa.calibration_detail", session_id=session.id))
    status = 400 if request.method == "POST" else 200
    return render_template("qa/calibration/new.html", form=form), status


@bp.get("/calibration/<int:session_id>")
@roles_required(*STAFF)
def calibration_detail(session_id: int):
    session = _session_or_404(session_id)
    me = _me()
    interactions = svc.session_interactions(session)
    names = svc.grader_names(session.grader_ids)
    results = None
    if not svc.is_open(session):
        results = svc.session_results(session, locale=_locale())
    return render_template(
        "qa/calibration/detail.html", session=session, interactions=interactions,
        names=names, progress=svc.progress(session), results=results,
        mine=svc.my_scores(session, me) if me.id in session.grader_ids else None,
        is_grader=me.id in session.grader_ids, channels=CHANNEL_LABELS,
        rubric_name=session.rubric_version.rubric.name)


@bp.route("/calibration/<int:session_id>/score/<int:interaction_id>", methods=["GET", "POST"])
@roles_required(*STAFF)
def calibration_score(session_id: int, interaction_id: int):
    session = _session_or_404(session_id)
    me = _me()
    if me.id not in session.grader_ids or interaction_id not in session.interaction_ids:
        abort(404)
    interaction = db.session.get(Interaction, interaction_id)
    if interaction is None:
        abort(404)
    definition = session.rubric_version.definition
    mine = svc.my_scores(session, me).get(interaction_id)
    stored = dict(mine.answers or {}, feedback=mine.feedback or "") if mine else None
    form = score_form(definition, _locale(), data=stored if request.method == "GET" else None)
    open_ = svc.is_open(session)
    status = 200
    if request.method == "POST":
        if not open_:
            flash(_("The deadline has passed: scores can no longer be changed."), "error")
            return redirect(url_for("qa.calibration_detail", session_id=session.id))
        if form.validate_on_submit():
            try:
                with unit_of_work():
                    svc.submit_score(session, me, interaction_id, answers_from(form, definition),
                                     feedback=form.feedback.data)
            except svc.CalibrationError as exc:
                for name, message in exc.fields.items():
                    target = name.replace("score-", "c_", 1).replace("comment-", "n_", 1)
                    if target in form:
                        form[target].errors = [*form[target].errors, message]
                    else:
                        form.form_errors.append(message)
            else:
                flash(_("Your score is saved. You can change it until the deadline."),
                      "success")
                return redirect(url_for("qa.calibration_detail", session_id=session.id))
        status = 400
    sections = [(s, [c for c in rubric_format.criteria(s)])
                for s in rubric_format.sections(definition)]
    return render_template("qa/calibration/score.html", session=session, form=form,
                           interaction=interaction, sections=sections, open=open_,
                           channels=CHANNEL_LABELS, text=rubric_format.text,
                           score_key=rubric_format.score_key, locale=_locale()), status


@bp.get("/calibration/alignment")
@roles_required(*STAFF)
def calibration_alignment():
    sessions, history = svc.alignment_history(limit=12)
    names = svc.grader_names(history)
    rows = sorted(history.items(), key=lambda kv: names.get(kv[0], ""))
    return render_template("qa/calibration/alignment.html", sessions=sessions, rows=rows,
                           names=names, chart=alignment_chart(sessions, history, names))


def alignment_chart(sessions, history, names) -> dict | None:
    """Geometry of the alignment-over-time chart (0..100 %), one line per grader."""
    if len(sessions) < 2 or not history:
        return None
    width, height, left, top, bottom = 720, 260, 44, 10, 40
    plot = height - top - bottom
    step = (width - left - 48) / (len(sessions) - 1)
    xs = {s.id: left + 8 + i * step for i, s in enumerate(sessions)}

    def y(v: float) -> float:
        return round(top + (1 - v) * plot, 1)

    palette = ["#0b5cad", "#a40e26", "#1a7f37", "#8250df", "#bc4c00", "#57606a"]
    lines = []
    for n, (grader, points) in enumerate(sorted(history.items(),
                                                key=lambda kv: names.get(kv[0], ""))):
        pts = [f"{xs[p.session_id]:.1f},{y(p.alignment)}" for p in points
               if p.alignment is not None]
        if pts:
            lines.append({"points": " ".join(pts), "color": palette[n % len(palette)],
                          "name": names.get(grader, str(grader)), "dash": "" if n < 6 else "5 3"})
    return {"width": width, "height": height, "left": left, "axis": top + plot + 18,
            "grid": [(y(v / 100), f"{v}%") for v in (100, 75, 50, 25, 0)],
            "labels": [(round(xs[s.id], 1), s.name[:14]) for s in sessions], "lines": lines}

"""Results pages (KPIs, distributions, trend, breakdowns, comments), exports and follow-ups."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import (
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, TextAreaField
from wtforms.validators import Length, Optional

from qms.core.permissions import roles_required, route_roles
from qms.core.tx import unit_of_work
from qms.surveys import exports, followups
from qms.surveys.questions import LOCALES
from qms.surveys.results import (
    CHANNEL_LABELS,
    DIMENSIONS,
    SEGMENT_LABELS,
    FilterError,
    OutOfScope,
    summary,
    survey_results,
)
from qms.surveys.results_filters import filter_options, parse_filters
from qms.surveys.results_questions import search_comments
from qms.surveys.views import bp

READERS = ("admin", "qa", "branch_head")
FILTER_ARGS = ("survey", "version", "campaign", "branch", "agent", "segment", "channel", "from",
               "to")
DIMENSION_LABELS = {"branch": _l("Branch"), "agent": _l("Agent"), "segment": _l("Segment"),
                    "channel": _l("Channel"), "campaign": _l("Campaign")}


def _me():
    return current_user._get_current_object()


def _locale() -> str:
    loc = get_locale()
    return str(loc) if loc else "zh_Hans"


def _filter_args() -> dict[str, str]:
    return {k: request.args[k] for k in FILTER_ARGS if request.args.get(k, "").strip()}


def _filters(survey_id: int):
    """The request's filters in the signed-in user's scope; 404 outside it."""
    try:
        return parse_filters(survey_id, request.args, _me(), route_roles())
    except OutOfScope:
        abort(404)


def trend_chart(trend) -> dict | None:
    """Geometry of the trend chart (CSAT % and NPS on one -100..100 axis), plain values for the
    template; months below the minimum sample leave a gap rather than a misleading point."""
    if len(trend) < 2:
        return None
    width, height, left, top, bottom = 720, 260, 44, 10, 64
    plot = height - top - bottom
    step = (width - left - 48) / (len(trend) - 1)
    xs = [left + 8 + i * step for i in range(len(trend))]

    def y(v: float) -> float:
        return round(top + (100 - v) / 200 * plot, 1)

    def lines(values) -> list[str]:
        out, current = [], []
        for x, v in zip(xs, values, strict=True):
            if v is None:
                if len(current) > 1:
                    out.append(" ".join(current))
                current = []
            else:
                current.append(f"{x:.1f},{y(v)}")
        if len(current) > 1:
            out.append(" ".join(current))
        return out

    every = 1 if len(trend) <= 12 else 2
    return {"width": width, "height": height, "left": left, "axis": top + plot + 18,
            "legend": height - 12,
            "grid": [(y(v), f"{v:+d}" if v else "0") for v in (100, 50, 0, -50, -100)],
            "months": [(round(x, 1), p.month) for i, (x, p) in enumerate(zip(xs, trend,
                                                                             strict=True))
                       if i % every == 0],
            "csat": lines([p.kpis.csat.value for p in trend]),
            "nps": lines([p.kpis.nps.value for p in trend])}


@bp.get("/results")
@roles_required(*READERS)
def results():
    roles = route_roles()
    survey_id = request.args.get("survey", type=int)
    if survey_id is None:
        options = filter_options(None, _me(), roles)
        survey_id = options.surveys[0][0] if options.surveys else None
    if survey_id is None:
        return render_template("surveys/results/index.html", results=None, options=options,
                               errors={}, args={}, survey_id=None)
    errors, status = {}, 200
    try:
        f = _filters(survey_id)
    except FilterError as exc:
        errors, status = exc.fields, 400
        f = parse_filters(survey_id, {}, _me(), roles)
    by = request.args.get("by", "")
    if by not in DIMENSIONS:
        by = "agent" if f.scope is not None and len(f.scope) == 1 else "branch"
    locale = _locale()
    res = survey_results(f, locale=locale, by=by)
    comments = search_comments(f, q=request.args.get("q", ""), locale=locale,
                               page=request.args.get("page", 1, type=int) or 1)
    options = filter_options(survey_id, _me(), roles, branch_id=f.branch_id)
    return render_template(
        "surveys/results/index.html", results=res, comments=comments, options=options,
        errors=errors, args=_filter_args(), survey_id=survey_id, by=by,
        q=request.args.get("q", ""), chart=trend_chart(res.trend), dimensions=DIMENSION_LABELS,
        segments=SEGMENT_LABELS, channels=CHANNEL_LABELS, locales=LOCALES), status


@bp.get("/results/export.<any(csv, xlsx):fmt>")
@roles_required(*READERS)
def results_export(fmt: str):
    survey_id = request.args.get("survey", type=int)
    if survey_id is None:
        abort(404)
    try:
        f = _filters(survey_id)
    except FilterError:
        abort(400)
    locale = request.args.get("lang") if request.args.get("lang") in LOCALES else _locale()
    with unit_of_work():
        exports.record_export(f, fmt=fmt, locale=locale, actor=_me(), ip=request.remote_addr,
                              rows=summary(f).responses)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M")
    filename = f"survey-{survey_id}-responses-{stamp}.{fmt}"
    if fmt == "csv":
        body = stream_with_context(exports.csv_chunks(f, locale))
    else:
        body = exports.stream_file(exports.xlsx_file(f, locale))
    resp = Response(body, mimetype=exports.MIME[fmt])
    resp.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    resp.headers["Cache-Control"] = "no-store"
    return resp


# -- follow-ups -------------------------------------------------------------------------------

class FollowUpForm(FlaskForm):
    owner = SelectField(_l("Owner"), coerce=int)
    status = SelectField(_l("Status"), choices=list(followups.STATUS_LABELS.items()))
    due = DateField(_l("Due date"), validators=[Optional()])
    note = TextAreaField(_l("Note"), validators=[Length(max=followups.NOTE_MAX)])


@bp.get("/follow-ups")
@roles_required(*READERS)
def follow_ups():
    status = request.args.get("status") or None
    if status not in followups.STATUS_LABELS:
        status = None
    page = followups.list_follow_ups(
        _me(), roles=route_roles(), status=status,
        owner_id=_me().id if request.args.get("mine") else None,
        overdue=bool(request.args.get("overdue")),
        page=request.args.get("page", 1, type=int) or 1)
    return render_template("surveys/results/follow_ups.html", page=page, status=status,
                           statuses=followups.STATUS_LABELS, reasons=followups.REASON_LABELS,
                           mine=bool(request.args.get("mine")),
                           overdue=bool(request.args.get("overdue")))


@bp.route("/follow-ups/<int:follow_up_id>", methods=["GET", "POST"])
@roles_required(*READERS)
def follow_up(follow_up_id: int):
    item = followups.get_follow_up(follow_up_id, _me(), route_roles())
    if item is None:
        abort(404)
    form = FollowUpForm(obj=None if request.method == "POST" else item)
    form.owner.choices = [(0, _("Nobody yet"))] + [
        (u.id, u.name) for u in followups.owner_choices(item.branch_id)]
    if request.method == "GET":
        form.owner.data = item.owner_id or 0
        form.due.data = item.due_at.date() if item.due_at else None
    if form.validate_on_submit():
        due = form.due.data
        try:
            with unit_of_work():
                followups.update_follow_up(
                    item, actor=_me(), owner_id=form.owner.data or None,
                    status=form.status.data, note=form.note.data,
                    due_at=datetime(due.year, due.month, due.day, tzinfo=UTC) if due else None)
        except followups.FollowUpError as exc:
            for name, message in exc.fields.items():
                form[name].errors = [*form[name].errors, message]
        else:
            flash(_("Follow-up saved."), "success")
            return redirect(url_for("surveys.follow_up", follow_up_id=item.id))
    detail = followups.follow_up_detail(item, _locale())
    return render_template("surveys/results/follow_up.html", item=item, form=form,
                           detail=detail, statuses=followups.STATUS_LABELS,
                           reasons=followups.REASON_LABELS)

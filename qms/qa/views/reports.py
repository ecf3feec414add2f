"""QA reports page: average score, auto-fail rate, trend, most-failed criteria and disputes per
agent, branch, team and grader, in the reader's scope (a branch head their branch, an agent
themselves)."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import abort, render_template, request
from flask_babel import get_locale
from flask_login import current_user

from qms.core.db import now_utc
from qms.core.permissions import roles_required, route_roles
from qms.qa.evaluations import CHANNEL_LABELS
from qms.qa.report_filters import (
    FilterError,
    OutOfScope,
    parse_report_filters,
    report_options,
)
from qms.qa.reports import DIMENSION_LABELS, DIMENSIONS, OUTCOME_LABELS, OUTCOMES, qa_report
from qms.qa.views import bp

READERS = ("admin", "qa", "branch_head", "agent")
FILTER_ARGS = ("from", "to", "branch", "agent", "team", "grader", "rubric", "channel")


def _me():
    return current_user._get_current_object()


def _locale() -> str:
    loc = get_locale()
    return str(loc) if loc else "zh_Hans"


def default_from(now: datetime | None = None) -> str:
    """The first day of the month eleven months back: a twelve-month trend by default."""
    now = (now or now_utc()).astimezone(UTC)
    y, m = now.year, now.month - 11
    if m < 1:
        y, m = y - 1, m + 12
    return f"{y:04d}-{m:02d}-01"


def request_params() -> dict[str, str]:
    params = {k: request.args[k] for k in FILTER_ARGS if request.args.get(k, "").strip()}
    if "from" not in params and "to" not in params:
        params["from"] = default_from()
    return params


def dimensions_for(f) -> list[str]:
    """The breakdowns worth offering: an agent sees only their own row; a one-branch reader
    has no use for the branch breakdown."""
    if f.only_agent_id is not None:
        return []
    if f.scope is not None and len(f.scope) == 1:
        return [d for d in DIMENSIONS if d != "branch"]
    return list(DIMENSIONS)


@bp.get("/reports")
@roles_required(*READERS)
def reports():
    roles = route_roles()
    params = request_params()
    errors, status = {}, 200
    try:
        f = parse_report_filters(params, _me(), roles)
    except OutOfScope:
        abort(404)
    except FilterError as exc:
        errors, status = exc.fields, 400
        f = parse_report_filters({}, _me(), roles)
    dims = dimensions_for(f)
    by = request.args.get("by", "")
    if by not in dims:
        by = "branch" if "branch" in dims else "agent"
    report = qa_report(f, by=by, locale=_locale())
    options = report_options(_me(), roles, branch_id=f.branch_id)
    return render_template(
        "qa/reports/index.html", report=report, options=options, errors=errors, args=params,
        by=by, dimensions={d: DIMENSION_LABELS[d] for d in dims}, channels=CHANNEL_LABELS,
        outcomes=[(k, OUTCOME_LABELS[k]) for k in OUTCOMES], chart=trend_chart(report.trend),
        own_only=f.only_agent_id is not None), status


def trend_chart(trend) -> dict | None:
    """Geometry of the trend chart on one 0..100 axis: the average score (solid) and the
    auto-fail rate in percent (dashed); months without evaluations leave a gap."""
    if len(trend) < 2:
        return None
    width, height, left, top, bottom = 720, 260, 44, 10, 64
    plot = height - top - bottom
    step = (width - left - 48) / (len(trend) - 1)
    xs = [left + 8 + i * step for i in range(len(trend))]

    def y(v: float) -> float:
        return round(top + (100 - min(max(v, 0), 100)) / 100 * plot, 1)

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
            "grid": [(y(v), str(v)) for v in (100, 75, 50, 25, 0)],
            "months": [(round(x, 1), p.month) for i, (x, p) in enumerate(zip(xs, trend,
                                                                             strict=True))
                       if i % every == 0],
            "score": lines([p.stats.average for p in trend]),
            "fail": lines([None if p.stats.auto_fail_rate is None
                           else 100 * p.stats.auto_fail_rate for p in trend])}

"""Scorecard pages: the league table (QA, admins, auditors), a branch's scorecard with its
agents (and the branch head's own), an agent's scorecard (and the agent's own)."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from qms.core.db import now_utc
from qms.core.permissions import roles_required, route_roles
from qms.core.tx import unit_of_work
from qms.scorecards import access, present, snapshots
from qms.scorecards.compute import is_closed, last_closed_period, parse_period, shift
from qms.scorecards.forms import ComputeForm
from qms.scorecards.kpis import KPIS
from qms.scorecards.normalise import NORMALISATION
from qms.scorecards.views import bp

GLOBAL_READERS = ("admin", "qa", "auditor")
BRANCH_READERS = (*GLOBAL_READERS, "branch_head")
AGENT_READERS = (*BRANCH_READERS, "agent")
PERIOD_CHOICES = 24


def _me():
    return current_user._get_current_object()


def _locale() -> str:
    loc = get_locale()
    return str(loc) if loc else "zh_Hans"


def _period(now) -> str:
    raw = request.args.get("period") or last_closed_period(now)
    try:
        return parse_period(raw)
    except ValueError:
        abort(404)


def period_choices(now) -> list[str]:
    current = now.strftime("%Y-%m")
    return [shift(current, -i) for i in range(PERIOD_CHOICES)]


@bp.get("/")
@roles_required(*AGENT_READERS)
def index():
    me = _me()
    if me.has_role(*GLOBAL_READERS):
        return redirect(url_for("scorecards.league"))
    if me.has_role("branch_head"):
        ids = access.readable_branches(me, ("branch_head",))
        code = access.branch_code_of(min(ids)) if ids else None
        if code:
            return redirect(url_for("scorecards.branch", code=code))
    own = access.own_agent_code(me)
    if own and me.has_role("agent"):
        return redirect(url_for("scorecards.agent", code=own))
    abort(404)


@bp.get("/league")
@roles_required(*GLOBAL_READERS)
def league():
    now = now_utc()
    period = _period(now)
    scope = request.args.get("scope", "branch")
    if scope not in ("branch", "agent"):
        scope = "branch"
    region = request.args.get("region", "").strip() or None
    ids = access.readable_branches(_me(), route_roles())
    snaps = snapshots.list_current(scope, period, branch_ids=ids)
    if not snaps and is_closed(period, now):
        with unit_of_work():
            snapshots.compute_period(period, now=now)
        snaps = snapshots.list_current(scope, period, branch_ids=ids)
    rows = present.league_rows(snaps, region)
    keys = [k["key"] for k in snaps[0].data["kpis"]] if snaps else []
    return render_template(
        "scorecards/league.html", rows=rows, period=period, scope=scope, region=region,
        regions=access.region_choices(ids), periods=period_choices(now),
        columns=[(k, present.kpi_label(k)) for k in keys], closed=is_closed(period, now),
        any_stale=any(s.stale for s in snaps),
        form=ComputeForm(period=period) if _me().has_role("admin", "qa") else None)


@bp.post("/compute")
@roles_required("admin", "qa")
def compute():
    form = ComputeForm()
    if not form.validate_on_submit():
        flash(_("Choose a month as YYYY-MM."), "error")
        return redirect(url_for("scorecards.league"))
    now = now_utc()
    with unit_of_work():
        snapshots.refresh_staleness(now)
        result = snapshots.compute_period(form.period.data, now=now)
    flash(_("Scorecards of %(period)s computed: %(n)s branches and agents.",
            period=form.period.data, n=len(result)), "success")
    return redirect(url_for("scorecards.league", period=form.period.data))


def _scorecard(scope: str, code: str, template: str):
    me = _me()
    if not access.can_read(me, scope, code, route_roles()):
        abort(404)
    now = now_utc()
    period = _period(now)
    with unit_of_work():
        snap = access.snapshot_for(scope, code, period, now=now)
    versions = snapshots.history(scope, code, period) if snap is not None else []
    shown = snap
    wanted = request.args.get("snapshot", type=int)
    if wanted is not None:
        shown = next((v for v in versions if v.id == wanted), None)
        if shown is None:
            abort(404)
    ctx = present.page(shown, _locale()) if shown is not None else None
    pdf_endpoint = f"scorecards.{scope}_pdf"
    return render_template(
        template, scope=scope, code=code, period=period, periods=period_choices(now),
        ctx=ctx, current=snap, versions=versions, normalisation=NORMALISATION,
        kpi_catalogue=KPIS, can_compute=me.has_role("admin", "qa"),
        compute_form=ComputeForm(period=period) if me.has_role("admin", "qa") else None,
        pdf_endpoint=pdf_endpoint if _has_endpoint(pdf_endpoint) else None,
        can_see=lambda s, c: access.can_read(me, s, c, route_roles()))


def _has_endpoint(name: str) -> bool:
    return name in current_app.view_functions


@bp.get("/branches/<code>")
@roles_required(*BRANCH_READERS)
def branch(code):
    return _scorecard("branch", code, "scorecards/branch.html")


@bp.get("/agents/<code>")
@roles_required(*AGENT_READERS)
def agent(code):
    return _scorecard("agent", code, "scorecards/agent.html")

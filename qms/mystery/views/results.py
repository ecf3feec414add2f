"""Mystery-shopping results pages: approved reports only, by branch, agent, scenario, section,
question and wave, with the most-missed items. QA staff and administrators see every branch in
their scope, a branch head their own branch (another branch is 404), an auditor reads. Shoppers
never see results."""

from __future__ import annotations

from flask import abort, render_template, request
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from qms.core.permissions import branch_scope, roles_required, route_roles
from qms.mystery import results as res
from qms.mystery import waves
from qms.mystery.views import bp

READERS = ("admin", "qa", "branch_head", "auditor")
DIMENSIONS = {"branch": _l("Branch"), "agent": _l("Agent"), "scenario": _l("Scenario"),
              "wave": _l("Wave"), "section": _l("Section"), "question": _l("Question")}


def _locale() -> str:
    return str(get_locale() or "zh_Hans")


def _int_arg(name: str) -> int | None:
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    if not raw.isdigit():
        abort(400)
    return int(raw)


def _scope() -> frozenset[int] | None:
    scope = branch_scope(current_user._get_current_object(), route_roles())
    return None if scope is None else frozenset(scope)


def _filter(scope, branch_id=None) -> res.ResultFilter:
    wave_id = _int_arg("wave")
    programme_id = _int_arg("programme")
    branch_id = branch_id if branch_id is not None else _int_arg("branch")
    if branch_id is not None and scope is not None and branch_id not in scope:
        abort(404)
    scenario = request.args.get("scenario", "").strip()[:64] or None
    return res.ResultFilter(programme_id=programme_id, wave_id=wave_id, branch_id=branch_id,
                            agent_id=_int_arg("agent"), scenario=scenario, branch_ids=scope)


def _options(scope) -> dict:
    branches = [b for b in waves.active_branches() if scope is None or b.id in scope]
    return {"programmes": waves.list_programmes(), "waves": waves.list_waves(),
            "branches": branches}


@bp.get("/results")
@roles_required(*READERS)
def results():
    scope = _scope()
    f = _filter(scope)
    by = request.args.get("by", "branch")
    if by not in DIMENSIONS:
        by = "branch"
    locale = _locale()
    rows = {"branch": lambda: res.by_branch(f), "agent": lambda: res.by_agent(f),
            "scenario": lambda: res.by_scenario(f, locale), "wave": lambda: res.by_wave(f),
            "section": lambda: res.by_section(f, locale),
            "question": lambda: res.by_question(f, locale)}[by]()
    trend = res.wave_over_wave(f.programme_id, scope) if f.programme_id else None
    return render_template(
        "mystery/results.html", f=f, by=by, dimensions=DIMENSIONS, rows=rows,
        item_view=by in ("section", "question"), overall=res.overall(f),
        missed=res.most_missed(f, locale, limit=10), trend=trend,
        scenarios=res.scenario_labels(f, locale), options=_options(scope),
        args=request.args)


@bp.get("/results/branches/<int:branch_id>")
@roles_required(*READERS)
def results_branch(branch_id: int):
    scope = _scope()
    branch = waves.get_branch(branch_id)
    if branch is None or (scope is not None and branch_id not in scope):
        abort(404)
    f = _filter(scope, branch_id=branch_id)
    locale = _locale()
    return render_template(
        "mystery/results_branch.html", branch=branch, f=f, overall=res.overall(f),
        by_wave=res.by_wave(f), by_scenario=res.by_scenario(f, locale),
        sections=res.by_section(f, locale), questions=res.by_question(f, locale),
        missed=res.most_missed(f, locale, limit=5), args=request.args)

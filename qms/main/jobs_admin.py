"""Admin pages of the scheduled jobs: next run, last run, failures, history, run now."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from qms.auth.forms import ConfirmForm
from qms.core import jobruns
from qms.core.db import now_utc
from qms.core.permissions import roles_required
from qms.main.views import bp

_INTERVAL_UNITS = ("weeks", "days", "hours", "minutes", "seconds")


def describe_trigger(kind: str, args: dict) -> str:
    """The trigger in words: "every 15 minutes", "daily at 16:30 UTC"."""
    if kind == "interval":
        parts = []
        for unit in _INTERVAL_UNITS:
            n = args.get(unit)
            if not n:
                continue
            parts.append({
                "weeks": lambda n: ngettext("%(num)d week", "%(num)d weeks", n),
                "days": lambda n: ngettext("%(num)d day", "%(num)d days", n),
                "hours": lambda n: ngettext("%(num)d hour", "%(num)d hours", n),
                "minutes": lambda n: ngettext("%(num)d minute", "%(num)d minutes", n),
                "seconds": lambda n: ngettext("%(num)d second", "%(num)d seconds", n),
            }[unit](n))
        return _("every %(period)s", period=" ".join(parts))
    fields = set(args)
    if fields and fields <= {"hour", "minute", "day"} and {"hour", "minute"} <= fields:
        time = f"{int(args['hour']):02d}:{int(args['minute']):02d}"
        if "day" in fields:
            return _("monthly on day %(day)s at %(time)s UTC", day=args["day"], time=time)
        return _("daily at %(time)s UTC", time=time)
    return _("cron %(fields)s (UTC)",
             fields=" ".join(f"{k}={v}" for k, v in sorted(args.items())))


def _registry():
    from qms.jobs import JOBS, _load_jobs

    _load_jobs()
    return JOBS


def _job_or_404(job_id: str):
    j = _registry().get(job_id)
    if j is None:
        abort(404)
    return j


@bp.get("/admin/jobs")
@roles_required("admin")
def jobs():
    rows = jobruns.overview(_registry().values(), now_utc())
    return render_template("main/jobs.html", rows=rows, describe=describe_trigger,
                           confirm=ConfirmForm())


@bp.get("/admin/jobs/<job_id>")
@roles_required("admin")
def job_detail(job_id: str):
    j = _job_or_404(job_id)
    status = jobruns.overview([j], now_utc())[0]
    page = jobruns.list_runs(j.id, page=request.args.get("page", 1, type=int) or 1)
    return render_template("main/jobs_detail.html", job=status, page=page,
                           describe=describe_trigger, confirm=ConfirmForm())


@bp.post("/admin/jobs/<job_id>/run")
@roles_required("admin")
def job_run(job_id: str):
    """Run the job here, in the web process: jobs are idempotent sweeps, so running beside the
    scheduler's own run changes nothing twice."""
    from qms.jobs import execute

    j = _job_or_404(job_id)
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    result = execute(j.id, trigger="manual", user=current_user._get_current_object())
    if result.outcome == jobruns.OK:
        flash(ngettext("%(job)s ran: %(num)d item touched.", "%(job)s ran: %(num)d items touched.",
                       result.items or 0, job=j.id), "success")
    else:
        flash(_("%(job)s failed; the error is in its run history.", job=j.id), "error")
    return redirect(url_for("main.job_detail", job_id=j.id))

"""Sampling rule pages (administrators and QA): the rules, a rule's form, building queues now."""

from __future__ import annotations

import secrets

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from qms.core.forms import attach_errors
from qms.core.permissions import branch_scope, roles_required, route_roles
from qms.core.tx import unit_of_work
from qms.extensions import db
from qms.qa import evaluations as svc
from qms.qa import sampling
from qms.qa.evaluation_forms import AcknowledgeForm, SamplingRuleForm
from qms.qa.models import SamplingRule
from qms.qa.views import bp

MANAGERS = ("admin", "qa")


def _me():
    return current_user._get_current_object()


@bp.get("/sampling")
@roles_required(*MANAGERS)
def sampling_rules():
    rules = sampling.list_rules(_me(), route_roles())
    rubrics = dict(sampling.rubric_choices())
    return render_template("qa/sampling/rules.html", rules=rules,
                           counts=sampling.rule_counts(rules), rubrics=rubrics,
                           build_form=AcknowledgeForm(), status_label=svc.status_label,
                           channel_label=svc.channel_label)


@bp.route("/sampling/new", methods=["GET", "POST"])
@roles_required(*MANAGERS)
def sampling_rule_new():
    return _rule_form(None)


@bp.route("/sampling/<int:rule_id>/edit", methods=["GET", "POST"])
@roles_required(*MANAGERS)
def sampling_rule_edit(rule_id: int):
    rule = db.session.get(SamplingRule, rule_id)
    if rule is None or not sampling.rule_in_scope(rule, branch_scope(_me(), route_roles())):
        abort(404)
    return _rule_form(rule)


def _rule_form(rule: SamplingRule | None):
    me, roles = _me(), route_roles()
    form = SamplingRuleForm(obj=rule)
    if request.method == "GET" and rule is None:
        form.seed.data = secrets.randbelow(2**31)
    form.rubric_id.choices = sampling.rubric_choices()
    form.branch_ids.choices = sampling.branch_choices(me, roles)
    form.evaluator_ids.choices = sampling.evaluator_choices()
    status = 200
    if form.validate_on_submit():
        try:
            with unit_of_work():
                rule = sampling.save_rule(form.data, rule, me, roles)
        except sampling.SamplingError as exc:
            attach_errors(exc.fields, form)
            status = 400
        else:
            flash(_("Sampling rule %(name)s saved.", name=rule.name), "success")
            return redirect(url_for("qa.sampling_rules"), 303)
    elif request.method == "POST":
        status = 400
    return render_template("qa/sampling/rule_form.html", form=form, rule=rule,
                           has_rubrics=bool(form.rubric_id.choices)), status


@bp.post("/sampling/build")
@roles_required(*MANAGERS)
def sampling_build():
    """Run the queue builder now (the scheduler also runs it every night)."""
    form = AcknowledgeForm()
    if not form.validate_on_submit():
        abort(400)
    with unit_of_work():
        added = sampling.build_queues()
    flash(_("%(n)d queue items added.", n=added), "success")
    return redirect(url_for("qa.sampling_rules"), 303)

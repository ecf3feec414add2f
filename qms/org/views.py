"""Administration pages for branches, agents and customers, and their CSV import."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from qms.core import audit
from qms.core.forms import attach_errors
from qms.core.permissions import get_scoped_or_404, roles_required, route_roles
from qms.core.tx import unit_of_work
from qms.org import services
from qms.org.forms import AgentForm, BranchForm, CustomerForm, ImportForm
from qms.org.importer import KINDS, ImportRejected, import_csv
from qms.org.models import Agent, Branch, Customer

bp = Blueprint("org", __name__, url_prefix="/org")

VIEWERS = ("admin", "qa", "auditor", "complaints", "branch_head")
ERRORS_SHOWN = 2000


def _me():
    return current_user._get_current_object()


def _page() -> int:
    return request.args.get("page", 1, type=int) or 1


@bp.get("/branches")
@roles_required(*VIEWERS)
def branches():
    q = request.args.get("q", "").strip()
    region = request.args.get("region") or None
    page = services.search_branches(_me(), q=q, region=region, page=_page(),
                                    roles=route_roles())
    return render_template("org/branches.html", page=page, q=q, region=region,
                           regions=services.list_regions(_me(), roles=route_roles()))


@bp.route("/branches/new", methods=["GET", "POST"])
@roles_required("admin")
def branch_new():
    return _branch_form(None)


@bp.route("/branches/<int:branch_id>/edit", methods=["GET", "POST"])
@roles_required("admin")
def branch_edit(branch_id: int):
    return _branch_form(get_scoped_or_404(Branch, branch_id, _me(), branch_attr="id"))


def _branch_form(branch):
    form = BranchForm(obj=branch)
    if form.validate_on_submit():
        try:
            with unit_of_work():
                branch = services.save_branch(form.data, branch)
        except services.OrgValidationError as exc:
            attach_errors(exc.fields, form)
        else:
            flash(_("Branch %(code)s saved.", code=branch.code), "success")
            return redirect(url_for("org.branch_detail", branch_id=branch.id))
    return render_template("org/branch_form.html", form=form, branch=branch)


@bp.get("/branches/<int:branch_id>")
@roles_required(*VIEWERS)
def branch_detail(branch_id: int):
    branch = get_scoped_or_404(Branch, branch_id, _me(), branch_attr="id")
    agents = services.search_agents(_me(), branch_id=branch.id, per_page=500,
                                    roles=route_roles())
    return render_template("org/branch_detail.html", branch=branch, agents=agents)


@bp.get("/agents")
@roles_required(*VIEWERS)
def agents():
    q = request.args.get("q", "").strip()
    page = services.search_agents(_me(), q=q, page=_page(), roles=route_roles())
    return render_template("org/agents.html", page=page, q=q)


@bp.route("/agents/new", methods=["GET", "POST"])
@roles_required("admin")
def agent_new():
    return _agent_form(None)


@bp.route("/agents/<int:agent_id>/edit", methods=["GET", "POST"])
@roles_required("admin")
def agent_edit(agent_id: int):
    return _agent_form(get_scoped_or_404(Agent, agent_id, _me()))


def _agent_form(agent):
    form = AgentForm(obj=agent)
    if request.method == "GET" and agent is not None:
        form.branch_code.data = agent.branch.code
    if form.validate_on_submit():
        try:
            with unit_of_work():
                agent = services.save_agent(form.data, agent, principal=_me(),
                                            roles=route_roles())
        except services.OrgValidationError as exc:
            attach_errors(exc.fields, form)
        else:
            flash(_("Agent %(code)s saved.", code=agent.code), "success")
            return redirect(url_for("org.agents", q=agent.code))
    return render_template("org/agent_form.html", form=form, agent=agent)


@bp.get("/customers")
@roles_required("admin", "complaints", "qa")
def customers():
    q = request.args.get("q", "").strip()
    segment = request.args.get("segment") or None
    page = services.search_customers(_me(), q=q, segment=segment, page=_page(),
                                     roles=route_roles())
    return render_template("org/customers.html", page=page, q=q, segment=segment)


@bp.route("/customers/new", methods=["GET", "POST"])
@roles_required("admin")
def customer_new():
    return _customer_form(None)


@bp.route("/customers/<int:customer_id>/edit", methods=["GET", "POST"])
@roles_required("admin")
def customer_edit(customer_id: int):
    customer = get_scoped_or_404(Customer, customer_id, _me(), branch_attr="home_branch_id")
    return _customer_form(customer)


def _customer_form(customer):
    form = CustomerForm(obj=customer)
    if request.method == "GET" and customer is not None and customer.home_branch:
        form.home_branch_code.data = customer.home_branch.code
    if form.validate_on_submit():
        try:
            with unit_of_work():
                customer = services.save_customer(form.data, customer)
        except services.OrgValidationError as exc:
            attach_errors(exc.fields, form)
        else:
            flash(_("Customer %(ref)s saved.", ref=customer.ref), "success")
            return redirect(url_for("org.customers", q=customer.ref))
    return render_template("org/customer_form.html", form=form, customer=customer)


@bp.route("/import/<kind>", methods=["GET", "POST"])
@roles_required("admin")
def import_file(kind: str):
    if kind not in KINDS:
        abort(404)
    form = ImportForm()
    result = None
    status = 200
    if form.validate_on_submit():
        upload = form.file.data
        try:
            with unit_of_work():
                result = import_csv(kind, upload.stream, encoding=form.encoding.data)
                audit.record("import", actor=_me(), subject=kind,
                             details={"rows": result.rows, "file": upload.filename})
        except ImportRejected as exc:
            result = exc.result
            status = 400
    # the page itself says how many rows were imported (a flash would say it a second time)
    return render_template("org/import.html", form=form, kind=kind, result=result,
                           columns=[c for c in KINDS[kind].columns], shown=ERRORS_SHOWN), status

"""Sign in and out, one's own profile, and the administration of users and API tokens."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user, logout_user

from qms.auth import services
from qms.auth.forms import (
    ApiTokenForm,
    ConfirmForm,
    GrantForm,
    LoginForm,
    ProfileForm,
    UserEditForm,
    UserForm,
)
from qms.auth.services import GrantSpec
from qms.core import audit
from qms.core.forms import attach_errors
from qms.core.permissions import login_required, public, roles_required
from qms.core.tx import unit_of_work
from qms.core.urls import safe_next
from qms.extensions import login_manager

bp = Blueprint("auth", __name__)


@bp.record_once
def _setup(state):
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please sign in to see this page.")
    login_manager.login_message_category = "info"
    login_manager.session_protection = "strong"


@login_manager.user_loader
def _load_user(user_id: str):
    try:
        return services.get_user(int(user_id))
    except ValueError:
        return None


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = LoginForm()
    status = 200
    retry_after = None
    if form.validate_on_submit():
        refusal = None
        with unit_of_work():  # failures are recorded too: commit even when refused
            try:
                user = services.authenticate(form.email.data, form.password.data,
                                             ip=request.remote_addr)
            except services.AuthError as exc:
                refusal = exc
        if isinstance(refusal, services.LoginThrottled):
            minutes = max(1, -(-refusal.retry_after // 60))
            retry_after = refusal.retry_after
            form.form_errors.append(
                _("Too many failed sign-in attempts. Try again in %(n)d minutes.", n=minutes))
            status = 429
        elif refusal is not None:
            form.form_errors.append(_("Wrong e-mail address or password."))
            status = 401
        else:
            login_user(user)
            return redirect(safe_next(request.args.get("next"), url_for("main.home")))
    headers = {"Retry-After": str(retry_after)} if retry_after else {}
    return render_template("auth/login.html", form=form), status, headers


@bp.post("/logout")
@login_required
def logout():
    form = ConfirmForm()
    if form.validate_on_submit():
        with unit_of_work():
            services.record_logout(current_user._get_current_object(), request.remote_addr)
        logout_user()
        flash(_("You have signed out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/profile", methods=["GET", "POST"])
@login_required
def profile():
    user = current_user._get_current_object()
    form = ProfileForm(locale=user.locale or "")
    if form.validate_on_submit():
        if form.new_password.data:
            from werkzeug.security import check_password_hash

            if not check_password_hash(user.password_hash, form.current_password.data or ""):
                form.current_password.errors.append(_("The current password is wrong."))
                return render_template("auth/profile.html", form=form), 400
        with unit_of_work():
            services.set_locale(user, form.locale.data or None)
            if form.new_password.data:
                services.set_password(user, form.new_password.data, actor=user)
        flash(_("Your settings are saved."), "success")
        return redirect(url_for("auth.profile"))
    return render_template("auth/profile.html", form=form)


# -- administration -----------------------------------------------------------------------

@bp.get("/admin/users")
@roles_required("admin")
def users():
    q = request.args.get("q", "").strip()
    role = request.args.get("role") or None
    return render_template("auth/users.html", users=services.list_users(q=q, role=role), q=q,
                           role=role)


@bp.route("/admin/users/new", methods=["GET", "POST"])
@roles_required("admin")
def user_new():
    form = UserForm()
    grant = GrantForm(prefix="grant")
    if form.validate_on_submit() and grant.validate():
        if not form.password.data:
            form.password.errors.append(_("A password is required for a new user."))
        else:
            try:
                with unit_of_work():
                    user = services.create_user(
                        email=form.email.data, name=form.name.data, password=form.password.data,
                        locale=form.locale.data or None, agent_code=form.agent_code.data or None,
                        grants=[GrantSpec(grant.role.data, grant.branch_code.data or None,
                                          grant.region.data or None)],
                        actor=current_user._get_current_object())
            except services.ValidationError as exc:
                attach_errors(exc.fields, form, grant, aliases={"branch": "branch_code"})
            else:
                flash(_("User %(email)s created.", email=user.email), "success")
                return redirect(url_for("auth.user_edit", user_id=user.id))
    return render_template("auth/user_form.html", form=form, grant=grant, user=None)


@bp.route("/admin/users/<int:user_id>", methods=["GET", "POST"])
@roles_required("admin")
def user_edit(user_id: int):
    user = services.get_user(user_id) or abort(404)
    form = UserEditForm(obj=user) if request.method == "GET" else UserEditForm()
    if request.method == "GET":
        form.locale.data = user.locale or ""
        form.agent_code.data = user.agent.code if user.agent else ""
    if form.validate_on_submit():
        try:
            with unit_of_work():
                actor = current_user._get_current_object()
                services.update_user(user, name=form.name.data, locale=form.locale.data or None,
                                     active=form.active.data,
                                     agent_code=form.agent_code.data or None, actor=actor)
                if form.password.data:
                    services.set_password(user, form.password.data, actor=actor)
        except services.ValidationError as exc:
            attach_errors(exc.fields, form, aliases={"branch": "branch_code"})
        else:
            flash(_("Changes saved."), "success")
            return redirect(url_for("auth.user_edit", user_id=user.id))
    return render_template("auth/user_form.html", form=form, grant=GrantForm(prefix="grant"),
                           user=user, confirm=ConfirmForm())


@bp.post("/admin/users/<int:user_id>/grants")
@roles_required("admin")
def grant_add(user_id: int):
    user = services.get_user(user_id) or abort(404)
    grant = GrantForm(prefix="grant")
    if grant.validate_on_submit():
        specs = [_spec(g) for g in user.grants]
        specs.append(GrantSpec(grant.role.data, grant.branch_code.data or None,
                               grant.region.data or None))
        try:
            with unit_of_work():
                services.set_grants(user, specs, actor=current_user._get_current_object())
        except services.ValidationError as exc:
            for message in exc.fields.values():
                flash(str(message), "error")
        else:
            flash(_("Role added."), "success")
    else:
        flash(_("The role could not be added."), "error")
    return redirect(url_for("auth.user_edit", user_id=user.id))


@bp.post("/admin/users/<int:user_id>/grants/<int:grant_id>/remove")
@roles_required("admin")
def grant_remove(user_id: int, grant_id: int):
    user = services.get_user(user_id) or abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    keep = [_spec(g) for g in user.grants if g.id != grant_id]
    if len(keep) == len(user.grants):
        abort(404)
    with unit_of_work():
        services.set_grants(user, keep, actor=current_user._get_current_object())
    flash(_("Role removed."), "success")
    return redirect(url_for("auth.user_edit", user_id=user.id))


def _spec(grant) -> GrantSpec:
    return GrantSpec(grant.role, grant.branch.code if grant.branch else None, grant.region)


@bp.route("/admin/api-tokens", methods=["GET", "POST"])
@roles_required("admin")
def api_tokens():
    form = ApiTokenForm()
    secret = None
    if form.validate_on_submit():
        try:
            with unit_of_work():
                _token, secret = services.create_api_token(
                    name=form.name.data, role=form.role.data,
                    branch_code=form.branch_code.data or None,
                    actor=current_user._get_current_object())
        except services.ValidationError as exc:
            attach_errors(exc.fields, form, aliases={"branch": "branch_code"})
    return render_template("auth/api_tokens.html", form=form, secret=secret,
                           tokens=services.list_api_tokens(), confirm=ConfirmForm())


@bp.post("/admin/api-tokens/<int:token_id>/revoke")
@roles_required("admin")
def api_token_revoke(token_id: int):
    if not ConfirmForm().validate_on_submit():
        abort(400)
    token = services.get_api_token(token_id) or abort(404)
    with unit_of_work():
        services.revoke_api_token(token, actor=current_user._get_current_object())
    flash(_("Token revoked."), "success")
    return redirect(url_for("auth.api_tokens"))


@bp.get("/admin/audit-log")
@roles_required("admin")
def audit_log():
    action = request.args.get("action") or None
    return render_template("auth/audit_log.html", entries=audit.list_entries(action=action),
                           action=action)

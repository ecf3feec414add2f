"""Home page with each role's work, the language switch and the health check."""

from __future__ import annotations

from flask import Blueprint, jsonify, redirect, render_template, request, session, url_for
from flask_login import current_user

from qms.auth import services as auth_services
from qms.auth.forms import LocaleForm
from qms.core.health import check_database
from qms.core.permissions import login_required, public
from qms.core.tx import unit_of_work
from qms.core.urls import safe_next
from qms.main.navigation import work_for

bp = Blueprint("main", __name__)


@bp.get("/")
@login_required
def home():
    return render_template("home.html", work=work_for(current_user.roles))


@bp.post("/locale")
@public
def set_locale():
    """The language switcher on every page: remembered in the session and, when signed in,
    in the user's setting (which then wins over ?lang= and the browser)."""
    form = LocaleForm()
    if form.validate_on_submit():
        session["lang"] = form.lang.data
        if current_user.is_authenticated:
            with unit_of_work():
                auth_services.set_locale(current_user._get_current_object(), form.lang.data)
    return redirect(safe_next(request.form.get("next"), url_for("main.home")))


@bp.get("/healthz")
@public
def healthz():
    ok, detail = check_database()
    return jsonify({"status": "ok" if ok else "error", "database": detail}), (200 if ok else 503)


@bp.app_context_processor
def _navigation():
    if current_user and current_user.is_authenticated:
        return {"nav_items": work_for(current_user.roles)}
    return {"nav_items": []}

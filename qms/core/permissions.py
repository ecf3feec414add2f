"""The one place that decides access: route rules, branch scope and object checks.

Every view carries a decision made by one of the decorators below (`public`,
`login_required`, `roles_required`, `api_roles`); a before-request hook enforces it and refuses
any endpoint that has none, so a route added without a decision is closed, and the route x role
test fails until it gets one.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import wraps

import sqlalchemy as sa
from flask import abort, current_app, g, has_request_context, jsonify, request
from flask_login import current_user

from qms.config import ROLES
from qms.extensions import db

# Roles that may hold the whole bank in scope; the others are always tied to a branch or
# (shopper) see only what is assigned to them.
GLOBAL_CAPABLE = frozenset({"admin", "qa", "auditor", "complaints"})
BRANCH_BOUND = frozenset({"branch_head", "agent"})
STAFF = frozenset(ROLES) - {"shopper"}


@dataclass(frozen=True)
class Access:
    public: bool = False
    api: bool = False
    roles: frozenset[str] | None = None  # None with public=False: any signed-in user

    def allows(self, principal_roles: set[str]) -> bool:
        if self.public:
            return True
        if self.roles is None:
            return True
        return bool(self.roles & principal_roles)


def _mark(access: Access):
    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            return view(*args, **kwargs)

        wrapper.qms_access = access
        return wrapper

    return decorator


def public(view):
    """Reachable without signing in (survey links, complaint intake, login, health)."""
    return _mark(Access(public=True))(view)


def login_required(view):
    """Any signed-in user, whatever their roles (own profile, home, sign out)."""
    return _mark(Access())(view)


def roles_required(*roles: str):
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown roles {unknown}")
    return _mark(Access(roles=frozenset(roles)))


def api_roles(*roles: str):
    """A JSON API route: a bearer token whose role is one of `roles`."""
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown roles {unknown}")
    return _mark(Access(api=True, roles=frozenset(roles)))


def api_public(view):
    return _mark(Access(public=True, api=True))(view)


def access_for(endpoint: str | None) -> Access | None:
    if endpoint is None:
        return None
    if endpoint == "static":
        return Access(public=True)
    view = current_app.view_functions.get(endpoint)
    return getattr(view, "qms_access", None)


def permission_table(app) -> dict[str, Access | None]:
    """Every registered endpoint with its decision (None = no decision: a defect)."""
    with app.app_context():
        return {rule.endpoint: access_for(rule.endpoint) for rule in app.url_map.iter_rules()}


# -- principals -------------------------------------------------------------------------

def api_error(status: int, error: str, fields: dict | None = None):
    resp = jsonify({"error": error, "fields": fields or {}})
    resp.status_code = status
    return resp


def current_principal():
    """The signed-in user on pages, the token on the API; None when anonymous."""
    principal = g.get("principal")
    if principal is not None:
        return principal
    if current_user and current_user.is_authenticated:
        return current_user._get_current_object()
    return None


def _bearer_token():
    from qms.auth.services import verify_api_token

    header = request.headers.get("Authorization", "")
    scheme, _sep, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        return None
    return verify_api_token(secret.strip())


def enforce():
    """before_request: apply the endpoint's decision."""
    endpoint = request.endpoint
    if endpoint is None:  # 404/405 from routing: let Flask answer
        return None
    access = access_for(endpoint)
    if access is not None and access.public:  # the common case of public pages: nothing to do
        return None
    is_api = request.path.startswith("/api/")
    if access is None:
        current_app.logger.error("endpoint %s has no access decision", request.endpoint)
        if is_api:
            return api_error(403, "forbidden")
        abort(403)
    if access.public:
        return None
    if access.api:
        token = _bearer_token()
        if token is None:
            resp = api_error(401, "missing or invalid bearer token")
            resp.headers["WWW-Authenticate"] = 'Bearer realm="qms"'
            return resp
        g.principal = token
        if not access.allows(token.roles):
            return api_error(403, "this token's role may not use this endpoint")
        return None
    if not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()
    if not access.allows(current_user.roles):
        abort(403)
    return None


# -- branch scope -----------------------------------------------------------------------

def branch_scope(principal, roles: set[str] | frozenset[str] | None = None) -> set[int] | None:
    """Branch ids the principal may see through the given roles; None means every branch.

    A grant with a branch gives that branch, a grant with a region gives the region's
    branches, and an unscoped grant of a global-capable role gives all. Shopper grants give
    no branch at all: shoppers see only what is assigned to them.
    """
    from qms.org.models import Branch

    if principal is None:
        return set()
    ids: set[int] = set()
    regions: set[str] = set()
    for grant in principal.grants:
        if roles is not None and grant.role not in roles:
            continue
        if grant.role == "shopper":
            continue
        if grant.branch_id is not None:
            ids.add(grant.branch_id)
        elif grant.region:
            regions.add(grant.region)
        elif grant.role in GLOBAL_CAPABLE:
            return None
    if regions:
        ids.update(db.session.scalars(sa.select(Branch.id).where(Branch.region.in_(regions))))
    return ids


def scope_filter(stmt, branch_column, principal, roles=None):
    """Limit a select to the principal's branches."""
    scope = branch_scope(principal, roles)
    if scope is None:
        return stmt
    return stmt.where(branch_column.in_(scope))


def can_see_branch(principal, branch_id: int | None, roles=None) -> bool:
    scope = branch_scope(principal, roles)
    return scope is None or (branch_id is not None and branch_id in scope)


def route_roles() -> frozenset[str] | None:
    """The roles that open the current route (None: any role, or outside a request).

    Scope is computed from these grants only: a user who is qa for one region and branch head
    of another branch sees the customers page through qa, so only the region's customers.
    """
    if not has_request_context():
        return None
    access = access_for(request.endpoint)
    return None if access is None or access.public else access.roles


def get_scoped_or_404(model, ident, principal, branch_attr: str = "branch_id", roles=None):
    """Load an object or 404 — also when it belongs to a branch outside the principal's scope.

    Without `roles`, the grants that open the current route decide the scope.
    """
    if roles is None:
        roles = route_roles()
    obj = db.session.get(model, ident)
    if obj is None or not can_see_branch(principal, getattr(obj, branch_attr), roles):
        abort(404)
    return obj


def init_app(app) -> None:
    app.before_request(enforce)

    @app.context_processor
    def _inject():
        def can(*roles):
            p = current_principal()
            return p is not None and p.has_role(*roles)

        return {"can": can}

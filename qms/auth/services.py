"""Accounts: creating users, granting roles, signing in with throttling, API tokens."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from werkzeug.security import check_password_hash, generate_password_hash

from qms.auth.models import ApiToken, RoleGrant, User
from qms.config import ROLES
from qms.core import audit
from qms.core.db import now_utc
from qms.core.permissions import BRANCH_BOUND
from qms.core.tokens import hash_token, new_token
from qms.extensions import db
from qms.org.models import Agent, Branch


class AuthError(Exception):
    """A refusal with a message meant for the user."""


class InvalidCredentials(AuthError):
    pass


class LoginThrottled(AuthError):
    def __init__(self, retry_after: int):
        super().__init__(retry_after)
        self.retry_after = retry_after


class ValidationError(AuthError):
    def __init__(self, fields: dict[str, str]):
        super().__init__(fields)
        self.fields = fields


@dataclass(frozen=True)
class GrantSpec:
    role: str
    branch_code: str | None = None
    region: str | None = None


# A hash to compare against when the account does not exist, so that a wrong e-mail costs
# as long as a wrong password (no account enumeration by timing).
_DUMMY_HASH: dict[str, str] = {}


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def get_user_by_email(email: str) -> User | None:
    return db.session.scalar(sa.select(User).where(User.email == normalise_email(email)))


def _resolve_grants(grants: list[GrantSpec]) -> tuple[list[RoleGrant], dict[str, str]]:
    errors: dict[str, str] = {}
    rows: list[RoleGrant] = []
    codes = {g.branch_code for g in grants if g.branch_code}
    branches = {
        b.code: b for b in db.session.scalars(sa.select(Branch).where(Branch.code.in_(codes)))
    } if codes else {}
    for g in grants:
        if g.role not in ROLES:
            errors["role"] = _l("Unknown role %(role)s.", role=g.role)
            continue
        if g.role == "shopper" and (g.branch_code or g.region):
            errors["branch"] = _l("The shopper role is not tied to a branch.")
            continue
        if g.role == "admin" and (g.branch_code or g.region):
            # an administrator manages users and roles, which no branch limit could contain
            errors["branch"] = _l("The administrator role covers the whole bank; "
                                  "it cannot be limited to a branch or region.")
            continue
        if g.role in BRANCH_BOUND and not (g.branch_code or g.region):
            errors["branch"] = _l("The %(role)s role needs a branch.", role=g.role)
            continue
        if g.role == "agent" and not g.branch_code:
            errors["branch"] = _l("The %(role)s role needs a branch.", role=g.role)
            continue
        branch = None
        if g.branch_code:
            branch = branches.get(g.branch_code)
            if branch is None:
                errors["branch"] = _l("No branch has the code %(code)s.", code=g.branch_code)
                continue
        rows.append(RoleGrant(role=g.role, branch=branch, region=None if branch else g.region))
    return rows, errors


def create_user(*, email: str, name: str, password: str, grants: list[GrantSpec],
                locale: str | None = None, agent_code: str | None = None, actor=None) -> User:
    email = normalise_email(email)
    errors: dict[str, str] = {}
    if "@" not in email or len(email) > 254:
        errors["email"] = _l("A valid e-mail address is required.")
    elif get_user_by_email(email):
        errors["email"] = _l("A user with this e-mail address already exists.")
    if not (name or "").strip():
        errors["name"] = _l("A name is required.")
    if len(password or "") < current_app.config["PASSWORD_MIN_LENGTH"]:
        errors["password"] = _l("At least %(n)d characters are required.",
                                n=current_app.config["PASSWORD_MIN_LENGTH"])
    rows, grant_errors = _resolve_grants(grants)
    errors.update(grant_errors)
    agent = None
    if agent_code:
        agent = db.session.scalar(sa.select(Agent).where(Agent.code == agent_code))
        if agent is None:
            errors["agent"] = _l("No agent has the code %(code)s.", code=agent_code)
    if errors:
        raise ValidationError(errors)
    user = User(email=email, name=name.strip(), password_hash=hash_password(password),
                locale=locale, agent=agent)
    user.grants = rows
    db.session.add(user)
    db.session.flush()
    audit.record("user_created", actor=actor, subject=email,
                 details={"roles": sorted(user.roles)})
    return user


def _other_active_admins(user: User) -> int:
    return db.session.scalar(
        sa.select(sa.func.count(sa.distinct(User.id)))
        .join(RoleGrant, RoleGrant.user_id == User.id)
        .where(RoleGrant.role == "admin", User.active.is_(True), User.id != user.id)) or 0


def _keeps_an_admin(user: User, *, still_admin: bool, still_active: bool) -> None:
    """Refuse the change that would leave the installation without an active administrator."""
    if user.has_role("admin") and user.active and not (still_admin and still_active) \
            and not _other_active_admins(user):
        raise ValidationError({"role": _l("This is the last active administrator; "
                                          "make someone else an administrator first.")})


def set_grants(user: User, grants: list[GrantSpec], *, actor=None) -> None:
    rows, errors = _resolve_grants(grants)
    if errors:
        raise ValidationError(errors)
    _keeps_an_admin(user, still_admin=any(r.role == "admin" for r in rows), still_active=True)
    before = _describe(user.grants)
    user.grants = rows
    db.session.flush()
    after = _describe(user.grants)
    if before != after:
        audit.record("roles_changed", actor=actor, subject=user.email,
                     details={"from": before, "to": after})


def _describe(grants) -> list[str]:
    out = []
    for g in grants:
        where = g.branch.code if g.branch is not None else (f"region:{g.region}" if g.region else "*")
        out.append(f"{g.role}@{where}")
    return sorted(out)


def update_user(user: User, *, name: str, locale: str | None, active: bool,
                agent_code: str | None = None, actor=None) -> None:
    if not name.strip():
        raise ValidationError({"name": _l("A name is required.")})
    agent = None
    if agent_code:
        agent = db.session.scalar(sa.select(Agent).where(Agent.code == agent_code))
        if agent is None:
            raise ValidationError({"agent_code": _l("No agent has the code %(code)s.",
                                                    code=agent_code)})
        holder = db.session.scalar(sa.select(User).where(User.agent_id == agent.id,
                                                         User.id != user.id))
        if holder is not None:
            raise ValidationError({"agent_code": _l("Another user is linked to this agent.")})
    _keeps_an_admin(user, still_admin=True, still_active=active)
    user.agent = agent
    if user.active != active:
        audit.record("user_activated" if active else "user_deactivated", actor=actor,
                     subject=user.email)
    user.name = name.strip()
    user.locale = locale or None
    user.active = active
    db.session.flush()


def set_password(user: User, password: str, *, actor=None) -> None:
    if len(password or "") < current_app.config["PASSWORD_MIN_LENGTH"]:
        raise ValidationError({"password": _l("At least %(n)d characters are required.", n=current_app.config["PASSWORD_MIN_LENGTH"])})
    user.password_hash = hash_password(password)
    audit.record("password_changed", actor=actor, subject=user.email)
    db.session.flush()


def set_locale(user: User, locale: str) -> None:
    user.locale = locale
    db.session.flush()


def authenticate(email: str, password: str, *, ip: str | None,
                 now: datetime | None = None) -> User:
    """Check a password, throttling by account and by address.

    Every outcome is written to the audit log in the caller's transaction; the caller must
    commit even when this raises, so that failures are counted.
    """
    now = now or now_utc()
    cfg = current_app.config
    email = normalise_email(email)
    window = timedelta(seconds=cfg["LOGIN_FAILURE_WINDOW"])
    user = get_user_by_email(email)
    since = now - window
    if user is not None and user.last_login_at is not None and user.last_login_at > since:
        since = user.last_login_at  # a successful sign-in clears the account's count
    waits = []
    by_account = audit.recent_times("login_failed", subject=email, since=since)
    if len(by_account) >= cfg["LOGIN_MAX_FAILURES"]:
        waits.append(by_account[len(by_account) - cfg["LOGIN_MAX_FAILURES"]] + window - now)
    by_ip = audit.recent_times("login_failed", ip=ip, since=now - window) if ip else []
    if len(by_ip) >= cfg["LOGIN_MAX_FAILURES_PER_IP"]:
        waits.append(by_ip[len(by_ip) - cfg["LOGIN_MAX_FAILURES_PER_IP"]] + window - now)
    if waits:
        audit.record("login_throttled", subject=email, ip=ip, now=now)
        # the lock lifts when enough of the failures have left the window
        raise LoginThrottled(retry_after=max(1, math.ceil(max(waits).total_seconds())))

    if user is None:
        dummy = _DUMMY_HASH.setdefault("h", hash_password("not-a-password"))
        check_password_hash(dummy, password or "")
        ok = False
    else:
        ok = check_password_hash(user.password_hash, password or "") and user.active
    if not ok:
        audit.record("login_failed", subject=email, ip=ip, now=now)
        raise InvalidCredentials()
    user.last_login_at = now
    audit.record("login", actor=user, subject=email, ip=ip, now=now)
    return user


def record_logout(user: User, ip: str | None) -> None:
    audit.record("logout", actor=user, subject=user.email, ip=ip)


def list_users(*, q: str | None = None, role: str | None = None, limit: int = 500) -> list[User]:
    stmt = sa.select(User).order_by(User.email).limit(limit)
    if q:
        like = f"%{q.strip()}%"
        stmt = stmt.where(sa.or_(User.email.ilike(like), User.name.ilike(like)))
    if role:
        stmt = stmt.where(User.grants.any(RoleGrant.role == role))
    return list(db.session.scalars(stmt))


def get_user(user_id: int) -> User | None:
    return db.session.get(User, user_id)


# -- API tokens -----------------------------------------------------------------------------

def create_api_token(*, name: str, role: str, branch_code: str | None = None,
                     region: str | None = None, actor=None) -> tuple[ApiToken, str]:
    """Return the token row and the secret; the secret is shown once and never stored."""
    errors: dict[str, str] = {}
    if not (name or "").strip():
        errors["name"] = _l("A name is required.")
    rows, grant_errors = _resolve_grants([GrantSpec(role, branch_code, region)])
    errors.update(grant_errors)
    if errors:
        raise ValidationError(errors)
    grant = rows[0]
    secret = new_token("qms_")
    token = ApiToken(name=name.strip(), token_hash=hash_token(secret), prefix=secret[:8],
                     role=role, branch=grant.branch, region=grant.region)
    db.session.add(token)
    db.session.flush()
    audit.record("api_token_created", actor=actor, subject=name,
                 details={"role": role, "branch": branch_code, "region": region})
    return token, secret


TOKEN_USE_RESOLUTION = timedelta(hours=1)


def verify_api_token(secret: str, *, now: datetime | None = None) -> ApiToken | None:
    """The live token with this secret, or None. Last use is recorded to the hour, so that
    operators can find unused tokens without a write on every API call."""
    token = db.session.scalar(sa.select(ApiToken).where(ApiToken.token_hash == hash_token(secret)))
    if token is None or token.revoked_at is not None:
        return None
    now = now or now_utc()
    if token.last_used_at is None or now - token.last_used_at >= TOKEN_USE_RESOLUTION:
        # its own short transaction: bookkeeping, not part of the request's unit of work
        with db.engine.begin() as conn:
            conn.execute(sa.update(ApiToken).where(ApiToken.id == token.id)
                         .values(last_used_at=now))
    return token


def revoke_api_token(token: ApiToken, *, actor=None, now: datetime | None = None) -> None:
    token.revoked_at = now or now_utc()
    audit.record("api_token_revoked", actor=actor, subject=token.name)
    db.session.flush()


def list_api_tokens() -> list[ApiToken]:
    return list(db.session.scalars(sa.select(ApiToken).order_by(ApiToken.id.desc())))


def get_api_token(token_id: int) -> ApiToken | None:
    return db.session.get(ApiToken, token_id)

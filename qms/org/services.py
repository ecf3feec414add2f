"""Organisation: branches, agents and customers — search, create, edit, scoped lookups."""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import available_timezones

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from qms.core.permissions import branch_scope
from qms.extensions import db
from qms.org.importer import CODE_RE, EMAIL_RE, PHONE_RE
from qms.org.models import SEGMENTS, Agent, Branch, Customer


class OrgValidationError(Exception):
    def __init__(self, fields: dict[str, str]):
        super().__init__(fields)
        self.fields = fields


@dataclass
class Page:
    items: list
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def _paginate(stmt, page: int, per_page: int) -> Page:
    page = max(1, page)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(stmt.order_by(None).subquery()))
    items = list(db.session.scalars(stmt.limit(per_page).offset((page - 1) * per_page)))
    return Page(items, total or 0, page, per_page)


def _like(q: str) -> str:
    escaped = q.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


# -- branches ---------------------------------------------------------------------------------

def search_branches(principal, *, q: str = "", region: str | None = None, page: int = 1,
                    per_page: int = 50, roles=None) -> Page:
    """`roles`: the grants that open the caller's page; the principal's others do not widen it."""
    stmt = sa.select(Branch).order_by(Branch.code)
    scope = branch_scope(principal, roles)
    if scope is not None:
        stmt = stmt.where(Branch.id.in_(scope))
    if q:
        like = _like(q)
        stmt = stmt.where(sa.or_(Branch.code.ilike(like, escape="\\"),
                                 Branch.name.ilike(like, escape="\\"),
                                 Branch.city.ilike(like, escape="\\")))
    if region:
        stmt = stmt.where(Branch.region == region)
    return _paginate(stmt, page, per_page)


def list_regions(principal=None, *, roles=None) -> list[str]:
    """Regions of the branches the principal may see (all when no principal is given)."""
    stmt = sa.select(Branch.region).distinct().order_by(Branch.region)
    scope = branch_scope(principal, roles) if principal is not None else None
    if scope is not None:
        stmt = stmt.where(Branch.id.in_(scope))
    return list(db.session.scalars(stmt))


def get_branch_by_code(code: str) -> Branch | None:
    return db.session.scalar(sa.select(Branch).where(Branch.code == code))


def _check_branch(data: dict, current: Branch | None) -> dict[str, str]:
    errors = {}
    code = (data.get("code") or "").strip()
    if not code or not CODE_RE.match(code):
        errors["code"] = _l("Use letters, digits, '-', '_' or '.' only.")
    else:
        other = get_branch_by_code(code)
        if other is not None and other is not current:
            errors["code"] = _l("Another branch has this code.")
    for name in ("name", "region", "city"):
        if not (data.get(name) or "").strip():
            errors[name] = _l("A value is required.")
    if data.get("timezone") not in available_timezones():
        errors["timezone"] = _l("Unknown time zone %(tz)s.", tz=data.get("timezone"))
    return errors


def save_branch(data: dict, branch: Branch | None = None) -> Branch:
    errors = _check_branch(data, branch)
    if errors:
        raise OrgValidationError(errors)
    branch = branch or Branch()
    for name in ("code", "name", "region", "city", "timezone"):
        setattr(branch, name, data[name].strip())
    branch.active = bool(data.get("active", True))
    db.session.add(branch)
    db.session.flush()
    return branch


# -- agents -----------------------------------------------------------------------------------

def search_agents(principal, *, q: str = "", branch_id: int | None = None, page: int = 1,
                  per_page: int = 50, roles=None) -> Page:
    stmt = sa.select(Agent).join(Agent.branch).order_by(Branch.code, Agent.code)
    scope = branch_scope(principal, roles)
    if scope is not None:
        stmt = stmt.where(Agent.branch_id.in_(scope))
    if q:
        like = _like(q)
        stmt = stmt.where(sa.or_(Agent.code.ilike(like, escape="\\"),
                                 Agent.name.ilike(like, escape="\\"),
                                 Agent.team.ilike(like, escape="\\")))
    if branch_id:
        stmt = stmt.where(Agent.branch_id == branch_id)
    return _paginate(stmt, page, per_page)


def save_agent(data: dict, agent: Agent | None = None, *, principal=None, roles=None) -> Agent:
    errors = {}
    code = (data.get("code") or "").strip()
    if not code or not CODE_RE.match(code):
        errors["code"] = _l("Use letters, digits, '-', '_' or '.' only.")
    else:
        other = db.session.scalar(sa.select(Agent).where(Agent.code == code))
        if other is not None and other is not agent:
            errors["code"] = _l("Another agent has this code.")
    if not (data.get("name") or "").strip():
        errors["name"] = _l("A value is required.")
    branch = get_branch_by_code((data.get("branch_code") or "").strip())
    scope = branch_scope(principal, roles) if principal is not None else None
    if branch is None or (scope is not None and branch.id not in scope):
        errors["branch_code"] = _l("No branch has the code %(code)s.", code=data.get("branch_code"))
    if errors:
        raise OrgValidationError(errors)
    agent = agent or Agent()
    agent.code = code
    agent.name = data["name"].strip()
    agent.branch = branch
    agent.team = (data.get("team") or "").strip() or None
    agent.active = bool(data.get("active", True))
    db.session.add(agent)
    db.session.flush()
    return agent


# -- customers --------------------------------------------------------------------------------

def search_customers(principal, *, q: str = "", segment: str | None = None, page: int = 1,
                     per_page: int = 50, roles=None) -> Page:
    stmt = sa.select(Customer).order_by(Customer.ref)
    scope = branch_scope(principal, roles)
    if scope is not None:
        stmt = stmt.where(Customer.home_branch_id.in_(scope))
    if q:
        like = _like(q)
        stmt = stmt.where(sa.or_(Customer.ref.ilike(like, escape="\\"),
                                 Customer.name.ilike(like, escape="\\"),
                                 Customer.email.ilike(like, escape="\\"),
                                 Customer.phone.ilike(like, escape="\\")))
    if segment:
        stmt = stmt.where(Customer.segment == segment)
    return _paginate(stmt, page, per_page)


def save_customer(data: dict, customer: Customer | None = None) -> Customer:
    errors = {}
    ref = (data.get("ref") or "").strip()
    if not ref or not CODE_RE.match(ref):
        errors["ref"] = _l("Use letters, digits, '-', '_' or '.' only.")
    else:
        other = db.session.scalar(sa.select(Customer).where(Customer.ref == ref))
        if other is not None and other is not customer:
            errors["ref"] = _l("Another customer has this reference.")
    if not (data.get("name") or "").strip():
        errors["name"] = _l("A value is required.")
    email = (data.get("email") or "").strip().lower() or None
    if email and not EMAIL_RE.match(email):
        errors["email"] = _l("Not an e-mail address.")
    phone = (data.get("phone") or "").strip() or None
    if phone and not PHONE_RE.match(phone):
        errors["phone"] = _l("Not a phone number.")
    if data.get("segment") not in SEGMENTS:
        errors["segment"] = _l("Use one of: %(values)s.", values=", ".join(SEGMENTS))
    branch = None
    if (data.get("home_branch_code") or "").strip():
        branch = get_branch_by_code(data["home_branch_code"].strip())
        if branch is None:
            errors["home_branch_code"] = _l("No branch has the code %(code)s.",
                                            code=data["home_branch_code"])
    if errors:
        raise OrgValidationError(errors)
    customer = customer or Customer()
    customer.ref = ref
    customer.name = data["name"].strip()
    customer.email = email
    customer.phone = phone
    customer.segment = data["segment"]
    customer.locale = data.get("locale") or "zh_Hans"
    customer.home_branch = branch
    db.session.add(customer)
    db.session.flush()
    return customer


def count_all() -> dict[str, int]:
    return {
        "branches": db.session.scalar(sa.select(sa.func.count(Branch.id))) or 0,
        "agents": db.session.scalar(sa.select(sa.func.count(Agent.id))) or 0,
        "customers": db.session.scalar(sa.select(sa.func.count(Customer.id))) or 0,
    }

"""What each role sees in the navigation and on the home page: one list, filtered by role."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l


@dataclass(frozen=True)
class NavItem:
    endpoint: str
    label: object
    roles: frozenset[str]
    hint: object = ""


NAV: list[NavItem] = [
    NavItem("org.branches", _l("Branches"),
            frozenset({"admin", "qa", "auditor", "complaints", "branch_head"}),
            _l("Branches, their agents and regions")),
    NavItem("org.agents", _l("Agents"),
            frozenset({"admin", "qa", "auditor", "complaints", "branch_head"}),
            _l("Front-line staff by branch and team")),
    NavItem("org.customers", _l("Customers"), frozenset({"admin", "complaints", "qa"}),
            _l("Customer records, segments and opt-outs")),
    NavItem("auth.users", _l("Users"), frozenset({"admin"}), _l("Accounts and roles")),
    NavItem("auth.api_tokens", _l("API tokens"), frozenset({"admin"}),
            _l("Tokens for core-banking and call-centre systems")),
    NavItem("auth.audit_log", _l("Audit log"), frozenset({"admin"}),
            _l("Sign-ins, role changes and exports")),
]


def work_for(roles: set[str]) -> list[NavItem]:
    return [item for item in NAV if item.roles & roles]

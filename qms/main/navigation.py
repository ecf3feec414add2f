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
    NavItem("surveys.index", _l("Surveys"), frozenset({"admin", "qa"}),
            _l("Design surveys and publish versions")),
    NavItem("surveys.campaigns", _l("Campaigns"), frozenset({"admin", "qa"}),
            _l("Send surveys by e-mail, counter QR codes and the API")),
    NavItem("surveys.results", _l("Survey results"), frozenset({"admin", "qa", "branch_head"}),
            _l("CSAT, NPS and CES by branch, agent and month")),
    NavItem("surveys.follow_ups", _l("Follow-ups"), frozenset({"admin", "qa", "branch_head"}),
            _l("Detractors and unhappy customers to call back")),
    NavItem("complaints.queue", _l("Complaints"),
            frozenset({"admin", "complaints", "branch_head", "qa", "auditor"}),
            _l("Intake to closure against regulatory deadlines")),
    NavItem("complaints.reports", _l("Complaint reports"),
            frozenset({"admin", "complaints", "qa", "auditor", "branch_head"}),
            _l("Volumes, upheld rate, timeliness and root causes")),
    NavItem("qa.queue", _l("QA evaluations"),
            frozenset({"admin", "qa", "branch_head", "agent"}),
            _l("Score interactions against rubrics; disputes and calibration")),
    NavItem("qa.interactions", _l("Interactions"), frozenset({"admin", "qa", "branch_head"}),
            _l("Calls, branch visits and chats to score")),
    NavItem("qa.rubrics", _l("Rubrics"), frozenset({"admin", "qa"}),
            _l("Weighted scoring forms with versions")),
    NavItem("qa.reports", _l("QA reports"), frozenset({"admin", "qa", "branch_head", "agent"}),
            _l("Scores, auto-fails, most-missed criteria and disputes")),
    NavItem("qa.calibration_list", _l("Calibration"), frozenset({"admin", "qa"}),
            _l("Blind scoring sessions, alignment and Krippendorff's alpha")),
    NavItem("mystery.planning_index", _l("Mystery shopping: planning"),
            frozenset({"admin", "qa"}),
            _l("Programmes, waves and shopper assignments")),
    NavItem("mystery.results", _l("Mystery shopping results"),
            frozenset({"admin", "qa", "branch_head", "auditor"}),
            _l("Approved reports by branch, scenario, section and item")),
    NavItem("mystery.shopper_assignments", _l("My assignments"), frozenset({"shopper"}),
            _l("Visits and calls to make, reports to fill and correct")),
    NavItem("mystery.review_queue", _l("Mystery shop review"), frozenset({"admin", "qa"}),
            _l("Approve, return or reject shoppers' reports")),
    NavItem("audits.audit_list_page", _l("Audits"),
            frozenset({"admin", "qa", "auditor", "branch_head"}),
            _l("Planned, running and submitted audits by state")),
    NavItem("audits.calendar", _l("Audit calendar"),
            frozenset({"admin", "qa", "auditor", "branch_head"}),
            _l("Audits by planned and due date")),
    NavItem("audits.programmes", _l("Audit programmes"), frozenset({"admin", "qa", "auditor"}),
            _l("Which branches are audited how often, by whom")),
    NavItem("audits.templates", _l("Audit checklists"), frozenset({"admin", "qa", "auditor"}),
            _l("Checklist templates with versions")),
    NavItem("audits.findings", _l("Audit findings"),
            frozenset({"admin", "qa", "auditor", "branch_head"}),
            _l("Findings and corrective actions, checked for effectiveness")),
    NavItem("audits.overdue", _l("Overdue actions"),
            frozenset({"admin", "qa", "auditor", "branch_head"}),
            _l("Corrective actions past their due date, by escalation level")),
    NavItem("audits.reports", _l("Audit reports"),
            frozenset({"admin", "qa", "auditor", "branch_head"}),
            _l("Audit scores, findings by severity and on-time closure")),
    NavItem("scorecards.index", _l("Scorecards"),
            frozenset({"admin", "qa", "auditor", "branch_head", "agent"}),
            _l("Branch and agent scorecards: KPIs, trends, ranks and PDFs")),
    NavItem("scorecards.models", _l("Scorecard models"), frozenset({"admin", "qa", "auditor"}),
            _l("KPIs, targets, thresholds and AHP weights")),
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
    NavItem("main.jobs", _l("Scheduled jobs"), frozenset({"admin"}),
            _l("Runs, failures and next run of the periodic sweeps")),
]


def work_for(roles: set[str]) -> list[NavItem]:
    from flask import current_app

    return [item for item in NAV
            if item.roles & roles and item.endpoint in current_app.view_functions]

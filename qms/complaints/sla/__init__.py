"""Complaint SLA engine: policies as data, due dates by jurisdiction, pauses and escalation."""

from qms.complaints.sla.clock import (
    add_months,
    deadlines,
    due_date,
    elapsed_fraction,
    end_of_day,
    get_policy,
    pause_days,
)
from qms.complaints.sla.policy import (
    BUSINESS_DAYS,
    CALENDAR_DAYS,
    DEADLINE,
    DECISION,
    KINDS,
    MONTHS,
    RECEIPT,
    RETENTION,
    REVIEW_APPLICATION,
    STARTS,
    UNITS,
    WEEKS,
    WINDOW,
    Milestone,
    PauseRule,
    Policy,
    extension_tiers,
)
from qms.complaints.sla.presets import PRESETS
from qms.complaints.sla.serialize import (
    PolicyError,
    policy_from_dict,
    policy_to_dict,
    validate_policy_dict,
)
from qms.complaints.sla.workdays import is_working_day

__all__ = [
    "BUSINESS_DAYS", "CALENDAR_DAYS", "DEADLINE", "DECISION", "KINDS", "MONTHS", "PRESETS",
    "RECEIPT", "RETENTION", "REVIEW_APPLICATION", "STARTS", "UNITS", "WEEKS", "WINDOW",
    "Milestone", "PauseRule", "Policy", "PolicyError", "add_months", "deadlines", "due_date",
    "elapsed_fraction", "end_of_day", "extension_tiers", "get_policy", "is_working_day",
    "pause_days", "policy_from_dict", "policy_to_dict", "validate_policy_dict",
]

"""The complaint workflow: every move checked against the state machine, four-eyes approvals,
deadlines, letters to the customer, and an event in the hash-chained history for each change.

Services take the complaint, the acting user and `now=`; they flush, never commit, and refuse
with WorkflowError (IllegalMove, also an IllegalTransition, for a move the table forbids).
"""

from qms.complaints.workflow.aftercare import (
    REFERRAL_LABELS,
    close,
    merge,
    record_redress_paid,
    redress_owed,
    refer_external,
    reopen,
    reopen_window_end,
    request_review,
    review_decision,
    review_window_end,
    same_complainant,
    start_redress,
    start_review,
    withdraw,
)
from qms.complaints.workflow.available import available_actions, customer_progress
from qms.complaints.workflow.core import (
    ACTION_LABELS,
    GUARDS,
    OUTCOMES,
    REFERRAL_BODIES,
    SETTINGS,
    IllegalMove,
    WorkflowError,
    action_label,
    clock_start,
    compute_due,
    decision_needs_approval,
    policy_for,
    refresh_deadline,
    setting,
    transition,
    zone_of,
)
from qms.complaints.workflow.decisions import (
    check_approver,
    decide_approval,
    draft_decision,
    issue_decision,
    pending_approval,
    request_extension,
    request_not_accepted,
    return_to_investigation,
    send_holding_response,
    submit_for_approval,
    summary_resolve,
)
from qms.complaints.workflow.handling import (
    PRIORITIES,
    SEVERITIES,
    acknowledge,
    assign,
    declare_no_conflict,
    eligible_handlers,
    info_received,
    next_tier,
    pause_external,
    request_info,
    restart_clock,
    resume,
    start_investigation,
    take_ownership,
    triage,
)

__all__ = [
    "ACTION_LABELS", "GUARDS", "OUTCOMES", "PRIORITIES", "REFERRAL_BODIES", "REFERRAL_LABELS",
    "SETTINGS", "SEVERITIES", "IllegalMove", "WorkflowError", "acknowledge", "action_label",
    "assign", "available_actions", "check_approver", "clock_start", "close", "compute_due",
    "customer_progress", "decide_approval", "decision_needs_approval", "declare_no_conflict",
    "draft_decision", "eligible_handlers", "info_received", "issue_decision", "merge",
    "next_tier", "pause_external", "pending_approval", "policy_for", "record_redress_paid",
    "redress_owed", "refer_external", "refresh_deadline", "reopen", "reopen_window_end",
    "request_extension", "request_info", "request_not_accepted", "request_review", "restart_clock",
    "resume", "return_to_investigation", "review_decision", "review_window_end",
    "same_complainant", "send_holding_response", "setting", "start_investigation",
    "start_redress", "start_review", "submit_for_approval", "summary_resolve", "take_ownership",
    "transition", "triage", "withdraw", "zone_of",
]

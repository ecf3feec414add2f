"""SLA policy as data: milestones, pause rules and the calendar a policy counts with."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

# How a milestone's count is measured. Business days use the policy's holiday calendar.
CALENDAR_DAYS = "calendar_days"
BUSINESS_DAYS = "business_days"
WEEKS = "weeks"
MONTHS = "months"
UNITS = (CALENDAR_DAYS, BUSINESS_DAYS, WEEKS, MONTHS)

# What a milestone counts from, and the due_date() argument that carries that moment.
RECEIPT = "receipt"                        # received_at (or restarted_at after new facts)
DECISION = "decision"                      # decided_at: the decision reached the customer
REVIEW_APPLICATION = "review_application"  # applied_at: the customer applied for a review
STARTS = (RECEIPT, DECISION, REVIEW_APPLICATION)

# deadline: the institution must act by then (escalated at 50/80/100 %);
# window: the customer's right runs until then; retention: keep the records until then.
DEADLINE = "deadline"
WINDOW = "window"
RETENTION = "retention"
KINDS = (DEADLINE, WINDOW, RETENTION)


@dataclass(frozen=True)
class Milestone:
    """One time limit of a policy; its name is its key in `Policy.milestones`."""

    count: int
    unit: str
    start: str = RECEIPT
    # Whether a due date on a non-working day moves to the next working day.
    roll_forward: bool = False
    kind: str = DEADLINE
    # The milestone this one extends (final_extended extends final); the count stays measured
    # from the same start, so CN final_max is 60 days from receipt, not 60 more.
    extends: str | None = None
    approver_role: str | None = None   # who must approve moving to this tier
    notify_customer: bool = False      # the customer must be told (extension, holding reply)
    statutory: bool = True             # False: a house standard, not a regulatory limit
    basis: str = ""                    # where the rule comes from, for people reading it


@dataclass(frozen=True)
class PauseRule:
    """A reason for which the clock may stop, e.g. external appraisal in China."""

    notice_required: bool = True
    basis: str = ""


@dataclass(frozen=True)
class Policy:
    code: str
    name: str
    country: str                       # holidays library country code: CN, GB, US
    subdiv: str | None                 # e.g. ENG for England's bank holidays
    timezone: str                      # default zone; a branch may have its own
    milestones: Mapping[str, Milestone]
    pauses: Mapping[str, PauseRule] = field(default_factory=dict)
    restart_on_new_facts: bool = False
    basis: str = ""

    def milestone(self, name: str) -> Milestone:
        try:
            return self.milestones[name]
        except KeyError:
            raise ValueError(f"policy {self.code} has no milestone {name!r}") from None


def extension_tiers(policy: Policy, base: str = "final") -> tuple[str, ...]:
    """The base milestone and its extensions in order: ('final', 'final_extended', 'final_max').

    Index i is the milestone in force at extension level i.
    """
    policy.milestone(base)  # unknown base -> ValueError
    tiers = [base]
    while True:
        following = [name for name, m in policy.milestones.items() if m.extends == tiers[-1]]
        if not following or following[0] in tiers:
            return tuple(tiers)
        tiers.append(following[0])

"""Sampling: rules that draw N random interactions per agent per week or month into QA queues,
seeded and reproducible, assigned with balanced load; an unusable item is replaced with a
reason. periods: the bank's weeks and months; queues: the draw, the builder (the nightly
`qa-queues` job) and replacement; rules: the rules themselves."""

from qms.qa.sampling.periods import (
    PERIODS,
    Period,
    parse_period,
    period_containing,
    previous_period,
    zone,
)
from qms.qa.sampling.queues import (
    OPEN,
    SamplingError,
    build_period,
    build_queues,
    candidates,
    current_version,
    draw_order,
    reassign_item,
    replace_item,
)
from qms.qa.sampling.rules import (
    branch_choices,
    evaluator_choices,
    list_rules,
    rubric_choices,
    rule_counts,
    rule_in_scope,
    save_rule,
)

__all__ = [
    "OPEN", "PERIODS", "Period", "SamplingError", "branch_choices", "build_period",
    "build_queues", "candidates", "current_version", "draw_order", "evaluator_choices",
    "list_rules", "parse_period", "period_containing", "previous_period", "reassign_item",
    "replace_item", "rubric_choices", "rule_counts", "rule_in_scope", "save_rule", "zone",
]

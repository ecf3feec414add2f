"""Display conditions, driven by condition_cases.json — the same file checks static/survey.js
under node, so the server and the browser agree case by case."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qms.surveys import conditions

CASES_FILE = Path(__file__).with_name("condition_cases.json")
CASES = json.loads(CASES_FILE.read_text(encoding="utf-8"))


def test_case_file_is_well_formed():
    assert len(CASES) >= 50
    names = [c["name"] for c in CASES]
    assert len(names) == len(set(names)), "case names are unique, so a failure is findable"
    for c in CASES:
        assert set(c) == {"name", "condition", "answers", "expected"}, c["name"]
        assert isinstance(c["expected"], bool) and isinstance(c["answers"], dict)
        assert conditions.check(c["condition"], "condition") == [], c["name"]
    # both outcomes for every operator and group, so no operator passes by always saying one
    for op in conditions.OPS:
        outcomes = {c["expected"] for c in CASES
                    if isinstance(c["condition"], dict) and c["condition"].get("op") == op}
        assert outcomes == {True, False}, op
    for group in ("all", "any"):
        outcomes = {c["expected"] for c in CASES
                    if isinstance(c["condition"], dict) and group in c["condition"]}
        assert outcomes == {True, False}, group


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_condition_case(case):
    assert conditions.evaluate(case["condition"], case["answers"]) is case["expected"]


def test_parsed_dates_compare_like_their_iso_text():
    """The server holds a date object where the browser holds 'YYYY-MM-DD'."""
    from datetime import date

    cond = {"q": "d", "op": "equals", "value": "2024-05-01"}
    assert conditions.evaluate(cond, {"d": date(2024, 5, 1)})
    assert not conditions.evaluate(cond, {"d": date(2024, 5, 2)})


def test_referenced_keys():
    cond = {"any": [{"all": [{"q": "a", "op": "equals", "value": 1},
                             {"q": "b", "op": "at_most", "value": 2}]},
                    {"q": "c", "op": "in", "value": ["x"]}]}
    assert conditions.referenced(cond) == {"a", "b", "c"}
    assert conditions.referenced(None) == set()


@pytest.mark.parametrize("cond, message", [
    ("nps<=6", "a condition is an object"),
    ({"all": []}, "non-empty list"),
    ({"all": [{"q": "a", "op": "equals", "value": 1}], "any": []}, "non-empty list"),
    ({"any": "x"}, "non-empty list"),
    ({"q": "a", "op": "equals"}, "has q, op and value"),
    ({"q": "a", "op": "equals", "value": 1, "extra": 1}, "has q, op and value"),
    ({"q": "a", "op": "lt", "value": 1}, "op must be one of"),
    ({"q": "a", "op": "in", "value": "x"}, "'in' takes a list"),
    ({"q": "a", "op": "at_most", "value": "six"}, "takes a number"),
])
def test_malformed_conditions_are_reported_with_their_path(cond, message):
    problems = conditions.check(cond, "sections[0].condition")
    assert len(problems) == 1 and message in problems[0]
    assert problems[0].startswith("sections[0].condition")


def test_problems_inside_groups_name_the_member():
    cond = {"all": [{"q": "a", "op": "equals", "value": 1},
                    {"any": [{"q": "b", "op": "bogus", "value": 1}]}]}
    assert conditions.check(cond, "c") == ["c.all[1].any[0]: op must be one of "
                                           "equals, in, at_most, at_least"]

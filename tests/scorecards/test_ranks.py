"""Competition ranks with ties, the 0-100 normalisation, RAG and the overall score (pure)."""

from __future__ import annotations

import pytest

from qms.scorecards.normalise import (
    check_thresholds,
    competition_ranks,
    normalise,
    overall,
    rag,
)


def test_ties_share_a_rank_and_skip_the_next():
    ranks = competition_ranks({"A": 90.0, "B": 85.5, "C": 85.5, "D": 70.0, "E": None})
    assert ranks == {"A": 1, "B": 2, "C": 2, "D": 4, "E": None}


def test_all_tied_and_nothing_to_rank():
    assert competition_ranks({1: 50.0, 2: 50.0, 3: 50.0}) == {1: 1, 2: 1, 3: 1}
    assert competition_ranks({1: None, 2: None}) == {1: None, 2: None}
    assert competition_ranks({}) == {}


def test_ranks_follow_the_score_not_the_key_order():
    ranks = competition_ranks({"Z": 10.0, "A": 99.0, "M": 99.0, "B": 50.0})
    assert ranks == {"A": 1, "M": 1, "B": 3, "Z": 4}


@pytest.mark.parametrize("value, target, direction, want", [
    (90, 90, "higher", 100.0), (95, 90, "higher", 100.0), (45, 90, "higher", 50.0),
    (-20, 40, "higher", 0.0), (0, 40, "higher", 0.0),
    (1, 2, "lower", 100.0), (4, 2, "lower", 50.0), (2, 2, "lower", 100.0),
    (0, 0, "lower", 100.0), (1, 0, "lower", 50.0), (3, 0, "lower", 25.0),
    (None, 90, "higher", None),
])
def test_normalise(value, target, direction, want):
    assert normalise(value, target, direction) == want


def test_normalise_refuses_meaningless_targets():
    with pytest.raises(ValueError):
        normalise(50, 0, "higher")
    with pytest.raises(ValueError):
        normalise(1, -1, "lower")
    assert check_thresholds("higher", 90, 90, 80) == []
    assert check_thresholds("higher", 90, 80, 90) == ["amber"]
    assert check_thresholds("lower", 2, 5, 2) == ["amber"]
    assert check_thresholds("higher", 0, 0, 0) == ["target"]


@pytest.mark.parametrize("value, direction, want", [
    (90, "higher", "green"), (85, "higher", "amber"), (79.9, "higher", "red"),
    (2, "lower", "green"), (4, "lower", "amber"), (5.1, "lower", "red"), (None, "higher", "none"),
])
def test_rag(value, direction, want):
    green, amber = (90, 80) if direction == "higher" else (2, 5)
    assert rag(value, green, amber, direction) == want


def test_overall_renormalises_weights_over_the_scores_present():
    assert overall([(100, 50), (50, 50)]) == 75.0
    assert overall([(100, 50), (None, 50)]) == 100.0  # insufficient KPI left out
    assert overall([(80, 1), (40, 3)]) == 50.0
    assert overall([(80, 0), (None, 3)]) is None
    assert overall([]) is None

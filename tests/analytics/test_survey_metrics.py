"""Survey metrics against hand-computed and published examples, and the minimum-sample rule."""

from __future__ import annotations

import pytest

from qms.analytics import survey_metrics as sm


@pytest.mark.parametrize("promoters, passives, detractors, expected", [
    (4, 3, 3, 10.0),          # 40 % - 30 %
    (70, 20, 10, 60.0),       # Reichheld's illustration: 70 % promoters, 10 % detractors
    (0, 10, 0, 0.0),          # passives only: NPS 0, not undefined
    (10, 0, 0, 100.0),
    (0, 0, 10, -100.0),
    (2, 0, 3, -20.0),
    (1, 1, 1, 0.0),
])
def test_nps(promoters, passives, detractors, expected):
    m = sm.nps(promoters, passives, detractors, min_sample=1)
    assert m.value == pytest.approx(expected)
    assert m.n == promoters + passives + detractors
    assert m.status == sm.OK


def test_passives_count_in_the_denominator_only():
    # 5 promoters, 5 detractors: 0 with or without passives; 6 vs 2 with 12 passives
    assert sm.nps(6, 12, 2, min_sample=1).value == pytest.approx(20.0)
    assert sm.nps(6, 0, 2, min_sample=1).value == pytest.approx(50.0)


@pytest.mark.parametrize("satisfied, total, expected", [
    (5, 10, 50.0), (3, 4, 75.0), (0, 12, 0.0), (12, 12, 100.0), (2, 3, 200 / 3)])
def test_csat_percent(satisfied, total, expected):
    assert sm.csat_percent(satisfied, total, min_sample=1).value == pytest.approx(expected)


@pytest.mark.parametrize("total, n, expected", [(44, 10, 4.4), (7, 1, 7.0), (20, 5, 4.0)])
def test_ces_mean(total, n, expected):
    assert sm.ces_mean(total, n, min_sample=1).value == pytest.approx(expected)


@pytest.mark.parametrize("completed, delivered, expected", [
    (7, 16, 43.75), (0, 10, 0.0), (10, 10, 100.0)])
def test_response_rate(completed, delivered, expected):
    assert sm.response_rate(completed, delivered, min_sample=1).value == pytest.approx(expected)


def test_below_the_minimum_sample_there_is_no_number():
    m = sm.nps(5, 2, 2, min_sample=10)  # n = 9
    assert m.value is None and m.n == 9
    assert m.status == sm.INSUFFICIENT == "insufficient"
    assert not m.sufficient
    assert m.as_dict() == {"value": None, "n": 9, "status": "insufficient"}
    at = sm.nps(5, 3, 2, min_sample=10)  # n = 10: exactly the minimum is enough
    assert at.sufficient and at.value == pytest.approx(30.0)
    for metric in (sm.csat_percent(3, 9), sm.ces_mean(40, 9), sm.response_rate(3, 9)):
        assert metric.value is None and metric.status == sm.INSUFFICIENT
    assert sm.DEFAULT_MIN_SAMPLE == 10


def test_no_data_is_not_insufficient_data():
    for metric in (sm.nps(0, 0, 0), sm.csat_percent(0, 0), sm.ces_mean(0, 0),
                   sm.response_rate(0, 0), sm.nps(0, 0, 0, min_sample=1)):
        assert metric.value is None and metric.n == 0 and metric.status == sm.NO_DATA


@pytest.mark.parametrize("call", [
    lambda: sm.nps(-1, 0, 0), lambda: sm.csat_percent(3, 2), lambda: sm.response_rate(5, 4),
    lambda: sm.ces_mean(1, -1), lambda: sm.nps(1, 1, 1, min_sample=0)])
def test_impossible_counts_are_refused(call):
    with pytest.raises(ValueError):
        call()


@pytest.mark.parametrize("score, group", [(0, "detractor"), (6, "detractor"), (7, "passive"),
                                          (8, "passive"), (9, "promoter"), (10, "promoter")])
def test_nps_groups(score, group):
    assert sm.nps_group(score) == group


def test_pure_module_imports_neither_flask_nor_the_database():
    import ast
    import inspect

    tree = ast.parse(inspect.getsource(sm))
    names = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import | ast.ImportFrom)
             for alias in node.names} | {node.module for node in ast.walk(tree)
                                         if isinstance(node, ast.ImportFrom) and node.module}
    assert not any(n.startswith(("flask", "sqlalchemy", "qms.extensions")) for n in names)

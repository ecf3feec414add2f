"""AHP on published examples, the consistency ratio, validation and the CR >= 0.10 refusal."""

from __future__ import annotations

import pytest

from qms.analytics.ahp import (
    RANDOM_INDEX,
    AhpError,
    ahp_priorities,
    closest_scale_value,
    from_upper,
    most_inconsistent,
)

# Saaty, T. L. (2008), "Decision making with the analytic hierarchy process", International
# Journal of Services Sciences 1(1), 83-98: "Which drink is consumed more in the US?" — the
# published derived priorities are coffee .177, wine .019, tea .042, beer .116, sodas .190,
# milk .129, water .327 (actual consumption .180 .010 .040 .120 .180 .140 .330).
DRINKS = [
    [1, 9, 5, 2, 1, 1, 1 / 2],
    [1 / 9, 1, 1 / 3, 1 / 9, 1 / 9, 1 / 9, 1 / 9],
    [1 / 5, 3, 1, 1 / 3, 1 / 4, 1 / 3, 1 / 9],
    [1 / 2, 9, 3, 1, 1 / 2, 1, 1 / 3],
    [1, 9, 4, 2, 1, 2, 1 / 2],
    [1, 9, 3, 1, 1 / 2, 1, 1 / 3],
    [2, 9, 9, 3, 2, 3, 1],
]
DRINK_WEIGHTS = [0.177, 0.019, 0.042, 0.116, 0.190, 0.129, 0.327]

# Saaty, T. L. (1977), "A scaling method for priorities in hierarchical structures", Journal
# of Mathematical Psychology 15, 234-281, and The Analytic Hierarchy Process (1980), ch. 2:
# relative brightness of four chairs seen from a light source. Published: eigenvector
# (0.61, 0.24, 0.10, 0.05), lambda_max = 4.39 — so CI = 0.13 and, with RI(4) = 0.90,
# CR = 0.14: above the 0.10 limit.
LIGHT = [
    [1, 5, 6, 7],
    [1 / 5, 1, 4, 6],
    [1 / 6, 1 / 4, 1, 4],
    [1 / 7, 1 / 6, 1 / 4, 1],
]


def test_saaty_drinks_example_weights_and_consistency():
    r = ahp_priorities(DRINKS)
    assert [round(w, 3) for w in r.weights] == pytest.approx(DRINK_WEIGHTS, abs=0.001)
    assert sum(r.weights) == pytest.approx(1.0)
    assert r.ri == RANDOM_INDEX[7] == 1.32
    assert r.ci == pytest.approx((r.lambda_max - 7) / 6)
    assert r.cr == pytest.approx(r.ci / 1.32)
    assert r.cr < 0.10 and r.consistent


def test_saaty_light_example_is_refused_with_cr_above_the_limit():
    r = ahp_priorities(LIGHT)
    assert [round(w, 2) for w in r.weights] == [0.62, 0.24, 0.10, 0.05]
    assert round(r.lambda_max, 2) == 4.39
    assert round(r.ci, 2) == 0.13 and round(r.cr, 2) == 0.14
    assert not r.consistent
    worst = most_inconsistent(LIGHT, r.weights, k=3)
    assert len(worst) == 3
    assert worst[0].deviation >= worst[1].deviation >= worst[2].deviation > 1
    # chair 1 vs chair 4 was judged 7, but the weights imply about 13.7: the worst judgement
    assert (worst[0].i, worst[0].j) == (0, 3) and worst[0].given == 7
    assert worst[0].implied == pytest.approx(r.weights[0] / r.weights[3])


def test_a_consistent_matrix_recovers_its_weights_with_cr_zero():
    w = [0.5, 0.3, 0.2]
    m = [[wi / wj for wj in w] for wi in w]
    r = ahp_priorities(m)
    assert r.weights == pytest.approx(w)
    assert r.lambda_max == pytest.approx(3.0)
    assert r.cr == pytest.approx(0.0, abs=1e-9)
    assert all(j.deviation == pytest.approx(1.0) for j in most_inconsistent(m, r.weights))


@pytest.mark.parametrize("m, weights", [
    ([[1]], [1.0]),
    ([[1, 3], [1 / 3, 1]], [0.75, 0.25]),
])
def test_one_or_two_criteria_are_always_consistent(m, weights):
    r = ahp_priorities(m)
    assert r.weights == pytest.approx(weights)
    assert r.cr == 0.0 and r.ci == 0.0 and r.consistent


@pytest.mark.parametrize("m, message", [
    ([[1, 2], [2, 1]], "reciprocal"),
    ([[1, -2], [-0.5, 1]], "positive"),
    ([[2, 2], [0.5, 1]], "diagonal"),
    ([[1, 2, 3], [0.5, 1, 2]], "square"),
    ([], "square"),
    ([["a", 1], [1, 1]], "numbers"),
])
def test_invalid_matrices_are_refused(m, message):
    with pytest.raises(AhpError) as exc:
        ahp_priorities(m)
    assert message in str(exc.value)


def test_upper_triangle_builds_the_reciprocals_and_checks_values():
    m = from_upper({(0, 1): 3.0, (0, 2): 5.0, (1, 2): 2.0}, 3)
    assert m[1][0] == pytest.approx(1 / 3) and m[2][0] == pytest.approx(0.2)
    assert m[2][1] == pytest.approx(0.5) and m[1][1] == 1.0
    with pytest.raises(AhpError):
        from_upper({(1, 0): 3.0}, 3)
    with pytest.raises(AhpError):
        from_upper({(0, 1): 0.0}, 2)


def test_closest_scale_value_suggests_a_saaty_judgement():
    assert closest_scale_value(13.7) == 9.0
    assert closest_scale_value(2.6) == 3.0
    assert closest_scale_value(0.3) == pytest.approx(1 / 3)

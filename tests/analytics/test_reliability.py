"""Krippendorff's alpha against published worked examples and an independent implementation;
per-grader alignment against hand-computed tables."""

from __future__ import annotations

import math
import random

import pytest

from qms.analytics import reliability as rel

LEVELS = ["nominal", "ordinal", "interval", "ratio"]

# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", section E: four observers,
# twelve units, missing data. Rows are observers A-D, columns units 1-12.
PAPER = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
    [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
]

# Krippendorff (2011), section A: binary data, two observers, no missing data.
BINARY = [[0, 1, 0, 0, 0, 0, 0, 0, 1, 0],
          [1, 1, 1, 0, 0, 1, 0, 0, 0, 0]]

# Krippendorff (2011), section B: nominal data, two observers, no missing data.
LETTERS = [list("aabbdcccedda"),
           list("babbbccceddd")]

# The three-coder, fifteen-unit example of the Wikipedia article and of the `krippendorff`
# package's documentation (0.691 nominal, 0.811 interval).
WIKIPEDIA = [
    [None, None, None, None, None, 3, 4, 1, 2, 1, 1, 3, 3, None, 3],
    [1, None, 2, 1, 3, 3, 4, 3, None, None, None, None, None, None, None],
    [None, None, 2, 1, 3, 4, 4, None, 2, 1, 1, 3, 3, None, 4],
]


@pytest.mark.parametrize("data, level, published, exact", [
    # n = 40 pairable values, n_c = 9, 13, 10, 5, 3 for 1..5, so Σ n_c² = 384; off-diagonal
    # coincidences sum to 8: α = 1 - 39 × 8 / (1600 - 384) = 1 - 312/1216
    (PAPER, "nominal", 0.743, 1 - 312 / 1216),
    (PAPER, "ordinal", 0.815, None),
    (PAPER, "interval", 0.849, None),
    (PAPER, "ratio", 0.797, None),
    # n = 20, n_0 = 14, n_1 = 6, four disagreeing units: α = 1 - 19 × 8 / (400 - 196 - 36) = 2/21
    (BINARY, "nominal", 0.095, 2 / 21),
    # n = 24, n = a4 b6 c6 d6 e2 (Σ n² = 128), three disagreeing units: 1 - 23 × 6 / (576 - 128)
    (LETTERS, "nominal", 0.692, 1 - 138 / 448),
    (WIKIPEDIA, "nominal", 0.691, None),
    (WIKIPEDIA, "interval", 0.811, None),
])
def test_published_examples(data, level, published, exact):
    alpha = rel.krippendorff_alpha(data, level)
    assert alpha == pytest.approx(published, abs=5e-4)
    if exact is not None:
        assert alpha == pytest.approx(exact, abs=1e-12)


def test_paper_coincidence_matrix_marginals():
    # The paper's table of coincidences: marginals 9, 13, 10, 5, 3 (n = 40; the lone value of
    # unit 12 is not pairable). o_11 = 3·2/2 (unit 1) + 3·2/3 (unit 8) + 2·1/1 (unit 11) = 7;
    # o_12 = 1·1/3 (unit 6) + 3·1/3 (unit 8) = 4/3.
    matrix = rel.coincidences(PAPER)
    marginals = {}
    for (c, _k), o in matrix.items():
        marginals[c] = marginals.get(c, 0) + o
    assert marginals == pytest.approx({1: 9, 2: 13, 3: 10, 4: 5, 5: 3})
    assert matrix[(1, 1)] == pytest.approx(7)
    assert matrix[(1, 2)] == pytest.approx(4 / 3)


def _random_data(rng: random.Random, raters: int, units: int, values: range, missing: float):
    return [[None if rng.random() < missing else rng.choice(values) for _ in range(units)]
            for _ in range(raters)]


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("seed", range(12))
def test_agrees_with_the_krippendorff_package(level, seed):
    krippendorff = pytest.importorskip("krippendorff")
    np = pytest.importorskip("numpy")
    rng = random.Random(seed)
    data = _random_data(rng, raters=rng.randint(2, 6), units=rng.randint(5, 40),
                        values=range(0 if level != "ratio" or seed % 2 else 1, 8),
                        missing=rng.choice([0.0, 0.2, 0.4]))
    ours = rel.krippendorff_alpha(data, level)
    as_array = np.array([[np.nan if v is None else v for v in row] for row in data], dtype=float)
    theirs = krippendorff.alpha(reliability_data=as_array, level_of_measurement=level)
    assert ours == pytest.approx(theirs, abs=1e-9)


@pytest.mark.parametrize("level", LEVELS)
def test_paper_example_agrees_with_the_krippendorff_package(level):
    krippendorff = pytest.importorskip("krippendorff")
    np = pytest.importorskip("numpy")
    as_array = np.array([[np.nan if v is None else v for v in row] for row in PAPER], dtype=float)
    theirs = krippendorff.alpha(reliability_data=as_array, level_of_measurement=level)
    assert rel.krippendorff_alpha(PAPER, level) == pytest.approx(theirs, abs=1e-12)


@pytest.mark.parametrize("level", LEVELS)
def test_perfect_agreement_is_one(level):
    data = [[1, 2, 3, None, 5], [1, 2, 3, 4, 5], [1, None, 3, 4, 5]]
    assert rel.krippendorff_alpha(data, level) == pytest.approx(1.0)


@pytest.mark.parametrize("level", LEVELS)
def test_a_single_value_leaves_alpha_undefined(level):
    # D_e = 0: Krippendorff says alpha is undefined, so NaN, not 1.0
    assert math.isnan(rel.krippendorff_alpha([[3, 3, None], [3, 3, 3]], level))


@pytest.mark.parametrize("data", [
    [[1, None, 3], [None, 2, None]],   # every unit rated once
    [[None, None], [None, None]],
    [[1, 2, 3]],                       # one rater
])
def test_no_pairable_values_is_an_error(data):
    with pytest.raises(ValueError, match="pairable"):
        rel.krippendorff_alpha(data)


def test_units_with_one_value_are_ignored_and_nan_is_missing():
    with_extra = [row + [None] for row in PAPER]
    with_extra[0][-1] = 4  # a lone rating on a 13th unit: not pairable
    nan_for_none = [[math.nan if v is None else v for v in row] for row in PAPER]
    for level in LEVELS:
        expected = rel.krippendorff_alpha(PAPER, level)
        assert rel.krippendorff_alpha(with_extra, level) == pytest.approx(expected)
        assert rel.krippendorff_alpha(nan_for_none, level) == pytest.approx(expected)


def test_nominal_takes_labels_and_orders_nothing():
    assert rel.krippendorff_alpha([["x", "y"], ["x", "y"]], "nominal") == pytest.approx(1.0)


@pytest.mark.parametrize("data, level, message", [
    (PAPER, "cardinal", "unknown level"),
    ([[1, 2], [1]], "interval", "same units"),
    ([], "interval", "no raters"),
    ([["a", "b"], ["a", "b"]], "interval", "numbers"),
    ([[-1, 2], [-1, 3]], "ratio", "negative"),
])
def test_invalid_input(data, level, message):
    with pytest.raises(ValueError, match=message):
        rel.krippendorff_alpha(data, level)


# -- alignment ---------------------------------------------------------------------------------

MAXIMA = {"greeting": 10, "needs": 5, "disclosure": 5}
BENCHMARK = {"greeting": 10, "needs": 5, "disclosure": 5}


@pytest.mark.parametrize("grader, benchmark, weights, expected", [
    # per criterion 1 - |diff| / max: 0.8, 1, 0; by share of 20 points: (8 + 5 + 0) / 20
    ({"greeting": 8, "needs": 5, "disclosure": 0}, BENCHMARK, None, 13 / 20),
    (BENCHMARK, BENCHMARK, None, 1.0),
    ({"greeting": 0, "needs": 0, "disclosure": 0}, BENCHMARK, None, 0.0),
    # explicit shares (e.g. section weights folded in): 0.2 × 0.8 + 0.3 × 1 + 0.5 × 0
    ({"greeting": 8, "needs": 5, "disclosure": 0}, BENCHMARK,
     {"greeting": 0.2, "needs": 0.3, "disclosure": 0.5}, 0.46),
    # N/A on both sides leaves the criterion out: (8 + 5) / 15
    ({"greeting": 8, "needs": 5, "disclosure": "na"},
     {"greeting": 10, "needs": 5, "disclosure": "na"}, None, 13 / 15),
    # N/A on one side only is a disagreement on applicability: that criterion scores 0
    ({"greeting": 8, "needs": 5, "disclosure": "na"}, BENCHMARK, None, 13 / 20),
    ({"greeting": 8, "needs": "na", "disclosure": 5}, BENCHMARK, None, 13 / 20),
    # 1 - 3/5 = 0.4 on "needs": (10 + 2 + 5) / 20
    ({"greeting": 10, "needs": 2, "disclosure": 5}, BENCHMARK, None, 17 / 20),
])
def test_alignment(grader, benchmark, weights, expected):
    assert rel.alignment(grader, benchmark, MAXIMA, weights) == pytest.approx(expected)


def test_alignment_with_nothing_to_compare_is_nan():
    all_na = {key: "na" for key in MAXIMA}
    assert math.isnan(rel.alignment(all_na, all_na, MAXIMA))


@pytest.mark.parametrize("grader, weights, message", [
    ({"greeting": 8, "needs": 5}, None, "missing"),
    ({"greeting": 8, "needs": 5, "disclosure": 0, "extra": 1}, None, "unknown"),
    ({"greeting": 11, "needs": 5, "disclosure": 0}, None, "greeting"),
    ({"greeting": None, "needs": 5, "disclosure": 0}, None, "greeting"),
    ({"greeting": -1, "needs": 5, "disclosure": 0}, None, "greeting"),
    ({"greeting": 8, "needs": 5, "disclosure": 0}, {"greeting": 1}, "weights"),
])
def test_alignment_refuses_incomplete_or_impossible_scores(grader, weights, message):
    with pytest.raises(ValueError, match=message):
        rel.alignment(grader, BENCHMARK, MAXIMA, weights)

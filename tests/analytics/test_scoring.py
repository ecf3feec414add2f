"""Rubric scoring against DOMAIN.md's rules, with every expected value computed by hand."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from qms.analytics import scoring as sc
from qms.analytics.scoring import NA, Criterion, Rubric, Section


def crit(key, max_points, **kw) -> Criterion:
    return Criterion(key=key, max_points=max_points, **kw)


def sect(key, weight, *criteria, bonus=False) -> Section:
    return Section(key=key, weight=weight, criteria=tuple(criteria), bonus=bonus)


def rubric(*sections, **kw) -> Rubric:
    return Rubric(sections=tuple(sections), **kw)


# MaestroQA's illustration: 35 points possible, a 5-point criterion N/A -> 30 possible.
MAESTRO = [crit("a", 10), crit("b", 10), crit("c", 10), crit("d", 5, na_allowed=True)]

# Two weighted sections: A (40 %) of 2 × 5 points, B (60 %) of 2 × 10 points.
def two_sections(weighting=sc.BY_SECTIONS, a2=None, b1=None, bonus=None, **kw) -> Rubric:
    sections = [
        sect("A", 40, crit("a1", 5), a2 or crit("a2", 5, na_allowed=True)),
        sect("B", 60, b1 or crit("b1", 10), crit("b2", 10)),
    ]
    if bonus:
        sections.append(bonus)
    return rubric(*sections, weighting=weighting, **kw)


@pytest.mark.parametrize("weighting", [sc.BY_POINTS, sc.BY_SECTIONS])
@pytest.mark.parametrize("answers, expected", [
    ({"a": 6, "b": 5, "c": 5, "d": NA}, 100 * 16 / 30),   # 53.33 %: N/A leaves 30 possible
    ({"a": 6, "b": 5, "c": 5, "d": 0}, 100 * 16 / 35),    # 45.71 % had it been scored 0
    ({"a": 10, "b": 10, "c": 10, "d": NA}, 100.0),
])
def test_maestroqa_na_example(weighting, answers, expected):
    result = sc.score(rubric(sect("all", 100, *MAESTRO), weighting=weighting), answers)
    assert result.total == pytest.approx(expected)
    section = result.per_section["all"]
    assert section.possible == (30 if answers["d"] == NA else 35)
    assert section.na_count == (1 if answers["d"] == NA else 0)


@pytest.mark.parametrize("weighting, answers, expected", [
    # A 8/10 = 80 %, B 15/20 = 75 %: 0.80 × 40 + 0.75 × 60 = 32 + 45
    (sc.BY_SECTIONS, {"a1": 4, "a2": 4, "b1": 8, "b2": 7}, 77.0),
    # the same answers unweighted: 23/30
    (sc.BY_POINTS, {"a1": 4, "a2": 4, "b1": 8, "b2": 7}, 100 * 23 / 30),
    # A 100 %, B 10/20 = 50 %: 40 + 30; points 20/30
    (sc.BY_SECTIONS, {"a1": 5, "a2": 5, "b1": 0, "b2": 10}, 70.0),
    (sc.BY_POINTS, {"a1": 5, "a2": 5, "b1": 0, "b2": 10}, 100 * 20 / 30),
    # N/A inside a weighted section: A 4/5 = 80 % -> 32 + 45; points (4 + 15) / 25
    (sc.BY_SECTIONS, {"a1": 4, "a2": NA, "b1": 8, "b2": 7}, 77.0),
    (sc.BY_POINTS, {"a1": 4, "a2": NA, "b1": 8, "b2": 7}, 76.0),
    (sc.BY_SECTIONS, {"a1": 0, "a2": 0, "b1": 0, "b2": 0}, 0.0),
])
def test_weighted_sections(weighting, answers, expected):
    result = sc.score(two_sections(weighting), answers)
    assert result.total == pytest.approx(expected)
    assert not result.auto_failed and result.failed_criteria == [] and result.missing == []


def test_section_results_carry_points_and_weights():
    result = sc.score(two_sections(), {"a1": 4, "a2": NA, "b1": 8, "b2": 7})
    a, b = result.per_section["A"], result.per_section["B"]
    assert (a.earned, a.possible, a.percent, a.weight, a.na_count) == (4, 5, 80.0, 40.0, 1)
    assert (b.earned, b.possible, b.percent, b.weight, b.na_count) == (15, 20, 75.0, 60.0, 0)
    # under points weighting a section's weight is its share of the points possible: 5/25, 20/25
    points = sc.score(two_sections(sc.BY_POINTS), {"a1": 4, "a2": NA, "b1": 8, "b2": 7})
    assert points.per_section["A"].weight == pytest.approx(20.0)
    assert points.per_section["B"].weight == pytest.approx(80.0)


def test_an_all_na_section_is_removed_and_the_weights_renormalised():
    r = rubric(sect("A", 20, crit("a1", 5, na_allowed=True), crit("a2", 5, na_allowed=True)),
               sect("B", 30, crit("b1", 10)),
               sect("C", 50, crit("c1", 10)))
    result = sc.score(r, {"a1": NA, "a2": NA, "b1": 5, "c1": 8})
    # B 50 %, C 80 %, weights 30 and 50 over 80: (50 × 30 + 80 × 50) / 80 = 5500 / 80
    assert result.total == pytest.approx(68.75)
    a = result.per_section["A"]
    assert a.percent is None and a.possible == 0 and a.weight == 0 and a.na_count == 2
    assert result.per_section["B"].weight == pytest.approx(37.5)
    assert result.per_section["C"].weight == pytest.approx(62.5)


def test_everything_na_leaves_no_score():
    r = rubric(sect("A", 100, crit("a1", 5, na_allowed=True)))
    result = sc.score(r, {"a1": NA})
    assert result.total is None and result.per_section["A"].percent is None


@pytest.mark.parametrize("critical, threshold, b1, expected_total, failed", [
    # B zeroed by its critical item: only A's 80 % × 40 = 32 is left
    (sc.FAIL_SECTION, None, 9, 32.0, True),    # 9 < 10: short of full marks fails
    (sc.FAIL_SECTION, None, 10, 32 + 0.85 * 60, False),  # B 17/20 = 85 %
    (sc.FAIL_SECTION, 6, 6, 32 + 0.65 * 60, False),      # at the threshold passes: 13/20 = 65 %
    (sc.FAIL_SECTION, 6, 5, 32.0, True),       # below the threshold fails
    (None, None, 0, 32 + 0.35 * 60, False),    # not critical: 0 is just 0 points, 7/20 = 35 %
])
def test_critical_fail_section(critical, threshold, b1, expected_total, failed):
    r = two_sections(b1=crit("b1", 10, critical=critical, pass_threshold=threshold))
    result = sc.score(r, {"a1": 4, "a2": 4, "b1": b1, "b2": 7})
    assert result.total == pytest.approx(expected_total)
    b = result.per_section["B"]
    assert b.failed_by_critical is failed
    assert result.failed_criteria == (["b1"] if failed else [])
    assert not result.auto_failed
    assert not result.per_section["A"].failed_by_critical
    if failed:
        # the raw points stay visible: (b1 + 7) / 20
        assert b.percent == 0.0 and b.raw_percent == pytest.approx(100 * (b1 + 7) / 20)


@pytest.mark.parametrize("weighting, expected", [
    (sc.BY_SECTIONS, 32.0),
    # points: B's 16 points earned are lost but its 20 possible stay: 8 / 30
    (sc.BY_POINTS, 100 * 8 / 30),
])
def test_critical_fail_section_under_either_weighting(weighting, expected):
    r = two_sections(weighting, b1=crit("b1", 10, critical=sc.FAIL_SECTION))
    assert sc.score(r, {"a1": 4, "a2": 4, "b1": 9, "b2": 7}).total == pytest.approx(expected)


@pytest.mark.parametrize("weighting", [sc.BY_SECTIONS, sc.BY_POINTS])
def test_critical_fail_all_zeroes_the_total_and_every_section(weighting):
    r = two_sections(weighting, a2=crit("a2", 5, kind=sc.YESNO, critical=sc.FAIL_ALL))
    result = sc.score(r, {"a1": 5, "a2": "no", "b1": 10, "b2": 10})
    assert result.total == 0.0 and result.auto_failed
    assert result.failed_criteria == ["a2"]
    for section in result.per_section.values():
        assert section.percent == 0.0 and section.failed_by_critical
    assert result.per_section["B"].raw_percent == 100.0  # what the points alone said


@pytest.mark.parametrize("a2, b1, expected_total, auto_failed, failed", [
    # fail-all answered N/A: not applicable, so nothing fails: A 4/5, B 17/20 -> 32 + 51
    (NA, 10, 83.0, False, []),
    # fail-all N/A but fail-section failing: B zeroed, A 80 % -> 32
    (NA, 9, 32.0, False, ["b1"]),
    # fail-all and fail-section both failing: fail-all wins, total 0
    ("no", 9, 0.0, True, ["a2", "b1"]),
    # fail-all alone
    ("no", 10, 0.0, True, ["a2"]),
])
def test_precedence_fail_all_over_fail_section_over_na(a2, b1, expected_total, auto_failed,
                                                       failed):
    r = two_sections(a2=crit("a2", 5, kind=sc.YESNO, critical=sc.FAIL_ALL, na_allowed=True),
                     b1=crit("b1", 10, critical=sc.FAIL_SECTION))
    result = sc.score(r, {"a1": 4, "a2": a2, "b1": b1, "b2": 7})
    assert result.total == pytest.approx(expected_total)
    assert result.auto_failed is auto_failed
    assert result.failed_criteria == failed


def test_fail_section_beats_na_in_its_section():
    # the other criterion N/A does not shield the section: B = 0 %, not removed
    r = rubric(sect("A", 50, crit("a1", 10)),
               sect("B", 50, crit("b1", 10, critical=sc.FAIL_SECTION),
                    crit("b2", 10, na_allowed=True)))
    result = sc.score(r, {"a1": 10, "b1": 3, "b2": NA})
    assert result.total == pytest.approx(50.0)  # 100 × 50 + 0 × 50
    assert result.per_section["B"].percent == 0.0 and result.per_section["B"].weight == 50


def test_a_critical_item_answered_na_in_an_otherwise_na_section_removes_it():
    r = rubric(sect("A", 50, crit("a1", 10)),
               sect("B", 50, crit("b1", 10, critical=sc.FAIL_SECTION, na_allowed=True)))
    result = sc.score(r, {"a1": 7, "b1": NA})
    assert result.total == pytest.approx(70.0) and result.failed_criteria == []


BONUS = sect("X", 10, crit("x1", 2), bonus=True)


@pytest.mark.parametrize("answers, allow, expected", [
    # base 77 (A 80 %, B 75 %) + bonus 100 % × 10 = 87, under 100 either way
    ({"a1": 4, "a2": 4, "b1": 8, "b2": 7, "x1": 2}, False, 87.0),
    ({"a1": 4, "a2": 4, "b1": 8, "b2": 7, "x1": 2}, True, 87.0),
    # half the bonus: 77 + 50 % × 10
    ({"a1": 4, "a2": 4, "b1": 8, "b2": 7, "x1": 1}, False, 82.0),
    # base 40 + 0.95 × 60 = 97, + 10 = 107: capped at 100 unless the rubric allows more
    ({"a1": 5, "a2": 5, "b1": 10, "b2": 9, "x1": 2}, False, 100.0),
    ({"a1": 5, "a2": 5, "b1": 10, "b2": 9, "x1": 2}, True, 107.0),
    # no bonus earned: base only
    ({"a1": 5, "a2": 5, "b1": 10, "b2": 10, "x1": 0}, True, 100.0),
])
def test_bonus(answers, allow, expected):
    result = sc.score(two_sections(bonus=BONUS, allow_above_100=allow), answers)
    assert result.total == pytest.approx(expected)
    x = result.per_section["X"]
    assert x.bonus and x.weight == 10


@pytest.mark.parametrize("weighting", [sc.BY_SECTIONS, sc.BY_POINTS])
def test_bonus_on_points_weighting(weighting):
    # base 23/30 = 76.67 % under points, 77 % under sections; the bonus adds 10 either way
    result = sc.score(two_sections(weighting, bonus=BONUS),
                      {"a1": 4, "a2": 4, "b1": 8, "b2": 7, "x1": 2})
    base = 100 * 23 / 30 if weighting == sc.BY_POINTS else 77.0
    assert result.total == pytest.approx(base + 10)


def test_bonus_does_not_rescue_a_fail_all():
    r = two_sections(a2=crit("a2", 5, critical=sc.FAIL_ALL), bonus=BONUS, allow_above_100=True)
    result = sc.score(r, {"a1": 5, "a2": 4, "b1": 10, "b2": 10, "x1": 2})
    assert result.total == 0.0 and result.auto_failed


def test_bonus_na_adds_nothing():
    bonus = sect("X", 10, crit("x1", 2, na_allowed=True), bonus=True)
    result = sc.score(two_sections(bonus=bonus), {"a1": 4, "a2": 4, "b1": 8, "b2": 7, "x1": NA})
    assert result.total == pytest.approx(77.0)


@pytest.mark.parametrize("answers, expected", [
    # yes = full points, no = 0: (2 + 0 + 5) / 10
    ({"y1": "yes", "y2": "no", "y3": True}, 70.0),
    ({"y1": True, "y2": False, "y3": "yes"}, 70.0),
    ({"y1": 2, "y2": 0, "y3": 5}, 70.0),       # the points themselves
    ({"y1": "no", "y2": "no", "y3": "no"}, 0.0),
    ({"y1": "yes", "y2": "yes", "y3": NA}, 100.0),
])
def test_yes_no_criteria(answers, expected):
    r = rubric(sect("S", 100, crit("y1", 2, kind=sc.YESNO), crit("y2", 3, kind=sc.YESNO),
                    crit("y3", 5, kind=sc.YESNO, na_allowed=True)))
    assert sc.score(r, answers).total == pytest.approx(expected)


@pytest.mark.parametrize("answer, message", [
    (1, "not yes or no"),        # 1 point on a 5-point yes/no item (True == 1 must not leak)
    ("maybe", "not yes or no"),
])
def test_yes_no_refuses_other_answers(answer, message):
    r = rubric(sect("S", 100, crit("y", 5, kind=sc.YESNO)))
    with pytest.raises(ValueError, match=message):
        sc.score(r, {"y": answer})


@pytest.mark.parametrize("answers, message", [
    ({"a": 11, "b": 5, "c": 5, "d": 0}, "'a'"),             # above max
    ({"a": -1, "b": 5, "c": 5, "d": 0}, "'a'"),             # negative
    ({"a": 2.5, "b": 5, "c": 5, "d": 0}, "whole points"),   # a scale goes in steps of 1
    ({"a": True, "b": 5, "c": 5, "d": 0}, "'a'"),           # a bool is not a score
    ({"a": "5", "b": 5, "c": 5, "d": 0}, "'a'"),
    ({"a": NA, "b": 5, "c": 5, "d": 0}, "cannot be answered N/A"),
    ({"a": 1, "b": 5, "c": 5, "d": 0, "z": 1}, "not in the rubric: z"),
])
def test_invalid_answers(answers, message):
    with pytest.raises(ValueError, match=message):
        sc.score(rubric(sect("all", 100, *MAESTRO)), answers)


def test_points_kind_takes_fractions():
    r = rubric(sect("S", 100, crit("p", 4, kind=sc.POINTS)))
    assert sc.score(r, {"p": 2.5}).total == pytest.approx(62.5)


def test_decimal_answers_from_a_numeric_column():
    r = rubric(sect("S", 100, crit("p", 4, kind=sc.POINTS), crit("y", 1, kind=sc.YESNO)))
    result = sc.score(r, {"p": Decimal("2.5"), "y": Decimal(1)})
    assert result.total == pytest.approx(70.0)  # (2.5 + 1) / 5
    assert isinstance(result.per_section["S"].earned, float)


def test_missing_answers_are_an_error_naming_them():
    with pytest.raises(ValueError, match="unanswered criteria: b, d"):
        sc.score(rubric(sect("all", 100, *MAESTRO)), {"a": 5, "b": None, "c": 5})


def test_partial_scoring_for_score_as_you_go():
    r = two_sections(b1=crit("b1", 10, critical=sc.FAIL_SECTION))
    # only A answered so far: A 8/10 is the whole score; B has nothing answered -> left out
    result = sc.score(r, {"a1": 4, "a2": 4, "b1": None}, partial=True)
    assert result.total == pytest.approx(80.0)
    assert result.missing == ["b1", "b2"] and not result.complete
    assert result.per_section["B"].percent is None
    # an unanswered critical item has not failed yet; answered, it does
    later = sc.score(r, {"a1": 4, "a2": 4, "b1": 9}, partial=True)
    assert later.total == pytest.approx(32.0) and later.failed_criteria == ["b1"]
    assert sc.score(r, {}, partial=True).total is None


def test_as_dict_rounds_for_display():
    d = sc.score(rubric(sect("all", 100, *MAESTRO)), {"a": 6, "b": 5, "c": 5, "d": NA}).as_dict()
    assert d["total"] == 53.33 and d["auto_failed"] is False
    assert d["sections"]["all"] == {"earned": 16, "possible": 30, "percent": 53.33,
                                    "weight": 100.0, "failed_by_critical": False,
                                    "na_count": 1, "bonus": False}


# -- rubric validation -------------------------------------------------------------------------

def test_a_good_rubric_has_no_problems():
    assert sc.check_rubric(two_sections(bonus=BONUS)) == []
    assert sc.check_rubric(rubric(sect("A", 33.33, crit("a", 1)), sect("B", 33.33, crit("b", 1)),
                                  sect("C", 33.34, crit("c", 1)))) == []
    # under points weighting the section weights are not used, so they need not sum to 100
    assert sc.check_rubric(rubric(sect("A", 0, crit("a", 1)), sect("B", 0, crit("b", 2)),
                                  weighting=sc.BY_POINTS)) == []


@pytest.mark.parametrize("bad, message", [
    (rubric(sect("A", 40, crit("a", 5)), sect("B", 50, crit("b", 5))), "sum to 90"),
    (rubric(sect("A", 100.02, crit("a", 5))), "not 100"),            # outside ± 0.01
    (rubric(sect("A", 100, crit("a", 0))), "max_points must be a positive"),
    (rubric(sect("A", 100, crit("a", -2))), "max_points must be a positive"),
    (rubric(sect("A", 100, crit("a", 2.5))), "whole points"),
    (rubric(sect("A", 50, crit("a", 5)), sect("B", 50, crit("a", 5))), "used twice"),
    (rubric(sect("A", 50, crit("a", 5)), sect("A", 50, crit("b", 5))), "used twice"),
    (rubric(sect("", 100, crit("a", 5))), "empty"),
    (rubric(sect("A", 100)), "no criteria"),
    (rubric(sect("A", 100, crit("a", 5, kind="stars"))), "unknown kind"),
    (rubric(sect("A", 100, crit("a", 5, critical="branch"))), "critical must be"),
    (rubric(sect("A", 100, crit("a", 5, pass_threshold=3))), "pass_threshold only"),
    (rubric(sect("A", 100, crit("a", 5, kind=sc.YESNO, critical=sc.FAIL_ALL,
                                pass_threshold=3))), "pass_threshold only"),
    (rubric(sect("A", 100, crit("a", 5, critical=sc.FAIL_ALL, pass_threshold=6))),
     "pass_threshold must be"),
    (rubric(sect("A", 100, crit("a", 5)), sect("X", 10, crit("x", 1, critical=sc.FAIL_ALL),
                                               bonus=True)), "bonus section cannot"),
    (rubric(sect("A", 100, crit("a", 5)), sect("X", 0, crit("x", 1), bonus=True)),
     "weight must be a positive"),
    (rubric(sect("A", 100, crit("a", 5)), sect("B", 0, crit("b", 5))), "weight must be"),
    (rubric(sect("X", 100, crit("x", 1), bonus=True)), "not a bonus"),
    (rubric(sect("A", 100, crit("a", 5)), weighting="average"), "unknown weighting"),
])
def test_invalid_rubrics(bad, message):
    problems = sc.check_rubric(bad)
    assert any(message in p for p in problems), problems
    with pytest.raises(ValueError, match="invalid rubric"):
        sc.score(bad, {})


def test_criterion_shares():
    # sections: A 40 % over 2 × 5 points -> 0.2 each; B 60 % over 2 × 10 -> 0.3 each
    assert sc.criterion_shares(two_sections(bonus=BONUS)) == pytest.approx(
        {"a1": 0.2, "a2": 0.2, "b1": 0.3, "b2": 0.3})
    # points: 5/30, 5/30, 10/30, 10/30
    assert sc.criterion_shares(two_sections(sc.BY_POINTS)) == pytest.approx(
        {"a1": 1 / 6, "a2": 1 / 6, "b1": 1 / 3, "b2": 1 / 3})


# -- JSON storage ------------------------------------------------------------------------------

def test_rubric_round_trips_through_json():
    r = two_sections(b1=Criterion("b1", 10, kind=sc.SCALE, critical=sc.FAIL_SECTION,
                                  pass_threshold=6, label="Verifies identity",
                                  guidance={"0": "not asked", "10": "two documents"}),
                     bonus=BONUS, allow_above_100=True)
    stored = json.loads(json.dumps(sc.rubric_to_dict(r)))
    assert sc.rubric_from_dict(stored) == r


def test_rubric_from_dict_fills_defaults():
    r = sc.rubric_from_dict({"sections": [
        {"key": "S", "weight": 100, "criteria": [{"key": "c", "max_points": 3,
                                                  "guidance": {1: "some"}}]}]})
    assert r == rubric(sect("S", 100, crit("c", 3, guidance={"1": "some"})))


@pytest.mark.parametrize("d, message", [
    ({"sections": [{"key": "S", "weight": 100, "criteria": [
        {"key": "c", "max_points": 3, "critcal": "all"}]}]}, "unknown fields \\['critcal'\\]"),
    ({"sections": [{"key": "S", "criteria": []}]}, "missing fields \\['weight'\\]"),
    ({"weighting": "sections"}, "missing fields \\['sections'\\]"),
    ({"sections": ["S"]}, "must be an object"),
])
def test_rubric_from_dict_refuses_malformed_json(d, message):
    with pytest.raises(ValueError, match=message):
        sc.rubric_from_dict(d)

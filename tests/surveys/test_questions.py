"""The question-type registry: each type's definition check, parsing, answer rows and score."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace

import pytest

from qms.surveys.definition import question_map, validate
from qms.surveys.questions import COMMON_PROPERTIES, REGISTRY, SETTING_PROPERTIES, InvalidAnswer
from tests.surveys.factories import sample_definition

Q = question_map(sample_definition())


def parse(key, *values, q=None):
    q = q or Q[key]
    return REGISTRY[q["type"]].parse(q, list(values))


def refuses(key, *values, q=None):
    with pytest.raises(InvalidAnswer):
        parse(key, *values, q=q)
    return True


def test_registry_has_every_type_of_the_issue():
    assert set(REGISTRY) == {"csat", "nps", "ces", "rating", "single", "multiple", "yesno",
                             "text", "textarea", "number", "date", "matrix", "static"}
    for name, qt in REGISTRY.items():
        assert qt.name == name and str(qt.label)
        assert set(qt.settings) <= set(SETTING_PROPERTIES), name
        assert set(COMMON_PROPERTIES) - {"required"} <= qt.properties()


def test_sample_definition_uses_every_type():
    assert {q["type"] for q in Q.values()} == set(REGISTRY)
    assert validate(sample_definition()) == []


# -- scales --------------------------------------------------------------------------------

@pytest.mark.parametrize("key, lo, hi", [("csat", 1, 5), ("nps", 0, 10), ("ces", 1, 7),
                                         ("rating", 1, 10)])
def test_scales_accept_their_range_only(key, lo, hi):
    assert parse(key, str(lo)) == lo and parse(key, str(hi)) == hi
    assert parse(key, f" {hi} ") == hi
    assert refuses(key, str(lo - 1)) and refuses(key, str(hi + 1))
    for wrong in ("abc", "3.5", "1e1", "--1", "0x3"):
        assert refuses(key, wrong)
    assert parse(key, "") is None and parse(key) is None
    assert refuses(key, str(lo), str(hi))  # two values for one question


def test_full_width_digits_from_a_chinese_input_method_count():
    assert parse("nps", "１０") == 10
    assert parse("wait_minutes", "１５") == 15


def test_scale_fixed_ranges_ignore_min_max_in_definition():
    q = dict(Q["nps"], min=3, max=4)
    assert REGISTRY["nps"].scale(q) == (0, 10)
    assert parse("nps", "0", q=q) == 0


@pytest.mark.parametrize("lo, hi, ok", [(1, 5, True), (0, 10, True), (0, 20, True),
                                        (0, 21, False), (5, 5, False), (6, 5, False),
                                        (-1, 5, False), ("1", 5, False), (1.0, 5, False),
                                        (True, 5, False), (1, 101, False)])
def test_rating_range_check(lo, hi, ok):
    q = dict(Q["rating"], min=lo, max=hi)
    assert (REGISTRY["rating"].check(q) == []) is ok


def test_scale_rows_and_score():
    qt = REGISTRY["csat"]
    assert qt.to_rows(Q["csat"], 4) == [{"num_value": 4.0}]
    assert qt.from_rows(Q["csat"], [SimpleNamespace(num_value=4.0)]) == 4
    assert qt.from_rows(Q["csat"], []) is None
    assert qt.score(Q["csat"], 4) == 4.0 and qt.score(Q["csat"], None) is None


# -- choices -------------------------------------------------------------------------------

def test_single_choice():
    assert parse("purpose", "loan") == "loan"
    assert refuses("purpose", "mortgage")   # unknown option
    assert refuses("purpose", "loan", "wealth")
    assert refuses("purpose", "LOAN")
    assert parse("purpose", "") is None
    qt = REGISTRY["single"]
    assert qt.to_rows(Q["purpose"], "wealth") == [{"choice_key": "wealth", "num_value": 3}]
    assert qt.score(Q["purpose"], "loan") == 2
    assert qt.from_rows(Q["purpose"], [SimpleNamespace(choice_key="loan")]) == "loan"


def test_multiple_choice_selections():
    # min_selected 1, max_selected 2 in the sample
    assert parse("channels", "atm", "app") == ["app", "atm"]  # definition order
    assert parse("channels") is None
    assert refuses("channels", "app", "phone", "atm")          # more than max
    assert refuses("channels", "app", "app")                    # twice
    assert refuses("channels", "app", "branch")                 # unknown option
    q = dict(Q["channels"], min_selected=2)
    assert refuses("channels", "app", q=q)                      # fewer than min
    assert parse("channels", "app", "atm", q=q) == ["app", "atm"]
    qt = REGISTRY["multiple"]
    rows = qt.to_rows(Q["channels"], ["app", "atm"])
    assert [r["choice_key"] for r in rows] == ["app", "atm"]
    assert qt.from_rows(Q["channels"], [SimpleNamespace(choice_key=k) for k in ("app", "atm")]) \
        == ["app", "atm"]
    assert qt.score(Q["channels"], ["app"]) is None  # no scores on these options


@pytest.mark.parametrize("change, problem", [
    ({"options": []}, "at least two options"),
    ({"options": "app,atm"}, "at least two options"),
    ({"options": [{"key": "a", "label": {}}, {"key": "a", "label": {}}]}, "appears twice"),
    ({"options": [{"key": "1a", "label": {}}, {"key": "b", "label": {}}]}, "key of letters"),
    ({"options": [{"key": "a", "label": "A"}, {"key": "b", "label": {}}]}, "label must give"),
    ({"options": [{"key": "a", "label": {}, "score": "high"}, {"key": "b", "label": {}}]},
     "score must be a number"),
    ({"min_selected": 3}, "min_selected/max_selected"),
    ({"max_selected": 4}, "min_selected/max_selected"),
    ({"min_selected": -1}, "min_selected/max_selected"),
    ({"max_selected": "2"}, "min_selected/max_selected"),
])
def test_multiple_choice_definition_problems(change, problem):
    q = dict(Q["channels"], **change)
    assert any(problem in p for p in REGISTRY["multiple"].check(q)), REGISTRY["multiple"].check(q)


# -- yes/no, text, number, date ------------------------------------------------------------

def test_yes_no():
    assert parse("waited", "yes") is True and parse("waited", "no") is False
    assert parse("waited", "YES") is True
    assert refuses("waited", "maybe") and refuses("waited", "1")
    qt = REGISTRY["yesno"]
    assert qt.to_rows(Q["waited"], False) == [{"choice_key": "no", "num_value": 0.0}]
    assert qt.from_rows(Q["waited"], [SimpleNamespace(choice_key="no")]) is False
    assert qt.form_value(True) == "yes" and qt.form_value(None) is None


def test_text_lengths():
    assert parse("staff_name", "  王芳  ") == "王芳"
    assert parse("staff_name", "x" * 100) == "x" * 100
    assert refuses("staff_name", "x" * 101)   # the question's max_length
    assert refuses("why", "长" * 1001)          # textarea max_length 1000
    assert refuses("staff_name", "a\x00b")
    plain = {"key": "t", "type": "textarea", "label": {}}
    assert parse("t", "x" * 5000, q=plain) and refuses("t", "x" * 5001, q=plain)
    assert REGISTRY["text"].check(dict(Q["staff_name"], max_length=501))
    assert REGISTRY["text"].check(dict(Q["staff_name"], max_length=0))
    assert REGISTRY["textarea"].check(dict(Q["why"], max_length=5000)) == []
    assert REGISTRY["text"].to_rows(Q["staff_name"], "王芳") == [{"text_value": "王芳"}]


def test_number_range_and_shape():
    assert parse("wait_minutes", "15") == 15 and isinstance(parse("wait_minutes", "15"), int)
    assert parse("wait_minutes", "2.5") == 2.5
    assert parse("wait_minutes", "0") == 0 and parse("wait_minutes", "240") == 240
    assert refuses("wait_minutes", "-1") and refuses("wait_minutes", "241")
    for wrong in ("ten", "1e3", "1.2.3", "nan", "inf", "1.1234567"):
        assert refuses("wait_minutes", wrong)
    assert parse("n", "1,234", q={"key": "n", "type": "number"}) == 1234
    assert parse("n", "-5", q={"key": "n", "type": "number"}) == -5
    check = REGISTRY["number"].check
    assert check({"min": 5, "max": 1}) and check({"min": "0"}) and check({"max": True})
    assert check({"min": -1.5, "max": 2}) == []


def test_dates():
    assert parse("visit_date", "2024-02-29") == date(2024, 2, 29)
    for wrong in ("2023-02-29", "2024-13-01", "01/05/2024", "20240501", "2024-W18-3",
                  "tomorrow", "1899-12-31", "2101-01-01"):
        assert refuses("visit_date", wrong), wrong
    qt = REGISTRY["date"]
    assert qt.to_rows(Q["visit_date"], date(2024, 5, 1)) == [{"text_value": "2024-05-01"}]
    assert qt.from_rows(Q["visit_date"], [SimpleNamespace(text_value="2024-05-01")]) \
        == date(2024, 5, 1)
    assert qt.form_value(date(2024, 5, 1)) == "2024-05-01"


# -- matrix and static ---------------------------------------------------------------------

def test_matrix_rows():
    q = Q["grid"]
    qt = REGISTRY["matrix"]
    assert qt.parse(q, {"attitude": ["5"], "speed": ["3"], "clarity": ["4"]}) == \
        {"attitude": 5, "speed": 3, "clarity": 4}
    assert qt.parse(q, {"attitude": ["5"]}) == {"attitude": 5}  # not required: partial is fine
    assert qt.parse(q, {}) is None
    for wrong in ({"attitude": ["6"]}, {"speed": ["0"]}, {"speed": ["x"]}, {"speed": ["1", "2"]}):
        with pytest.raises(InvalidAnswer):
            qt.parse(q, wrong)
    with pytest.raises(InvalidAnswer):  # required: every row or none
        qt.parse(dict(q, required=True), {"attitude": ["5"]})
    rows = qt.to_rows(q, {"attitude": 5, "speed": 3})
    assert rows == [{"row_key": "attitude", "num_value": 5.0}, {"row_key": "speed", "num_value": 3.0}]
    back = qt.from_rows(q, [SimpleNamespace(row_key=r["row_key"], num_value=r["num_value"])
                            for r in rows])
    assert back == {"attitude": 5, "speed": 3}
    assert qt.score(q, {"attitude": 5, "speed": 3}) == 4.0


@pytest.mark.parametrize("change, problem", [
    ({"rows": []}, "needs rows"),
    ({"rows": None}, "needs rows"),
    ({"rows": [{"key": "a", "label": {}}, {"key": "a", "label": {}}]}, "appears twice"),
    ({"rows": [{"label": {}}]}, "key of letters"),
    ({"min": 1, "max": 30}, "at most 21 points"),
])
def test_matrix_definition_problems(change, problem):
    q = dict(Q["grid"], **change)
    assert any(problem in p for p in REGISTRY["matrix"].check(q))


def test_static_is_not_answerable():
    qt = REGISTRY["static"]
    assert not qt.answerable
    assert qt.parse(Q["intro_note"], ["anything"]) is None
    assert "required" not in qt.properties()


def test_numeric_types_are_the_ones_conditions_can_compare():
    numeric = {name for name, qt in REGISTRY.items() if qt.numeric}
    assert numeric == {"csat", "nps", "ces", "rating", "yesno", "number"}

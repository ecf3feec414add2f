"""Definition validation (every problem, with its path) and reading a submission."""

from __future__ import annotations

from datetime import date

import pytest

from qms.surveys.definition import read_submission, validate, visible_keys
from tests.surveys.factories import L, minimal_definition, sample_definition, sample_form


def q_at(d, si, qi):
    return d["sections"][si]["questions"][qi]


def test_sample_and_minimal_definitions_are_valid():
    assert validate(sample_definition()) == []
    assert validate(minimal_definition()) == []


@pytest.mark.parametrize("bad", [None, [], "x", 3])
def test_not_an_object(bad):
    assert validate(bad) == ["the definition must be a JSON object"]


def test_every_problem_is_reported_with_its_path():
    d = sample_definition()
    d["title"] = {"zh_Hans": "标题", "en": "Title", "fr": "Titre"}
    q_at(d, 0, 4)["key"] = "nps"                      # ces renamed: a duplicate
    q_at(d, 0, 3)["type"] = "slider"                  # unknown type
    q_at(d, 1, 0)["label"] = {"zh_Hans": "目的", "zh_Hant": "", "en": "Purpose"}
    q_at(d, 1, 0)["options"][1]["label"] = {"zh_Hans": "贷款"}
    q_at(d, 1, 1)["max_selected"] = 9                 # more than the options
    q_at(d, 0, 2)["condition"] = {"q": "purpose", "op": "equals", "value": "loan"}  # later
    q_at(d, 1, 3)["condition"] = {"q": "ghost", "op": "equals", "value": 1}         # unknown
    q_at(d, 2, 1)["rows"] = []
    problems = validate(d)
    expected = [
        "title: unknown language fr",
        "title: missing zh_Hant",
        "sections[0].questions[2].condition: purpose is not an earlier question",
        "sections[0].questions[3].type: unknown type 'slider'",
        "sections[0].questions[4].key: nps is used twice",
        "sections[1].questions[0].label: missing zh_Hant",
        "sections[1].questions[0].options[1].label: missing zh_Hant, en",
        "sections[1].questions[1]: min_selected/max_selected must satisfy",
        "sections[1].questions[3].condition: ghost is not an earlier question",
        "sections[2].questions[1]: a matrix needs rows",
    ]
    for e in expected:
        assert any(p.startswith(e) for p in problems), (e, problems)
    assert len(problems) == len(expected), problems


def test_structure_problems():
    assert validate({"title": L("a", "b", "c"), "sections": []}) == [
        "sections: at least one section is required"]
    problems = validate({"title": L("a", "b", "c"),
                         "sections": [{"key": "s1", "questions": []}, "x",
                                      {"key": "s1", "questions": [{"key": "q1"}]},
                                      {"key": "9s", "questions": ["q"]}]})
    assert problems == [
        "sections[0].questions: at least one question is required",
        "sections[1]: a section is an object",
        "sections[2].key: s1 is used twice",
        "sections[2].questions[0].type: unknown type None; known: csat, nps, ces, rating, "
        "single, multiple, yesno, text, textarea, number, date, matrix, static",
        "sections[3].key: letters, digits and _ only, starting with a letter",
        "sections[3].questions[0]: a question is an object",
    ]


def test_section_and_question_keys_share_one_namespace():
    d = minimal_definition()
    d["sections"][0]["key"] = "csat"
    assert validate(d) == ["sections[0].questions[0].key: csat is used twice"]


@pytest.mark.parametrize("where, prop", [("", "titel"), ("sections[0]", "condtion"),
                                         ("sections[0].questions[0]", "requried"),
                                         ("sections[0].questions[0]", "options")])
def test_misspelt_or_foreign_properties_are_refused(where, prop):
    """A typo would otherwise be ignored silently, e.g. a condition that never applies."""
    d = minimal_definition()
    target = d if not where else d["sections"][0] if where == "sections[0]" \
        else d["sections"][0]["questions"][0]
    target[prop] = True
    assert validate(d) == [f"{where + '.' if where else ''}{prop}: unknown property"]


def test_required_must_be_boolean_and_labels_in_three_languages():
    d = minimal_definition()
    q = d["sections"][0]["questions"][0]
    q["required"] = "yes"
    q["help"] = "plain text"
    q["min_label"] = {"zh_Hans": "差", "zh_Hant": "差", "en": " "}
    assert validate(d) == [
        "sections[0].questions[0].help: give the text in zh_Hans, zh_Hant and en",
        "sections[0].questions[0].min_label: missing en",
        "sections[0].questions[0].required: true or false",
    ]


def test_broken_options_do_not_crash_validation():
    d = sample_definition()
    q_at(d, 1, 0)["options"] = 5
    q_at(d, 2, 1)["rows"] = {"a": 1}
    problems = validate(d)
    assert "sections[1].questions[0]: at least two options are required" in problems
    assert "sections[2].questions[1]: a matrix needs rows" in problems


@pytest.mark.parametrize("cond, problem", [
    ({"q": "csat", "op": "equals", "value": 6}, "6 is outside 1..5"),
    ({"q": "csat", "op": "equals", "value": "4"}, "'4' is not a number"),
    ({"q": "purpose", "op": "in", "value": ["loan", "car"]}, "'car' is not an option of purpose"),
    ({"q": "purpose", "op": "at_most", "value": 2}, "at_most needs a numeric question"),
    ({"q": "channels", "op": "equals", "value": "fax"}, "'fax' is not an option of channels"),
    ({"q": "waited", "op": "equals", "value": 1}, "use true/false"),
    ({"q": "visit_date", "op": "equals", "value": "1/5/2024"}, "use YYYY-MM-DD"),
    ({"q": "staff_name", "op": "equals", "value": 3}, "3 is not a text"),
    ({"q": "grid", "op": "at_least", "value": 3}, "cannot read the grid"),
    ({"q": "intro_note", "op": "equals", "value": "x"}, "intro_note is not an earlier question"),
])
def test_conditions_that_can_never_hold_are_refused(cond, problem):
    d = sample_definition()
    d["sections"].append({"key": "last", "questions": [
        {"key": "late", "type": "yesno", "label": L("晚", "晚", "Late"), "condition": cond}]})
    problems = validate(d)
    assert len(problems) == 1 and problems[0].startswith("sections[3].questions[0].condition")
    assert problem in problems[0], problems


@pytest.mark.parametrize("cond", [
    {"q": "waited", "op": "equals", "value": "yes"},
    {"q": "waited", "op": "equals", "value": False},
    {"q": "wait_minutes", "op": "at_least", "value": 30.5},
    {"q": "rating", "op": "in", "value": [1, 2, 3]},
    {"any": [{"q": "visit_date", "op": "equals", "value": "2024-05-01"},
             {"q": "staff_name", "op": "equals", "value": "王芳"}]},
])
def test_sensible_conditions_pass(cond):
    d = sample_definition()
    d["sections"].append({"key": "last", "questions": [
        {"key": "late", "type": "yesno", "label": L("晚", "晚", "Late"), "condition": cond}]})
    assert validate(d) == []


def test_a_section_condition_cannot_read_its_own_questions():
    d = sample_definition()
    d["sections"][2]["condition"] = {"q": "rating", "op": "at_most", "value": 3}
    assert validate(d) == ["sections[2].condition: rating is not an earlier question"]


def test_too_many_questions():
    d = minimal_definition()
    d["sections"][0]["questions"] = [
        {"key": f"q{i}", "type": "yesno", "label": L("问", "問", "Q")} for i in range(201)]
    assert validate(d) == ["at most 200 questions"]


# -- visibility ----------------------------------------------------------------------------

def test_visible_keys_follow_conditions_in_order():
    d = sample_definition()
    base = {"csat": 5, "nps": 9, "purpose": "deposit", "waited": False}
    shown = visible_keys(d, base)
    assert "why" not in shown and "wait_minutes" not in shown
    assert not {"rating", "grid"} & shown                 # section 'details' hidden
    shown = visible_keys(d, dict(base, nps=6, waited=True, purpose="loan"))
    assert {"why", "wait_minutes", "rating", "grid"} <= shown


def test_an_answer_to_a_hidden_question_does_not_count():
    d = minimal_definition("a")
    d["sections"][0]["questions"] += [
        {"key": "b", "type": "yesno", "label": L("乙", "乙", "B"),
         "condition": {"q": "a", "op": "at_most", "value": 2}},
        {"key": "c", "type": "text", "label": L("丙", "丙", "C"),
         "condition": {"q": "b", "op": "equals", "value": True}},
    ]
    assert visible_keys(d, {"a": 1, "b": True}) == {"a", "b", "c"}
    # a changed to 5: b is hidden, so its stale 'yes' must not keep c visible
    assert visible_keys(d, {"a": 5, "b": True}) == {"a"}


# -- reading a submission ------------------------------------------------------------------

def test_a_complete_submission():
    sub = read_submission(sample_definition(), sample_form(), final=True)
    assert sub.ok, sub.errors
    assert sub.answers == {"csat": 4, "nps": 9, "ces": 6, "purpose": "deposit",
                           "channels": ["app", "atm"], "waited": False,
                           "visit_date": date(2024, 5, 1), "staff_name": "王芳"}


def test_unknown_fields_are_refused():
    form = sample_form(q_ghost="1", q_csat__row="1", q_intro_note="x", q_grid="3",
                       q_grid__nope="3")
    sub = read_submission(sample_definition(), form, final=True)
    assert set(sub.errors) == {"q_ghost", "q_csat__row", "q_intro_note", "q_grid", "q_grid__nope"}
    assert "csat" in sub.answers  # the rest is still read (so the page can show it again)


def test_other_fields_are_ignored():
    sub = read_submission(sample_definition(), sample_form(csrf_token="x", action="submit"),
                          final=True)
    assert sub.ok


def test_required_only_when_visible_and_only_on_final():
    form = sample_form()
    del form["q_csat"]
    assert read_submission(sample_definition(), form, final=False).ok
    assert set(read_submission(sample_definition(), form, final=True).errors) == {"csat"}
    # a required question in a hidden section is not required
    d = sample_definition()
    d["sections"][2]["questions"][0]["required"] = True
    assert read_submission(d, sample_form(), final=True).ok
    assert set(read_submission(d, sample_form(q_csat="2"), final=True).errors) == {"rating"}


def test_answers_to_hidden_questions_are_dropped():
    form = sample_form(q_why="太慢了", q_wait_minutes="20", q_rating="3",
                       q_grid__speed="2")
    sub = read_submission(sample_definition(), form, final=True)
    assert sub.ok
    assert not {"why", "wait_minutes", "rating", "grid"} & set(sub.answers)
    shown = read_submission(sample_definition(),
                            dict(form, q_nps=["3"], q_waited=["yes"], q_csat=["2"]), final=True)
    assert shown.answers["why"] == "太慢了" and shown.answers["wait_minutes"] == 20
    assert shown.answers["grid"] == {"speed": 2} and shown.answers["rating"] == 3


def test_a_wrong_value_in_a_hidden_question_is_not_an_error():
    """The respondent typed minutes, then answered 'no': the browser hid the field."""
    sub = read_submission(sample_definition(), sample_form(q_wait_minutes="abc"), final=True)
    assert sub.ok and "wait_minutes" not in sub.answers
    sub = read_submission(sample_definition(),
                          sample_form(q_waited="yes", q_wait_minutes="abc"), final=True)
    assert set(sub.errors) == {"wait_minutes"}


def test_invalid_values_are_reported_per_question():
    form = sample_form(q_csat="9", q_purpose="mortgage", q_channels=["app", "phone", "atm"],
                       q_visit_date="2024-02-30", q_staff_name="x" * 101)
    sub = read_submission(sample_definition(), form, final=True)
    assert set(sub.errors) == {"csat", "purpose", "channels", "visit_date", "staff_name"}
    assert "csat" not in sub.answers

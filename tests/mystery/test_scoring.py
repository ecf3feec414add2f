"""Mystery-shop scoring goes through the one weighted-scoring function QA uses."""

from __future__ import annotations

import pytest

from qms.analytics import scoring
from qms.mystery import scoring as mystery_scoring
from qms.qa import rubric_format
from tests.mystery.support import FULL_MARKS, L, mystery_definition

QA_RUBRIC = {
    "sections": [
        {"key": "open", "title": L("开场", "開場", "Opening"), "weight": 40, "criteria": [
            {"key": "greet", "label": L("问候", "問候", "Greeting"), "kind": "yesno",
             "max_points": 2},
            {"key": "tone", "label": L("语气", "語氣", "Tone"), "kind": "scale",
             "max_points": 5, "na_allowed": True},
        ]},
        {"key": "close", "title": L("结束", "結束", "Closing"), "weight": 60, "criteria": [
            {"key": "risk", "label": L("风险", "風險", "Risk"), "kind": "yesno",
             "max_points": 3, "critical": "section"},
            {"key": "summary", "label": L("总结", "總結", "Summary"), "kind": "scale",
             "max_points": 4, "critical": "all", "pass_threshold": 2},
        ]},
    ],
}

# The same rubric as a mystery-shop survey definition.
MYSTERY = {
    "title": L("测试", "測試", "Test"),
    "sections": [
        {"key": "open", "weight": 40, "questions": [
            {"key": "greet", "type": "yesno", "points": 2, "label": L("问候", "問候", "Greeting")},
            {"key": "tone", "type": "rating", "min": 0, "max": 5, "points": 5,
             "na_allowed": True, "label": L("语气", "語氣", "Tone")},
        ]},
        {"key": "close", "weight": 60, "questions": [
            {"key": "risk", "type": "yesno", "points": 3, "critical": "section",
             "label": L("风险", "風險", "Risk")},
            {"key": "summary", "type": "rating", "min": 0, "max": 4, "points": 4,
             "critical": "all", "pass_threshold": 2, "label": L("总结", "總結", "Summary")},
        ]},
    ],
}

CASES = [
    # (QA answers, mystery answers)
    ({"greet": "yes", "tone": 5, "risk": "yes", "summary": 4},
     {"greet": True, "tone": 5, "risk": True, "summary": 4}),
    ({"greet": "no", "tone": "na", "risk": "yes", "summary": 3},
     {"greet": False, "tone": "na", "risk": True, "summary": 3}),
    ({"greet": "yes", "tone": 2, "risk": "no", "summary": 4},      # fail section
     {"greet": "yes", "tone": 2, "risk": "no", "summary": 4}),
    ({"greet": "yes", "tone": 5, "risk": "yes", "summary": 1},     # fail all (below 2)
     {"greet": True, "tone": 5, "risk": True, "summary": 1}),
]


def qa_answers(raw):
    return {k: {"score": {"yes": 2 if k == "greet" else 3, "no": 0}.get(v, v)
                if isinstance(v, str) and v != "na" else v, "comment": ""}
            for k, v in raw.items()}


@pytest.mark.parametrize(("qa", "mystery"), CASES)
def test_qa_rubric_and_mystery_definition_score_the_same(qa, mystery):
    assert rubric_format.check_definition(QA_RUBRIC) == []
    from qms.surveys.definition import validate
    assert validate(MYSTERY, "mystery_shop") == []
    expected = rubric_format.score_answers(QA_RUBRIC, qa_answers(qa))
    got = mystery_scoring.score_report(MYSTERY, mystery)
    assert got.as_dict() == expected.as_dict()


def test_both_modules_call_the_one_scoring_function(monkeypatch):
    calls = []
    real = scoring.score

    def spy(rubric, answers, *, partial=False):
        calls.append(sorted(answers))
        return real(rubric, answers, partial=partial)

    monkeypatch.setattr(scoring, "score", spy)
    rubric_format.score_answers(QA_RUBRIC, qa_answers(CASES[0][0]))
    mystery_scoring.score_report(MYSTERY, CASES[0][1])
    assert calls == [["greet", "risk", "summary", "tone"]] * 2


def test_hand_computed_report():
    d = mystery_definition()
    assert mystery_scoring.score_report(d, FULL_MARKS).total == 100
    # arrival: greet 2 + wait 4, clean N/A -> 6/6 = 100 %
    # service: needs 3 on 1..5 -> 2/4; disclosure 5/5; product fair 1/2 -> 1.5/3;
    #          followup hidden (needs < 4) -> N/A; 8.5/12
    answers = dict(FULL_MARKS, needs=3, product="fair", clean="na")
    result = mystery_scoring.score_report(d, answers)
    assert result.per_section["service"].earned == 8.5
    assert result.total == pytest.approx(30 + 70 * 8.5 / 12)
    rows = {r["item_key"]: r for r in mystery_scoring.item_scores(d, answers)}
    assert rows["needs"] == {"section_key": "service", "item_key": "needs", "earned": 2.0,
                             "possible": 4.0, "missed": True, "critical_failed": False}
    assert rows["clean"]["possible"] is None and rows["followup"]["earned"] is None
    assert not rows["greet"]["missed"]


def test_critical_fail_all_and_item_rows():
    d = mystery_definition()
    answers = dict(FULL_MARKS, disclosure=False)
    result = mystery_scoring.score_report(d, answers)
    assert result.total == 0 and result.auto_failed
    rows = {r["item_key"]: r for r in mystery_scoring.item_scores(d, answers)}
    assert rows["disclosure"]["critical_failed"] and rows["disclosure"]["missed"]
    assert not rows["greet"]["critical_failed"]


def test_partial_and_missing():
    d = mystery_definition()
    answers = {"greet": True, "wait_ok": 2}
    with pytest.raises(ValueError, match="unanswered"):
        mystery_scoring.score_report(d, answers)
    partial = mystery_scoring.score_report(d, answers, partial=True)
    assert partial.total == pytest.approx(100 * 4 / 6)
    assert "disclosure" in partial.missing


def test_answers_for_scoring_and_scored_items():
    d = mystery_definition()
    converted = mystery_scoring.answers_for_scoring(
        d, dict(FULL_MARKS, greet="no", needs=1, notes="x"))
    assert converted["greet"] == "no" and converted["needs"] == 0
    assert converted["followup"] == "na"          # hidden by its condition
    assert "notes" not in converted and "visit_start" not in converted
    assert mystery_scoring.scored_items(d)[:2] == [("arrival", "greet", 2.0, None),
                                                   ("arrival", "wait_ok", 4.0, None)]
    assert ("service", "disclosure", 5.0, "all") in mystery_scoring.scored_items(d)


def test_wrong_answers_are_refused():
    d = mystery_definition()
    with pytest.raises(ValueError):
        mystery_scoring.score_report(d, dict(FULL_MARKS, wait_ok=9))
    with pytest.raises(ValueError):
        mystery_scoring.score_report(d, dict(FULL_MARKS, product="excellent"))
    with pytest.raises(ValueError, match="N/A"):
        mystery_scoring.score_report(d, dict(FULL_MARKS, greet="na"))

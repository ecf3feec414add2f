"""static/survey.js under node: its condition evaluator, visibility and answer reading agree
with qms/surveys/conditions.py, definition.visible_keys and the question registry."""

from __future__ import annotations

import itertools
import json
import random
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest

from qms.surveys import conditions
from qms.surveys.definition import visible_keys
from qms.surveys.questions import REGISTRY, InvalidAnswer
from tests.surveys.factories import sample_definition

ROOT = Path(__file__).resolve().parents[2]
SURVEY_JS = ROOT / "qms" / "static" / "survey.js"
CASES_FILE = Path(__file__).with_name("condition_cases.json")
NODE = shutil.which("node")

pytestmark = pytest.mark.skipif(NODE is None, reason="node is not installed")

RUNNER = """
const api = require(process.argv[1]);
let input = "";
process.stdin.on("data", d => input += d);
process.stdin.on("end", () => {
  const jobs = JSON.parse(input);
  const out = jobs.map(([fn, args]) => {
    const r = api[fn](...args);
    return r === undefined ? {undef: true} : {value: r};
  });
  process.stdout.write(JSON.stringify(out));
});
"""


def run_js(jobs: list[tuple[str, list]]) -> list:
    """Call survey.js functions: [(name, args)] -> results (None for undefined)."""
    proc = subprocess.run([NODE, "-e", RUNNER, str(SURVEY_JS)], input=json.dumps(jobs),
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    return [None if r.get("undef") else r["value"] for r in json.loads(proc.stdout)]


def jsonable(value):
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [jsonable(v) for v in value]
    return value


# -- the shared case file -----------------------------------------------------------------------

CASES = json.loads(CASES_FILE.read_text(encoding="utf-8")) if CASES_FILE.exists() else []


@pytest.fixture(scope="module")
def js_case_results():
    return run_js([("evaluate", [c["condition"], c["answers"]]) for c in CASES])


@pytest.mark.skipif(not CASES, reason="tests/surveys/condition_cases.json is not there yet")
@pytest.mark.parametrize("index", range(len(CASES)),
                         ids=[c.get("name", str(i)) for i, c in enumerate(CASES)])
def test_condition_case_file(js_case_results, index):
    case = CASES[index]
    assert js_case_results[index] is case["expected"]
    assert conditions.evaluate(case["condition"], case["answers"]) is case["expected"]


# -- generated parity: many conditions x many answers ------------------------------------------

# No integral floats such as 6.0: JSON (and so the browser) cannot tell them from 6, while
# Python's str(6.0) != "6". Only a number compared with a text answer would differ, and the
# definition check refuses such conditions.
VALUES = [0, 1, 3, 6, 2.5, 10, -1, True, False, "yes", "no", "3", "6", "loan", "app", "",
          None, ["app"], ["app", "atm"], [], {}, "2024-05-01"]


def random_condition(rng: random.Random, depth: int = 0) -> dict:
    if depth < 2 and rng.random() < 0.3:
        group = rng.choice(["all", "any"])
        return {group: [random_condition(rng, depth + 1) for _ in range(rng.randint(1, 3))]}
    op = rng.choice(conditions.OPS)
    if op == "in":
        value = rng.sample([v for v in VALUES if not isinstance(v, list | dict)], 3)
    else:
        value = rng.choice(VALUES)
    return {"q": rng.choice("abc"), "op": op, "value": value}


def test_generated_conditions_agree_with_python():
    rng = random.Random(2026)
    jobs, expected = [], []
    for _ in range(1500):
        cond = random_condition(rng)
        answers = {k: rng.choice(VALUES) for k in "abc" if rng.random() < 0.8}
        answers = {k: v for k, v in answers.items() if v is not None}
        jobs.append(("evaluate", [cond, answers]))
        expected.append(conditions.evaluate(cond, answers))
    got = run_js(jobs)
    mismatches = [(j[1], e, g) for j, e, g in zip(jobs, expected, got, strict=True) if e is not g]
    assert not mismatches, mismatches[:5]


# -- visibility over a whole definition ------------------------------------------------------------

def test_visible_keys_agree_with_python():
    definition = sample_definition()
    choices = {"csat": [None, 1, 3, 5], "nps": [None, 0, 6, 7], "purpose": [None, "deposit", "loan"],
               "waited": [None, True, False]}
    jobs, expected = [], []
    for combo in itertools.product(*choices.values()):
        answers = {k: v for k, v in zip(choices, combo, strict=True) if v is not None}
        answers["wait_minutes"] = 5
        jobs.append(("visibleKeys", [definition, answers]))
        expected.append(visible_keys(definition, answers))
    got = run_js(jobs)
    for job, want, have in zip(jobs, expected, got, strict=True):
        assert set(have) == want, job[1][1]


# -- reading answers as the server parses them ----------------------------------------------------

RAW = {
    "csat": [[], ["4"], ["0"], ["6"], ["x"], ["４"], ["4", "5"], [" 3 "]],
    "nps": [["0"], ["10"], ["11"], ["-1"]],
    "rating": [["1"], ["10"], ["11"]],
    "number": [["20"], ["2.5"], ["1,200"], ["-3"], ["abc"], ["241"], [""], ["１２"], ["1.1234567"]],
    "yesno": [["yes"], ["no"], ["YES"], ["maybe"], []],
    "single": [["loan"], [""], [], ["mortgage"]],
    "multiple": [["app"], ["atm", "app"], ["app", "phone", "atm"], ["app", "app"], [], ["fax"]],
    "text": [["王芳"], ["  "], ["x" * 101], ["ok\x00"]],
    "date": [["2024-05-01"], ["2024-02-30"], ["20240501"], ["1899-12-31"], [""]],
}
QUESTIONS = {
    "csat": {"key": "csat", "type": "csat"}, "nps": {"key": "nps", "type": "nps"},
    "rating": {"key": "r", "type": "rating", "min": 1, "max": 10},
    "number": {"key": "n", "type": "number", "min": -5, "max": 240},
    "yesno": {"key": "y", "type": "yesno"},
    "single": {"key": "s", "type": "single", "options": [{"key": "loan"}, {"key": "deposit"}]},
    "multiple": {"key": "m", "type": "multiple", "max_selected": 2,
                 "options": [{"key": "app"}, {"key": "phone"}, {"key": "atm"}]},
    "text": {"key": "t", "type": "text", "max_length": 100},
    "date": {"key": "d", "type": "date"},
}


def test_answers_are_read_like_the_server_reads_them():
    jobs, expected = [], []
    for kind, raws in RAW.items():
        q = QUESTIONS[kind]
        for raw in raws:
            try:
                value = REGISTRY[q["type"]].parse(q, raw)
            except InvalidAnswer:
                value = None
            jobs.append(("parseAnswer", [q, raw]))
            expected.append(jsonable(value))
    got = run_js(jobs)
    for job, want, have in zip(jobs, expected, got, strict=True):
        assert have == want, job


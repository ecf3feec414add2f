"""Checklist definitions: checking, scoring through the shared function, failed items,
templates whose published versions are frozen, JSON export/import, and the builder pages."""

from __future__ import annotations

import copy
import json

import pytest
import sqlalchemy as sa

from qms.analytics import scoring
from qms.audits import checklists
from qms.audits import templates as svc
from qms.audits.models import AuditTemplateVersion
from qms.extensions import db
from tests.audits.conftest import SAMPLE_DEFINITION, L


@pytest.fixture
def d():
    return copy.deepcopy(SAMPLE_DEFINITION)


@pytest.fixture(scope="module")
def ctx(tmp_path_factory):
    """An app context without a database, for the pure definition tests (built once)."""
    from tests.conftest import app_config, build_app

    app = build_app(app_config(tmp_path_factory.mktemp("checklists")))
    with app.app_context():
        yield app


def test_sample_is_valid_and_converts_to_the_shared_rubric(ctx, d):
    assert checklists.check_definition(d) == []
    rubric = checklists.to_scoring(d)
    assert isinstance(rubric, scoring.Rubric)
    assert [s.key for s in rubric.sections] == ["cash", "premises"]
    dual, count = rubric.sections[0].criteria
    assert (dual.kind, dual.max_points, dual.critical) == (scoring.YESNO, 2, "section")
    assert (count.kind, count.na_allowed, count.pass_threshold) == (scoring.POINTS, True, None)


def test_scoring_uses_the_shared_function(ctx, d):
    answers = {"dual_control": "pass", "cash_count": 4, "signage": "fail"}
    assert checklists.answer_to_scoring(d, answers) == {
        "dual_control": "yes", "cash_count": 4, "signage": "no"}
    result = checklists.score_answers(d, answers)
    expected = scoring.score(checklists.to_scoring(d),
                             {"dual_control": "yes", "cash_count": 4, "signage": "no"})
    assert result.total == pytest.approx(expected.total)
    assert result.total == pytest.approx(60 * 6 / 7)   # cash 6/7 of 60, premises 0 of 40
    # a critical "section" item failing zeroes its section
    failed = checklists.score_answers(d, {"dual_control": "fail", "cash_count": 5,
                                          "signage": "pass"})
    assert failed.per_section["cash"].failed_by_critical
    assert failed.total == pytest.approx(40.0)
    # N/A takes the item out; unanswered is missing unless partial
    na = checklists.score_answers(d, {"dual_control": "pass", "cash_count": "na",
                                      "signage": "pass"})
    assert na.total == pytest.approx(100.0)
    with pytest.raises(ValueError):
        checklists.score_answers(d, {"dual_control": "pass"})
    assert checklists.score_answers(d, {"dual_control": "pass"}, partial=True).missing == [
        "cash_count", "signage"]


def test_points_weighting(ctx, d):
    d["weighting"] = "points"
    d["sections"][0]["weight"] = 0
    assert checklists.check_definition(d) == []
    result = checklists.score_answers(d, {"dual_control": "pass", "cash_count": 2,
                                          "signage": "pass"})
    assert result.total == pytest.approx(100 * 5 / 8)


def test_failed_items_follow_pass_marks(ctx, d):
    assert checklists.failed_items(d, {"dual_control": "fail", "cash_count": 2,
                                       "signage": "pass"}) == ["dual_control", "cash_count"]
    assert checklists.failed_items(d, {"dual_control": "pass", "cash_count": 3,
                                       "signage": "na"}) == []
    d["sections"][0]["items"][1]["pass_threshold"] = None   # default: full marks
    assert checklists.failed_items(d, {"cash_count": 4}) == ["cash_count"]


def test_item_meta_gives_what_findings_need(ctx, d):
    meta = checklists.item_meta(d)
    assert set(meta) == {"dual_control", "cash_count", "signage"}
    m = meta["dual_control"]
    assert (m["section_key"], m["severity"], m["evidence_required"], m["kind"],
            m["max_points"]) == ("cash", "critical", True, "passfail", 2)
    assert m["label"]["en"] == "Vault under dual control"
    assert meta["cash_count"]["pass_threshold"] == 3


def test_check_lists_every_problem(ctx):
    bad = {"weighting": "odd", "extra": 1, "sections": [
        {"key": "1bad", "label": {"en": "x"}, "weight": 30, "items": [
            {"key": "a", "label": L("A"), "kind": "maybe", "max_points": -1,
             "severity": "fatal", "critical": "branch", "pass_threshold": 2,
             "na_allowed": "yes"},
            {"key": "a", "label": L("A2")}]},
        {"key": "s2", "label": L("S2"), "weight": 30, "items": []}]}
    problems = checklists.check_definition(bad)
    # one each: unknown property, weighting, bad key, missing languages, kind, points,
    # na_allowed, severity, critical, pass mark on a pass/fail item, key used twice, empty
    # section, weights not adding up to 100
    assert len(problems) == 13
    text = " | ".join(problems)
    for fragment in ("extra", "1bad", "zh_Hans", "na_allowed", "s2", "60"):
        assert fragment in text, fragment
    by_key = checklists.problems_by_key(bad)
    assert len(by_key["a"]) == 7 and len(by_key[""]) == 3
    assert checklists.check_definition([]) != []
    assert checklists.check_definition({"sections": []}) != []


def test_answer_problems(ctx, d):
    problems = checklists.answer_problems(d, {"dual_control": "na", "cash_count": 9,
                                              "signage": "maybe", "ghost": "pass"})
    assert set(problems) == {"dual_control", "cash_count", "signage", "ghost"}
    assert checklists.answer_problems(d, {"dual_control": "pass"}) == {}
    assert set(checklists.answer_problems(d, {"dual_control": "pass"}, partial=False)) == {
        "cash_count", "signage"}


# -- templates: versions, publish freezes, export/import ------------------------------------

def test_publish_freezes_and_editing_starts_a_new_version(app, d):
    t = svc.create_template(name="Branch operations", definition=d)
    db.session.commit()
    v1 = svc.publish_template(t)
    db.session.commit()
    assert v1.number == 1 and v1.is_published
    # optional properties are filled in on publish
    assert v1.definition["sections"][0]["items"][0]["pass_threshold"] is None
    changed = copy.deepcopy(v1.definition)
    changed["sections"][1]["items"][0]["severity"] = "major"
    v2 = svc.save_draft(t, changed)
    db.session.commit()
    assert v2.number == 2 and not v2.is_published
    db.session.expire_all()
    assert db.session.get(AuditTemplateVersion, v1.id).definition["sections"][1]["items"][0][
        "severity"] == "minor"
    assert svc.latest_published(t).id == v1.id
    # a second save edits the draft in place
    changed["sections"][1]["items"][0]["severity"] = "critical"
    assert svc.save_draft(t, changed).number == 2
    with pytest.raises(svc.TemplateError):
        svc.save_draft(t, changed | {"weighting": "points"}, base="stale")


def test_published_version_cannot_be_changed_by_any_path(app, d):
    t = svc.create_template(name="X", definition=d)
    v = svc.publish_template(t)
    db.session.commit()
    v.definition = {**v.definition, "weighting": "points"}
    with pytest.raises(svc.FrozenTemplateVersion):
        db.session.flush()
    db.session.rollback()
    v = db.session.get(AuditTemplateVersion, v.id)
    v.published_at = None
    with pytest.raises(svc.FrozenTemplateVersion):
        db.session.flush()
    db.session.rollback()
    db.session.delete(db.session.get(AuditTemplateVersion, v.id))
    with pytest.raises(svc.FrozenTemplateVersion):
        db.session.flush()
    db.session.rollback()


def test_publish_refuses_an_incomplete_checklist_with_every_problem(app, d):
    d["sections"][0]["weight"] = 10
    d["sections"][1]["items"][0]["label"] = {}
    t = svc.create_template(name="Incomplete", definition=d)
    with pytest.raises(svc.TemplateError) as exc:
        svc.publish_template(t)
    assert len(exc.value.problems) == 2
    assert svc.latest_published(t) is None


def test_export_import_round_trip(app, d):
    t = svc.create_template(name="Round trip", definition=d)
    v = svc.publish_template(t)
    db.session.commit()
    raw = svc.export_json(t, v)
    doc = json.loads(raw)
    assert doc["format"] == svc.EXPORT_FORMAT and doc["version"] == 1
    copy_ = svc.import_json(raw)
    db.session.commit()
    imported = svc.latest_version(copy_)
    assert copy_.name == "Round trip" and copy_.id != t.id
    assert imported.definition == v.definition and not imported.is_published
    assert svc.export_json(copy_, svc.publish_template(copy_))[:0] == ""
    with pytest.raises(svc.TemplateError):
        svc.import_json("not json")
    with pytest.raises(svc.TemplateError):
        svc.import_json(json.dumps({"format": "other"}))
    broken = json.loads(raw)
    broken["definition"]["sections"][0]["weight"] = "a lot"
    with pytest.raises(svc.TemplateError) as exc:
        svc.import_json(json.dumps(broken))
    assert exc.value.problems
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditTemplateVersion)) == 2

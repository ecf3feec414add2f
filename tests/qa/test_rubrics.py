"""Rubrics: the definition check, scoring through the pure module, versioning (publishing
freezes; a change after evaluations is version n+1; old evaluations keep theirs; the ORM
refuses in-place changes), the builder operations, copy, archive and the demo rubrics."""

from __future__ import annotations

import copy
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from flask_babel import force_locale

from qms.analytics import scoring
from qms.core.tx import unit_of_work
from qms.extensions import db as _db
from qms.qa import rubric_builder as builder
from qms.qa import rubrics as svc
from qms.qa.demo_rubrics import demo_rubrics
from qms.qa.models import Evaluation, Rubric, RubricVersion
from qms.qa.rubric_format import (
    check_definition,
    problems_by_key,
    score_answers,
    scores_of,
    to_scoring,
    weight_sum,
)
from tests.qa.interaction_support import build_world, call_definition, make_interaction


def L(text: str) -> dict:
    return {"zh_Hans": text, "zh_Hant": text, "en": text}


def crit(key, points=5, kind="scale", **kw) -> dict:
    return {"key": key, "label": L(key), "kind": kind, "max_points": points,
            "na_allowed": kw.pop("na", False), "critical": kw.pop("critical", None), **kw}


def definition(*sections, above=False) -> dict:
    return {"allow_above_100": above, "sections": list(sections)}


def section(key, weight, *criteria, bonus=False) -> dict:
    return {"key": key, "title": L(key), "weight": weight, "bonus": bonus,
            "criteria": list(criteria)}


def problems(d) -> list[str]:
    with force_locale("en"):
        return check_definition(d)


# -- the definition check --------------------------------------------------------------------

def test_demo_rubrics_are_complete(app):
    rubrics = demo_rubrics()
    assert [r["channel"] for r in rubrics] == ["call", "branch_visit"]
    for r in rubrics:
        d = r["definition"]
        assert problems(d) == [], r["name"]
        assert weight_sum(d) == 100
        titles = [s["title"]["zh_Hans"] for s in d["sections"]]
        assert titles[:6] == ["问候与身份核实", "需求识别", "业务准确性", "合规与风险提示",
                              "服务态度", "结束语"] or "迎候与身份核实" in titles
        compliance = next(s for s in d["sections"] if s["title"]["zh_Hans"] == "合规与风险提示")
        assert any(c["critical"] == "all" for c in compliance["criteria"])
        assert [s["bonus"] for s in d["sections"]].count(True) == 1


def test_demo_call_rubric_scores_as_domain_says(app):
    d = call_definition()
    full = {c.key: c.max_points for _s, c in to_scoring(d).criteria()}
    assert score_answers(d, full).total == 100
    no_warning = score_answers(d, {**full, "risk_warning": 0})
    assert no_warning.total == 0 and no_warning.auto_failed
    assert no_warning.failed_criteria == ["risk_warning"]
    # N/A where nothing was sold: out of the points possible, no harm done
    assert score_answers(d, {**full, "risk_warning": "na", "cross_sell": "na"}).total == 100
    # an answer below the pass mark fails its section only
    wrong = score_answers(d, {**full, "accurate_answer": 2, "cross_sell": "na"})
    assert not wrong.auto_failed and wrong.per_section["accuracy"].percent == 0
    assert wrong.total == pytest.approx(75)
    # a full bonus (5%) makes up for it
    assert score_answers(d, {**full, "accurate_answer": 2}).total == pytest.approx(80)
    # the bonus makes up for lost points, capped at 100 (this rubric does not go above)
    lost = {**full, "tone": 3}
    assert score_answers(d, {**lost, "cross_sell": 0}).total < score_answers(d, lost).total
    assert score_answers(d, {c: v for c, v in full.items()}).total == 100


def test_na_removes_points_possible_as_maestroqa():
    """DOMAIN.md: a 5-point criterion N/A out of 35 leaves 16/30."""
    d = definition(section("s", 100, crit("a", 10), crit("b", 10), crit("c", 10),
                           crit("d", 5, na=True)))
    result = score_answers(d, {"a": 6, "b": 5, "c": 5, "d": {"score": "na"}})
    assert result.per_section["s"].possible == 30
    assert result.total == pytest.approx(100 * 16 / 30)


@pytest.mark.parametrize(("change", "words"), [
    (lambda d: d["sections"][0]["title"].update(en=""), "missing in en"),
    (lambda d: d["sections"][0].update(title=None), "missing in every language"),
    (lambda d: d["sections"][0]["criteria"][0]["label"].update(fr="x"), "unknown language fr"),
    (lambda d: d["sections"][1]["criteria"][0].update(key="greet_standard"), "used twice"),
    (lambda d: d["sections"][1].update(key="greet_standard"), "used twice"),
    (lambda d: d["sections"][0].update(key="1st"), "starts with a letter"),
    (lambda d: d["sections"][0].update(weight=20), "add up to 105, not 100"),
    (lambda d: d["sections"][0].update(weight="15"), "above 0 and at most 100"),
    (lambda d: d["sections"][0].update(criteria=[]), "has no criteria"),
    (lambda d: d["sections"][0]["criteria"][0].update(kind="stars"), "scale or yesno"),
    (lambda d: d["sections"][1]["criteria"][0].update(max_points=2.5), "whole points"),
    (lambda d: d["sections"][1]["criteria"][0].update(max_points=25), "whole points up to 20"),
    (lambda d: d["sections"][1]["criteria"][0].update(max_points=0), "above 0"),
    (lambda d: d["sections"][0]["criteria"][0].update(critical="fatal"), "none, section or all"),
    (lambda d: d["sections"][0]["criteria"][0].update(pass_threshold=1),
     "critical scale criteria only"),
    (lambda d: d["sections"][2]["criteria"][0].update(pass_threshold=9), "at most the points"),
    (lambda d: d["sections"][6]["criteria"][0].update(critical="all"), "bonus section cannot"),
    (lambda d: d["sections"][1]["criteria"][1]["guidance"].update({"7": L("x")}),
     "not a score of this criterion"),
    (lambda d: d["sections"][1]["criteria"][1]["guidance"]["5"].update(zh_Hant=""),
     "guidance for 5 is missing in zh_Hant"),
    (lambda d: d["sections"][0]["criteria"][0].update(na_allowed="yes"), "true or false"),
    (lambda d: d.update(extra=1), "unknown property extra"),
    (lambda d: d.update(sections=[]), "at least one section"),
    (lambda d: [s.update(bonus=True) for s in d["sections"]], "not a bonus"),
])
def test_check_definition_names_each_problem(app, change, words):
    d = call_definition()
    change(d)
    found = problems(d)
    assert any(words in p for p in found), found


def test_problems_are_grouped_by_item(app):
    d = call_definition()
    d["sections"][1]["criteria"][0]["label"]["en"] = ""
    d["sections"][0]["weight"] = 10
    with force_locale("en"):
        grouped = problems_by_key(d)
    assert set(grouped) == {"listen", ""}
    assert grouped["listen"] == ["Criterion listen: the label is missing in en."]
    assert check_definition("nope") and check_definition({"sections": "x"})


def test_to_scoring_carries_labels_guidance_and_thresholds(app):
    rubric = to_scoring(call_definition(), locale="en")
    assert isinstance(rubric, scoring.Rubric) and not rubric.allow_above_100
    assert scoring.check_rubric(rubric) == []
    items = {c.key: c for _s, c in rubric.criteria()}
    assert items["accurate_answer"].pass_threshold == 3
    assert items["accurate_answer"].guidance["5"].startswith("Correct")
    assert items["risk_warning"].critical == "all" and items["risk_warning"].kind == "yesno"
    assert rubric.sections[0].label == "Greeting and identity check"
    assert scores_of({"kind": "scale", "max_points": 3}) == [3, 2, 1, 0]
    assert scores_of({"kind": "yesno", "max_points": 5.0}) == [5, 0]


# -- versions ---------------------------------------------------------------------------------

def _create(definition=None, name="来电质检"):
    with unit_of_work():
        return svc.create_rubric(name=name, channel="call", definition=definition)


def _publish(rubric):
    with unit_of_work():
        return svc.publish_rubric(rubric, now=datetime(2026, 3, 1, tzinfo=UTC))


def _save(rubric, d, **kw):
    with unit_of_work():
        return svc.save_draft(rubric, d, **kw)


def test_a_draft_changes_in_place_until_published(app):
    rubric = _create(call_definition())
    d = call_definition()
    d["sections"][0]["title"]["en"] = "Opening"
    v = _save(rubric, d)
    assert v.number == 1 and len(rubric.versions) == 1
    assert _save(rubric, d) is v  # nothing changed: nothing stored
    published = _publish(rubric)
    assert published.number == 1 and published.published_at is not None


def test_publishing_freezes_and_a_change_starts_the_next_version(app):
    rubric = _create(call_definition())
    v1 = _publish(rubric)
    d = call_definition()
    d["sections"][0]["weight"], d["sections"][2]["weight"] = 20, 20
    v2 = _save(rubric, d)
    assert v2.number == 2 and v2.published_at is None
    _db.session.expire_all()
    assert _db.session.get(RubricVersion, v1.id).definition == call_definition()
    assert svc.latest_published(rubric).number == 1
    _publish(rubric)
    assert svc.latest_published(rubric).number == 2


def test_old_evaluations_keep_their_version(app, make_branch, make_agent, make_user):
    w = build_world(make_branch, make_agent, make_user)
    rubric = _create(call_definition())
    v1 = _publish(rubric)
    i = make_interaction(w.a1, "CC-1", at=datetime(2026, 3, 1, tzinfo=UTC))
    full = {c.key: {"score": c.max_points} for _s, c in to_scoring(v1.definition).criteria()}
    ev = Evaluation(interaction_id=i.id, rubric_version_id=v1.id, agent_id=w.a1.id,
                    branch_id=w.sh.id, status="submitted", answers=full,
                    total=score_answers(v1.definition, full).total)
    _db.session.add(ev)
    _db.session.commit()
    d = call_definition()
    d["sections"][3]["criteria"][1]["critical"] = "section"  # a critical flag changes
    v2 = _save(rubric, d)
    _publish(rubric)
    _db.session.expire_all()
    ev = _db.session.get(Evaluation, ev.id)
    assert ev.rubric_version_id == v1.id and ev.rubric_version.number == 1
    assert ev.rubric_version.definition == call_definition()
    assert v2.number == 2 and svc.evaluation_counts(rubric) == {v1.id: 1}


def test_a_draft_with_evaluations_is_frozen_too(app, make_branch, make_agent, make_user):
    """A trial calibration on a draft: the draft keeps what was scored, edits go to n+1."""
    w = build_world(make_branch, make_agent, make_user)
    rubric = _create(call_definition())
    v1 = svc.latest_version(rubric)
    i = make_interaction(w.a1, "CC-1", at=datetime(2026, 3, 1, tzinfo=UTC))
    _db.session.add(Evaluation(interaction_id=i.id, rubric_version_id=v1.id, agent_id=w.a1.id,
                               branch_id=w.sh.id, status="draft"))
    _db.session.commit()
    assert svc.is_frozen(v1)
    d = call_definition()
    d["sections"][0]["title"]["en"] = "Opening"
    assert _save(rubric, d).number == 2
    published = _publish(rubric)
    assert published.number == 2
    _db.session.expire_all()
    assert _db.session.get(RubricVersion, v1.id).published_at is None


@pytest.mark.parametrize("how", ["definition", "nested", "unpublish", "number", "delete"])
def test_the_orm_refuses_in_place_changes_of_a_published_version(app, how):
    rubric = _create(call_definition())
    version = _publish(rubric)
    _db.session.expire_all()  # as in a later request: nothing loaded
    version = _db.session.get(RubricVersion, version.id)
    if how == "definition":
        version.definition = {"sections": []}
    elif how == "nested":
        d = copy.deepcopy(version.definition)
        d["sections"][0]["weight"] = 1
        version.definition = d
    elif how == "unpublish":
        version.published_at = None
    elif how == "number":
        version.number = 7
    else:
        _db.session.delete(version)
    with pytest.raises(svc.FrozenRubricVersion):
        _db.session.flush()
    _db.session.rollback()
    _db.session.expire_all()
    stored = _db.session.get(RubricVersion, version.id)
    assert stored.definition == call_definition() and stored.published_at is not None


def test_unpublishing_a_loaded_version_is_refused_too(app):
    """Unpublishing in one flush and editing in the next is refused at the first step."""
    rubric = _create(call_definition())
    version = _publish(rubric)
    version.published_at = None
    with pytest.raises(svc.FrozenRubricVersion):
        _db.session.commit()
    _db.session.rollback()


def test_publish_refuses_an_incomplete_draft_and_a_second_publish(app):
    rubric = _create()
    with pytest.raises(svc.RubricError) as info, force_locale("en"):
        _publish(rubric)
    assert any("has no criteria" in p for p in info.value.problems)
    assert svc.latest_version(rubric).published_at is None
    _save(rubric, call_definition())
    _publish(rubric)
    with pytest.raises(svc.RubricError):
        _publish(rubric)


def test_lost_update_and_names(app):
    rubric = _create(call_definition())
    base = svc.revision(svc.latest_version(rubric).definition)
    d = call_definition()
    d["allow_above_100"] = True
    _save(rubric, d, base=base)
    with pytest.raises(svc.RubricError):
        _save(rubric, call_definition(), base=base)
    with pytest.raises(svc.RubricError):
        _create(name="  ")
    with pytest.raises(svc.RubricError):
        with unit_of_work():
            svc.create_rubric(name="x", channel="fax")
    assert _db.session.scalar(sa.select(sa.func.count(Rubric.id))) == 1


def test_discard_copy_archive(app):
    rubric = _create(call_definition())
    _publish(rubric)
    d = call_definition()
    d["sections"][0]["title"]["en"] = "Opening"
    _save(rubric, d)
    with unit_of_work():
        back = svc.discard_draft(rubric)
    assert back.number == 1 and len(svc.rubric_rows()) == 1
    with pytest.raises(svc.RubricError):
        with unit_of_work():
            svc.discard_draft(rubric)  # version 1 is published: no draft

    with unit_of_work():
        copied = svc.copy_rubric(rubric, name="来电质检（副本）")
    v = svc.latest_version(copied)
    assert (v.number, v.published_at, v.definition) == (1, None, call_definition())
    assert copied.channel == "call"

    with unit_of_work():
        svc.archive_rubric(rubric)
    assert [r.name for r in svc.rubric_rows()] == ["来电质检（副本）"]
    assert [r.name for r in svc.rubric_rows(archived=True)] == ["来电质检"]
    with pytest.raises(svc.RubricError):
        _save(rubric, d)
    with unit_of_work():
        svc.restore_rubric(rubric)
    rows = {r.name: r for r in svc.rubric_rows(published_only=True)}
    assert set(rows) == {"来电质检"} and rows["来电质检"].published == 1


# -- builder operations -------------------------------------------------------------------

def test_builder_operations(app):
    rubric = _create()
    with unit_of_work():
        c1 = builder.add_criterion(rubric, "s1", "scale")
        s2 = builder.add_section(rubric)
        bonus = builder.add_section(rubric, bonus=True)
        assert bonus == "bonus1"
        c2 = builder.add_criterion(rubric, s2, "yesno")
    d = svc.latest_version(rubric).definition
    assert [s["key"] for s in d["sections"]] == ["s1", "s2", "bonus1"]
    assert [s["weight"] for s in d["sections"]] == [100, 0, 5]  # what is left of the 100
    assert (c1, c2) == ("c1", "c2")
    with unit_of_work():
        builder.set_weights(rubric, {"s1": 60, "s2": 40.5})
        builder.move_criterion(rubric, c2, -1)          # to the end of the previous section
        builder.move_section(rubric, s2, -1)
        builder.update_criterion(rubric, c1, {
            **builder.skeleton("scale", "accuracy"), "max_points": 3, "critical": "section",
            "pass_threshold": 2, "label": L("准确"),
            "guidance": {"3": L("全对"), "5": L("不存在的分数"), "0": L("")}})
        builder.update_section(rubric, "s1", new_key="accuracy_sec", title=L("准确性"),
                               weight=59.5, bonus=False)
    d = svc.latest_version(rubric).definition
    assert [s["key"] for s in d["sections"]] == ["s2", "accuracy_sec", "bonus1"]
    assert [[c["key"] for c in s["criteria"]] for s in d["sections"]] == [
        [], ["accuracy", "c2"], []]
    accuracy = d["sections"][1]["criteria"][0]
    assert accuracy["guidance"] == {"3": L("全对")} and accuracy["pass_threshold"] == 2
    assert weight_sum(d) == 100
    with pytest.raises(svc.RubricError):
        with unit_of_work():
            builder.update_section(rubric, "s2", new_key="accuracy", title=L("x"), weight=1,
                                   bonus=False)
    with pytest.raises(svc.RubricError):
        with unit_of_work():
            builder.move_section(rubric, "s2", -1)
    with unit_of_work():
        builder.delete_criterion(rubric, "c2")
        builder.delete_section(rubric, "s2")
    assert [s["key"] for s in svc.latest_version(rubric).definition["sections"]] == [
        "accuracy_sec", "bonus1"]
    assert len(rubric.versions) == 1  # a draft changes in place


def test_builder_change_to_a_published_rubric_makes_a_draft(app):
    rubric = _create(call_definition())
    _publish(rubric)
    with unit_of_work():
        builder.set_weights(rubric, {"greeting": 15})   # no change: no new version
    assert len(svc.rubric_rows()) == 1 and svc.latest_version(rubric).number == 1
    with unit_of_work():
        builder.update_settings(rubric, name="来电质检 2026", channel="call",
                                allow_above_100=True)
    v = svc.latest_version(rubric)
    assert v.number == 2 and v.definition["allow_above_100"] is True
    assert rubric.name == "来电质检 2026"
    assert svc.latest_published(rubric).definition["allow_above_100"] is False

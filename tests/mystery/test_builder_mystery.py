"""Mystery-shop surveys in the survey engine: definition checks, evidence types, N/A answers,
the builder's scoring/scenario/evidence operations and pages, JSON round trip."""

from __future__ import annotations

import copy

import pytest

from qms.extensions import db
from qms.surveys import builder, builder_mystery, services
from qms.surveys.definition import read_submission, validate
from qms.surveys.questions import ALL_TYPES, REGISTRY, InvalidAnswer, types_for
from qms.surveys.services import SurveyError
from tests.mystery.support import L, mystery_definition


def section(d, key):
    return next(s for s in d["sections"] if s["key"] == key)


def question(d, key):
    return next(q for s in d["sections"] for q in s["questions"] if q["key"] == key)


@pytest.mark.parametrize(("change", "expected"), [
    (lambda d: section(d, "arrival").update(weight=40), "add up to 110, not 100"),
    (lambda d: section(d, "arrival").pop("weight"), "needs a weight"),
    (lambda d: section(d, "evidence").update(weight=10), "only a section with scored"),
    (lambda d: question(d, "notes").update(points=2), "textarea question cannot be scored"),
    (lambda d: question(d, "greet").update(critical="maybe"), "critical: none, section or all"),
    (lambda d: question(d, "notes").update(critical="all"), "only a scored question"),
    (lambda d: question(d, "greet").update(pass_threshold=1, critical="all"),
     "pass mark applies to critical scale"),
    (lambda d: question(d, "product")["options"][2].pop("score"), "every option of a scored"),
    (lambda d: question(d, "greet").update(points=0), "above 0 and at most 100"),
    (lambda d: d["scenarios"].append({"key": "deposit", "label": L("a", "b", "c")}),
     "deposit is used twice"),
    (lambda d: d["scenarios"][0].update(label={"en": "x"}), "missing zh_Hans, zh_Hant"),
    (lambda d: question(d, "photos").update(max_files=11), "max_files must be 1..10"),
    (lambda d: question(d, "greet").update(evidence="notes"), "'notes' is not a photo"),
    (lambda d: [section(d, k).update(questions=[q for q in section(d, k)["questions"]
                                                if "points" not in q])
                for k in ("arrival", "service")] and None, "needs at least one scored question"),
])
def test_definition_problems(change, expected):
    d = mystery_definition()
    assert validate(d) == [] and validate(d, "mystery_shop") == []
    change(d)
    problems = validate(d, "mystery_shop")
    assert any(expected in p for p in problems), problems


def test_satisfaction_surveys_hold_no_mystery_properties():
    problems = validate(mystery_definition(), "satisfaction")
    assert "scenarios: only mystery-shop surveys have scenarios" in problems
    assert any("photo is for mystery-shop surveys only" in p for p in problems)
    assert set(REGISTRY) < set(ALL_TYPES) and "photo" not in REGISTRY
    assert types_for("satisfaction") is REGISTRY and "wait_time" in types_for("mystery_shop")


def test_evidence_types_parse_and_refuse():
    qt = ALL_TYPES
    photos = {"key": "photos", "type": "photo", "max_files": 2}
    assert qt["photo"].parse(photos, ["12", "3", "12"]) == [3, 12]
    with pytest.raises(InvalidAnswer):
        qt["photo"].parse(photos, ["1", "2", "3"])
    with pytest.raises(InvalidAnswer):
        qt["photo"].parse(photos, ["../etc/passwd"])
    assert qt["receipt"].accept[-1] == "application/pdf" and "application/pdf" not in \
        qt["photo"].accept
    assert qt["visit_start"].parse({}, ["2026-03-02 09:05"]) == "2026-03-02T09:05"
    for bad in ("2026-13-02T09:05", "yesterday", "2026-03-02"):
        with pytest.raises(InvalidAnswer):
            qt["visit_end"].parse({}, [bad])
    assert qt["wait_time"].parse({}, ["１５"]) == 15       # full-width digits
    with pytest.raises(InvalidAnswer):
        qt["wait_time"].parse({}, ["601"])
    assert qt["staff_name"].parse({}, [" 王芳 "]) == "王芳"
    assert qt["call_reference"].parse({}, ["CR-2026/0042"]) == "CR-2026/0042"
    with pytest.raises(InvalidAnswer):
        qt["call_reference"].parse({}, ["<script>"])


def test_read_submission_with_na_and_visit_times(app):
    d = mystery_definition()
    form = {"q_greet": ["yes"], "q_clean": ["na"], "q_wait_ok": ["3"], "q_needs": ["5"],
            "q_disclosure": ["no"], "q_product": ["na"], "q_followup": ["yes"],
            "q_visit_start": ["2026-03-02T10:00"], "q_visit_end": ["2026-03-02T09:00"],
            "q_photos": ["4"]}
    sub = read_submission(d, form, final=True)
    assert sub.answers["clean"] == "na" and sub.answers["product"] == "na"
    assert sub.answers["photos"] == [4] and sub.answers["greet"] is True
    assert set(sub.errors) == {"visit_end"}
    bad = read_submission(d, dict(form, q_greet=["na"]), final=False)
    assert "greet" in bad.errors     # N/A only where the question allows it


def test_builder_operations_and_json_round_trip(app):
    survey = builder_mystery.create_mystery_survey(name="Shop", title=L("神秘", "神秘", "Shop"))
    d = copy.deepcopy(mystery_definition())
    builder.replace_definition(survey, d)
    builder_mystery.set_question_scoring(survey, "greet", points=3, critical="section",
                                         na_allowed=True, evidence="photos")
    builder_mystery.set_section_scoring(survey, "arrival", weight=25)
    builder_mystery.set_section_scoring(survey, "service", weight=75)
    builder_mystery.set_scenarios(survey, [
        {"key": "loan", "label": L("贷款", "貸款", "Loan"), "script": L("问", "問", "Ask")},
        {"key": "", "label": {"en": ""}, "script": {}}], allow_above_100=True)
    key = builder_mystery.add_evidence_question(survey, "evidence", "wait_time")
    builder_mystery.update_evidence_question(survey, key, new_key="wait2",
                                             label=L("等", "等", "Wait"), help=None,
                                             required=True)
    builder.update_question(survey, "greet", {"key": "greet", "type": "yesno",
                                              "label": L("问候", "問候", "Greeting")})
    draft = services.latest_version(survey).definition
    greet = question(draft, "greet")
    assert (greet["points"], greet["critical"], greet["na_allowed"], greet["evidence"]) == (
        3, "section", True, "photos")
    assert greet["label"]["en"] == "Greeting"        # edited text, scoring kept
    assert section(draft, "arrival")["weight"] == 25 and draft["allow_above_100"] is True
    assert [s["key"] for s in draft["scenarios"]] == ["loan"]
    assert question(draft, "wait2") == {"key": "wait2", "type": "wait_time",
                                        "label": L("等", "等", "Wait"), "required": True}
    assert validate(draft, "mystery_shop") == []
    services.publish(survey)
    db.session.commit()
    exported = services.export_survey(services.latest_version(survey))
    assert services.check_import(exported) == []
    copy_ = services.import_survey(copy.deepcopy(exported))
    assert copy_.kind == "mystery_shop"
    assert services.latest_version(copy_).definition == exported["definition"]
    with pytest.raises(SurveyError):
        builder.add_question(services.create_survey(title="Sat", definition={}), "s1", "photo")
    with pytest.raises(SurveyError):
        builder_mystery.set_scenarios(copy_, [{"key": "1bad", "label": L("a", "b", "c")}])


def test_builder_pages(app, client, login, make_user, make_mystery_survey):
    from tests.surveys.factories import minimal_definition

    version = make_mystery_survey(published=False)
    satisfaction = services.create_survey(title="Sat", definition=minimal_definition())
    db.session.commit()
    login(make_user("qa"))
    page = client.get(f"/surveys/{version.survey_id}").get_data(as_text=True)
    assert f"/mystery/surveys/{version.survey_id}/scenarios" in page
    assert f"/mystery/surveys/{version.survey_id}/scoring/greet" in page
    assert f"/mystery/surveys/{version.survey_id}/evidence/photos" in page
    sat_page = client.get(f"/surveys/{satisfaction.id}").get_data(as_text=True)
    assert "/mystery/surveys/" not in sat_page
    assert client.get(f"/mystery/surveys/{satisfaction.id}/scenarios").status_code == 404
    form_page = client.get(f"/mystery/surveys/{version.survey_id}/scoring/greet")
    assert form_page.status_code == 200 and 'value="photos"' in form_page.get_data(as_text=True)
    r = client.post(f"/mystery/surveys/{version.survey_id}/scoring/greet",
                    data={"scored": "y", "points": "4", "critical": "all",
                          "evidence": "photos"})
    assert r.status_code == 302
    db.session.expire_all()
    greet = question(services.latest_version(version.survey).definition, "greet")
    assert (greet["points"], greet["critical"], greet["evidence"]) == (4, "all", "photos")
    r = client.post(f"/mystery/surveys/{version.survey_id}/scoring/arrival",
                    data={"weight": "35"})
    assert r.status_code == 302
    page = client.get(f"/mystery/surveys/{version.survey_id}/scenarios").get_data(as_text=True)
    assert "询问三个月定期存款利率。" in page
    r = client.post(f"/mystery/surveys/{version.survey_id}/scenarios", data={
        "scenarios-0-key": "walkin", "scenarios-0-label-zh_Hans": "随访",
        "scenarios-0-label-zh_Hant": "隨訪", "scenarios-0-label-en": "Walk-in",
        "scenarios-0-script-en": "Just walk in.", "scenarios-1-key": ""})
    assert r.status_code == 302
    db.session.expire_all()
    assert services.latest_version(version.survey).definition["scenarios"] == [
        {"key": "walkin", "label": L("随访", "隨訪", "Walk-in"),
         "script": {"zh_Hans": "", "zh_Hant": "", "en": "Just walk in."}}]
    r = client.post(f"/mystery/surveys/{version.survey_id}/evidence",
                    data={"section": "evidence", "qtype": "receipt"})
    assert r.status_code == 302 and "/evidence/q1" in r.headers["Location"]
    assert client.get(r.headers["Location"]).status_code == 200
    r = client.post("/mystery/surveys/new", data={"name": "Phone shop", "title-en": "Phone"})
    assert r.status_code == 302
    c = app.test_client()
    login(make_user("auditor"), c)
    assert c.get(f"/mystery/surveys/{version.survey_id}/scenarios").status_code == 403

"""Versions: publishing freezes a version, edits make the next one, JSON export/import."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.orm.attributes import flag_modified

from qms.surveys import services
from qms.surveys.models import Survey, SurveyVersion
from qms.surveys.services import FrozenVersion, SurveyError
from tests.surveys.factories import minimal_definition, sample_definition

NOW = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
def survey(db):
    s = services.create_survey(title="网点满意度", definition=sample_definition())
    db.session.commit()
    return s


@pytest.fixture
def published(db, survey):
    services.publish(survey, now=NOW)
    db.session.commit()
    return services.latest_version(survey)


def _count(model):
    from qms.extensions import db
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_create_makes_draft_version_one(survey):
    v = services.latest_version(survey)
    assert v.number == 1 and not v.is_published
    assert services.latest_published(survey) is None


def test_editing_a_draft_keeps_its_number(db, survey):
    v = services.save_draft(survey, minimal_definition())
    db.session.commit()
    assert v.number == 1 and len(survey.versions) == 1
    assert services.latest_version(survey).definition == minimal_definition()


def test_publish_freezes_and_an_edit_makes_version_two(db, survey, published):
    assert published.number == 1 and published.published_at == NOW
    v2 = services.save_draft(survey, minimal_definition())
    db.session.commit()
    assert v2.number == 2 and not v2.is_published
    db.session.expire_all()
    v1 = db.session.get(SurveyVersion, published.id)
    assert v1.definition == sample_definition()        # untouched
    assert services.latest_published(survey).number == 1
    # a second edit changes the same draft; publishing it gives version 2, frozen
    services.save_draft(survey, sample_definition())
    services.publish(survey)
    db.session.commit()
    assert [v.number for v in survey.versions] == [1, 2]
    assert services.latest_published(survey).number == 2


def test_publish_refuses_an_invalid_draft_with_every_problem(db):
    d = sample_definition()
    d["title"] = {"en": "Only English"}
    d["sections"][0]["questions"][1]["type"] = "stars"
    s = services.create_survey(title="坏", definition=d)
    db.session.commit()
    with pytest.raises(SurveyError) as err:
        services.publish(s)
    assert err.value.problems == [
        "title: missing zh_Hans, zh_Hant",
        "sections[0].questions[1].type: unknown type 'stars'; known: csat, nps, ces, rating, "
        "single, multiple, yesno, text, textarea, number, date, matrix, static",
        "sections[2].condition: csat is not an earlier question",  # csat is no question now
    ]
    db.session.rollback()
    assert not services.latest_version(s).is_published


def test_publish_twice_is_refused(published, survey):
    with pytest.raises(SurveyError, match="already published"):
        services.publish(survey)


# -- the ORM refuses to change a published version ----------------------------------------

def test_orm_refuses_a_new_definition(db, published):
    published.definition = minimal_definition()
    with pytest.raises(FrozenVersion):
        db.session.flush()
    db.session.rollback()


def test_orm_refuses_an_in_place_change_marked_modified(db, published):
    d = copy.deepcopy(published.definition)
    d["title"]["en"] = "Changed"
    published.definition = d
    flag_modified(published, "definition")
    with pytest.raises(FrozenVersion):
        db.session.flush()
    db.session.rollback()


def test_orm_refuses_unpublishing_then_editing(db, published):
    published.published_at = None
    with pytest.raises(FrozenVersion):
        db.session.flush()
    db.session.rollback()
    db.session.expire_all()
    assert db.session.get(SurveyVersion, published.id).definition == sample_definition()


def test_orm_refuses_changes_on_an_expired_instance(db, published):
    """Without the old value loaded, 'was it published?' must still be answered."""
    db.session.expire(published)
    published.published_at = NOW.replace(year=2030)
    published.definition = minimal_definition()
    with pytest.raises(FrozenVersion):
        db.session.flush()
    db.session.rollback()


def test_orm_refuses_renumbering_or_deleting(db, published):
    published.number = 7
    with pytest.raises(FrozenVersion):
        db.session.flush()
    db.session.rollback()
    db.session.delete(db.session.get(SurveyVersion, published.id))
    with pytest.raises(FrozenVersion):
        db.session.flush()
    db.session.rollback()
    assert _count(SurveyVersion) == 1


def test_a_draft_can_still_change_and_be_deleted(db, survey):
    v = services.latest_version(survey)
    v.definition = minimal_definition()
    db.session.flush()  # the immutability guard lets a draft change...
    db.session.delete(v)
    db.session.flush()  # ...and go
    assert services.latest_version(survey) is None
    db.session.rollback()


# -- JSON export and import ----------------------------------------------------------------

def _through_a_file(document):
    return json.loads(json.dumps(document, ensure_ascii=False, indent=2))


def test_round_trip_is_lossless(db, published, survey):
    exported = services.export_survey(published)
    assert exported["format"] == "qms-survey/1" and exported["kind"] == "satisfaction"
    copy_ = services.import_survey(_through_a_file(exported))
    db.session.commit()
    assert copy_.id != survey.id
    again = services.export_survey(services.latest_version(copy_))
    assert again == exported
    assert json.dumps(again, ensure_ascii=False) == json.dumps(exported, ensure_ascii=False)


def test_import_into_an_existing_survey_makes_the_next_draft(db, published, survey):
    doc = services.export_survey(published)
    doc["definition"]["title"]["en"] = "Branch survey, 2nd edition"
    services.import_survey(doc, into=survey)
    db.session.commit()
    latest = services.latest_version(survey)
    assert latest.number == 2 and not latest.is_published
    assert latest.definition["title"]["en"] == "Branch survey, 2nd edition"
    assert db.session.get(SurveyVersion, published.id).definition == sample_definition()


def test_import_into_a_survey_of_another_kind_is_refused(db, survey):
    doc = services.export_survey(services.latest_version(survey))
    doc["kind"] = "mystery_shop"
    with pytest.raises(SurveyError, match="another kind"):
        services.import_survey(doc, into=survey)


@pytest.mark.parametrize("document, problems", [
    ([], ["the file must hold a JSON object"]),
    ({}, ["format must be 'qms-survey/1'", "kind must be one of satisfaction, mystery_shop",
          "title is required", "definition is required"]),
    ({"format": "limesurvey", "kind": "nps", "title": " ", "definition": [],
      "extra": 1},
     ["format must be 'qms-survey/1'", "kind must be one of satisfaction, mystery_shop",
      "title is required", "extra: unknown property",
      "definition.the definition must be a JSON object"]),
    ({"format": "qms-survey/1", "kind": "satisfaction", "title": "x" * 201,
      "definition": {"title": {"en": "x"}, "sections": []}},
     ["title: at most 200 characters, no leading or trailing spaces",
      "definition.title: missing zh_Hans, zh_Hant",
      "definition.sections: at least one section is required"]),
])
def test_broken_documents_are_refused_with_all_problems_and_nothing_stored(db, document,
                                                                          problems):
    before = (_count(Survey), _count(SurveyVersion))
    with pytest.raises(SurveyError) as err:
        services.import_survey(document)
    assert err.value.problems == problems
    db.session.rollback()
    assert (_count(Survey), _count(SurveyVersion)) == before


def test_a_definition_with_many_problems_lists_them_all(db):
    d = sample_definition()
    for q in d["sections"][1]["questions"]:
        q["label"] = {"en": q["label"]["en"]}
    doc = {"format": "qms-survey/1", "kind": "satisfaction", "title": "t", "definition": d}
    with pytest.raises(SurveyError) as err:
        services.import_survey(doc)
    assert len(err.value.problems) == len(d["sections"][1]["questions"])
    assert all(p.startswith("definition.sections[1].questions[") for p in err.value.problems)

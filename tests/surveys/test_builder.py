"""Builder operations on drafts (qms.surveys.builder), and who may open the builder."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from qms.surveys import builder, services
from qms.surveys.definition import validate
from qms.surveys.models import Survey, SurveyVersion
from qms.surveys.questions import REGISTRY
from qms.surveys.services import SurveyError
from tests.surveys.builder_support import (
    IsolatedClient,
    base,
    draft,
    english_admin,
    isolated_client,
    keys,
    sample_survey,
)
from tests.surveys.factories import minimal_definition


@pytest.fixture
def client(app):
    return isolated_client(app)


@pytest.fixture
def survey(db):
    return sample_survey(db)


@pytest.fixture
def admin(client, login, make_user):
    return english_admin(login, make_user)


# -- services ------------------------------------------------------------------------------

@pytest.mark.parametrize("qtype", sorted(REGISTRY))
def test_a_new_question_of_every_type_needs_only_its_texts(db, qtype):
    s = services.create_survey(title="t", definition=minimal_definition())
    key = builder.add_question(s, "s1", qtype)
    q = draft(s).definition["sections"][0]["questions"][-1]
    assert q["key"] == key == "q1" and q["type"] == qtype
    problems = validate(draft(s).definition)
    assert problems and all("missing zh_Hans, zh_Hant, en" in p for p in problems), problems


def test_add_move_and_delete(db, survey):
    builder.move_question(survey, "ces", -1)
    assert keys(draft(survey).definition)[0] == ["intro_note", "csat", "nps", "ces", "why"]
    builder.move_question(survey, "purpose", -1)          # past the top: previous section
    assert keys(draft(survey).definition)[0][-1] == "purpose"
    builder.move_question(survey, "purpose", 1)           # and back
    assert keys(draft(survey).definition)[1][0] == "purpose"
    with pytest.raises(SurveyError, match="cannot move further"):
        builder.move_question(survey, "intro_note", -1)
    builder.add_section(survey, key="extra")
    builder.move_section(survey, "extra", -1)
    builder.move_section(survey, "extra", -1)
    assert [s["key"] for s in draft(survey).definition["sections"]] == \
        ["overall", "extra", "visit", "details"]
    builder.delete_section(survey, "extra")
    builder.delete_question(survey, "staff_name")
    assert "staff_name" not in builder.all_keys(draft(survey).definition)
    assert validate(draft(survey).definition) == []


def test_moves_that_would_put_a_condition_first_are_refused(db, survey):
    with pytest.raises(SurveyError) as err:
        builder.move_question(survey, "why", -1)   # above nps, which it reads
    assert "before the question it reads" in err.value.problems[0]
    with pytest.raises(SurveyError):
        builder.move_section(survey, "details", -1)  # above visit, whose purpose it reads
    assert keys(draft(survey).definition)[0][2:4] == ["nps", "why"]


def test_deleting_what_a_condition_reads_is_refused(db, survey):
    with pytest.raises(SurveyError, match="why"):
        builder.delete_question(survey, "nps")
    with pytest.raises(SurveyError, match="details"):
        builder.delete_section(survey, "visit")   # 'details' reads purpose
    builder.delete_section(survey, "details")
    assert len(draft(survey).definition["sections"]) == 2


def test_renaming_a_question_renames_it_in_conditions(db, survey):
    q = dict(builder.find_question(draft(survey).definition, "nps")[2], key="recommend")
    builder.update_question(survey, "nps", q)
    d = draft(survey).definition
    assert builder.find_question(d, "why")[2]["condition"]["q"] == "recommend"
    with pytest.raises(SurveyError, match="already used"):
        builder.update_question(survey, "recommend", dict(q, key="csat"))
    assert validate(d) == []


def test_conditions_only_read_earlier_questions(db, survey):
    builder.set_condition(survey, "ces", {"q": "csat", "op": "at_most", "value": 3})
    assert builder.find_question(draft(survey).definition, "ces")[2]["condition"]
    with pytest.raises(SurveyError) as err:
        builder.set_condition(survey, "csat", {"q": "purpose", "op": "equals", "value": "loan"})
    assert err.value.problems == ["condition: purpose is not an earlier question"]
    with pytest.raises(SurveyError, match="not an option"):
        builder.set_condition(survey, "staff_name",
                              {"q": "purpose", "op": "equals", "value": "car"})
    builder.set_condition(survey, "ces", None)
    assert "condition" not in builder.find_question(draft(survey).definition, "ces")[2]


def test_a_stale_revision_is_refused(db, survey):
    seen = base(survey)
    builder.add_section(survey, base=seen)
    with pytest.raises(SurveyError, match="changed by someone else"):
        builder.add_section(survey, base=seen)


def test_editing_a_published_survey_makes_the_next_version(db, survey):
    services.publish(survey)
    builder.add_section(survey)
    versions = db.session.scalars(sa.select(SurveyVersion).order_by(SurveyVersion.number)).all()
    assert [(v.number, v.is_published) for v in versions] == [(1, True), (2, False)]
    assert len(versions[0].definition["sections"]) == 3


# -- pages: access -------------------------------------------------------------------------

def _pages(s):
    return ["/surveys/", "/surveys/new", "/surveys/import", f"/surveys/{s.id}",
            f"/surveys/{s.id}/settings", f"/surveys/{s.id}/json", f"/surveys/{s.id}/publish",
            f"/surveys/{s.id}/versions", f"/surveys/{s.id}/versions/1",
            f"/surveys/{s.id}/sections/visit", f"/surveys/{s.id}/questions/purpose",
            f"/surveys/{s.id}/questions/purpose/delete", f"/surveys/{s.id}/sections/visit/delete",
            f"/surveys/{s.id}/conditions/why", f"/surveys/{s.id}/conditions/details",
            f"/surveys/{s.id}/import"]


@pytest.mark.parametrize("role", ["admin", "qa"])
def test_builders_open_every_page(role, client, login, make_user, survey):
    c = login(make_user(role))
    for url in _pages(survey):
        assert c.get(url).status_code == 200, url


@pytest.mark.parametrize("role", ["branch_head", "agent", "auditor", "complaints"])
def test_others_are_refused(role, client, login, make_user, make_branch, survey):
    c = login(make_user(role, branch=make_branch() if role in ("branch_head", "agent") else None))
    for url in _pages(survey) + [f"/surveys/{survey.id}/versions/1/export"]:
        assert c.get(url).status_code == 403, url
    assert c.post(f"/surveys/{survey.id}/sections", data={"base": base(survey)}).status_code \
        == 403
    assert len(draft(survey).definition["sections"]) == 3


def test_anonymous_is_sent_to_sign_in(client, survey):
    resp = client.get(f"/surveys/{survey.id}")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_unknown_survey_or_item_is_404(admin, survey, db):
    assert admin.get("/surveys/999999").status_code == 404
    assert admin.get(f"/surveys/{survey.id}/questions/ghost").status_code == 404
    assert admin.get(f"/surveys/{survey.id}/sections/ghost").status_code == 404
    assert admin.get(f"/surveys/{survey.id}/versions/9").status_code == 404
    assert admin.get(f"/surveys/{survey.id}/versions/9/export").status_code == 404
    from qms.core.db import now_utc
    db.session.get(Survey, survey.id).archived_at = now_utc()
    db.session.commit()
    assert admin.get(f"/surveys/{survey.id}").status_code == 404


def _token(page: str) -> str:
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)[1]


def test_csrf_is_enforced(tmp_path):
    """The test config turns CSRF off; here it is on, as in production."""
    from qms import create_app
    from qms.auth.services import GrantSpec, create_user
    from qms.extensions import db as _db
    from tests.conftest import PASSWORD, app_config

    app = create_app(app_config(tmp_path, WTF_CSRF_ENABLED=True))
    app.test_client_class = IsolatedClient
    with app.app_context():
        _db.create_all()
        create_user(email="csrf@bank.test", name="C", password=PASSWORD,
                    grants=[GrantSpec("admin", None, None)])
        _db.session.commit()
        c = app.test_client()
        login_page = c.get("/login").get_data(as_text=True)
        resp = c.post("/login", data={"email": "csrf@bank.test", "password": PASSWORD,
                                      "csrf_token": _token(login_page)})
        assert resp.status_code == 302
        data = {"name": "x", "title-zh_Hans": "甲", "title-zh_Hant": "甲", "title-en": "A"}
        assert c.post("/surveys/new", data=data).status_code == 400
        assert c.post("/surveys/new", data=dict(data, csrf_token="forged")).status_code == 400
        count = sa.select(sa.func.count()).select_from(Survey)
        assert _db.session.scalar(count) == 0
        token = _token(c.get("/surveys/new").get_data(as_text=True))
        assert c.post("/surveys/new", data=dict(data, csrf_token=token)).status_code == 302
        assert _db.session.scalar(count) == 1
        _db.session.remove()
        _db.engine.dispose()

"""Answering surveys from personal and counter links: validation, partial saves, completion,
polite pages, attribution, escaping, language, rate limit, follow-ups."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask import render_template

from qms.core.db import now_utc
from qms.core.tokens import hash_token, new_token
from qms.extensions import db as _db
from qms.org.models import Customer
from qms.surveys.definition import question_map
from qms.surveys.models import (
    Answer,
    Campaign,
    CounterLink,
    FollowUp,
    Invitation,
    Response,
    Survey,
    SurveyVersion,
)
from qms.surveys.questions import REGISTRY
from tests.surveys.factories import sample_definition, sample_form


def create_campaign(definition=None, *, status="running", channel="email", **kw) -> Campaign:
    survey = Survey(title="网点满意度")
    _db.session.add(survey)
    _db.session.flush()
    version = SurveyVersion(survey_id=survey.id, number=1,
                            definition=definition or sample_definition(), published_at=now_utc())
    _db.session.add(version)
    _db.session.flush()
    campaign = Campaign(name="2026 Q1", version_id=version.id, channel=channel, status=status, **kw)
    _db.session.add(campaign)
    _db.session.flush()
    return campaign


def create_personal_link(campaign=None, *, branch=None, agent=None, locale="zh_Hans",
                         segment="vip", expires_in=timedelta(days=14)) -> tuple[str, Invitation]:
    """A personal link as the campaigns engine makes it: only the token's hash is stored."""
    campaign = campaign or create_campaign()
    token = new_token()
    customer = Customer(ref=f"C-{token[:8]}", name="王芳", segment=segment, locale=locale)
    _db.session.add(customer)
    _db.session.flush()
    invitation = Invitation(
        campaign_id=campaign.id, customer_id=customer.id, branch_id=getattr(branch, "id", None),
        agent_id=getattr(agent, "id", None), locale=locale, token_hash=hash_token(token),
        status="sent", sent_at=now_utc(),
        expires_at=now_utc() + expires_in if expires_in is not None else None)
    _db.session.add(invitation)
    _db.session.commit()
    return token, invitation


def create_counter_link(campaign, branch, agent=None) -> tuple[str, CounterLink]:
    token = new_token()
    link = CounterLink(campaign_id=campaign.id, branch_id=branch.id,
                       agent_id=getattr(agent, "id", None), token_hash=hash_token(token))
    _db.session.add(link)
    _db.session.commit()
    return token, link


def count(model) -> int:
    return _db.session.scalar(sa.select(sa.func.count()).select_from(model))


def fresh(obj):
    _db.session.expire_all()
    return _db.session.get(type(obj), obj.id)


def submit(client, token, form=None, *, action="submit", prefix="/s", **query):
    data = dict(form if form is not None else sample_form())
    data["action"] = [action]
    return client.post(f"{prefix}/{token}", data=data, query_string=query)


@pytest.fixture
def branch(make_branch):
    return make_branch()


@pytest.fixture
def link(branch, make_agent):
    agent = make_agent(branch)
    token, invitation = create_personal_link(branch=branch, agent=agent)
    return token, invitation


# -- opening ------------------------------------------------------------------------------

def test_open_shows_the_survey_in_the_invitations_language(client, link):
    token, invitation = link
    resp = client.get(f"/s/{token}")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert '<html lang="zh-Hans">' in page
    assert "您对本次服务的总体满意度如何？" in page and "How satisfied" not in page
    assert resp.headers["Cache-Control"] == "no-store"
    assert "script-src 'self'" in resp.headers["Content-Security-Policy"]
    assert not re.search(r'(src|href)="(https?:)?//', page), "no third-party assets"
    assert fresh(invitation).opened_at is not None
    # the conditional question is on the page but hidden until NPS <= 6
    assert re.search(r'id="q-why"[^>]*hidden', page)


@pytest.mark.parametrize(("lang", "expected", "html_lang"), [
    ("en", "How satisfied are you with the service overall?", "en"),
    ("zh_Hant", "您對本次服務的總體滿意度如何？", "zh-Hant"),
])
def test_language_is_switchable(client, link, lang, expected, html_lang):
    token, _inv = link
    page = client.get(f"/s/{token}", query_string={"lang": lang}).get_data(as_text=True)
    assert expected in page and f'<html lang="{html_lang}">' in page
    assert f'<input type="hidden" name="lang" value="{lang}">' in page  # answers say their language
    assert 'href="?lang=zh_Hans"' in page  # and the switch leads back
    assert token not in page, "the page holds nothing of the link (it is shared by all)"


def test_answers_sent_in_another_language_keep_it(client, link):
    token, _inv = link
    form = sample_form(q_csat="9")
    form["lang"] = ["en"]
    bad = submit(client, token, form)
    assert bad.status_code == 400 and "Choose a value from 1 to 5." in bad.get_data(as_text=True)
    form["q_csat"] = ["5"]
    resp = submit(client, token, form)
    assert resp.headers["Location"].endswith(f"/s/{token}/thanks?lang=en")
    assert _db.session.scalar(sa.select(Response.locale)) == "en"
    assert "Thank you for your feedback!" in client.get(resp.headers["Location"]).get_data(
        as_text=True)


def test_english_invitation_opens_in_english(client, branch):
    token, _inv = create_personal_link(branch=branch, locale="en")
    page = client.get(f"/s/{token}").get_data(as_text=True)
    assert "How likely are you to recommend us to a friend?" in page
    assert "Submit" in page


# -- validation: every class of bad input gets a field message and stores nothing ------------

INVALID = {
    "wrong type": ({"q_csat": "very"}, "csat"),
    "out of range": ({"q_nps": "11"}, "nps"),
    "negative scale": ({"q_ces": "-1"}, "ces"),
    "not an option": ({"q_purpose": "mortgage"}, "purpose"),
    "too many choices": ({"q_channels": ["app", "phone", "atm"]}, "channels"),
    "not a date": ({"q_visit_date": "01/05/2024"}, "visit_date"),
    "not a number": ({"q_waited": "yes", "q_wait_minutes": "ten"}, "wait_minutes"),
    "number out of range": ({"q_waited": "yes", "q_wait_minutes": "999"}, "wait_minutes"),
    "oversized text": ({"q_staff_name": "王" * 101}, "staff_name"),
    "two values for one": ({"q_csat": ["4", "5"]}, "csat"),
    "missing required": ({"q_purpose": ""}, "purpose"),
}


@pytest.mark.parametrize("case", INVALID.values(), ids=INVALID.keys())
def test_invalid_answers_get_field_messages_and_store_nothing(client, link, case):
    token, invitation = link
    overrides, key = case
    form = sample_form(**overrides)
    if overrides.get("q_purpose") == "":
        del form["q_purpose"]
    resp = submit(client, token, form)
    page = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert f'id="err-{key}"' in page, "the message sits next to its field"
    assert re.search(rf'aria-describedby="[^"]*err-{key}[^"]*"', page), "and is tied to it"
    assert f'href="#q-{key}"' in page  # the summary at the top links to the field
    assert count(Response) == 0 and count(Answer) == 0 and count(FollowUp) == 0
    inv = fresh(invitation)
    assert inv.completed_at is None and inv.started_at is None


def test_unknown_question_field_is_refused(client, link):
    token, _inv = link
    resp = submit(client, token, sample_form(q_bogus="1"))
    assert resp.status_code == 400
    page = resp.get_data(as_text=True)
    assert "该问题不属于本问卷。" in page  # in the summary: the field is not on the page
    assert count(Response) == 0 and count(Answer) == 0


def test_invalid_page_keeps_what_was_typed(client, link):
    token, _inv = link
    page = submit(client, token, sample_form(q_nps="11", q_staff_name="李雷")).get_data(as_text=True)
    assert 'value="李雷"' in page
    assert re.search(r'name="q_csat" id="q_csat_4" value="4" checked', page)


def test_required_answers_are_not_needed_to_save(client, link):
    token, _inv = link
    resp = submit(client, token, {"q_csat": ["2"]}, action="save")
    assert resp.status_code == 303
    assert count(Response) == 1


def test_saving_an_invalid_value_stores_nothing(client, link):
    token, _inv = link
    resp = submit(client, token, {"q_csat": ["9"]}, action="save")
    assert resp.status_code == 400
    assert count(Response) == 0


# -- partial answers, resume, completion ------------------------------------------------------

def test_save_then_resume_then_submit(client, link):
    token, invitation = link
    partial = {"q_csat": ["2"], "q_nps": ["3"], "q_why": ["排队太久"], "q_channels": ["app", "atm"]}
    resp = submit(client, token, partial, action="save")
    assert resp.status_code == 303 and "saved=1" in resp.headers["Location"]
    saved = _db.session.scalar(sa.select(Response))
    assert saved.completed_at is None and fresh(invitation).started_at is not None

    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert 'role="status"' in page
    assert re.search(r'id="q_csat_2" value="2" checked', page)
    assert re.search(r'id="q_nps_3" value="3" checked', page)
    assert ">排队太久</textarea>" in page
    assert not re.search(r'id="q-why"[^>]*hidden', page), "NPS 3 shows the 'why' question"
    assert re.search(r'id="q_channels_atm" value="atm" checked', page)

    # saving again replaces the rows
    submit(client, token, {"q_csat": ["3"]}, action="save")
    rows = _db.session.scalars(sa.select(Answer)).all()
    assert [(r.question_key, r.num_value) for r in rows] == [("csat", 3.0)]

    resp = submit(client, token, sample_form(q_csat="4"))
    assert resp.status_code == 303 and resp.headers["Location"].endswith(
        f"/s/{token}/thanks?lang=zh_Hans")
    done = _db.session.scalars(sa.select(Response).execution_options(populate_existing=True)).all()
    assert len(done) == 1 and done[0].id == saved.id and done[0].completed_at is not None
    thanks = client.get(resp.headers["Location"])
    assert thanks.status_code == 200 and "感谢您的反馈！" in thanks.get_data(as_text=True)


def test_completed_response_is_attributed_and_stored_per_registry(client, branch, make_agent):
    agent = make_agent(branch)
    token, invitation = create_personal_link(branch=branch, agent=agent, segment="vip")
    form = sample_form(q_nps="5", q_why="等太久", q_waited="yes", q_wait_minutes="20",
                       q_purpose="loan", q_rating="8", q_grid__attitude="4", q_grid__speed="2",
                       q_grid__clarity="5")
    assert submit(client, token, form).status_code == 303
    resp = _db.session.scalar(sa.select(Response))
    inv = fresh(invitation)
    assert (resp.branch_id, resp.agent_id, resp.channel, resp.segment, resp.locale) == (
        branch.id, agent.id, "email", "vip", "zh_Hans")
    assert resp.invitation_id == inv.id and resp.campaign_id == inv.campaign_id
    assert resp.completed_at == inv.completed_at and resp.completed_at is not None
    version = _db.session.get(SurveyVersion, resp.version_id)
    assert resp.survey_id == version.survey_id

    definition = sample_definition()
    qmap = question_map(definition)
    expected = {
        "csat": 4, "nps": 5, "why": "等太久", "ces": 6, "purpose": "loan",
        "channels": ["app", "atm"], "waited": True, "wait_minutes": 20,
        "visit_date": __import__("datetime").date(2024, 5, 1), "staff_name": "王芳",
        "rating": 8, "grid": {"attitude": 4, "speed": 2, "clarity": 5},
    }
    want = sorted(
        (k, qmap[k]["type"], r.get("row_key"), r.get("choice_key"), r.get("num_value"),
         r.get("text_value"))
        for k, v in expected.items() for r in REGISTRY[qmap[k]["type"]].to_rows(qmap[k], v))
    got = sorted((a.question_key, a.qtype, a.row_key, a.choice_key, a.num_value, a.text_value)
                 for a in _db.session.scalars(sa.select(Answer).where(Answer.response_id == resp.id)))
    assert got == [tuple(None if x is None else x for x in w) for w in want]


def test_hidden_question_answers_are_dropped(client, link):
    token, _inv = link
    submit(client, token, sample_form(q_nps="9", q_why="不该保存"))
    keys = set(_db.session.scalars(sa.select(Answer.question_key)))
    assert "why" not in keys and "nps" in keys


def test_without_javascript_new_questions_are_shown_before_completing(client, link):
    token, invitation = link
    form = sample_form(q_nps="2")
    form["_seen"] = ["csat,ces,intro_note,nps,purpose,channels,waited,visit_date,staff_name"]
    resp = submit(client, token, form)
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200 and 'role="status"' in page
    assert not re.search(r'id="q-why"[^>]*hidden', page)
    assert count(Response) == 0 and fresh(invitation).completed_at is None
    form["_seen"] = [form["_seen"][0] + ",why"]
    assert submit(client, token, form).status_code == 303


def test_second_submission_gets_the_already_answered_page(client, link):
    token, _inv = link
    assert submit(client, token).status_code == 303
    again = submit(client, token)
    assert again.status_code == 409
    assert 'data-state="completed"' in again.get_data(as_text=True)
    assert client.get(f"/s/{token}").status_code == 409
    assert submit(client, token, {"q_csat": ["1"]}, action="save").status_code == 409
    assert count(Response) == 1


# -- links that do not take answers ------------------------------------------------------------

def test_expired_link_gets_a_polite_page(client, branch):
    token, _inv = create_personal_link(branch=branch, expires_in=timedelta(seconds=-1))
    for resp in (client.get(f"/s/{token}"), submit(client, token)):
        assert resp.status_code == 410
        assert 'data-state="expired"' in resp.get_data(as_text=True)
    assert count(Response) == 0


@pytest.mark.parametrize("campaign_kw", [
    {"status": "closed"}, {"status": "draft"},
    {"closes_at": "past"}, {"opens_at": "future"},
], ids=["closed", "draft", "closes_at passed", "not open yet"])
def test_closed_campaign_gets_a_polite_page(client, branch, campaign_kw):
    kw = dict(campaign_kw)
    if kw.get("closes_at") == "past":
        kw["closes_at"] = now_utc() - timedelta(hours=1)
    if kw.get("opens_at") == "future":
        kw["opens_at"] = now_utc() + timedelta(days=1)
    token, _inv = create_personal_link(create_campaign(**kw), branch=branch)
    for resp in (client.get(f"/s/{token}"), submit(client, token)):
        assert resp.status_code == 410
        assert 'data-state="closed"' in resp.get_data(as_text=True)
    assert count(Response) == 0


@pytest.mark.parametrize("token", ["nope", new_token(), "x" * 500], ids=["short", "well-formed", "huge"])
def test_unknown_link_gets_a_polite_404(client, app, token):
    for resp in (client.get(f"/s/{token}"), submit(client, token), client.get(f"/c/{token}"),
                 client.get(f"/s/{token}/thanks")):
        assert resp.status_code == 404
        assert 'data-state="not_found"' in resp.get_data(as_text=True)


def test_thanks_page_before_answering_leads_to_the_form(client, link):
    token, _inv = link
    resp = client.get(f"/s/{token}/thanks")
    assert resp.status_code == 302 and resp.headers["Location"].startswith(f"/s/{token}")


# -- escaping ------------------------------------------------------------------------------------

def test_free_text_is_stored_as_typed_and_shown_escaped(client, link):
    token, _inv = link
    typed = '<script>alert(1)</script> & "引号"'
    submit(client, token, {"q_nps": ["2"], "q_why": [typed]}, action="save")
    assert _db.session.scalar(sa.select(Answer.text_value).where(Answer.question_key == "why")) \
        == typed
    page = client.get(f"/s/{token}").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &#34;引号&#34;" in page
    bad = submit(client, token, sample_form(q_nps="2", q_why=typed, q_csat="x")).get_data(
        as_text=True)
    assert "<script>alert(1)</script>" not in bad


# -- rate limit ----------------------------------------------------------------------------------

@pytest.mark.parametrize("app", [{"RATELIMIT_PUBLIC": "3/minute"}], indirect=True)
def test_public_pages_are_rate_limited(client, link):
    token, _inv = link
    for _ in range(3):
        assert client.get(f"/s/{token}").status_code == 200
    resp = client.get(f"/s/{token}", query_string={"lang": "en"})
    assert resp.status_code == 429
    assert int(resp.headers["Retry-After"]) >= 1
    page = resp.get_data(as_text=True)
    assert 'data-state="rate_limited"' in page and "Too many requests" in page
    # another address is counted on its own
    other = client.get(f"/s/{token}", environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert other.status_code == 200


# -- the builder's preview renders the same template ----------------------------------------------

def test_form_template_renders_as_a_preview(app):
    with app.test_request_context("/surveys/1/preview"):
        page = render_template("surveys/respond/form.html", definition=sample_definition(),
                               version=None, locale="en", answers={}, errors={},
                               form_action=None, preview=True)
    assert "How satisfied are you with the service overall?" in page
    assert "<form" in page and "action=" not in page.split("<form", 1)[1].split(">", 1)[0]
    assert re.search(r'value="submit" class="primary" disabled', page)

"""The rubric pages: who may open them, the builder end to end (sections, weights, criteria
with guidance, moves, deletes), publishing with a confirm step, version history, the "try it"
scorer, copy, archive, and CSRF."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from qms.core.tx import unit_of_work
from qms.extensions import db as _db
from qms.qa import rubrics as svc
from qms.qa.models import Evaluation, Interaction, Rubric
from tests.qa.interaction_support import build_world, call_definition, make_interaction


@pytest.fixture
def iworld(app, make_branch, make_agent, make_user):
    return build_world(make_branch, make_agent, make_user)


@pytest.fixture
def published(app):
    """A published call rubric and a draft-only rubric."""
    with unit_of_work():
        rubric = svc.create_rubric(name="来电质检", channel="call", definition=call_definition())
        svc.publish_rubric(rubric)
        draft = svc.create_rubric(name="草稿评分表")
    return rubric, draft


def base(rubric) -> str:
    _db.session.expire_all()
    return svc.revision(svc.latest_version(_db.session.get(Rubric, rubric.id)).definition)


def latest(rubric):
    _db.session.expire_all()
    return svc.latest_version(_db.session.get(Rubric, rubric.id))


def builder_pages(rubric) -> list[str]:
    r = f"/qa/rubrics/{rubric.id}"
    return ["/qa/rubrics/new", r, f"{r}/settings", f"{r}/sections/greeting",
            f"{r}/sections/greeting/delete", f"{r}/criteria/listen",
            f"{r}/criteria/listen/delete", f"{r}/publish", f"{r}/versions", f"{r}/try",
            f"{r}/copy", f"{r}/archive", f"{r}/versions/1"]


# -- access ---------------------------------------------------------------------------------

@pytest.mark.parametrize("who", ["admin", "qa"])
def test_builders_open_every_page(iworld, published, login, who):
    c = login(getattr(iworld, who))
    rubric, _draft = published
    assert c.get("/qa/rubrics").status_code == 200
    for url in builder_pages(rubric):
        assert c.get(url).status_code == 200, url


@pytest.mark.parametrize("who", ["agent_a1", "shopper"])
def test_agents_and_shoppers_are_refused(iworld, published, login, who):
    c = login(getattr(iworld, who))
    rubric, _draft = published
    assert c.get("/qa/rubrics").status_code == 403
    for url in builder_pages(rubric):
        assert c.get(url).status_code == 403, url
    r = f"/qa/rubrics/{rubric.id}"
    for url in (f"{r}/sections", f"{r}/weights", f"{r}/criteria", f"{r}/publish",
                f"{r}/sections/greeting/move"):
        assert c.post(url, data={"base": base(rubric)}).status_code == 403


def test_branch_heads_read_published_versions_only(iworld, published, login):
    c = login(iworld.head_sh)
    rubric, draft = published
    html = c.get("/qa/rubrics").get_data(as_text=True)
    assert "来电质检" in html and "草稿评分表" not in html
    assert f"/qa/rubrics/{rubric.id}/versions/1" in html
    assert f'href="/qa/rubrics/{rubric.id}"' not in html and "/qa/rubrics/new" not in html
    page = c.get(f"/qa/rubrics/{rubric.id}/versions/1")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Risk warning given for wealth, fund or insurance products" in text
    assert "No risk warning given" in text  # guidance for the graders, visible to them too
    assert c.get(f"/qa/rubrics/{draft.id}/versions/1").status_code == 404
    for url in builder_pages(rubric):
        if not url.endswith("/versions/1"):
            assert c.get(url).status_code == 403, url
    assert c.post(f"/qa/rubrics/{rubric.id}/publish", data={}).status_code == 403


def test_unknown_rubric_section_or_criterion_is_404(iworld, published, login):
    c = login(iworld.qa)
    rubric, _draft = published
    r = f"/qa/rubrics/{rubric.id}"
    for url in ("/qa/rubrics/999999", f"{r}/sections/nope", f"{r}/criteria/nope",
                f"{r}/versions/9", f"{r}/try?version=9", "/qa/rubrics/999999/versions"):
        assert c.get(url).status_code == 404, url


# -- building through the pages -----------------------------------------------------------

def test_build_a_rubric_through_the_pages(iworld, login):
    c = login(iworld.qa)
    resp = c.post("/qa/rubrics/new", data={"name": "网点巡检", "channel": "branch_visit",
                                           "template": ""})
    assert resp.status_code == 302
    rubric = _db.session.scalars(sa.select(Rubric)).one()
    r = f"/qa/rubrics/{rubric.id}"
    assert resp.headers["Location"].endswith(r)

    # the first section: titles in three languages
    resp = c.post(f"{r}/sections/s1", data={
        "base": base(rubric), "key": "greeting", "title-zh_Hans": "问候",
        "title-zh_Hant": "問候", "title-en": "Greeting", "weight": "40"})
    assert resp.status_code == 302
    # a second section gets what is left of the 100
    resp = c.post(f"{r}/sections", data={"base": base(rubric)})
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"{r}/sections/s1")
    assert latest(rubric).definition["sections"][1]["weight"] == 60
    c.post(f"{r}/sections/s1", data={"base": base(rubric), "key": "compliance",
                                     "title-zh_Hans": "合规", "title-zh_Hant": "合規",
                                     "title-en": "Compliance", "weight": "60"})
    # criteria
    resp = c.post(f"{r}/criteria", data={"base": base(rubric), "section": "greeting",
                                         "kind": "scale"})
    assert resp.headers["Location"].endswith(f"{r}/criteria/c1")
    page = c.get(f"{r}/criteria/c1").get_data(as_text=True)
    assert page.count('name="guidance-') == 6 * 4  # scores 5..0: a score and three texts
    data = {"base": base(rubric), "key": "greet", "label-zh_Hans": "主动问候",
            "label-zh_Hant": "主動問候", "label-en": "Greets first", "kind": "scale",
            "max_points": "5", "na_allowed": "y", "critical": ""}
    for i, score in enumerate(["5", "4", "3", "2", "1", "0"]):
        data[f"guidance-{i}-score"] = score
    data.update({"guidance-0-text-zh_Hans": "热情问候", "guidance-0-text-zh_Hant": "熱情問候",
                 "guidance-0-text-en": "Warm greeting"})
    resp = c.post(f"{r}/criteria/c1", data=data)
    assert resp.status_code == 302 and resp.headers["Location"].endswith("#c-greet")
    c.post(f"{r}/criteria", data={"base": base(rubric), "section": "compliance",
                                  "kind": "yesno"})
    resp = c.post(f"{r}/criteria/c1", data={
        "base": base(rubric), "key": "risk_warning", "label-zh_Hans": "风险提示",
        "label-zh_Hant": "風險提示", "label-en": "Risk warning", "kind": "yesno",
        "max_points": "5", "critical": "all", "guidance-0-score": "5", "guidance-1-score": "0",
        "guidance-1-text-zh_Hans": "未进行风险提示", "guidance-1-text-zh_Hant": "未進行風險提示",
        "guidance-1-text-en": "No risk warning"})
    assert resp.status_code == 302
    d = latest(rubric).definition
    greet, risk = d["sections"][0]["criteria"][0], d["sections"][1]["criteria"][0]
    assert greet["guidance"] == {"5": {"zh_Hans": "热情问候", "zh_Hant": "熱情問候",
                                       "en": "Warm greeting"}}
    assert (greet["na_allowed"], greet["critical"]) == (True, None)
    assert (risk["kind"], risk["critical"], list(risk["guidance"])) == ("yesno", "all", ["0"])

    # the editor: complete, weights adding up
    html = c.get(r).get_data(as_text=True)
    assert "This rubric is complete and can be published." in html
    assert 'data-weight-sum class="ok">100<' in html
    # weights that do not add up: saved in the draft, shown as a problem
    c.post(f"{r}/weights", data={"base": base(rubric), "rows-0-key": "greeting",
                                 "rows-0-weight": "30", "rows-1-key": "compliance",
                                 "rows-1-weight": "60"})
    html = c.get(r).get_data(as_text=True)
    assert "The weights of the sections add up to 90, not 100." in html
    assert 'class="off">90<' in html
    assert c.get(f"{r}/publish").status_code == 200
    refused = c.post(f"{r}/publish", data={"base": base(rubric)})
    assert refused.status_code == 400 and latest(rubric).published_at is None
    c.post(f"{r}/weights", data={"base": base(rubric), "rows-0-key": "greeting",
                                 "rows-0-weight": "40", "rows-1-key": "compliance",
                                 "rows-1-weight": "60"})

    # publish: a confirm page, then the version is frozen
    confirm = c.get(f"{r}/publish").get_data(as_text=True)
    assert "Publish version 1?" in confirm
    resp = c.post(f"{r}/publish", data={"base": base(rubric)})
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"{r}/versions")
    assert latest(rubric).published_at is not None
    # an editor's change now starts version 2, and says so
    resp = c.post(f"{r}/sections/greeting/move", data={"base": base(rubric),
                                                       "direction": "down"},
                  follow_redirects=True)
    assert "your change starts version 2 as a draft" in resp.get_data(as_text=True)
    assert latest(rubric).number == 2
    assert [s["key"] for s in latest(rubric).definition["sections"]] == ["compliance",
                                                                          "greeting"]
    history = c.get(f"{r}/versions").get_data(as_text=True)
    assert "Version 1" in history and "Version 2" in history


def test_publish_refuses_a_page_shown_before_a_change(iworld, published, login):
    c = login(iworld.qa)
    _rubric, draft = published
    with unit_of_work():
        svc.save_draft(draft, call_definition())
    r = f"/qa/rubrics/{draft.id}"
    old = base(draft)
    c.post(f"{r}/sections/greeting/move", data={"base": old, "direction": "down"})
    resp = c.post(f"{r}/publish", data={"base": old})
    assert resp.status_code == 409 and latest(draft).published_at is None
    # a builder form from before the change is refused too (nothing lost unseen)
    stale = c.post(f"{r}/sections/greeting/move", data={"base": old, "direction": "up"},
                   follow_redirects=True)
    assert "changed by someone else" in stale.get_data(as_text=True)


def test_delete_and_move_criteria(iworld, published, login):
    c = login(iworld.qa)
    _rubric, draft = published
    with unit_of_work():
        svc.save_draft(draft, call_definition())
    r = f"/qa/rubrics/{draft.id}"
    page = c.get(f"{r}/criteria/listen/delete").get_data(as_text=True)
    assert "Listens without interrupting" in page
    assert c.post(f"{r}/criteria/listen/delete", data={"base": base(draft)}).status_code == 302
    c.post(f"{r}/criteria/clarify/move", data={"base": base(draft), "direction": "up"})
    d = latest(draft).definition
    assert [c["key"] for c in d["sections"][0]["criteria"]][-1] == "clarify"
    assert c.post(f"{r}/sections/needs/delete", data={"base": base(draft)}).status_code == 302
    assert "needs" not in [s["key"] for s in latest(draft).definition["sections"]]


def test_edit_after_evaluations_makes_a_new_version(iworld, published, login):
    rubric, _draft = published
    v1 = latest(rubric)
    i = make_interaction(iworld.a1, "CC-1", at=datetime(2026, 3, 1, tzinfo=UTC))
    _db.session.add(Evaluation(interaction_id=i.id, rubric_version_id=v1.id,
                               agent_id=iworld.a1.id, branch_id=iworld.sh.id,
                               status="submitted", total=90.0))
    _db.session.commit()
    c = login(iworld.qa)
    r = f"/qa/rubrics/{rubric.id}"
    assert "stays as it is" in c.get(r).get_data(as_text=True)
    c.post(f"{r}/criteria/risk_warning", data={
        "base": base(rubric), "key": "risk_warning", "label-zh_Hans": "风险提示",
        "label-zh_Hant": "風險提示", "label-en": "Risk warning", "kind": "yesno",
        "max_points": "10", "critical": "all", "na_allowed": "y",
        "guidance-0-score": "5", "guidance-1-score": "0"})
    assert latest(rubric).number == 2
    _db.session.expire_all()
    assert _db.session.get(type(v1), v1.id).definition == call_definition()
    versions = c.get(f"{r}/versions").get_data(as_text=True)
    assert re.search(r"Version 1</a>.*?<td class=\"num\">1</td>", versions, re.S)
    # discarding the draft goes back to version 1
    assert c.get(f"{r}/discard").status_code == 200
    c.post(f"{r}/discard", data={"base": base(rubric)})
    assert latest(rubric).number == 1


def test_create_from_a_template_and_try_it(iworld, login):
    c = login(iworld.qa)
    form = c.get("/qa/rubrics/new").get_data(as_text=True)
    assert "客服中心来电质检评分表" in form and "网点柜面服务质检评分表" in form
    resp = c.post("/qa/rubrics/new", data={"name": "2026 来电", "channel": "", "template": "1"})
    rubric = _db.session.scalars(sa.select(Rubric)).one()
    assert resp.status_code == 302 and rubric.channel == "call"
    assert latest(rubric).definition == call_definition()
    r = f"/qa/rubrics/{rubric.id}"
    page = c.get(f"{r}/try").get_data(as_text=True)
    assert 'name="c-risk_warning"' in page and "No risk warning given" in page

    answers = {"c-greet_standard": "2", "c-verify_identity": "5", "c-listen": "5",
               "c-clarify": "5", "c-accurate_answer": "5", "c-procedure": "5",
               "c-first_contact": "na", "c-risk_warning": "0", "c-privacy": "5",
               "c-no_misleading": "5", "c-tone": "5", "c-empathy": "5", "c-no_taboo": "5",
               "c-confirm_resolved": "3", "c-standard_closing": "2", "c-cross_sell": "na"}
    html = c.post(f"{r}/try?version=1", data=answers).get_data(as_text=True)
    assert "Score: 0.0" in html and "auto-fail" in html and "risk_warning" in html
    html = c.post(f"{r}/try", data={**answers, "c-risk_warning": "5"}).get_data(as_text=True)
    assert "Score: 100.0" in html
    partial = c.post(f"{r}/try", data={"c-listen": "3"}).get_data(as_text=True)
    assert "Score: 60.0" in partial and "15 criteria not answered" in partial
    assert _db.session.scalar(sa.select(sa.func.count(Evaluation.id))) == 0
    bad = c.post(f"{r}/try", data={"c-listen": "9"})
    assert bad.status_code == 200 and "Score:" not in bad.get_data(as_text=True)


def test_copy_archive_restore(iworld, published, login):
    c = login(iworld.admin)
    rubric, _draft = published
    r = f"/qa/rubrics/{rubric.id}"
    assert "Copy of 来电质检" in c.get(f"{r}/copy").get_data(as_text=True)
    resp = c.post(f"{r}/copy", data={"name": "来电质检 B"})
    copied = _db.session.scalar(sa.select(Rubric).where(Rubric.name == "来电质检 B"))
    assert resp.headers["Location"].endswith(f"/qa/rubrics/{copied.id}")
    assert c.post(f"{r}/archive", data={}).status_code == 302
    assert c.get(r).status_code == 404  # archived: read-only
    assert c.get(f"{r}/versions").status_code == 200
    listing = c.get("/qa/rubrics").get_data(as_text=True)
    assert "来电质检 B" in listing and ">来电质检<" not in listing
    assert "来电质检" in c.get("/qa/rubrics?archived=1").get_data(as_text=True)
    c.post(f"{r}/archive", data={})
    assert c.get(r).status_code == 200


# -- CSRF ------------------------------------------------------------------------------------

@pytest.mark.parametrize("app", [{"WTF_CSRF_ENABLED": True}], indirect=True)
def test_csrf_is_required(iworld, published, login):
    c = login(iworld.qa)
    rubric, _draft = published
    r = f"/qa/rubrics/{rubric.id}"
    before = latest(rubric).number
    for url, data in ((f"{r}/sections", {"base": base(rubric)}),
                      (f"{r}/weights", {"base": base(rubric), "rows-0-key": "greeting",
                                        "rows-0-weight": "15"}),
                      (f"{r}/sections/greeting/move", {"base": base(rubric),
                                                      "direction": "down"}),
                      ("/qa/rubrics/new", {"name": "x", "channel": "", "template": ""}),
                      ("/qa/interactions/new", {
                          "channel": "call", "external_ref": "X-1", "agent_code": "SH-01",
                          "occurred_at": "2026-03-01T09:30"})):
        resp = c.post(url, data=data)
        assert resp.status_code == 400, url
    assert latest(rubric).number == before
    assert _db.session.scalar(sa.select(sa.func.count(Rubric.id))) == 2
    assert _db.session.scalar(sa.select(sa.func.count(Interaction.id))) == 0
    page = c.get(f"{r}/sections/greeting").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)[1]
    resp = c.post(f"{r}/sections/greeting", data={
        "csrf_token": token, "base": base(rubric), "key": "greeting",
        "title-zh_Hans": "问候", "title-zh_Hant": "問候", "title-en": "Hello", "weight": "15"})
    assert resp.status_code == 302 and latest(rubric).number == before + 1


def test_access_decisions_are_pinned(app):
    """Loosening who may build rubrics, or read them, must be a visible change."""
    from qms.core.permissions import Access, permission_table

    builders = Access(roles=frozenset({"admin", "qa"}))
    readers = Access(roles=frozenset({"admin", "qa", "branch_head"}))
    table = permission_table(app)
    mine = {e: a for e, a in table.items() if e.startswith("qa.rubric")}
    assert mine == {**{e: builders for e in mine}, "qa.rubrics": readers,
                    "qa.rubric_version": readers}
    assert len(mine) == 20

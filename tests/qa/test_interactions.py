"""Interactions: recording one with field errors, time zones, scope; search and filters;
the list, detail and new-interaction pages by role."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa
from flask_babel import force_locale

from qms.core.tx import unit_of_work
from qms.extensions import db as _db
from qms.qa import interactions as svc
from qms.qa.models import Interaction
from tests.qa.interaction_support import NOW, build_world, evaluate, make_interaction
from tests.qa.qa_support import make_rubric

GOOD = {"channel": "call", "external_ref": "CC-20260301-0001", "agent_code": "SH-01",
        "occurred_at": "2026-03-01T09:30:00+08:00", "duration_seconds": 312,
        "customer_ref": "C0001", "summary": "客户咨询信用卡分期手续费。",
        "media_url": "https://recordings.bank.test/CC-20260301-0001"}


def create(data, **kw):
    kw.setdefault("now", NOW)
    with force_locale("en"), unit_of_work():
        return svc.create_interaction(data, **kw)


def refused(data, **kw) -> dict:
    with pytest.raises(svc.InteractionError) as info:
        create(data, **kw)
    return info.value.fields


def count() -> int:
    return _db.session.scalar(sa.select(sa.func.count(Interaction.id)))


@pytest.fixture
def iworld(app, make_branch, make_agent, make_user):
    return build_world(make_branch, make_agent, make_user)


# -- recording -----------------------------------------------------------------------------

def test_create_records_every_field_and_takes_the_agents_branch(iworld):
    saved = create(GOOD, principal=iworld.qa)
    i = _db.session.get(Interaction, saved.interaction.id)
    assert saved.created and i.source == "manual"
    assert (i.channel, i.external_ref, i.agent_id, i.branch_id) == (
        "call", "CC-20260301-0001", iworld.a1.id, iworld.sh.id)
    assert i.occurred_at == datetime(2026, 3, 1, 1, 30, tzinfo=UTC)
    assert (i.duration_seconds, i.customer_id) == (312, iworld.customer.id)
    assert i.summary.startswith("客户") and i.media_url.endswith("0001")


def test_a_time_without_offset_is_local_time_of_the_agents_branch(iworld):
    sh = create({**GOOD, "occurred_at": "2026-03-01 09:30"}).interaction
    ln = create({**GOOD, "external_ref": "LN-1", "agent_code": "LN-01",
                 "occurred_at": "2026-03-01T09:30:00"}).interaction
    assert sh.occurred_at.astimezone(UTC) == datetime(2026, 3, 1, 1, 30, tzinfo=UTC)
    assert ln.occurred_at.astimezone(UTC) == datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
    z = create({**GOOD, "external_ref": "Z", "occurred_at": "2026-03-01T01:30:00Z"}).interaction
    assert z.occurred_at == datetime(2026, 3, 1, 1, 30, tzinfo=UTC)


def test_every_bad_field_is_reported_and_nothing_is_stored(iworld):
    fields = refused({"channel": "fax", "external_ref": " ", "agent_code": "NOPE",
                      "occurred_at": "yesterday", "duration_seconds": "abc",
                      "customer_ref": "C9999", "media_url": "javascript:alert(1)",
                      "colour": "red"})
    assert set(fields) == {"channel", "external_ref", "agent_code", "occurred_at",
                           "duration_seconds", "customer_ref", "media_url", "colour"}
    assert fields["channel"] == "Use one of: call, branch_visit, chat, email."
    assert fields["agent_code"] == "No agent has the code NOPE."
    assert fields["customer_ref"] == "No customer has the reference C9999."
    assert "https://" in fields["media_url"]
    assert fields["colour"] == "Unknown field."
    assert refused({}).keys() == {"channel", "external_ref", "agent_code", "occurred_at"}
    assert count() == 0


@pytest.mark.parametrize(("field", "value", "words"), [
    ("occurred_at", "2026-03-10T12:30:00+08:00", "future"),
    ("occurred_at", "2026-03-01", "date and time"),
    ("duration_seconds", 90000, "24 hours"),
    ("duration_seconds", 1.5, "whole number"),
    ("duration_seconds", True, "whole number"),
    ("media_url", "ftp://files.bank.test/x", "https://"),
    ("media_url", "http://[::1/x", "https://"),
    ("media_url", "https:///no-host", "https://"),
    ("external_ref", "A\nB", "control characters"),
    ("summary", "长" * 4001, "4000"),
])
def test_field_rules(iworld, field, value, words):
    assert words in refused({**GOOD, field: value})[field]


def test_duration_as_clock_time_and_blank_optionals(iworld):
    i = create({**GOOD, "duration_seconds": "0:05:12", "customer_ref": "", "summary": None,
                "media_url": ""}).interaction
    assert (i.duration_seconds, i.customer_id, i.summary, i.media_url) == (312, None, None, None)


def test_a_recorded_key_is_an_error_without_upsert_and_an_update_with_it(iworld):
    first = create(GOOD).interaction
    assert "recorded already" in refused({**GOOD, "summary": "x"})["external_ref"]
    again = create({"channel": "call", "external_ref": GOOD["external_ref"],
                    "agent_code": "SH-01", "occurred_at": GOOD["occurred_at"],
                    "summary": "补充说明", "media_url": None}, upsert=True)
    assert not again.created and again.interaction.id == first.id
    _db.session.expire_all()
    i = _db.session.get(Interaction, first.id)
    assert (i.summary, i.media_url, i.duration_seconds) == ("补充说明", None, 312)  # kept
    assert count() == 1
    # the same reference on another channel is another interaction
    assert create({**GOOD, "channel": "chat"}).created and count() == 2


def test_an_evaluated_interaction_keeps_its_agent(iworld):
    first = create(GOOD).interaction
    evaluate(make_rubric(), first)
    with pytest.raises(svc.InteractionConflict) as info:
        create({**GOOD, "agent_code": "SH-02"}, upsert=True)
    assert set(info.value.fields) == {"agent_code"}
    assert info.value.existing_id == first.id
    assert create({**GOOD, "summary": "更正"}, upsert=True).interaction.agent_id == iworld.a1.id


def test_scope_decides_which_agents_may_be_given(iworld):
    fields = refused(GOOD, principal=iworld.qa_abroad)
    assert fields == {"agent_code": "No agent has the code SH-01."}
    saved = create({**GOOD, "agent_code": "LN-01"}, principal=iworld.qa_abroad)
    assert saved.interaction.branch_id == iworld.ln.id
    # another branch's recorded interaction cannot be taken over by updating it
    create({**GOOD, "external_ref": "SH-ONLY"})
    with pytest.raises(svc.InteractionConflict):
        create({**GOOD, "external_ref": "SH-ONLY", "agent_code": "LN-01"},
               principal=iworld.qa_abroad, upsert=True)


# -- finding -------------------------------------------------------------------------------

@pytest.fixture
def recorded(iworld):
    w = iworld
    rows = [
        # 04:00 on 1 March in Shanghai, still 28 February in London
        make_interaction(w.a1, "C-1", at=datetime(2026, 2, 28, 20, 0, tzinfo=UTC),
                         summary="信用卡分期", duration_seconds=120),
        # 23:30 on 1 March in Shanghai is 15:30 UTC: the 1st in both zones
        make_interaction(w.a2, "C-2", at=datetime(2026, 3, 1, 15, 30, tzinfo=UTC)),
        make_interaction(w.a1, "V-1", at=datetime(2026, 3, 2, 2, 0, tzinfo=UTC),
                         channel="branch_visit", customer_id=w.customer.id),
        make_interaction(w.b1, "L-1", at=datetime(2026, 3, 3, 10, 0, tzinfo=UTC),
                         channel="chat"),
    ]
    version = make_rubric()
    evaluate(version, rows[0], total=92.5)
    evaluate(version, rows[2], status="assigned", total=None)  # a queue item: not evaluated
    return rows


def refs(page) -> list[str]:
    return [i.external_ref for i in page.items]


def test_search_filters(iworld, recorded):
    w = iworld

    def search(**kw):
        return refs(svc.search_interactions(w.qa, **kw))

    assert search() == ["L-1", "V-1", "C-2", "C-1"]
    assert search(channel="call") == ["C-2", "C-1"]
    assert search(branch_id=w.ln.id) == ["L-1"]
    assert search(agent_code="SH-01") == ["V-1", "C-1"]
    assert search(date_from=date(2026, 3, 1), date_to=date(2026, 3, 1)) == ["C-2", "C-1"]
    assert search(date_from=date(2026, 3, 1), date_to=date(2026, 3, 1),
                  tz="Europe/London") == ["C-2"]
    assert search(date_from=date(2026, 3, 2)) == ["L-1", "V-1"]
    assert search(evaluated=True) == ["C-1"]
    assert search(evaluated=False) == ["L-1", "V-1", "C-2"]
    assert search(q="分期") == ["C-1"]
    assert search(q="C0001") == ["V-1"]
    assert search(q="李强") == ["C-2"]
    assert search(q="%") == []
    page = svc.search_interactions(w.qa, per_page=3, page=2)
    assert refs(page) == ["C-1"] and page.total == 4 and page.pages == 2


def test_search_is_scoped(iworld, recorded):
    w = iworld
    assert refs(svc.search_interactions(w.head_sh)) == ["V-1", "C-2", "C-1"]
    assert refs(svc.search_interactions(w.head_sh, branch_id=w.ln.id)) == []
    assert refs(svc.search_interactions(w.qa_abroad)) == ["L-1"]
    assert refs(svc.search_interactions(w.agent_a1)) == ["V-1", "C-1"]  # their own only
    assert refs(svc.search_interactions(w.shopper)) == []
    assert svc.get_interaction(w.head_ln, recorded[0].id) is None
    assert svc.get_interaction(w.head_sh, recorded[0].id).external_ref == "C-1"
    assert svc.get_interaction(w.agent_a1, recorded[1].id) is None


def test_evaluation_summaries(iworld, recorded):
    s = svc.evaluation_summaries([i.id for i in recorded])
    assert set(s) == {recorded[0].id}
    assert (s[recorded[0].id].count, s[recorded[0].id].latest_total) == (1, 92.5)


# -- pages ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("who", "status"), [("admin", 200), ("qa", 200), ("head_sh", 200),
                                             ("agent_a1", 403), ("shopper", 403)])
def test_list_page_by_role(iworld, recorded, login, who, status):
    resp = login(getattr(iworld, who)).get("/qa/interactions")
    assert resp.status_code == status


def test_list_page_filters_and_branch_head_reads_only(iworld, recorded, login):
    c = login(iworld.head_sh)
    html = c.get("/qa/interactions").get_data(as_text=True)
    assert "C-1" in html and "V-1" in html and "L-1" not in html
    assert "/qa/interactions/new" not in html and "/qa/interactions/import" not in html
    assert c.get("/qa/interactions/new").status_code == 403
    assert c.get("/qa/interactions/import").status_code == 403
    assert c.post("/qa/interactions/new", data=GOOD).status_code == 403
    assert c.get(f"/qa/interactions/{recorded[3].id}").status_code == 404
    assert c.get("/qa/interactions/999999").status_code == 404
    detail = c.get(f"/qa/interactions/{recorded[0].id}").get_data(as_text=True)
    assert "信用卡分期" in detail and "92.5" in detail

    qa = login(iworld.qa)
    html = qa.get("/qa/interactions?channel=chat").get_data(as_text=True)
    assert "L-1" in html and "C-1" not in html
    html = qa.get("/qa/interactions?evaluated=yes&from=2026-03-01&to=bad").get_data(as_text=True)
    assert "C-1" in html and "C-2" not in html
    assert "/qa/interactions/new" in qa.get("/qa/interactions").get_data(as_text=True)


def test_new_interaction_page(iworld, login):
    c = login(iworld.qa)
    assert c.get("/qa/interactions/new").status_code == 200
    data = {**GOOD, "occurred_at": "2026-03-01T09:30", "duration_seconds": "5:12"}
    resp = c.post("/qa/interactions/new", data=data)
    assert resp.status_code == 302
    i = _db.session.scalars(sa.select(Interaction)).one()
    assert resp.headers["Location"].endswith(f"/qa/interactions/{i.id}")
    assert i.occurred_at == datetime(2026, 3, 1, 1, 30, tzinfo=UTC) and i.duration_seconds == 312
    detail = c.get(f"/qa/interactions/{i.id}").get_data(as_text=True)
    assert 'href="https://recordings.bank.test/CC-20260301-0001"' in detail
    assert 'rel="noopener noreferrer"' in detail

    again = c.post("/qa/interactions/new", data=data)
    assert again.status_code == 400 and "recorded already" in again.get_data(as_text=True)
    bad = c.post("/qa/interactions/new", data={**data, "external_ref": "X2",
                                               "agent_code": "NOPE",
                                               "media_url": "javascript:alert(1)"})
    html = bad.get_data(as_text=True)
    assert bad.status_code == 400 and "No agent has the code NOPE." in html
    assert "https://" in html and count() == 1


def test_detail_page_escapes_and_shows_the_transcript(iworld, login):
    i = make_interaction(iworld.a1, "T-1", at=datetime(2026, 3, 1, tzinfo=UTC),
                         summary="<script>x</script>", transcript="坐席：您好")
    html = login(iworld.qa).get(f"/qa/interactions/{i.id}").get_data(as_text=True)
    assert "<script>x</script>" not in html and "&lt;script&gt;" in html
    assert "坐席：您好" in html and "Not evaluated yet." in html

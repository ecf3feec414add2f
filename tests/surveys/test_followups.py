"""Follow-ups: list, assign, update and close, always within the principal's branches."""

from __future__ import annotations

import pytest

from qms.extensions import db as _db
from qms.surveys import followups
from qms.surveys.models import FollowUp
from tests.surveys import results_data
from tests.surveys.results_data import t

NOW = t(2025, 3, 1)


@pytest.fixture
def data(app):
    d = results_data.build(_db)
    ids = d.response_ids
    # responses 3 (NPS 3, branch A), 6 (NPS 0, B), 7 (NPS 6, B) and 9 (CSAT 2, B)
    items = [FollowUp(response_id=ids[2], branch_id=d.a.id, reason="detractor",
                      due_at=t(2025, 2, 7), created_at=t(2025, 2, 1)),
             FollowUp(response_id=ids[5], branch_id=d.b.id, reason="detractor",
                      due_at=t(2025, 1, 12), created_at=t(2025, 1, 5)),
             FollowUp(response_id=ids[6], branch_id=d.b.id, reason="detractor",
                      due_at=t(2025, 3, 20), created_at=t(2025, 1, 20)),
             FollowUp(response_id=ids[8], branch_id=d.b.id, reason="low_csat",
                      created_at=t(2025, 2, 10))]
    _db.session.add_all(items)
    _db.session.commit()
    d.items = items
    return d


def test_list_is_scoped_and_ordered(data, make_user):
    head_a = make_user("branch_head", branch=data.a)
    qa = make_user("qa")
    mine = followups.list_follow_ups(head_a, now=NOW)
    assert [r.id for r in mine.items] == [data.items[0].id] and mine.total == 1
    row = mine.items[0]
    assert (row.reason, row.branch_code, row.nps, row.csat, row.overdue) == (
        "detractor", "RA", 3, 2, True)
    everything = followups.list_follow_ups(qa, now=NOW)
    # unfinished first, by due date (none last)
    assert [r.id for r in everything.items] == [data.items[i].id for i in (1, 0, 2, 3)]
    overdue = followups.list_follow_ups(qa, overdue=True, now=NOW)
    assert {r.id for r in overdue.items} == {data.items[0].id, data.items[1].id}
    assert followups.list_follow_ups(qa, branch_id=data.b.id, now=NOW).total == 3
    assert followups.get_follow_up(data.items[1].id, head_a) is None
    assert followups.get_follow_up(data.items[0].id, head_a) is data.items[0]


def test_assign_update_close(data, make_user):
    head_a = make_user("branch_head", branch=data.a, name="甲行长")
    head_b = make_user("branch_head", branch=data.b)
    qa = make_user("qa")
    agent_a = make_user("agent", branch=data.a)
    item = data.items[0]
    assert {u.id for u in followups.owner_choices(data.a.id)} == {head_a.id, qa.id}

    followups.assign_follow_up(item, head_a.id, actor=qa)
    assert item.owner_id == head_a.id and item.status == "open"
    for wrong in (head_b.id, agent_a.id, 999999):
        with pytest.raises(followups.FollowUpError) as exc:
            followups.assign_follow_up(item, wrong, actor=qa)
        assert set(exc.value.fields) == {"owner"}
    assert item.owner_id == head_a.id

    followups.update_follow_up(item, actor=head_a, owner_id=head_a.id, status="in_progress",
                               note="已致电客户", due_at=t(2025, 3, 5))
    assert (item.status, item.note, item.due_at, item.closed_at) == (
        "in_progress", "已致电客户", t(2025, 3, 5), None)
    with pytest.raises(followups.FollowUpError) as exc:
        followups.close_follow_up(item, actor=head_a, note="  ")
    assert set(exc.value.fields) == {"note"} and item.status == "in_progress"
    followups.close_follow_up(item, actor=head_a, note="客户已满意，已道歉并加快办理", now=NOW)
    assert (item.status, item.closed_at) == ("closed", NOW)
    with pytest.raises(followups.FollowUpError) as exc:  # closed -> open is not a move
        followups.update_follow_up(item, actor=head_a, owner_id=None, status="open",
                                   note=None, due_at=None)
    assert set(exc.value.fields) == {"status"} and item.status == "closed"
    followups.update_follow_up(item, actor=head_a, owner_id=head_a.id, status="in_progress",
                               note="客户再次来电", due_at=None)  # reopened
    assert item.status == "in_progress" and item.closed_at is None
    with pytest.raises(followups.FollowUpError):
        followups.update_follow_up(item, actor=qa, owner_id=None, status="lost", note=None,
                                   due_at=None)


def test_pages_list_and_edit(data, client, login, make_user):
    head_a = make_user("branch_head", branch=data.a, name="甲行长", locale="en")
    c = login(head_a)
    listing = c.get("/surveys/follow-ups")
    assert listing.status_code == 200
    html = listing.get_data(as_text=True)
    assert "甲支行" in html and "乙支行" not in html and "1 follow-up" in html
    assert c.get(f"/surveys/follow-ups/{data.items[1].id}").status_code == 404
    assert c.post(f"/surveys/follow-ups/{data.items[1].id}",
                  data={"status": "closed", "note": "x"}).status_code == 404
    assert c.get("/surveys/follow-ups/999999").status_code == 404

    url = f"/surveys/follow-ups/{data.items[0].id}"
    detail = c.get(url).get_data(as_text=True)
    assert "Waiting time; Staff attitude" in detail  # the customer's answers
    assert "&lt;script&gt;" in detail and "<script>alert" not in detail
    resp = c.post(url, data={"owner": str(head_a.id), "status": "closed", "note": "",
                             "due": "2025-03-05"})
    assert resp.status_code == 200 and "before closing" in resp.get_data(as_text=True)
    _db.session.refresh(data.items[0])
    assert data.items[0].status == "open"
    resp = c.post(url, data={"owner": str(head_a.id), "status": "in_progress",
                             "note": "<b>called</b>", "due": "2025-03-05"})
    assert resp.status_code == 302
    _db.session.refresh(data.items[0])
    item = data.items[0]
    assert (item.owner_id, item.status, item.note, item.due_at) == (
        head_a.id, "in_progress", "<b>called</b>", t(2025, 3, 5))
    page = c.get(url).get_data(as_text=True)
    assert "&lt;b&gt;called&lt;/b&gt;" in page and 'value="2025-03-05"' in page
    mine = c.get("/surveys/follow-ups?mine=1&status=in_progress").get_data(as_text=True)
    assert "甲支行" in mine and "甲行长" in mine


def test_qa_sees_every_branch_and_agents_none(data, client, login, make_user):
    c = login(make_user("qa", locale="en"))
    html = c.get("/surveys/follow-ups?status=open").get_data(as_text=True)
    assert "甲支行" in html and "乙支行" in html and "4 follow-ups" in html
    assert c.get(f"/surveys/follow-ups/{data.items[1].id}").status_code == 200
    agent = make_user("agent", branch=data.a)
    assert login(agent).get("/surveys/follow-ups").status_code == 403

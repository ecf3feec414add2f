"""Queues on a small data set with a fixed `now`: membership of each queue, per-branch time
zones, the branch scope, filters, search and pages."""

# ruff: noqa: F811  (fixtures imported from intake_support are used as arguments)

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

import pytest

from qms.complaints import queues
from qms.complaints.models import ComplaintApproval
from qms.extensions import db
from tests.complaints.intake_support import T0, bank, make  # noqa: F401

TODAY = date(2026, 3, 2)  # T0 in Shanghai


def _set(c, **values):
    for k, v in values.items():
        setattr(c, k, v)
    return c


@pytest.fixture
def world(bank, make_branch):
    b = bank
    n = iter(range(1, 100))

    def new(branch="SH01", **values):
        i = next(n)
        c = make(actor=None, via="api", branch_code=branch, complainant_email=f"q{i}@ex.test",
                 complainant_name=values.pop("name", f"客户{i}"),
                 description=values.pop("description", f"第{i}件"),
                 now=T0 - timedelta(days=1))
        return _set(c, **values)

    w = SimpleNamespace(bank=b)
    w.mine = new(assignee_id=b.officer.id, status="IN_INVESTIGATION")
    w.soon = new(due_on=TODAY + timedelta(days=1), severity="high", name="孙悟空")
    w.edge = new(due_on=TODAY + timedelta(days=3))            # last day of "due soon"
    w.later = new(due_on=TODAY + timedelta(days=4))
    w.today = new(due_on=TODAY, status="ACKNOWLEDGED")        # due today: soon, not overdue
    w.late_bj = new("BJ01", due_on=TODAY - timedelta(days=3), status="IN_INVESTIGATION",
                    description="ATM 吞卡未退还")
    w.closed = new(due_on=TODAY - timedelta(days=10), status="CLOSED")
    w.paused = new(due_on=TODAY - timedelta(days=1), status="PAUSED_EXTERNAL")
    w.owned = new(owner_id=b.officer.id)                      # first contact, unassigned
    w.approval = new(status="PENDING_APPROVAL", assignee_id=b.officer2.id,
                     due_on=TODAY + timedelta(days=9))
    db.session.add(ComplaintApproval(complaint_id=w.approval.id, kind="decision",
                                     required_role="complaints",
                                     requested_by_id=b.officer2.id, requested_at=T0))
    db.session.commit()
    return w


def ids(queue, who, **kw):
    return queues.queue_ids(queue, who, now=T0, **kw)


def test_each_queue(world):
    w, b = world, world.bank
    assert ids("mine", b.officer) == {w.mine.id, w.owned.id}
    assert ids("mine", b.officer2) == {w.approval.id}
    assert ids("unassigned", b.officer) == {w.soon.id, w.edge.id, w.later.id, w.today.id,
                                            w.late_bj.id, w.paused.id, w.owned.id}
    assert ids("due_soon", b.officer) == {w.soon.id, w.edge.id, w.today.id}
    # the paused complaint's clock stands still and the closed one is done: neither is overdue
    assert ids("overdue", b.officer) == {w.late_bj.id}
    # four eyes: the checker sees the request, its maker does not
    assert ids("approvals", b.officer) == {w.approval.id}
    assert ids("approvals", b.officer2) == set()
    assert ids("approvals", b.head_sh) == set()
    everything = {c.id for c in vars(w).values() if hasattr(c, "reference")}
    assert ids("all", b.officer) == everything
    assert ids("branch", b.officer) == everything - {w.closed.id}


def test_branch_head_sees_only_their_branch_in_every_queue(world):
    w, b = world, world.bank
    for name in queues.QUEUES:
        mine = ids(name, b.head_sh, roles={"branch_head"})
        assert w.late_bj.id not in mine, name
    assert ids("overdue", b.head_sh, roles={"branch_head"}) == set()
    assert ids("overdue", b.head_bj, roles={"branch_head"}) == {w.late_bj.id}
    assert ids("all", b.head_bj, roles={"branch_head"}) == {w.late_bj.id}
    counts = queues.queue_counts(b.head_bj, roles={"branch_head"}, now=T0)
    assert counts["all"] == 1 and counts["overdue"] == 1 and counts["mine"] == 0


def test_today_is_each_branchs_own(bank, make_branch):
    # 1 March 20:00 UTC: already 2 March in Shanghai, still 1 March in London
    now = datetime(2026, 3, 1, 20, 0, tzinfo=UTC)
    london = make_branch(code="LN01", region="Europe", city="London", timezone="Europe/London")
    sh = make(via="api", complainant_email="a@ex.test", now=now - timedelta(days=1))
    ln = make(via="api", branch_code="LN01", complainant_email="b@ex.test",
              now=now - timedelta(days=1))
    for c in (sh, ln):
        c.due_on = date(2026, 3, 1)
    db.session.commit()
    assert london.timezone == "Europe/London"
    assert queues.queue_ids("overdue", bank.officer, now=now) == {sh.id}
    assert ln.id in queues.queue_ids("due_soon", bank.officer, now=now)


def test_filters_and_search(world):
    w, b = world, world.bank
    F = queues.Filters
    assert ids("all", b.officer, filters=F(status="CLOSED")) == {w.closed.id}
    assert ids("all", b.officer, filters=F(branch_id=b.bj.id)) == {w.late_bj.id}
    assert ids("all", b.officer, filters=F(severity="high")) == {w.soon.id}
    assert ids("all", b.officer, filters=F(business_code="B03")) == ids("all", b.officer)
    assert ids("all", b.officer, filters=F(cause_code="C09")) == set()
    assert ids("all", b.officer, filters=F(q="孙悟")) == {w.soon.id}
    assert ids("all", b.officer, filters=F(q="吞卡")) == {w.late_bj.id}
    assert ids("all", b.officer, filters=F(q=w.edge.reference.lower())) == {w.edge.id}
    assert ids("all", b.officer, filters=F(q="100%")) == set()  # % is a character, not a wildcard
    assert ids("all", b.officer, filters=F(received_from=date(2026, 3, 1),
                                           received_to=date(2026, 3, 1))) == ids("all", b.officer)
    assert ids("all", b.officer, filters=F(received_from=date(2026, 3, 2))) == set()


def test_pages_are_ordered_priority_then_deadline(world):
    b = world.bank
    world.later.priority = "high"
    db.session.commit()
    first = queues.list_queue("unassigned", b.officer, now=T0, per_page=3)
    assert first.total == 7 and first.pages == 3
    assert first.items[0].id == world.later.id  # high priority first
    assert [r.due_on for r in first.items[1:]] == sorted(r.due_on for r in first.items[1:])
    row = next(r for r in queues.list_queue("all", b.officer, now=T0, per_page=50).items
               if r.id == world.late_bj.id)
    assert (row.days_left, row.overdue, row.branch_code) == (-3, True, "BJ01")
    soon = next(r for r in queues.list_queue("all", b.officer, now=T0).items
                if r.id == world.soon.id)
    assert soon.due_soon and not soon.overdue
    third = queues.list_queue("unassigned", b.officer, now=T0, per_page=3, page=3)
    assert len(third.items) == 1


def test_queue_page(world, client, login):
    from zoneinfo import ZoneInfo

    from qms.core.db import now_utc

    b = world.bank
    # the page runs on the real clock: move the deadlines next to the real today
    today = now_utc().astimezone(ZoneInfo("Asia/Shanghai")).date()
    for complaint in vars(world).values():
        if hasattr(complaint, "due_on"):
            complaint.due_on = today + timedelta(days=30)
    world.late_bj.due_on, world.soon.due_on = today - timedelta(days=3), today + timedelta(days=1)
    db.session.commit()
    c = login(b.officer)
    page = c.get("/complaints/?queue=overdue")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert world.late_bj.reference in html and world.soon.reference not in html
    html = c.get("/complaints/?queue=all&q=孙悟").get_data(as_text=True)
    assert world.soon.reference in html and world.edge.reference not in html
    head = login(b.head_sh).get("/complaints/?queue=all").get_data(as_text=True)
    assert world.late_bj.reference not in head and world.soon.reference in head
    # asking for the other branch by filter gives nothing, not its complaints
    head = login(b.head_sh).get("/complaints/?queue=all&branch=BJ01").get_data(as_text=True)
    assert world.late_bj.reference not in head
    assert login(b.agent_user).get("/complaints/").status_code == 403
    assert login(b.officer).get("/complaints/?queue=nonsense&from=garbage").status_code == 200


@pytest.mark.postgres
def test_queues_and_search_on_postgresql(pg_app):
    from qms.complaints import codes
    from qms.core.tx import unit_of_work
    from qms.org.models import Branch

    with unit_of_work():
        codes.seed_codes()
        db.session.add_all([Branch(code="SH01", name="上海", region="华东", city="上海"),
                            Branch(code="LN01", name="London", region="EU", city="London",
                                   timezone="Europe/London")])
    now = datetime(2026, 3, 1, 20, 0, tzinfo=UTC)
    sh = make(via="api", complainant_email="a@ex.test", now=now - timedelta(days=1),
              complainant_name="孙悟空")
    ln = make(via="api", branch_code="LN01", complainant_email="b@ex.test",
              now=now - timedelta(days=1))
    for c in (sh, ln):
        c.due_on = date(2026, 3, 1)
    db.session.commit()
    everyone = SimpleNamespace(grants=[SimpleNamespace(role="complaints", branch_id=None,
                                                       region=None)], id=None, roles=set())
    assert queues.queue_ids("overdue", everyone, now=now) == {sh.id}
    assert queues.queue_ids("due_soon", everyone, now=now) == {ln.id}
    assert queues.queue_ids("all", everyone, now=now,
                            filters=queues.Filters(q="悟空")) == {sh.id}
    page = queues.list_queue("all", everyone, now=now, with_counts=True)
    assert page.total == 2 and page.counts["overdue"] == 1

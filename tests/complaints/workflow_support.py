"""Shared set-up of the workflow tests: a branch with officers, and complaints in any state."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from qms.complaints import history, letters, workflow
from qms.complaints.models import Complaint
from qms.core.tx import unit_of_work
from qms.extensions import db

# 2026-03-02 10:00 in Shanghai: a Monday with no holiday near it.
T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
_numbers = itertools.count(1)


def at(days: float = 0, hours: float = 0) -> datetime:
    return T0 + timedelta(days=days, hours=hours)


def new_complaint(branch=None, *, received_at: datetime = T0, policy: str = "CN_NFRA_2020",
                  email: str | None = "customer@example.com", locale: str = "zh_Hans",
                  customer=None, **values) -> Complaint:
    """A complaint as intake leaves it: RECEIVED, its first event, its deadline."""
    n = next(_numbers)
    c = Complaint(reference=f"CMP-T-{n:05d}", status="RECEIVED", policy_code=policy,
                  complainant_name=values.pop("complainant_name", "王小明"),
                  complainant_email=email, complainant_locale=locale, customer=customer,
                  description=values.pop("description", "柜台办理业务等候时间过长"),
                  received_at=received_at, clock_started_at=received_at, branch=branch,
                  **values)
    db.session.add(c)
    db.session.flush()
    workflow.refresh_deadline(c)
    history.record(c, "received", actor_label="test", to_status="RECEIVED", now=received_at)
    db.session.commit()
    return c


def run(service, *args, **kwargs):
    """One service call as one unit of work, then the e-mails, as a view does."""
    with unit_of_work():
        result = service(*args, **kwargs)
    letters.deliver_committed()
    return result


@pytest.fixture
def people(app, make_branch, make_user):
    branch = make_branch(code="SH01", name="上海分行营业部")
    other = make_branch(code="BJ01", region="华北", city="北京", name="北京分行")
    return SimpleNamespace(
        branch=branch, other=other,
        handler=make_user("complaints", branch=branch, name="处理人"),
        checker=make_user("complaints", branch=branch, name="复核人"),
        reviewer=make_user("complaints", branch=branch, name="核查人"),
        central=make_user("complaints", name="总行投诉岗"),
        admin=make_user("admin", name="总行管理"),
        head=make_user("branch_head", branch=branch, name="支行长"),
        outsider=make_user("complaints", branch=other, name="外行"),
    )


def to_investigation(c: Complaint, p, now: datetime | None = None) -> Complaint:
    """RECEIVED -> IN_INVESTIGATION by the handler, conflict declared."""
    now = now or c.received_at + timedelta(hours=1)
    run(workflow.acknowledge, c, p.handler, now=now)
    run(workflow.triage, c, p.handler, channel_code="A01", business_code="B01",
        cause_code="C01", now=now)
    run(workflow.start_investigation, c, p.handler, now=now)
    run(workflow.declare_no_conflict, c, p.handler, now=now)
    return c


DECISION = dict(outcome="partly_upheld", redress_amount="200.00", findings="核实了柜台监控记录",
                reasons="等候时间确实超过规定", basis="《服务规范》第三条", remedies="退还手续费")


def to_response(c: Complaint, p, now: datetime | None = None, **decision) -> Complaint:
    """... -> RESPONSE_ISSUED: drafted by the handler, approved by the checker."""
    now = now or c.received_at + timedelta(days=2)
    to_investigation(c, p, now=now - timedelta(hours=2))
    run(workflow.draft_decision, c, p.handler, **{**DECISION, **decision}, now=now)
    run(workflow.submit_for_approval, c, p.handler, now=now)
    run(workflow.decide_approval, workflow.pending_approval(c), p.checker, approve=True,
        now=now)
    return c

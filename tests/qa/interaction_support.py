"""Helpers for the interaction and rubric tests: branches in two regions and zones, agents,
users of each role, and evaluations; each test module wraps build_world in its own `iworld` fixture."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from types import SimpleNamespace

from qms.extensions import db as _db
from qms.org.models import Customer
from qms.qa.demo_rubrics import demo_rubrics
from qms.qa.models import Evaluation, Interaction

NOW = datetime(2026, 3, 10, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai


def call_definition() -> dict:
    return copy.deepcopy(demo_rubrics()[0]["definition"])


def build_world(make_branch, make_agent, make_user):
    """Branch SH (Shanghai time, region 华东) and LN (London time, region 海外), two agents in
    SH, one in LN, a customer, and users: admin, qa (bank-wide), qa limited to 海外, a head of
    each branch, the SH agent's login, a shopper."""
    sh = make_branch(code="SH", name="上海分行营业部", region="华东")
    ln = make_branch(code="LN", name="伦敦分行", region="海外", city="伦敦",
                     timezone="Europe/London")
    a1 = make_agent(sh, code="SH-01", name="张敏")
    a2 = make_agent(sh, code="SH-02", name="李强")
    b1 = make_agent(ln, code="LN-01", name="陈美玲")
    cust = Customer(ref="C0001", name="王先生", segment="vip", home_branch=sh)
    _db.session.add(cust)
    _db.session.commit()
    return SimpleNamespace(
        sh=sh, ln=ln, a1=a1, a2=a2, b1=b1, customer=cust,
        admin=make_user("admin", locale="en", email="admin@bank.test"),
        qa=make_user("qa", locale="en", email="qa@bank.test"),
        qa_abroad=make_user("qa", region="海外", locale="en", email="qa.abroad@bank.test"),
        head_sh=make_user("branch_head", branch=sh, locale="en", email="head.sh@bank.test"),
        head_ln=make_user("branch_head", branch=ln, locale="en", email="head.ln@bank.test"),
        agent_a1=make_user("agent", branch=sh, agent=a1, locale="en", email="a1@bank.test"),
        shopper=make_user("shopper", locale="en", email="shopper@bank.test"),
    )


def make_interaction(agent, ref: str, *, at: datetime, channel: str = "call",
                     **kw) -> Interaction:
    i = Interaction(channel=channel, external_ref=ref, agent_id=agent.id,
                    branch_id=agent.branch_id, occurred_at=at, **kw)
    _db.session.add(i)
    _db.session.commit()
    return i


def evaluate(version, interaction, *, status: str = "submitted", total: float = 88.0,
             auto_failed: bool = False, **kw) -> Evaluation:
    ev = Evaluation(interaction_id=interaction.id, rubric_version_id=version.id,
                    agent_id=interaction.agent_id, branch_id=interaction.branch_id,
                    status=status, total=total, auto_failed=auto_failed,
                    submitted_at=datetime(2026, 3, 11, tzinfo=UTC), **kw)
    _db.session.add(ev)
    _db.session.commit()
    return ev

"""QA test helpers: a small rubric in the stored shape, interactions, sampling rules and
released evaluations, made directly with the models."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta

import pytest

from qms.extensions import db as _db
from qms.qa.models import Evaluation, Interaction, Rubric, RubricVersion, SamplingRule


def _t(zh_hans: str, zh_hant: str, en: str) -> dict:
    return {"zh_Hans": zh_hans, "zh_Hant": zh_hant, "en": en}


# Greeting 30%: a 0..5 scale (N/A allowed) and a critical yes/no that fails everything.
# Resolution 70%: a 0..10 scale and a 0..5 scale (N/A allowed) that fails its section below 3.
DEFINITION = {
    "allow_above_100": False,
    "sections": [
        {"key": "greeting", "title": _t("问候", "問候", "Greeting"), "weight": 30, "bonus": False,
         "criteria": [
             {"key": "greet_name", "label": _t("称呼客户姓名", "稱呼客戶姓名", "Greets by name"),
              "kind": "scale", "max_points": 5, "na_allowed": True, "critical": None,
              "guidance": {"0": _t("未称呼", "未稱呼", "No greeting"),
                           "5": _t("热情称呼姓名", "熱情稱呼姓名", "Warm greeting by name")}},
             {"key": "verify_id", "label": _t("核实身份", "核實身份", "Verifies identity"),
              "kind": "yesno", "max_points": 5, "na_allowed": False, "critical": "all"},
         ]},
        {"key": "resolution", "title": _t("解决问题", "解決問題", "Resolution"), "weight": 70,
         "bonus": False,
         "criteria": [
             {"key": "solve", "label": _t("解决客户问题", "解決客戶問題", "Solves the issue"),
              "kind": "scale", "max_points": 10, "na_allowed": False, "critical": None},
             {"key": "recap", "label": _t("复述确认", "複述確認", "Recaps"),
              "kind": "scale", "max_points": 5, "na_allowed": True, "critical": "section",
              "pass_threshold": 3},
         ]},
    ],
}

FULL = {"greet_name": {"score": 5, "comment": ""}, "verify_id": {"score": "yes", "comment": ""},
        "solve": {"score": 10, "comment": ""}, "recap": {"score": 5, "comment": ""}}


def answers(**scores) -> dict:
    """Full marks except the scores given: answers(solve=6, recap="na")."""
    out = copy.deepcopy(FULL)
    for key, value in scores.items():
        out[key] = {"score": value, "comment": f"comment on {key}"}
    return out


def make_rubric(definition: dict | None = None, name: str = "电话服务质检", *,
                published: bool = True) -> RubricVersion:
    rubric = Rubric(name=name, channel="call")
    version = RubricVersion(rubric=rubric, number=1, definition=definition or DEFINITION,
                            published_at=datetime(2026, 1, 1, tzinfo=UTC) if published else None)
    _db.session.add_all([rubric, version])
    _db.session.commit()
    return version


def make_interaction(agent, *, at: datetime, channel: str = "call", duration: int | None = 300,
                     ref: str | None = None, branch=None) -> Interaction:
    interaction = Interaction(
        channel=channel, external_ref=ref or f"{agent.code}-{at:%Y%m%d%H%M%S}-{channel}",
        agent_id=agent.id, branch_id=(branch or agent.branch).id, occurred_at=at,
        duration_seconds=duration, summary="客户咨询信用卡账单分期。",
        media_url="https://recordings.bank.test/r/1", transcript="坐席：您好……")
    _db.session.add(interaction)
    _db.session.commit()
    return interaction


def make_rule(version: RubricVersion, **kw) -> SamplingRule:
    rule = SamplingRule(name=kw.pop("name", "每月抽检"), rubric_id=version.rubric_id,
                        period=kw.pop("period", "month"), per_agent=kw.pop("per_agent", 3),
                        seed=kw.pop("seed", 42), **kw)
    _db.session.add(rule)
    _db.session.commit()
    return rule


def march_calls(agent, n: int = 10, *, start: datetime | None = None) -> list[Interaction]:
    """n calls of the agent spread over March 2026 (Shanghai time is UTC+8)."""
    start = start or datetime(2026, 3, 1, 2, 0, tzinfo=UTC)
    return [make_interaction(agent, at=start + timedelta(days=2 * i, hours=i % 5),
                             duration=60 + 30 * i) for i in range(n)]


def make_evaluation(version: RubricVersion, interaction: Interaction, evaluator=None,
                    **kw) -> Evaluation:
    evaluation = Evaluation(interaction_id=interaction.id, rubric_version_id=version.id,
                            evaluator_id=evaluator.id if evaluator is not None else None,
                            agent_id=interaction.agent_id, branch_id=interaction.branch_id,
                            status=kw.pop("status", "assigned"), **kw)
    _db.session.add(evaluation)
    _db.session.commit()
    return evaluation


RELEASED_AT = datetime(2026, 4, 2, 2, 0, tzinfo=UTC)  # 10:00 on 2 April in Shanghai


def released(version, interaction, evaluator, scored: dict, *, at: datetime = RELEASED_AT):
    """An evaluation submitted through the service at `at`."""
    from qms.qa.evaluations import submit_evaluation

    evaluation = make_evaluation(version, interaction, evaluator)
    submit_evaluation(evaluation, evaluator, scored, "总体不错", now=at)
    _db.session.commit()
    return evaluation


@pytest.fixture
def qa_world(app, make_branch, make_agent, make_user):
    """Two branches, an agent in each with a login, two QA users, a branch head per branch,
    and the rubric."""
    from types import SimpleNamespace

    a = make_branch(code="BA", name="甲支行")
    b = make_branch(code="BB", name="乙支行", region="华南")
    agent_a = make_agent(a, code="BA-01", name="甲坐席")
    agent_a2 = make_agent(a, code="BA-02", name="甲坐席二")
    agent_b = make_agent(b, code="BB-01", name="乙坐席")
    return SimpleNamespace(
        a=a, b=b, agent_a=agent_a, agent_a2=agent_a2, agent_b=agent_b,
        agent_user_a=make_user("agent", branch=a, agent=agent_a, email="agent.a@bank.test"),
        agent_user_a2=make_user("agent", branch=a, agent=agent_a2, email="agent.a2@bank.test"),
        agent_user_b=make_user("agent", branch=b, agent=agent_b, email="agent.b@bank.test"),
        qa1=make_user("qa", email="qa1@bank.test", name="质检一"),
        qa2=make_user("qa", email="qa2@bank.test", name="质检二"),
        head_a=make_user("branch_head", branch=a, email="head.a@bank.test"),
        head_b=make_user("branch_head", branch=b, email="head.b@bank.test"),
        version=make_rubric(),
    )

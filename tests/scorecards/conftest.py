"""scorecard_world: a small bank whose every scorecard figure can be worked out by hand.

Period 2026-10 (UTC month), computed "now" 2026-11-15. Branch B1 (华东一支行, 华东) with agents
B1-A1 and B1-A2; branch B2 (华南二支行, 华南) with agent B2-A3. The figures of October:

            CSAT %    NPS     CES    resp.%  mystery  QA     auto-fail  /1,000  in time  median d  upheld  audit  overdue
  B1        85.7143   57.1429 5.7143 50      85       74.2857 14.2857   35      80       6         40      75     1
  B1-A1     80        40      6      50      85       68      20        50      80       6         40      -      -
  B1-A2     (4: insufficient x3)     (0)     -        (2: insufficient)  (80: insufficient)
  B2        100       100     7      (0)     95       95      0         (50: insufficient)          100    0
  B2-A3     100       100     7      (0)     -        95      0         (50: insufficient)

Complaints: B1 received 7 in October (A1 6, A2 1) among 200 interactions (A1 120, A2 80);
5 of A1's were closed on 25 October after 2, 4, 6, 8 and 20 days (the 20-day one after its
15-day deadline), outcomes upheld, partly upheld and 3 rejected; 2 remain open. Audit of B1:
one open major finding (cash drawer) with a corrective action due 20 October, not done.
Weakest items of B1: QA "greeting" missed 3 of 7, mystery "explain" and "greet" 1 of 1, QA
"verify_id" 1 of 7. With the default models, B1 overall 79.6 (amber, rank 2 of 2), B2 100
(green, rank 1); B1-A1 73.71, B2-A3 100, B1-A2 no overall score (insufficient everywhere).

September: B1-A1 has 10 responses, all CSAT 5 (so B1 and A1 had CSAT 100 the month before).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from qms.audits.models import Audit, AuditTemplate, AuditTemplateVersion, CorrectiveAction, Finding
from qms.complaints.models import Complaint
from qms.extensions import db as _db
from qms.mystery.models import ShopAssignment, ShopItemScore, ShopProgramme, Wave
from qms.qa.models import CriterionScore, Evaluation, Interaction, Rubric, RubricVersion
from qms.surveys.models import Answer, Campaign, Invitation, Response, Survey, SurveyVersion

PERIOD = "2026-10"
NOW = datetime(2026, 11, 15, 8, 0, tzinfo=UTC)
OCT = datetime(2026, 10, 1, tzinfo=UTC)
SEP = datetime(2026, 9, 1, tzinfo=UTC)


def _t(zh_hans, zh_hant, en):
    return {"zh_Hans": zh_hans, "zh_Hant": zh_hant, "en": en}


def at(day: int, hour: int = 10, base: datetime = OCT) -> datetime:
    return base + timedelta(days=day - 1, hours=hour)


def _surveys():
    survey = Survey(kind="satisfaction", title="满意度调查")
    version = SurveyVersion(survey=survey, number=1, published_at=at(1, 0, SEP), definition={
        "sections": [{"key": "s", "title": _t("满意度", "滿意度", "Satisfaction"), "questions": [
            {"key": "csat", "type": "csat", "label": _t("满意度", "滿意度", "CSAT")},
            {"key": "nps", "type": "nps", "label": _t("推荐", "推薦", "NPS")},
            {"key": "ces", "type": "ces", "label": _t("省力", "省力", "CES")}]}]})
    campaign = Campaign(name="十月", version=version, channel="email", status="running")
    _db.session.add_all([survey, version, campaign])
    _db.session.flush()
    return survey, version, campaign


def _respond(survey, version, agent, when, csat=None, nps=None, ces=None, invitation=None):
    r = Response(version_id=version.id, survey_id=survey.id, branch_id=agent.branch_id,
                 agent_id=agent.id, channel="email", locale="zh_Hans", started_at=when,
                 updated_at=when, completed_at=when,
                 invitation_id=invitation.id if invitation else None)
    for qtype, v in (("csat", csat), ("nps", nps), ("ces", ces)):
        if v is not None:
            r.answers.append(Answer(question_key=qtype, qtype=qtype, num_value=float(v)))
    _db.session.add(r)


def _survey_data(a1, a2, a3):
    survey, version, campaign = _surveys()
    invitations = []
    for i in range(20):  # A1: 20 delivered in October, 10 answered
        inv = Invitation(campaign_id=campaign.id, branch_id=a1.branch_id, agent_id=a1.id,
                         token_hash=hashlib.sha256(f"inv{i}".encode()).hexdigest(),
                         status="sent", sent_at=at(2), created_at=at(2))
        invitations.append(inv)
    _db.session.add_all(invitations)
    _db.session.flush()
    csat = [5] * 8 + [3, 2]
    nps = [10] * 6 + [8, 8, 5, 5]
    for i in range(10):
        _respond(survey, version, a1, at(3 + i), csat[i], nps[i], 6, invitations[i])
        invitations[i].completed_at = at(3 + i)
        _respond(survey, version, a1, at(3 + i, base=SEP), 5, 10, 6)
        _respond(survey, version, a3, at(4 + i), 5, 10, 7)
    for i in range(4):
        _respond(survey, version, a2, at(5 + i), 4, 9, 5)


def _qa_data(a1, a2, a3, b1, b2):
    rubric = Rubric(name="电话质检", channel="call")
    version = RubricVersion(rubric=rubric, number=1, published_at=at(1, 0, SEP), definition={
        "sections": [{"key": "g", "title": _t("问候", "問候", "Greeting"), "weight": 100,
                      "criteria": [
                          {"key": "greeting", "label": _t("主动问候", "主動問候", "Greets first"),
                           "kind": "scale", "max_points": 5},
                          {"key": "verify_id", "label": _t("核实身份", "核實身份",
                                                           "Verifies identity"),
                           "kind": "yesno", "max_points": 5, "critical": "all"}]}]})
    _db.session.add_all([rubric, version])
    # interactions: B1 200 (A1 120, A2 80), B2 50 (A3)
    rows = [{"channel": "call", "external_ref": f"{agent.code}-{i}", "agent_id": agent.id,
             "branch_id": agent.branch_id, "occurred_at": at(1 + i % 28),
             "created_at": at(1 + i % 28), "source": "manual"}
            for agent, n in ((a1, 120), (a2, 80), (a3, 50)) for i in range(n)]
    _db.session.execute(sa.insert(Interaction), rows)  # bulk: 250 rows in one statement
    interactions = {a.id: [] for a in (a1, a2, a3)}
    for iid, agent_id in _db.session.execute(
            sa.select(Interaction.id, Interaction.agent_id).order_by(Interaction.id)):
        interactions[agent_id].append(SimpleNamespace(id=iid))
    plan = [(a1, [80, 90, 100, 70, 0]), (a2, [90, 90]), (a3, [95] * 5)]
    greeting_failed = {a1.id: 3, a2.id: 0, a3.id: 1}
    for agent, totals in plan:
        for i, total in enumerate(totals):
            ev = Evaluation(interaction_id=interactions[agent.id][i].id,
                            rubric_version_id=version.id, agent_id=agent.id,
                            branch_id=agent.branch_id, status="submitted", total=float(total),
                            auto_failed=total == 0, submitted_at=at(10 + i), created_at=at(9))
            ev.scores.append(CriterionScore(section_key="g", criterion_key="greeting",
                                            earned=3 if i < greeting_failed[agent.id] else 5,
                                            possible=5, failed=i < greeting_failed[agent.id]))
            ev.scores.append(CriterionScore(section_key="g", criterion_key="verify_id",
                                            earned=0 if total == 0 else 5, possible=5,
                                            failed=total == 0))
            _db.session.add(ev)
    _db.session.flush()
    # a replaced evaluation (a re-score made a new one) and a draft never count
    first = _db.session.query(Evaluation).order_by(Evaluation.id).first()
    for status, replaced_by in (("replaced", first.id), ("draft", None)):
        _db.session.add(Evaluation(interaction_id=interactions[a1.id][60].id,
                                   rubric_version_id=version.id, agent_id=a1.id,
                                   branch_id=b1.id, status=status, total=10.0,
                                   submitted_at=at(12), replaced_by_id=replaced_by,
                                   created_at=at(12)))


def _complaint(n, agent, received, closed=None, due=None, outcome=None, status=None):
    return Complaint(reference=f"CMP-2026-{n:06d}", policy_code="CN_NFRA_2020",
                     complainant_name="张三", description="投诉内容", branch_id=agent.branch_id,
                     agent_id=agent.id, received_at=received, clock_started_at=received,
                     created_at=received, closed_at=closed, due_on=due, outcome=outcome,
                     status=status or ("CLOSED" if closed else "IN_INVESTIGATION"))


def _complaint_data(a1, a2):
    rows = [_complaint(1, a1, at(5)), _complaint(2, a2, at(6))]  # received, still open
    # closed in October after 2, 4, 6, 8 and 20 days; the 20-day one missed its deadline
    specs = [(2, "upheld"), (4, "partly_upheld"), (6, "rejected"), (8, "rejected"),
             (20, "rejected")]
    for i, (days, outcome) in enumerate(specs):
        closed = at(25, 12)
        received = closed - timedelta(days=days)
        due = (received + timedelta(days=15)).date()
        rows.append(_complaint(10 + i, a1, received, closed, due, outcome))
    _db.session.add_all(rows)


def _mystery_data(b1, b2, a1):
    survey = Survey(kind="mystery_shop", title="神秘客")
    version = SurveyVersion(survey=survey, number=1, published_at=at(1, 0, SEP), definition={
        "sections": [{"key": "m", "title": _t("服务", "服務", "Service"), "questions": [
            {"key": "greet", "type": "yesno", "label": _t("迎宾问候", "迎賓問候", "Greets")},
            {"key": "smile", "type": "yesno", "label": _t("微笑服务", "微笑服務", "Smiles")},
            {"key": "explain", "type": "yesno",
             "label": _t("讲解产品风险", "講解產品風險", "Explains product risk")}]}]})
    _db.session.add_all([survey, version])
    _db.session.flush()
    programme = ShopProgramme(name="2026 Q4", survey_id=survey.id)
    wave = Wave(programme=programme, name="十月", version_id=version.id,
                starts_on=date(2026, 10, 1), ends_on=date(2026, 10, 31))
    _db.session.add_all([programme, wave])
    _db.session.flush()
    for branch, agent, score, missed in ((b1, a1, 85.0, {"greet", "explain"}),
                                         (b2, None, 95.0, set())):
        a = ShopAssignment(wave_id=wave.id, version_id=version.id, branch_id=branch.id,
                           agent_id=agent.id if agent else None, window_start=at(1),
                           window_end=at(20), due_at=at(22), status="approved", score=score,
                           submitted_at=at(14), approved_at=at(15))
        _db.session.add(a)
        _db.session.flush()
        for item in ("greet", "smile", "explain"):
            _db.session.add(ShopItemScore(assignment_id=a.id, branch_id=branch.id,
                                          agent_id=a.agent_id, section_key="m", item_key=item,
                                          earned=0 if item in missed else 1, possible=1,
                                          missed=item in missed))
    # submitted but not approved: never counts
    _db.session.add(ShopAssignment(wave_id=wave.id, version_id=version.id, branch_id=b1.id,
                                   window_start=at(1), window_end=at(20), due_at=at(22),
                                   status="submitted", score=10.0, submitted_at=at(16)))


def _audit_data(b1, b2):
    template = AuditTemplate(name="网点合规检查")
    version = AuditTemplateVersion(template=template, number=1, published_at=at(1, 0, SEP),
                                   definition={"sections": [{"key": "c", "criteria": [
                                       {"key": "cash_drawer", "label": _t("现金柜上锁", "現金櫃上鎖",
                                                                          "Cash drawer locked"),
                                        "severity": "major"}]}]})
    _db.session.add_all([template, version])
    _db.session.flush()
    audits = {}
    for branch, score in ((b1, 75.0), (b2, 100.0)):
        audits[branch.id] = Audit(template_version_id=version.id, branch_id=branch.id,
                                  period=PERIOD, status="submitted", planned_at=at(1),
                                  due_at=at(14), score=score, submitted_at=at(8))
    _db.session.add_all(audits.values())
    _db.session.flush()
    finding = Finding(audit_id=audits[b1.id].id, branch_id=b1.id, section_key="c",
                      item_key="cash_drawer", severity="major", created_at=at(8))
    _db.session.add(finding)
    _db.session.flush()
    _db.session.add(CorrectiveAction(finding_id=finding.id, branch_id=b1.id, due_at=at(20),
                                     status="open", created_at=at(8)))


def build_world() -> SimpleNamespace:
    """Create the world in the current app's database (SQLite or PostgreSQL) and commit."""
    from qms.org.models import Agent, Branch

    b1 = Branch(code="B1", name="华东一支行", region="华东", city="上海")
    b2 = Branch(code="B2", name="华南二支行", region="华南", city="广州")
    _db.session.add_all([b1, b2])
    _db.session.flush()
    a1 = Agent(code="B1-A1", name="王小明", branch=b1)
    a2 = Agent(code="B1-A2", name="李小红", branch=b1)
    a3 = Agent(code="B2-A3", name="陈大文", branch=b2)
    _db.session.add_all([a1, a2, a3])
    _db.session.flush()
    _survey_data(a1, a2, a3)
    _qa_data(a1, a2, a3, b1, b2)
    _complaint_data(a1, a2)
    _mystery_data(b1, b2, a1)
    _audit_data(b1, b2)
    _db.session.commit()
    return SimpleNamespace(b1=b1, b2=b2, a1=a1, a2=a2, a3=a3, period=PERIOD, now=NOW)


@pytest.fixture
def scorecard_world(app):
    """See the module docstring for every figure. Returns the branches, agents, PERIOD, NOW."""
    return build_world()


@pytest.fixture
def pg_scorecard_world(pg_app):
    """The same world on PostgreSQL (skipped when no server answers)."""
    return build_world()

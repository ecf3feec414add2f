"""A year of QA activity for the demo bank, deterministic for a seed.

The two demo rubrics (a call-centre call and a branch visit) published, a monthly sampling rule
for each, ~4,000 interactions, ~3,000 evaluations scored with the real scoring, disputes with
their outcomes, and two past calibration sessions. The story matches the survey demo: the same
branches are better or worse and the same agents weak or strong; a few criteria are failed
often (empathy, clarifying questions, fee disclosure, needs analysis: what to coach), the
wealth team misses risk warnings more often (auto-fails), one grader is lenient, and one grader
aligns better with the benchmark in the second calibration. Everything is inserted in bulk.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from werkzeug.security import generate_password_hash

from qms.analytics import scoring
from qms.auth.models import RoleGrant, User
from qms.core.db import now_utc
from qms.extensions import db
from qms.org.models import Agent, Branch
from qms.qa import rubric_format, rubrics
from qms.qa.demo_calibration import build_calibration
from qms.qa.demo_rubrics import demo_rubrics
from qms.qa.models import (
    CriterionScore,
    Dispute,
    Evaluation,
    EvaluationRevision,
    Interaction,
    SamplingRule,
)
from qms.qa.sampling import period_containing
from qms.surveys.demo import BRANCH_EFFECT, STAR_AGENTS, WEAK_AGENTS, _month_starts, _next_month

# Criteria failed more often (a lower chance of full marks): what the reports say to coach.
WEAK_CRITERIA = {"empathy": 0.3, "clarify": 0.22, "first_contact": 0.12, "procedure": 0.1,
                 "fee_disclosure": 0.14, "ask_needs": 0.25, "efficiency": 0.2,
                 "special_care": 0.12}
# The wealth team misses risk warnings and suitability checks more often (mis-selling risk).
TEAM_WEAK = {"理财": {"risk_disclosure": 0.05, "risk_warning": 0.05, "suitability": 0.12}}
NA_RATE = {"verify_identity": 0.15, "first_contact": 0.1, "risk_warning": 0.55,
           "no_misleading": 0.5, "empathy": 0.25, "cross_sell": 0.6, "queue_guidance": 0.3,
           "suitability": 0.55, "form_help": 0.4, "risk_disclosure": 0.6, "fee_disclosure": 0.5,
           "special_care": 0.7, "cross_sell_branch": 0.65}
CALL_SHARE = {"柜面": 0.25, "理财": 0.5, "大堂": 0.15, "对公": 0.6}
GRADERS = [("qa.chen@demo.qms", "陈静（质检）", 0.0), ("qa.zhou@demo.qms", "周磊（质检）", 0.12),
           ("qa.lin@demo.qms", "林雪梅（质检）", -0.04)]  # name, leniency
FEEDBACK = ["整体服务规范，注意加强需求挖掘。", "开场与结束语标准，业务解答准确。",
            "请注意风险提示的完整性。", "沟通耐心，建议提升办理效率。",
            "未充分确认客户需求，请复盘录音。", "服务态度良好，继续保持。"]
DISPUTE_COMMENTS = ["客户当时已表示了解风险，录音第3分钟可以听到。", "该业务无需核实身份，应为不适用。",
                    "当时系统故障导致等待时间较长，非本人原因。", "我已主动询问客户需求，请复核。"]
DECISION_NOTES = {"accepted": "复核录音后确认员工操作合规，调整评分。",
                  "partly_accepted": "部分申诉成立，相应调整评分。",
                  "rejected": "复核后维持原评分。"}


@dataclass
class _Demo:
    seed: int
    now: datetime
    rng: random.Random
    versions: list  # [(RubricVersion, channel, SamplingRule)]
    graders: list[tuple[int, float]]  # (user id, leniency)
    agent_users: dict[int, int]
    interactions: list[dict] = field(default_factory=list)
    evaluations: list[dict] = field(default_factory=list)
    scores: list[list[dict]] = field(default_factory=list)  # per evaluation
    disputes: list[dict] = field(default_factory=list)
    revisions: list[dict] = field(default_factory=list)


def build_qa_activity(*, seed: int, now: datetime | None = None) -> dict[str, int]:
    """Add a year of QA activity to the demo bank (branches, agents and the demo users must
    exist). Returns counts of what was created."""
    now = now or now_utc()
    months = _month_starts(now)
    rng = random.Random(f"{seed}-qa")
    demo = _Demo(seed, now, rng, _publish(months[0] - timedelta(days=5)),
                 _graders(seed), _agent_logins(seed, months[0]))
    agents = list(db.session.scalars(sa.select(Agent).order_by(Agent.code)))
    codes = dict(db.session.execute(sa.select(Branch.id, Branch.code)).all())
    for mi, month in enumerate(months):
        for agent in agents:
            _month_of_agent(demo, agent, codes[agent.branch_id], month, mi)
    counts = _insert_all(demo)
    counts["calibration_sessions"] = build_calibration(
        seed, now, months, demo.versions[0][0], demo.graders, _answers, _score, _insert)
    _PURE.clear()
    return counts


# -- set-up -------------------------------------------------------------------------------------

def _publish(at: datetime) -> list:
    out = []
    for i, item in enumerate(demo_rubrics()):
        rubric = rubrics.create_rubric(name=item["name"], channel=item["channel"],
                                       definition=item["definition"])
        version = rubrics.publish_rubric(rubric, now=at)
        rule = SamplingRule(name=f"{item['name']} · 每月抽样", rubric_id=rubric.id,
                            period="month", per_agent=2, channels=[item["channel"]],
                            seed=1000 + i, created_at=at)
        db.session.add(rule)
        out.append((version, item["channel"], rule))
    db.session.flush()
    return out


def _graders(seed: int) -> list[tuple[int, float]]:
    """The demo QA login (benchmark, strict) and three more graders. They have no password
    anyone knows: one hash of a random secret, computed once, keeps `flask demo` fast."""
    first = db.session.scalar(sa.select(sa.func.min(RoleGrant.user_id))
                              .where(RoleGrant.role == "qa", RoleGrant.branch_id.is_(None)))
    secret = random.Random(f"{seed}-qa-graders").getrandbits(128)
    hashed = generate_password_hash(f"{secret:032x}", method="pbkdf2:sha256:1000")
    out = [(first, -0.03)] if first else []
    for email, name, leniency in GRADERS:
        user = User(email=email, name=name, password_hash=hashed, locale="zh_Hans")
        user.grants = [RoleGrant(role="qa")]
        db.session.add(user)
        db.session.flush()
        out.append((user.id, leniency))
    return out


def _agent_logins(seed: int, stamp: datetime) -> dict[int, int]:
    """A login per agent (to read their evaluations and raise disputes), inserted in bulk with
    one unusable password hash; the demo agent login keeps its own."""
    have = dict(db.session.execute(sa.select(User.agent_id, User.id)
                                   .where(User.agent_id.is_not(None))).all())
    hashed = generate_password_hash(f"{random.Random(f'{seed}-agents').getrandbits(128):032x}",
                                    method="pbkdf2:sha256:1000")
    rows = [{"email": f"{a.code.lower()}@demo.qms", "name": a.name, "password_hash": hashed,
             "locale": "zh_Hans", "active": True, "agent_id": a.id, "created_at": stamp}
            for a in db.session.scalars(sa.select(Agent).order_by(Agent.code))
            if a.id not in have]
    if rows:
        db.session.execute(sa.insert(User), rows)
        ids = dict(db.session.execute(sa.select(User.agent_id, User.id).where(
            User.agent_id.in_([r["agent_id"] for r in rows]))).all())
        branch = dict(db.session.execute(sa.select(Agent.id, Agent.branch_id)).all())
        db.session.execute(sa.insert(RoleGrant), [
            {"user_id": uid, "role": "agent", "branch_id": branch[aid], "region": None}
            for aid, uid in ids.items()])
        have.update(ids)
    return have


# -- a year of evaluations ----------------------------------------------------------------------

def _latent(demo: _Demo, agent: Agent, code: str, mi: int) -> float:
    effect = (-0.8 if agent.code in WEAK_AGENTS else 0.55 if agent.code in STAR_AGENTS
              else random.Random(f"{demo.seed}-{agent.code}").gauss(0, 0.25))
    return BRANCH_EFFECT.get(code, 0.0) + effect + 0.03 * mi


def _month_of_agent(demo: _Demo, agent: Agent, code: str, month: datetime, mi: int) -> None:
    rng = demo.rng
    days = (_next_month(month) - month).days
    for _ in range(rng.choice((2, 3, 3, 3, 4))):
        is_call = rng.random() < CALL_SHARE.get(agent.team or "", 0.3)
        version, channel, rule = demo.versions[0 if is_call else 1]
        at = month + timedelta(days=rng.randrange(days), hours=rng.randint(1, 9),
                               minutes=rng.randrange(60))
        if at >= demo.now:
            continue
        index = len(demo.interactions)
        demo.interactions.append({
            "channel": channel, "external_ref": f"{'CALL' if is_call else 'VISIT'}-"
                                                f"{at:%Y%m%d}-{index + 1:06d}",
            "agent_id": agent.id, "branch_id": agent.branch_id, "occurred_at": at,
            "duration_seconds": rng.randint(120, 900) if is_call else rng.randint(300, 2400),
            "summary": None, "source": "csv", "created_at": at})
        if rng.random() < 0.3:
            continue  # not sampled
        z = _latent(demo, agent, code, mi) + rng.gauss(0, 0.5)
        _evaluation(demo, agent, version, rule, index, at, z)


def _answers(rng: random.Random, definition: dict, z: float, team: str | None) -> dict:
    weak = TEAM_WEAK.get(team or "", {})
    out = {}
    for _section, c in rubric_format.walk(definition):
        if c is None:
            continue
        key, top = c["key"], c["max_points"]
        if c.get("na_allowed") and rng.random() < NA_RATE.get(key, 0.08):
            out[key] = {"score": "na", "comment": ""}
            continue
        hard = WEAK_CRITERIA.get(key, 0.0) + weak.get(key, 0.0)
        if c.get("kind") == "yesno":
            base = 0.992 if c.get("critical") == "all" else 0.93
            ok = rng.random() < min(0.998, base + (0.006 if base > 0.99 else 0.05) * z - hard)
            score = top if ok else 0
        elif rng.random() < min(0.97, 0.74 + 0.16 * z - hard):
            score = top
        else:
            score = max(0, top - rng.choice((1, 1, 1, 2, 2, 3)))
        out[key] = {"score": score, "comment": ""}
    return out


_PURE: dict[int, tuple[dict, scoring.Rubric]] = {}


def _score(definition: dict, answers: dict) -> tuple[float | None, bool, list[dict]]:
    """Total, auto-fail and criterion rows with the real scoring (as submitting stores them);
    the pure rubric of a definition is made once, not per evaluation."""
    cached = _PURE.get(id(definition))
    if cached is None or cached[0] is not definition:
        cached = _PURE[id(definition)] = (definition, rubric_format.to_scoring(definition))
    result = scoring.score(cached[1], rubric_format.scoring_answers(answers))
    rows = []
    for section, c in rubric_format.walk(definition):
        if c is None:
            continue
        value = answers[c["key"]]["score"]
        na = value == rubric_format.NA
        rows.append({"section_key": section["key"], "criterion_key": c["key"],
                     "earned": None if na else float(value), "possible": float(c["max_points"]),
                     "na": na, "failed": not na and value < c["max_points"]})
    total = None if result.total is None else round(result.total, 4)
    return total, result.auto_failed, rows


def _evaluation(demo: _Demo, agent: Agent, version, rule, index: int, at: datetime,
                z: float) -> None:
    rng = demo.rng
    grader, leniency = rng.choice(demo.graders)
    submitted = at + timedelta(days=rng.randint(1, 6), hours=rng.randint(0, 5))
    row = {"interaction_index": index, "rubric_version_id": version.id, "evaluator_id": grader,
           "agent_id": agent.id, "branch_id": agent.branch_id, "sampling_rule_id": rule.id,
           "period": period_containing("month", at).code, "calibration_session_id": None,
           "status": "assigned", "answers": None, "feedback": None, "total": None,
           "auto_failed": False, "created_at": at + timedelta(hours=12), "submitted_at": None,
           "acknowledged_at": None, "replaced_reason": None, "locked": False}
    if submitted >= demo.now or rng.random() < 0.01:
        if submitted < demo.now:  # an unusable recording, set aside with a reason
            row.update(status="replaced", replaced_reason="录音文件缺失，无法评估。")
        elif rng.random() < 0.3:
            row.update(status="draft", answers=_answers(rng, version.definition, z + leniency,
                                                        agent.team))
        demo.evaluations.append(row)
        demo.scores.append([])
        return
    answers = _answers(rng, version.definition, z + leniency, agent.team)
    total, auto_failed, rows = _score(version.definition, answers)
    acknowledged = rng.random() < 0.75 and submitted + timedelta(days=2) < demo.now
    row.update(status="acknowledged" if acknowledged else "submitted", answers=answers,
               feedback=rng.choice(FEEDBACK), total=total, auto_failed=auto_failed,
               submitted_at=submitted,
               acknowledged_at=submitted + timedelta(days=rng.randint(1, 2)) if acknowledged
               else None)
    demo.evaluations.append(row)
    demo.scores.append(rows)
    failed = [r["criterion_key"] for r in rows if r["failed"]]
    user = demo.agent_users.get(agent.id)
    if failed and user and rng.random() < (0.22 if auto_failed else 0.05):
        _dispute(demo, len(demo.evaluations) - 1, user, failed, version.definition, submitted)


def _dispute(demo: _Demo, ev_index: int, user: int, failed: list[str], definition: dict,
             submitted: datetime) -> None:
    rng = demo.rng
    raised = submitted + timedelta(days=rng.randint(1, 10))
    if raised >= demo.now:
        return
    criteria = [rng.choice(failed)]
    row = demo.evaluations[ev_index]
    status, decided = "open", raised + timedelta(days=rng.randint(2, 8))
    if decided < demo.now - timedelta(days=2):
        status = rng.choices(("accepted", "partly_accepted", "rejected"), (3, 2, 5))[0]
    reviewer = next((g for g, _l in demo.graders if g != row["evaluator_id"]), None)
    demo.disputes.append({
        "ev_index": ev_index, "raised_by_id": user, "raised_at": raised, "criteria": criteria,
        "comment": rng.choice(DISPUTE_COMMENTS), "status": status,
        "reviewer_id": reviewer if status != "open" else None,
        "decided_at": decided if status != "open" else None,
        "decision_note": DECISION_NOTES.get(status)})
    if status == "open":
        return
    row["locked"] = True
    if status == "rejected":
        return
    old = {"answers": row["answers"], "total": row["total"], "auto_failed": row["auto_failed"]}
    answers = {k: dict(v) for k, v in row["answers"].items()}
    for key in criteria:
        c = next(c for _s, c in rubric_format.walk(definition) if c and c["key"] == key)
        score, top = answers[key]["score"], c["max_points"]
        partly = status == "partly_accepted" and c.get("kind") != "yesno"
        answers[key]["score"] = score + -(-(top - score) // 2) if partly else top
    total, auto_failed, rows = _score(definition, answers)
    row.update(answers=answers, total=total, auto_failed=auto_failed)
    demo.scores[ev_index] = rows
    demo.revisions.append({"ev_index": ev_index, "at": decided, "by_id": reviewer,
                           "reason": DECISION_NOTES[status], "old_answers": old["answers"],
                           "old_total": old["total"], "old_auto_failed": old["auto_failed"],
                           "new_total": total})


# -- writing --------------------------------------------------------------------------------

def _reserve_ids(model, n: int) -> list[int]:
    """n fresh primary keys, so that rows go in with a plain executemany (see surveys.demo)."""
    if db.session.get_bind().dialect.name == "postgresql":
        return list(db.session.scalars(sa.text(
            "SELECT nextval(pg_get_serial_sequence(:t, 'id')) FROM generate_series(1, :n)"),
            {"t": model.__table__.name, "n": n}))
    first = (db.session.scalar(sa.select(sa.func.max(model.id))) or 0) + 1
    return list(range(first, first + n))


def _insert(model, rows: list[dict]) -> list[int]:
    if not rows:
        return []
    ids = _reserve_ids(model, len(rows))
    # The table's INSERT, not the ORM's: the ORM splits rows by which values are None, which
    # turns one executemany into thousands of statements.
    db.session.execute(model.__table__.insert(), [{**r, "id": i} for i, r in zip(ids, rows,
                                                                                 strict=True)])
    return ids


def _insert_all(demo: _Demo) -> dict[str, int]:
    interaction_ids = _insert(Interaction, demo.interactions)
    for row in demo.evaluations:
        row["interaction_id"] = interaction_ids[row.pop("interaction_index")]
    ev_ids = _insert(Evaluation, demo.evaluations)
    _link_replacements(demo.evaluations, ev_ids)
    scores = [{"evaluation_id": ev_id, **r} for ev_id, rows in zip(ev_ids, demo.scores,
                                                                    strict=True) for r in rows]
    if scores:
        db.session.execute(CriterionScore.__table__.insert(), scores)
    for row in demo.disputes:
        row["evaluation_id"] = ev_ids[row.pop("ev_index")]
    for row in demo.revisions:
        row["evaluation_id"] = ev_ids[row.pop("ev_index")]
    _insert(Dispute, demo.disputes)
    _insert(EvaluationRevision, demo.revisions)
    db.session.flush()
    return {"interactions": len(interaction_ids), "evaluations": len(ev_ids),
            "criterion_scores": len(scores), "disputes": len(demo.disputes),
            "revisions": len(demo.revisions)}


def _link_replacements(rows: list[dict], ids: list[int]) -> None:
    """A replaced item points at the next item drawn for the same agent, rule and period."""
    replaced = [(i, r) for i, r in enumerate(rows) if r["status"] == "replaced"]
    for i, r in replaced:
        nxt = next((j for j in range(i + 1, len(rows))
                    if rows[j]["agent_id"] == r["agent_id"]
                    and rows[j]["sampling_rule_id"] == r["sampling_rule_id"]
                    and rows[j]["period"] == r["period"] and rows[j]["status"] != "replaced"),
                   None)
        if nxt is not None:
            db.session.execute(sa.update(Evaluation).where(Evaluation.id == ids[i])
                               .values(replaced_by_id=ids[nxt]))

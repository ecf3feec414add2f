"""A year of branch audits for the demo bank, deterministic for a seed.

The branch service standards checklist (queue management, hall hygiene, disclosure of product
risk, staff conduct, cash security), a monthly programme over every branch for the last 12
months with three rotating auditors (none tied to a branch), the audits performed and scored
with the real scoring (the same branches are better or worse as in the survey and QA demos, and
improve a little over the year), the current month's audits planned or in progress, findings
for every failed item and their corrective actions in every state: closed on time, closed late,
reopened after a failed effectiveness check, done and waiting for the check, open, overdue and
escalated (levels and notes as the escalation job would have left them; no e-mails). Each
branch without a head gets one (no known password), so every action has an owner. One critical
finding has a follow-up audit. Evidence files are not generated.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import sqlalchemy as sa
from werkzeug.security import generate_password_hash

from qms.audits import checklists, periods, templates
from qms.audits.actions import DEFAULT_DUE_DAYS
from qms.audits.demo_checklist import DEFINITION, FAIL_RATE, NA_RATE, NAME, SCORE_MEAN
from qms.audits.escalation import DEFAULT_DAYS
from qms.audits.models import ActionNote, Audit, CorrectiveAction, Finding
from qms.audits.programmes import ProgrammeSpec, create_programme
from qms.auth.models import RoleGrant, User
from qms.core.db import now_utc
from qms.extensions import db
from qms.org.models import Branch
from qms.surveys.demo import BRANCH_EFFECT

AUDITORS = [("audit.wang@demo.qms", "王审计（内审）"), ("audit.li@demo.qms", "李审计（内审）")]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
COMMENTS = {"brochures": "部分宣传折页已过期，未及时下架。", "hall_clean": "填单台有废弃单据未清理。",
            "risk_rating": "新上架理财产品未张贴风险等级标识。", "fee_board": "收费公示牌未更新最新标准。",
            "wait_time": "午间高峰仅开2个窗口，等候超过25分钟。", "greeting": "个别员工未使用标准服务用语。",
            "dual_recording": "抽查的代销保险业务缺少录像。", "dual_control": "尾箱钥匙由一人保管。",
            "priority_window": "绿色通道标识被遮挡。", "cctv": "一台摄像头离线，录像仅保存60天。"}
CORRECTIONS = ["已当场整改并拍照留存。", "已更换并重新张贴。", "已安排专人清理并复查。"]
ACTIONS = ["修订每日开门前检查清单，由大堂经理签字确认。", "纳入晨会培训并每周抽查。",
           "明确岗位职责，纳入月度考核。"]
VERIFY_NOTES = ["现场复核已整改到位。", "抽查一周记录，执行有效。"]


def build_audit_activity(*, seed: int, now: datetime | None = None) -> dict[str, int]:
    """Add a year of audits to the demo bank (branches and the demo users must exist)."""
    now = now or now_utc()
    rng = random.Random(f"{seed}-audits")
    branches = list(db.session.scalars(sa.select(Branch).order_by(Branch.code)))
    auditors = _auditors(seed)
    heads = _branch_heads(seed, rng, branches, now)
    keys = periods.periods_between("monthly", None, now - timedelta(days=365), now)[-12:]
    first_start = keys[0][1]
    template = templates.create_template(name=NAME, definition=DEFINITION)
    version = templates.publish_template(template, now=first_start - timedelta(days=10))
    programme = create_programme(ProgrammeSpec(
        name="支行服务标准月度检查", template_id=template.id, recurrence="monthly",
        scope="all", auditor_ids=None, days_allowed=14, starts_on=first_start))
    definition = version.definition
    meta = checklists.item_meta(definition)
    counts = {"audits": 0, "findings": 0, "actions": 0}
    cursor = 0
    for mi, (key, start) in enumerate(keys):
        for branch in branches:
            auditor = auditors[cursor % len(auditors)]
            cursor += 1
            audit = Audit(programme_id=programme.id, template_version_id=version.id,
                          branch_id=branch.id, period=key, auditor_id=auditor, status="planned",
                          planned_at=start, due_at=start + timedelta(days=14), answers={},
                          comments={}, created_at=start)
            db.session.add(audit)
            counts["audits"] += 1
            quality = BRANCH_EFFECT.get(branch.code, rng.uniform(-0.3, 0.3)) + 0.025 * mi
            _perform(rng, audit, definition, quality, start, now, last=mi == len(keys) - 1)
    programme.rotation_cursor = cursor % len(auditors)
    db.session.flush()
    submitted = db.session.scalars(sa.select(Audit).where(
        Audit.programme_id == programme.id, Audit.submitted_at.is_not(None))
        .order_by(Audit.submitted_at, Audit.id)).all()
    pairs = [(audit, key) for audit in submitted
             for key in checklists.failed_items(definition, audit.answers)]
    findings = [Finding(audit_id=a.id, branch_id=a.branch_id, section_key=meta[k]["section_key"],
                        item_key=k, severity=meta[k]["severity"],
                        description=(a.comments or {}).get(k), status="open",
                        created_at=a.submitted_at) for a, k in pairs]
    db.session.add_all(findings)
    db.session.flush()
    notes: list[tuple] = []
    acts = [_action(rng, a, f, heads[a.branch_id], now, notes)
            for (a, _k), f in zip(pairs, findings, strict=True)]
    _recently_reopened(acts, [a.auditor_id for a, _k in pairs], now, notes)
    db.session.add_all(acts)
    db.session.flush()
    if notes:
        db.session.execute(sa.insert(ActionNote), [
            {"action_id": act.id, "author_id": author, "kind": kind, "text": text,
             "created_at": at} for act, kind, text, author, at in notes])
    counts["findings"] = counts["actions"] = len(findings)
    _close_audits(submitted)
    _follow_up()
    db.session.flush()
    return counts


# -- people ---------------------------------------------------------------------------------

def _auditors(seed: int) -> list[int]:
    """The demo auditor login plus two more (no password anyone knows)."""
    ids = list(db.session.scalars(sa.select(RoleGrant.user_id).where(
        RoleGrant.role == "auditor", RoleGrant.branch_id.is_(None),
        RoleGrant.region.is_(None)).order_by(RoleGrant.user_id)))
    hashed = generate_password_hash(f"{random.Random(f'{seed}-auditors').getrandbits(128):032x}",
                                    method="pbkdf2:sha256:1000")
    for email, name in AUDITORS:
        user = User(email=email, name=name, password_hash=hashed, locale="zh_Hans")
        user.grants = [RoleGrant(role="auditor")]
        db.session.add(user)
        db.session.flush()
        ids.append(user.id)
    return ids


def _branch_heads(seed: int, rng: random.Random, branches, now) -> dict[int, int]:
    heads = dict(db.session.execute(
        sa.select(RoleGrant.branch_id, sa.func.min(RoleGrant.user_id))
        .where(RoleGrant.role == "branch_head", RoleGrant.branch_id.is_not(None))
        .group_by(RoleGrant.branch_id)).all())
    hashed = generate_password_hash(f"{random.Random(f'{seed}-heads').getrandbits(128):032x}",
                                    method="pbkdf2:sha256:1000")
    for b in branches:
        if b.id in heads:
            continue
        user = User(email=f"head.{b.code.lower()}@demo.qms", password_hash=hashed,
                    name=f"{rng.choice(SURNAMES)}行长（{b.name}）", locale="zh_Hans",
                    created_at=now)
        user.grants = [RoleGrant(role="branch_head", branch_id=b.id)]
        db.session.add(user)
        db.session.flush()
        heads[b.id] = user.id
    return heads


# -- audits ---------------------------------------------------------------------------------

def _answers(rng: random.Random, definition: dict, quality: float) -> dict:
    answers = {}
    for _s, item in checklists.walk(definition):
        key = item["key"]
        if item.get("na_allowed") and rng.random() < NA_RATE.get(key, 0.1):
            answers[key] = checklists.NA
        elif item["kind"] == checklists.SCORE:
            mean = SCORE_MEAN.get(key, 4.0) + 0.9 * quality
            answers[key] = max(0, min(item["max_points"], round(rng.gauss(mean, 0.8))))
        else:
            rate = FAIL_RATE.get(key, 0.08) * max(0.15, 1 - 1.2 * quality)
            answers[key] = checklists.FAIL if rng.random() < rate else checklists.PASS
    return answers


def _perform(rng, audit: Audit, definition: dict, quality: float, start: datetime,
             now: datetime, *, last: bool) -> None:
    begin = start + timedelta(days=rng.randint(1, 11), hours=rng.randint(1, 8))
    answers = _answers(rng, definition, quality)
    if last and (begin >= now or rng.random() < 0.4):
        if begin < now and rng.random() < 0.5:  # started, half answered
            audit.status, audit.started_at = "in_progress", begin
            audit.answers = dict(list(answers.items())[:len(answers) // 2])
        return
    if begin >= now:
        return
    audit.status, audit.started_at = "submitted", begin
    audit.answers = answers
    audit.comments = {k: COMMENTS[k] for k in checklists.failed_items(definition, answers)
                      if k in COMMENTS}
    audit.submitted_at = min(begin + timedelta(hours=rng.randint(2, 5)), now)
    result = checklists.score_answers(definition, answers)
    audit.score = None if result.total is None else round(result.total, 2)
    audit.auto_failed = result.auto_failed


def _action(rng, audit: Audit, finding: Finding, owner_id: int, now: datetime,
            notes: list) -> CorrectiveAction:
    t = audit.submitted_at
    due = t + timedelta(days=DEFAULT_DUE_DAYS[finding.severity])
    action = CorrectiveAction(finding_id=finding.id, branch_id=audit.branch_id,
                              owner_id=owner_id, due_at=due, status="open",
                              escalation_level=0, created_at=t)
    _story(rng, action, finding, audit.auditor_id, owner_id, t, due, now, notes)
    return action


def _note(notes: list, action, kind, text, author, at) -> None:
    notes.append((action, kind, text, author, at))


def _story(rng, action, finding, auditor, owner, t, due, now, notes) -> None:
    """Walk one action through a believable life up to `now`."""
    span = due - t
    roll = rng.random()
    if now - timedelta(days=21) < due < now and roll < 0.4:
        roll = 1.0  # recently due: often still open (the first escalation levels)
    if due < now:
        if roll < 0.68:
            done = t + span * rng.uniform(0.2, 0.7)
        elif roll < 0.8:
            done = due + timedelta(days=rng.randint(2, 12))
        elif roll < 0.88:
            done = t + span * rng.uniform(0.2, 0.5)
            _fix(rng, action, owner, t, done, notes)
            _note(notes, action, "done", "已完成整改。", owner, done)
            back = done + timedelta(days=rng.randint(1, 3))
            _note(notes, action, "reopened", "复核发现问题仍存在，需重新整改。", auditor, back)
            due = action.due_at = back + timedelta(days=14)
            done = back + timedelta(days=rng.randint(3, 10))
        else:
            done = None  # still open: overdue and escalated
    else:
        done = t + span * rng.uniform(0.2, 0.6) if roll < 0.6 else None
    if done is None or done >= now:
        if rng.random() < 0.7 or due < now:
            _fix(rng, action, owner, t, min(now, t + timedelta(days=2)), notes)
        _escalations(action, due, now, notes)
        return
    _fix(rng, action, owner, t, done, notes)
    action.status, action.done_at = "done", done
    _note(notes, action, "done", "已完成整改，请复核。", owner, done)
    checked = done + timedelta(days=rng.randint(1, 5))
    if checked >= now or (rng.random() < 0.25 and now - done < timedelta(days=45)):
        return  # waiting for the effectiveness check
    action.status, action.effective = "closed", True
    action.verified_by_id, action.verified_at, action.closed_at = auditor, checked, checked
    _note(notes, action, "verified", rng.choice(VERIFY_NOTES), auditor, checked)
    finding.status, finding.closed_at = "closed", checked


def _fix(rng, action, owner, t, at, notes) -> None:
    action.correction = rng.choice(CORRECTIONS)
    action.action = rng.choice(ACTIONS)
    _note(notes, action, "progress", "已制定整改方案并落实责任人。", owner,
          max(t + timedelta(hours=4), at - timedelta(days=1)))


def _escalations(action, due, now, notes) -> None:
    for level, days in enumerate(DEFAULT_DAYS, start=1):
        at = due + timedelta(days=days)
        if at > now:
            break
        action.escalation_level = level
        _note(notes, action, "escalated", f"level {level}", None, at)


def _recently_reopened(acts, auditors, now, notes) -> None:
    """Two long-overdue actions get a recent second chance that has run out again, so the
    overdue list shows every escalation level (1: owner told, 2: head told)."""
    stale = [(a, auditor) for a, auditor in zip(acts, auditors, strict=True)
             if a.status == "open" and a.escalation_level == 3][:2]
    for (act, auditor), days in zip(stale, (3, 9), strict=False):
        notes[:] = [n for n in notes if not (n[0] is act and n[1] == "escalated")]
        back = now - timedelta(days=days + 14)
        _note(notes, act, "done", "已完成整改，请复核。", act.owner_id, back - timedelta(days=1))
        _note(notes, act, "reopened", "复核发现问题仍存在，需重新整改。", auditor, back)
        act.due_at = now - timedelta(days=days)
        act.escalation_level = 0
        _escalations(act, act.due_at, now, notes)


def _close_audits(submitted) -> None:
    open_ids = set(db.session.scalars(sa.select(Finding.audit_id).where(
        Finding.status == "open")))
    for audit in submitted:
        if audit.id not in open_ids:
            audit.status = "closed"


def _follow_up() -> None:
    finding = db.session.scalar(sa.select(Finding).where(Finding.severity == "critical")
                                .order_by(Finding.created_at.desc(), Finding.id.desc()))
    if finding is None:
        return
    original = finding.audit
    db.session.add(Audit(programme_id=None, template_version_id=original.template_version_id,
                         branch_id=finding.branch_id, period=f"F{finding.id}",
                         auditor_id=original.auditor_id, status="planned",
                         planned_at=finding.created_at + timedelta(days=1),
                         due_at=finding.created_at + timedelta(days=15),
                         follow_up_of_id=finding.id, answers={}, comments={},
                         created_at=finding.created_at + timedelta(days=1)))

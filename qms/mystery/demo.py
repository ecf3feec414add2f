"""Mystery shopping for the demo bank, deterministic for a seed.

A published mystery-shop survey (demo_survey), six shoppers (the demo shopper login and five
more), two declared conflicts, and a quarterly programme with two waves over every branch. The
first wave is over: its reports were submitted through the shopper portal's service and
reviewed (most approved, some returned for correction). The second is under way: past visits
reported and reviewed, later ones offered or accepted — so the demo shopper has work to do.
Branch quality follows the survey demo's BRANCH_EFFECT, so results agree with the surveys.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from werkzeug.security import generate_password_hash

from qms.auth.models import RoleGrant, User
from qms.core.db import now_utc
from qms.extensions import db
from qms.mystery import assignment, portal, review, waves
from qms.mystery.demo_survey import DEFINITION
from qms.mystery.models import ShopAssignment
from qms.org.models import Branch
from qms.surveys import services
from qms.surveys.demo import BRANCH_EFFECT
from qms.surveys.models import SurveyKind

SHOPPERS = [("shopper.lin@demo.qms", "林晓雯"), ("shopper.zhou@demo.qms", "周子轩"),
            ("shopper.he@demo.qms", "何嘉怡"), ("shopper.wu@demo.qms", "吴俊杰"),
            ("shopper.chan@demo.qms", "Chan Ka Yan")]
STAFF = ["王芳", "李娜", "张伟", "刘洋", "陈静", "杨磊", "赵敏", "黄磊"]
RETURN_SHARE = 0.12
PENDING_SHARE = 0.08


def build_mystery_activity(*, seed: int, now: datetime | None = None) -> dict[str, int]:
    """Add the mystery-shopping demo (branches and the demo users must exist; the demo QA
    login reviews). Returns counts of what was created."""
    now = now or now_utc()
    rng = random.Random(f"{seed}-mystery")
    survey = services.create_survey(title="网点神秘客户检查 · 2026", definition=DEFINITION,
                                    kind=SurveyKind.MYSTERY_SHOP)
    version = services.publish(survey, now=now - timedelta(days=90))
    shoppers = _shoppers(seed, now)
    reviewer = db.session.scalar(
        sa.select(User).join(RoleGrant).where(RoleGrant.role == "qa",
                                              RoleGrant.branch_id.is_(None))
        .order_by(User.id).limit(1))
    branches = list(db.session.scalars(sa.select(Branch).order_by(Branch.code)))
    for shopper, branch in ((shoppers[1], branches[0]), (shoppers[2], branches[-1])):
        waves.declare_conflict(shopper, branch, "亲属在该网点工作", now=now)
    programme = waves.create_programme(name=f"{_quarter(now)} 神秘客户检查", survey=survey)
    today = now.astimezone(ZoneInfo("Asia/Shanghai")).date()
    counts = {"assignments": 0, "approved": 0, "returned": 0, "submitted": 0, "unplaced": 0}
    for n, (start, end) in enumerate(((today - timedelta(days=63), today - timedelta(days=50)),
                                      (today - timedelta(days=14), today + timedelta(days=9)))):
        wave = waves.create_wave(programme, waves.WaveSpec(
            name=f"第 {n + 1} 轮", starts_on=_monday(start), ends_on=end,
            scenarios=("deposit", "wealth"), visits_per_branch=2, rotation_days=45,
            daily_cap=2, version_id=version.id))
        made = assignment.generate_assignments(wave, now=now, seed=seed)
        counts["assignments"] += len(made.created)
        counts["unplaced"] += len(made.unplaced)
        for a in made.created:
            _play(a, rng, reviewer, now, counts)
    db.session.flush()
    counts["shoppers"] = len(shoppers)
    return counts


def _quarter(now: datetime) -> str:
    return f"{now.year} Q{(now.month - 1) // 3 + 1}"


def _monday(d: date) -> date:
    return d - timedelta(days=d.weekday())


def _shoppers(seed: int, now: datetime) -> list[User]:
    """The demo shopper login first, then five shoppers whose password nobody knows."""
    users = waves.active_shoppers()
    hashed = generate_password_hash(f"{random.Random(f'{seed}-shoppers').getrandbits(128):032x}",
                                    method="pbkdf2:sha256:1000")
    for email, name in SHOPPERS:
        user = User(email=email, name=name, password_hash=hashed, locale="zh_Hans",
                    created_at=now)
        user.grants = [RoleGrant(role="shopper")]
        db.session.add(user)
        users.append(user)
    db.session.flush()
    return users


def _answers(a: ShopAssignment, rng: random.Random) -> dict[str, list[str]]:
    """A report as the shopper's form sends it, better at better branches."""
    quality = 0.72 + 0.25 * BRANCH_EFFECT.get(a.branch.code, 0.0)

    def yes(bonus=0.0):
        return ["yes" if rng.random() < min(0.98, quality + bonus) else "no"]

    def scale(top):
        return [str(max(0, min(top, round(top * (quality + 0.15) + rng.uniform(-1.0, 1.0)))))]

    local = a.window_start.astimezone(ZoneInfo(a.branch.timezone or "Asia/Shanghai"))
    start = local + timedelta(minutes=rng.randint(5, 60))
    wait = rng.randint(2, 25) if quality > 0.6 else rng.randint(10, 45)
    form = {
        "q_greeted": yes(0.1), "q_tidy": yes(0.15),
        "q_queue_ticket": ["na"] if rng.random() < 0.1 else yes(0.2),
        "q_needs": scale(4), "q_explain": scale(4), "q_fees": yes(-0.1),
        "q_risk_warning": ["na"] if a.scenario == "deposit" else yes(0.12),
        "q_card": yes(), "q_followup": yes(0.05),
        "q_impression": [rng.choices(["good", "fair", "poor"],
                                     [quality, 0.9 - quality * 0.6, 0.15])[0]],
        "q_visit_start": [start.strftime("%Y-%m-%dT%H:%M")],
        "q_visit_end": [(start + timedelta(minutes=wait + rng.randint(10, 30)))
                        .strftime("%Y-%m-%dT%H:%M")],
        "q_wait": [str(wait)], "q_staff": [rng.choice(STAFF)],
    }
    if rng.random() < 0.3:
        form["q_notes"] = ["排队叫号屏显示与实际不一致。" if quality < 0.6 else "员工服务热情。"]
    return form


def _play(a: ShopAssignment, rng: random.Random, reviewer: User | None, now: datetime,
          counts: dict) -> None:
    """Take an assignment as far as its window allows: accepted, reported, reviewed."""
    shopper = db.session.get(User, a.shopper_id)
    if a.window_start > now:
        if rng.random() < 0.5:
            portal.accept_assignment(a, shopper, now=now - timedelta(days=1))
        return
    at = a.window_end + timedelta(hours=rng.randint(2, 30))
    portal.accept_assignment(a, shopper, now=a.window_start - timedelta(days=2))
    portal.submit_report(a, shopper, _answers(a, rng), now=min(at, now))
    roll = rng.random()
    if reviewer is None or roll < PENDING_SHARE or at + timedelta(days=1) > now:
        counts["submitted"] += 1
    elif roll < PENDING_SHARE + RETURN_SHARE:
        review.return_report(a, reviewer, "请补充接待员工的工号，并核对离开时间。",
                             {"staff": "工号缺失。", "visit_end": "请核对离开时间。"},
                             now=at + timedelta(days=1))
        counts["returned"] += 1
    else:
        review.approve_report(a, reviewer, None, now=at + timedelta(days=1))
        counts["approved"] += 1

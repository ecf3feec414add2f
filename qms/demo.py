"""A realistic demo bank, deterministic for a seed. Later issues add activity to it."""

from __future__ import annotations

import random

import sqlalchemy as sa

from qms.audits.demo import build_audit_activity
from qms.auth.services import GrantSpec, create_user
from qms.complaints.codes import seed_codes
from qms.core.db import now_utc
from qms.extensions import db
from qms.mystery.demo import build_mystery_activity
from qms.org.models import Agent, Branch, Customer
from qms.qa.demo import build_qa_activity
from qms.scorecards.snapshots import compute_recent
from qms.surveys.demo import build_survey_activity


class DemoRefused(Exception):
    pass


CITIES = [
    # (region, city, [(code, branch name)])
    ("华东", "上海", [("SH01", "上海陆家嘴支行"), ("SH02", "上海徐家汇支行"),
                    ("SH03", "上海静安寺支行"), ("SH04", "上海五角场支行")]),
    ("华北", "北京", [("BJ01", "北京金融街支行"), ("BJ02", "北京中关村支行"),
                    ("BJ03", "北京国贸支行"), ("BJ04", "北京望京支行")]),
    ("华南", "深圳", [("SZ01", "深圳福田支行"), ("SZ02", "深圳南山科技园支行"),
                    ("SZ03", "深圳罗湖支行"), ("SZ04", "深圳前海支行")]),
]
TEAMS = ["柜面", "理财", "大堂", "对公"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国玉兰萍红鹏辉玲宇浩然子轩欣怡梓涵雨桐一诺思远嘉怡俊杰晨阳婷雪梅文博"
ROLES = ["admin", "qa", "auditor", "complaints", "branch_head", "agent", "shopper"]


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


def database_is_empty() -> bool:
    return not db.session.scalar(sa.select(sa.func.count(Branch.id)))


# What build_demo adds on top of the bank itself, in the order it adds them.
ACTIVITIES = ("surveys", "qa", "mystery", "audits", "complaints", "scorecards")


def build_demo(*, seed: int = 2026, customers: int = 5000,
               activities: tuple[str, ...] = ACTIVITIES) -> list[tuple[str, str, str]]:
    """Create branches, agents, customers and one user per role, then each domain's activity
    (`activities` narrows it: a domain's own tests build only theirs); return the logins."""
    if not database_is_empty():
        raise DemoRefused("the database already has branches; demo data goes into an empty one")
    rng = random.Random(seed)
    branches: list[Branch] = []
    for region, city, rows in CITIES:
        for code, name in rows:
            branches.append(Branch(code=code, name=name, region=region, city=city,
                                   timezone="Asia/Shanghai"))
    db.session.add_all(branches)
    db.session.flush()

    agents: list[Agent] = []
    for branch in branches:
        for i in range(1, 11):
            agents.append(Agent(code=f"{branch.code}-A{i:02d}", name=_name(rng), branch=branch,
                                team=TEAMS[(i - 1) % len(TEAMS)]))
    db.session.add_all(agents)
    db.session.flush()

    stamp = now_utc()
    rows = []
    for i in range(1, customers + 1):
        roll = rng.random()
        locale = "zh_Hans" if roll < 0.85 else ("zh_Hant" if roll < 0.93 else "en")
        rows.append({
            "ref": f"C{seed % 100:02d}{i:07d}",
            "name": _name(rng) if locale != "en" else rng.choice(
                ["Alex Chan", "Maria Wong", "David Lee", "Emma Liu", "James Ho", "Sophie Tang"]),
            "email": f"customer{i}@example.com",
            "phone": f"+86 13{rng.randint(0, 9)}{rng.randint(10000000, 99999999)}",
            "segment": "vip" if rng.random() < 0.12 else "standard",
            "locale": locale,
            "home_branch_id": rng.choice(branches).id,
            "created_at": stamp,
        })
    db.session.execute(sa.insert(Customer), rows)

    logins = []
    home = branches[0]
    # Passwords come from their own generator so that adding demo data never changes them.
    pw_rng = random.Random(f"{seed}-passwords")
    for role in ROLES:
        password = f"demo-{role.replace('_', '-')}-{pw_rng.randint(1000, 9999)}"
        email = f"{role.replace('_', '.')}@demo.qms"
        branch_code = home.code if role in ("branch_head", "agent") else None
        create_user(email=email, name=f"Demo {role}", password=password,
                    grants=[GrantSpec(role, branch_code)],
                    agent_code=agents[0].code if role == "agent" else None)
        logins.append((role, email, password))
    db.session.flush()
    if "surveys" in activities:
        build_survey_activity(seed=seed)  # 12 months of campaigns, responses and follow-ups
    if "qa" in activities:
        build_qa_activity(seed=seed)  # a year of interactions, evaluations, disputes, calibration
    if "mystery" in activities:
        build_mystery_activity(seed=seed)  # a quarterly programme of two waves, reviewed reports
    if "audits" in activities:
        build_audit_activity(seed=seed)  # a monthly audit programme, findings, actions
    if "complaints" in activities:
        seed_codes()  # complaint classification code lists (JR/T 0169 axes, root causes)
    if "scorecards" in activities:
        db.session.flush()
        compute_recent(now=now_utc(), months=3)  # snapshots of the last three months
    return logins

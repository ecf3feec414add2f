"""Twelve months of survey activity for the demo bank, deterministic for a seed.

A published satisfaction survey (CSAT, NPS, CES, a choice question, a conditional multiple
choice and a comment), a monthly e-mail campaign plus counter QR links, invitations, responses
and follow-ups. Differences are built in so that the results pages tell a story: a few branches
clearly better or worse, a few weak agents, VIP customers slightly harder to please, a Spring
Festival dip, and a slow improvement over the year. Everything is inserted in bulk.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from qms.auth.models import RoleGrant
from qms.core.db import now_utc
from qms.extensions import db
from qms.org.models import Agent, Branch, Customer
from qms.surveys import services
from qms.surveys.models import Answer, Campaign, CounterLink, FollowUp, Invitation, Response


def L(zh_hans: str, zh_hant: str, en: str) -> dict:
    return {"zh_Hans": zh_hans, "zh_Hant": zh_hant, "en": en}


def _opt(key, hans, hant, en):
    return {"key": key, "label": L(hans, hant, en)}


DEFINITION = {
    "title": L("网点服务满意度调查", "網點服務滿意度調查", "Branch service satisfaction survey"),
    "intro": L("感谢您抽出一分钟评价我们的服务。", "感謝您抽出一分鐘評價我們的服務。",
               "Thank you for taking a minute to rate our service."),
    "thanks": L("感谢您的反馈！", "感謝您的回饋！", "Thank you for your feedback!"),
    "sections": [{"key": "visit", "questions": [
        {"key": "csat", "type": "csat", "required": True,
         "label": L("您对本次服务的总体满意度如何？", "您對本次服務的總體滿意度如何？",
                    "How satisfied are you with the service overall?")},
        {"key": "nps", "type": "nps", "required": True,
         "label": L("您有多大可能向亲友推荐我行？", "您有多大可能向親友推薦我行？",
                    "How likely are you to recommend us to a friend or colleague?")},
        {"key": "ces", "type": "ces",
         "label": L("我行让我轻松办理了业务。", "我行讓我輕鬆辦理了業務。",
                    "The bank made it easy for me to handle my request.")},
        {"key": "purpose", "type": "single",
         "label": L("您本次办理的主要业务？", "您本次辦理的主要業務？",
                    "What was your visit mainly about?"),
         "options": [_opt("deposit", "存取款", "存取款", "Deposits and withdrawals"),
                     _opt("card", "银行卡", "銀行卡", "Cards"),
                     _opt("loan", "贷款", "貸款", "Loans"),
                     _opt("wealth", "理财", "理財", "Wealth management"),
                     _opt("other", "其他", "其他", "Something else")]},
        {"key": "improve", "type": "multiple",
         "condition": {"q": "csat", "op": "at_most", "value": 3},
         "label": L("我们最需要改进哪些方面？", "我們最需要改進哪些方面？",
                    "What should we improve most?"),
         "options": [_opt("wait", "等候时间", "等候時間", "Waiting time"),
                     _opt("attitude", "服务态度", "服務態度", "Staff attitude"),
                     _opt("explain", "业务讲解", "業務講解", "Explanations"),
                     _opt("process", "手续流程", "手續流程", "Procedures and paperwork"),
                     _opt("app", "手机银行", "手機銀行", "Mobile banking")]},
        {"key": "comment", "type": "textarea", "max_length": 1000,
         "label": L("还有什么想告诉我们的吗？", "還有什麼想告訴我們的嗎？",
                    "Anything else you would like to tell us?")},
    ]}],
}

COMMENTS = {
    "good": [L("柜员非常耐心，讲解很清楚。", "櫃員非常耐心，講解很清楚。",
               "The teller was very patient and explained everything clearly."),
             L("办理很快，不到十分钟就好了。", "辦理很快，不到十分鐘就好了。",
               "Very quick, done in less than ten minutes."),
             L("大堂经理主动引导，体验很好。", "大堂經理主動引導，體驗很好。",
               "The lobby manager guided me right away, a great experience."),
             L("理财经理很专业，推荐的产品适合我。", "理財經理很專業，推薦的產品適合我。",
               "The wealth manager was professional and suggested products that suit me.")],
    "mid": [L("整体还可以，就是人有点多。", "整體還可以，就是人有點多。",
              "Fine overall, just a bit crowded."),
            L("希望多开几个窗口。", "希望多開幾個窗口。", "Please open more counters."),
            L("停车不太方便。", "停車不太方便。", "Parking is not easy.")],
    "bad": [L("排队等了四十多分钟，只开了两个窗口。", "排隊等了四十多分鐘，只開了兩個窗口。",
              "I queued for over forty minutes with only two counters open."),
            L("柜员态度冷淡，问问题也不耐烦。", "櫃員態度冷淡，問問題也不耐煩。",
              "The teller was cold and impatient with my questions."),
            L("同一份材料让我跑了三趟。", "同一份材料讓我跑了三趟。",
              "I had to come back three times for the same document."),
            L("推销理财产品太频繁，很反感。", "推銷理財產品太頻繁，很反感。",
              "Too much pushing of investment products, very annoying."),
            L("手机银行预约了还是要重新排队。", "手機銀行預約了還是要重新排隊。",
              "I booked in the app and still had to queue again.")],
}

# Branch quality on a latent scale (about -1 .. +1): some clearly better, some clearly worse.
BRANCH_EFFECT = {"SH01": 0.65, "BJ01": 0.5, "SZ02": 0.45, "SH02": 0.2, "BJ02": 0.15,
                 "SZ01": 0.05, "SH04": 0.0, "SZ04": -0.05, "BJ03": -0.15, "SZ03": -0.4,
                 "SH03": -0.45, "BJ04": -0.6}
# Spring Festival crowds in January/February, the October holiday, a good early summer.
SEASON = {1: -0.3, 2: -0.45, 3: -0.1, 5: 0.1, 6: 0.15, 9: 0.1, 10: -0.2, 12: -0.1}
WEAK_AGENTS = {"BJ04-A07", "SH03-A03", "SZ01-A09", "BJ02-A05"}
STAR_AGENTS = {"SH01-A02", "SZ02-A04", "BJ03-A01"}
CLOSING_NOTES = ["已致电客户致歉，并说明改进措施。", "客户问题已解决，客户表示认可。",
                 "已安排专人跟进，客户接受处理结果。", "电话未接通两次，已发短信说明情况。"]


def _month_starts(now: datetime, months: int = 12) -> list[datetime]:
    """The first days of the last `months` UTC months, the current one included."""
    y, m = now.year, now.month
    out = []
    for _ in range(months):
        out.append(datetime(y, m, 1, tzinfo=UTC))
        y, m = (y - 1, 12) if m == 1 else (y, m - 1)
    return out[::-1]


def _next_month(d: datetime) -> datetime:
    return d.replace(year=d.year + 1, month=1) if d.month == 12 else d.replace(month=d.month + 1)


def _clamp(v: float, lo: int, hi: int) -> int:
    return max(lo, min(hi, round(v)))


def _token(seed: int, kind: str, n: int) -> str:
    return hashlib.sha256(f"qms-demo-{seed}-{kind}-{n}".encode()).hexdigest()


def _scores(rng: random.Random, z: float) -> tuple[int, int, int]:
    """CSAT, NPS and CES from one latent satisfaction, correlated as in real data."""
    csat = _clamp(4.0 + 0.85 * z + rng.gauss(0, 0.45), 1, 5)
    nps = _clamp(7.7 + 1.7 * z + rng.gauss(0, 0.9), 0, 10)
    ces = _clamp(5.3 + 1.05 * z + rng.gauss(0, 0.7), 1, 7)
    return csat, nps, ces


def _answers(rng: random.Random, z: float, locale: str, team: str | None) -> list[dict]:
    csat, nps, ces = _scores(rng, z)
    rows = [{"question_key": "csat", "qtype": "csat", "num_value": csat},
            {"question_key": "nps", "qtype": "nps", "num_value": nps},
            {"question_key": "ces", "qtype": "ces", "num_value": ces}]
    weights = {"理财": (2, 2, 2, 6, 1), "对公": (3, 2, 4, 1, 2)}.get(team or "", (6, 3, 2, 2, 1))
    purpose = rng.choices(("deposit", "card", "loan", "wealth", "other"), weights)[0]
    rows.append({"question_key": "purpose", "qtype": "single", "choice_key": purpose})
    if csat <= 3:
        pool = ["wait", "attitude", "explain", "process", "app"]
        for key in rng.sample(pool, rng.choice((1, 1, 2, 2, 3))):
            rows.append({"question_key": "improve", "qtype": "multiple", "choice_key": key})
    if rng.random() < (0.55 if nps <= 6 else 0.25):
        mood = "bad" if nps <= 6 else ("good" if nps >= 9 else "mid")
        rows.append({"question_key": "comment", "qtype": "textarea",
                     "text_value": rng.choice(COMMENTS[mood])[locale]})
    return rows


@dataclass
class _Bank:
    """What the generator draws from, and what it has produced so far."""

    seed: int
    now: datetime
    rng: random.Random
    customers: dict[int | None, list[tuple]]
    agents: dict[int, list[Agent]]
    branch_effect: dict[int, float]
    agent_effect: dict[int, float]
    rate: dict[int, float]
    invitations: list[dict] = field(default_factory=list)
    responses: list[dict] = field(default_factory=list)
    answer_sets: list[list[dict]] = field(default_factory=list)


def build_survey_activity(*, seed: int, now: datetime | None = None) -> dict[str, int]:
    """Add a year of survey activity to the demo bank (branches, agents, customers and users
    must exist). Returns counts of what was created."""
    now = now or now_utc()
    months = _month_starts(now)
    db.session.flush()
    bank = _load_bank(seed, now)
    survey = services.create_survey(title="网点服务满意度调查", definition=DEFINITION)
    version = services.publish(survey, now=months[0] - timedelta(days=3))
    email_campaigns = [Campaign(
        name=f"{m:%Y-%m} 网点服务回访", version_id=version.id, channel="email",
        status="running" if m == months[-1] else "closed", opens_at=m,
        closes_at=_next_month(m) + timedelta(days=14), link_valid_days=14,
        reminder_after_days=3, max_reminders=1, created_at=m) for m in months]
    counter = Campaign(name="柜台扫码评价", version_id=version.id, channel="counter",
                       status="running", opens_at=months[0], created_at=months[0])
    db.session.add_all([*email_campaigns, counter])
    db.session.flush()
    links = {}
    for i, branch_id in enumerate(sorted(bank.rate)):
        links[branch_id] = CounterLink(campaign_id=counter.id, branch_id=branch_id,
                                       token_hash=_token(seed, "counter", i),
                                       created_at=months[0])
    db.session.add_all(links.values())
    db.session.flush()
    base = {"version_id": version.id, "survey_id": survey.id}
    for mi, (month, campaign) in enumerate(zip(months, email_campaigns, strict=True)):
        for branch_id in sorted(bank.rate):
            _month_of_branch(bank, base, month, mi, branch_id, campaign.id, counter.id,
                             links[branch_id].id)
    return _insert_activity(bank)


def _load_bank(seed: int, now: datetime) -> _Bank:
    rng = random.Random(f"{seed}-surveys")
    agents: dict[int, list[Agent]] = {}
    for a in db.session.scalars(sa.select(Agent).order_by(Agent.code)):
        agents.setdefault(a.branch_id, []).append(a)
    customers: dict[int | None, list[tuple]] = {}
    for row in db.session.execute(sa.select(Customer.id, Customer.home_branch_id, Customer.segment,
                                            Customer.locale, Customer.email)
                                  .order_by(Customer.id)):
        customers.setdefault(row[1], []).append(tuple(row))
    codes = dict(db.session.execute(sa.select(Branch.id, Branch.code).order_by(Branch.code)).all())
    branch_effect = {bid: BRANCH_EFFECT.get(code, rng.uniform(-0.3, 0.3))
                     for bid, code in codes.items()}
    agent_effect = {a.id: (-0.85 if a.code in WEAK_AGENTS else 0.6 if a.code in STAR_AGENTS
                           else rng.gauss(0, 0.22)) for rows in agents.values() for a in rows}
    rate = {bid: 0.3 + 0.12 * effect + rng.uniform(-0.04, 0.04)
            for bid, effect in branch_effect.items()}
    return _Bank(seed, now, rng, customers, agents, branch_effect, agent_effect, rate)


def _month_of_branch(bank: _Bank, base: dict, month: datetime, mi: int, branch_id: int,
                     campaign_id: int, counter_id: int, link_id: int) -> None:
    """One branch's e-mail invitations and counter responses of one month."""
    rng = bank.rng
    days = (_next_month(month) - month).days
    pool = bank.customers.get(branch_id) or [c for rows in bank.customers.values() for c in rows]
    staff = bank.agents.get(branch_id, [])
    for kind in ("email", "counter"):
        for _ in range(rng.randint(36, 56) if kind == "email" else rng.randint(12, 22)):
            agent = rng.choice(staff) if staff and (kind == "email" or rng.random() < 0.75) \
                else None
            cust = rng.choice(pool) if kind == "email" else None
            segment = cust[2] if cust else ("vip" if rng.random() < 0.12 else "standard")
            locale = cust[3] if cust else rng.choices(("zh_Hans", "zh_Hant", "en"), (85, 8, 7))[0]
            at = month + timedelta(days=rng.randrange(days), hours=rng.randint(1, 10),
                                   minutes=rng.randrange(60))
            done = min(at + timedelta(hours=rng.choice((0.2, 1, 3, 20, 50))),
                       _next_month(month) - timedelta(minutes=1))
            z = (bank.branch_effect[branch_id] + (bank.agent_effect[agent.id] if agent else 0)
                 + SEASON.get(month.month, 0) + 0.025 * mi
                 - (0.25 if segment == "vip" else 0) + rng.gauss(0, 0.8))
            answered = done < bank.now and rng.random() < (bank.rate[branch_id]
                                                           if kind == "email" else 1)
            if at >= bank.now or (kind == "counter" and not answered):
                continue  # not happened yet
            inv_index = None
            if kind == "email":
                roll = rng.random()
                status = "bounced" if roll < 0.03 else "suppressed" if roll < 0.04 else "sent"
                answered = answered and status == "sent"
                bank.invitations.append(dict(
                    campaign_id=campaign_id, customer_id=cust[0], branch_id=branch_id,
                    agent_id=agent.id if agent else None, email=cust[4], locale=locale,
                    token_hash=_token(bank.seed, "inv", len(bank.invitations)), status=status,
                    created_at=at, send_after=at, sent_at=at if status != "suppressed" else None,
                    expires_at=at + timedelta(days=14), opened_at=done if answered else None,
                    started_at=done if answered else None,
                    completed_at=done if answered else None))
                if not answered:
                    continue
                inv_index = len(bank.invitations) - 1
            bank.responses.append(dict(
                base, campaign_id=campaign_id if kind == "email" else counter_id,
                invitation_id=inv_index, counter_link_id=link_id if kind == "counter" else None,
                branch_id=branch_id, agent_id=agent.id if agent else None, channel=kind,
                segment=segment, locale=locale, started_at=done, updated_at=done,
                completed_at=done))
            bank.answer_sets.append(_answers(rng, z, locale, agent.team if agent else None))


def _insert_activity(bank: _Bank) -> dict[str, int]:
    owners = dict(db.session.execute(
        sa.select(RoleGrant.branch_id, sa.func.min(RoleGrant.user_id))
        .where(RoleGrant.role == "branch_head").group_by(RoleGrant.branch_id)).all())
    qa_user = db.session.scalar(sa.select(sa.func.min(RoleGrant.user_id)).where(
        RoleGrant.role == "qa", RoleGrant.branch_id.is_(None)))
    inv_ids = _insert(Invitation, bank.invitations)
    for r in bank.responses:
        if r["invitation_id"] is not None:
            r["invitation_id"] = inv_ids[r["invitation_id"]]
    resp_ids = _insert(Response, bank.responses)
    answers, follow_ups = [], []
    for rid, r, rows in zip(resp_ids, bank.responses, bank.answer_sets, strict=True):
        answers += [{"response_id": rid, "row_key": None, "choice_key": None, "num_value": None,
                     "text_value": None, **row} for row in rows]
        nps, csat = rows[1]["num_value"], rows[0]["num_value"]
        if nps <= 6 or csat <= 2:
            follow_ups.append(_follow_up(bank.rng, rid, r, "detractor" if nps <= 6 else "low_csat",
                                         owners.get(r["branch_id"]) or qa_user, bank.now))
    db.session.execute(sa.insert(Answer), answers)
    if follow_ups:
        db.session.execute(sa.insert(FollowUp), follow_ups)
    db.session.flush()
    return {"invitations": len(bank.invitations), "responses": len(bank.responses),
            "answers": len(answers), "follow_ups": len(follow_ups)}


def _reserve_ids(model, n: int) -> list[int]:
    """n fresh primary keys, so that rows can be inserted with a plain executemany (RETURNING
    with guaranteed order falls back to one row per statement on SQLite)."""
    table = model.__table__.name
    if db.session.get_bind().dialect.name == "postgresql":
        return list(db.session.scalars(sa.text(
            "SELECT nextval(pg_get_serial_sequence(:t, 'id')) FROM generate_series(1, :n)"),
            {"t": table, "n": n}))
    first = (db.session.scalar(sa.select(sa.func.max(model.id))) or 0) + 1
    return list(range(first, first + n))  # SQLite gives max(rowid) + 1 to the next row anyway


def _insert(model, rows: list[dict]) -> list[int]:
    if not rows:
        return []
    ids = _reserve_ids(model, len(rows))
    db.session.execute(sa.insert(model), [{**row, "id": i} for i, row in zip(ids, rows,
                                                                             strict=True)])
    return ids


def _follow_up(rng: random.Random, rid: int, r: dict, reason: str, owner: int | None,
               now: datetime) -> dict:
    done = r["completed_at"]
    age = (now - done).days
    if age > 14 and rng.random() < 0.92:
        status, closed = "closed", done + timedelta(days=rng.choice((1, 2, 3, 5, 9)))
    else:
        status, closed = rng.choice(("open", "open", "in_progress")), None
    return {"response_id": rid, "branch_id": r["branch_id"], "reason": reason, "status": status,
            "owner_id": owner if status != "open" or rng.random() < 0.5 else None,
            "note": rng.choice(CLOSING_NOTES) if status == "closed" else None,
            "due_at": done + timedelta(days=3), "created_at": done, "closed_at": closed}

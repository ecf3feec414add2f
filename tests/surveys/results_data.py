"""A small hand-computed results data set: 10 responses, 2 branches, 3 agents, 2 months.

Inserted straight into the tables, so the results tests depend on nothing but the models.
The expected numbers below are worked out by hand from the table in `RESPONSES`.

 #  br agent completed (UTC)      channel seg   csat nps ces purpose  improve      grid s/p
 1  A  a1    2025-01-10 09:00     email   std    5   10   6  deposit  wait          5/4
 2  A  a1    2025-01-15 10:00     email   vip    4    9   7  card     -             4/4
 3  A  a1    2025-01-31 23:59:59  counter std    2    3   2  loan     wait,staff    2/1
 4  A  a2    2025-02-03 08:00     email   std    5    8   5  deposit  app           5/-
 5  A  a2    2025-02-20 12:00     counter vip    3    7   4  card     -             -
 6  B  b1    2025-01-05 03:00     email   std    1    0   1  loan     staff         -
 7  B  b1    2025-01-20 06:00     email   std    3    6   3  deposit  wait          -
 8  B  b1    2025-02-01 00:00:00  counter vip    5   10   7  deposit  -             -
 9  B  b1    2025-02-10 07:00     email   std    2    7   3  card     wait,app      -
10  B  b1    2025-02-25 09:00     email   vip    4    9   6  -        staff         -

Whole set: CSAT 5/10 = 50 %; NPS promoters 4 (1,2,8,10), passives 3 (4,5,9), detractors 3
(3,6,7) -> +10; CES 44/10 = 4.4. Branch A: CSAT 3/5 = 60, NPS (2-1)/5 = +20, CES 24/5 = 4.8.
Branch B: CSAT 2/5 = 40, NPS (2-2)/5 = 0, CES 20/5 = 4.0. January (1,2,3,6,7): CSAT 2/5 = 40,
NPS (2-3)/5 = -20, CES 19/5 = 3.8. February (4,5,8,9,10): CSAT 3/5 = 60, NPS (2-0)/5 = +40,
CES 25/5 = 5.0. Invitations delivered (sent, not bounced, customer not opted out): A 6 with 3
completed (50 %), B 10 with 4 completed (40 %), all 16 with 7 (43.75 %); by month sent:
January 10/4 (40 %), February 6/3 (50 %).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import sqlalchemy as sa


def L(zh_hans: str, zh_hant: str, en: str) -> dict:
    return {"zh_Hans": zh_hans, "zh_Hant": zh_hant, "en": en}


DEFINITION = {
    "title": L("网点满意度", "網點滿意度", "Branch satisfaction"),
    "sections": [{"key": "main", "questions": [
        {"key": "csat", "type": "csat", "label": L("总体满意度", "總體滿意度", "Overall satisfaction")},
        {"key": "nps", "type": "nps", "label": L("推荐意愿", "推薦意願", "Likelihood to recommend")},
        {"key": "ces", "type": "ces", "label": L("办理轻松", "辦理輕鬆", "Easy to handle")},
        {"key": "purpose", "type": "single", "label": L("到访目的", "到訪目的", "Purpose of visit"),
         "options": [{"key": "deposit", "label": L("存取款", "存取款", "Deposit")},
                     {"key": "card", "label": L("银行卡", "銀行卡", "Card")},
                     {"key": "loan", "label": L("贷款", "貸款", "Loan")}]},
        {"key": "improve", "type": "multiple",
         "label": L("需要改进", "需要改進", "What to improve"),
         "options": [{"key": "wait", "label": L("等候时间", "等候時間", "Waiting time")},
                     {"key": "staff", "label": L("员工态度", "員工態度", "Staff attitude")},
                     {"key": "app", "label": L("手机银行", "手機銀行", "Mobile app")}]},
        {"key": "grid", "type": "matrix", "min": 1, "max": 5,
         "label": L("分项评价", "分項評價", "Aspects"),
         "rows": [{"key": "staff", "label": L("服务态度", "服務態度", "Attitude")},
                  {"key": "speed", "label": L("办理速度", "辦理速度", "Speed")}]},
        {"key": "comment", "type": "textarea", "label": L("意见建议", "意見建議", "Comments")},
    ]}],
}


def t(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


# (branch, agent, completed_at, channel, segment, csat, nps, ces, purpose, improve, grid, comment)
RESPONSES = [
    ("A", "a1", t(2025, 1, 10, 9), "email", "standard", 5, 10, 6, "deposit", ["wait"],
     {"staff": 5, "speed": 4}, "很好，服务周到"),
    ("A", "a1", t(2025, 1, 15, 10), "email", "vip", 4, 9, 7, "card", [],
     {"staff": 4, "speed": 4}, None),
    ("A", "a1", t(2025, 1, 31, 23, 59, 59), "counter", "standard", 2, 3, 2, "loan",
     ["wait", "staff"], {"staff": 2, "speed": 1}, "<script>alert('x')</script> 排队太久"),
    ("A", "a2", t(2025, 2, 3, 8), "email", "standard", 5, 8, 5, "deposit", ["app"],
     {"staff": 5}, None),
    ("A", "a2", t(2025, 2, 20, 12), "counter", "vip", 3, 7, 4, "card", [], {},
     '=HYPERLINK("http://evil.test","click")'),
    ("B", "b1", t(2025, 1, 5, 3), "email", "standard", 1, 0, 1, "loan", ["staff"], {},
     "Terrible WAIT at the counter"),
    ("B", "b1", t(2025, 1, 20, 6), "email", "standard", 3, 6, 3, "deposit", ["wait"], {}, None),
    ("B", "b1", t(2025, 2, 1), "counter", "vip", 5, 10, 7, "deposit", [], {},
     "Great staff, 100% happy"),
    ("B", "b1", t(2025, 2, 10, 7), "email", "standard", 2, 7, 3, "card", ["wait", "app"], {},
     None),
    ("B", "b1", t(2025, 2, 25, 9), "email", "vip", 4, 9, 6, None, ["staff"], {}, None),
]

# Invitations without a completed response: (branch, sent_at, kind)
OTHER_INVITATIONS = (
    [("A", t(2025, 1, d), "sent") for d in (3, 4, 5)]
    + [("A", t(2025, 1, 6), "bounced"), ("A", t(2025, 1, 7), "opted_out"), ("A", None, "pending")]
    + [("B", t(2025, 1, d), "sent") for d in (2, 3)] + [("B", t(2025, 1, 4), "started")]
    + [("B", t(2025, 2, d), "sent") for d in (2, 3, 4)]
)


def _answers(rid: int, csat, nps, ces, purpose, improve, grid, comment) -> list[dict]:
    rows = [{"response_id": rid, "question_key": "csat", "qtype": "csat", "num_value": csat},
            {"response_id": rid, "question_key": "nps", "qtype": "nps", "num_value": nps},
            {"response_id": rid, "question_key": "ces", "qtype": "ces", "num_value": ces}]
    if purpose:
        rows.append({"response_id": rid, "question_key": "purpose", "qtype": "single",
                     "choice_key": purpose})
    rows += [{"response_id": rid, "question_key": "improve", "qtype": "multiple",
              "choice_key": c} for c in improve]
    rows += [{"response_id": rid, "question_key": "grid", "qtype": "matrix", "row_key": k,
              "num_value": v} for k, v in grid.items()]
    if comment:
        rows.append({"response_id": rid, "question_key": "comment", "qtype": "textarea",
                     "text_value": comment})
    return [{"row_key": None, "choice_key": None, "num_value": None, "text_value": None, **r}
            for r in rows]


def build(db) -> SimpleNamespace:
    """Insert the data set; return the objects the tests refer to."""
    from qms.org.models import Agent, Branch, Customer
    from qms.surveys import services
    from qms.surveys.models import Answer, Campaign, Invitation, Response

    a = Branch(code="RA", name="甲支行", region="华东", city="上海")
    b = Branch(code="RB", name="乙支行", region="华南", city="深圳")
    agents = {"a1": Agent(code="RA-01", name="甲一", branch=a),
              "a2": Agent(code="RA-02", name="甲二", branch=a),
              "b1": Agent(code="RB-01", name="乙一", branch=b)}
    db.session.add_all([a, b, *agents.values()])
    branches = {"A": a, "B": b}
    survey = services.create_survey(title="Results test", definition=DEFINITION)
    version = services.publish(survey, now=t(2024, 12, 1))
    other = services.create_survey(title="Other", definition=DEFINITION)
    other_version = services.publish(other, now=t(2024, 12, 1))
    camp = {k: Campaign(name=f"E-mail {k}", version_id=version.id, channel="email",
                        status="running", branch_id=br.id) for k, br in branches.items()}
    counter = Campaign(name="Counter", version_id=version.id, channel="counter", status="running")
    db.session.add_all([*camp.values(), counter])
    opted = Customer(ref="OPT", name="退订客户", segment="standard",
                     opted_out_at=t(2024, 12, 1))
    customers = {seg: Customer(ref=f"C-{seg}", name=f"客户{seg}", segment=seg)
                 for seg in ("standard", "vip")}
    db.session.add_all([opted, *customers.values()])
    db.session.flush()

    def insert(model, rows: list[dict]) -> list[int]:
        stmt = sa.insert(model).returning(model.id, sort_by_parameter_order=True)
        return list(db.session.scalars(stmt, rows))

    def response(**kw) -> dict:
        base = dict(version_id=version.id, survey_id=survey.id, campaign_id=None,
                    invitation_id=None, agent_id=None, locale="zh_Hans", segment="standard")
        return {**base, **kw}

    def invitation(br, sent, status, customer, agent_id=None, completed=None) -> dict:
        nonlocal tokens
        tokens += 1
        return dict(campaign_id=camp[br].id, customer_id=customer.id, branch_id=branches[br].id,
                    agent_id=agent_id, token_hash=f"tok{tokens}", status=status, sent_at=sent,
                    completed_at=completed, locale="zh_Hans")

    tokens = 0
    rows, answer_values = [], []
    for br, ag, done, channel, seg, *vals in RESPONSES:
        inv = None
        if channel == "email":
            sent = done.replace(hour=0, minute=0, second=0) - timedelta(days=1)
            inv = insert(Invitation, [invitation(br, sent, "sent", customers[seg],
                                                 agents[ag].id, done)])[0]
        rows.append(response(
            campaign_id=(camp[br] if channel == "email" else counter).id, invitation_id=inv,
            branch_id=branches[br].id, agent_id=agents[ag].id, channel=channel, segment=seg,
            started_at=done, updated_at=done, completed_at=done))
        answer_values.append(vals)
    for br, sent, kind in OTHER_INVITATIONS:
        status = {"bounced": "bounced", "pending": "pending"}.get(kind, "sent")
        inv = insert(Invitation, [invitation(
            br, sent, status, opted if kind == "opted_out" else customers["standard"])])[0]
        if kind == "started":  # an unfinished response: counts nowhere
            rows.append(response(campaign_id=camp[br].id, invitation_id=inv,
                                 branch_id=branches[br].id, channel="email", started_at=sent,
                                 updated_at=sent, completed_at=None))
            answer_values.append((1, 0, 1, "loan", [], {}, "unfinished wait"))
    # A completed response to another survey, in branch A: never counted.
    rows.append(response(version_id=other_version.id, survey_id=other.id, branch_id=a.id,
                         channel="counter", locale="en", started_at=t(2025, 1, 10),
                         updated_at=t(2025, 1, 10), completed_at=t(2025, 1, 10)))
    answer_values.append((1, 0, 1, "loan", ["wait"], {}, "other survey wait"))
    ids = insert(Response, rows)
    answers = [row for rid, vals in zip(ids, answer_values, strict=True)
               for row in _answers(rid, *vals)]
    db.session.execute(sa.insert(Answer), answers)
    db.session.commit()
    return SimpleNamespace(a=a, b=b, agents=agents, survey=survey, version=version, other=other,
                           campaigns=camp, counter=counter,
                           response_ids=ids[:len(RESPONSES)])

"""The demo bank's mystery-shop survey: a branch visit checklist in three languages, with two
scenarios, weighted sections, a critical item, N/A items and evidence questions."""

from __future__ import annotations


def L(zh_hans: str, zh_hant: str, en: str) -> dict:
    return {"zh_Hans": zh_hans, "zh_Hant": zh_hant, "en": en}


def _yn(key, hans, hant, en, points, **extra):
    return {"key": key, "type": "yesno", "required": True, "points": points,
            "label": L(hans, hant, en), **extra}


def _scale(key, hans, hant, en, points, **extra):
    return {"key": key, "type": "rating", "min": 0, "max": points, "required": True,
            "points": points, "label": L(hans, hant, en),
            "min_label": L("很差", "很差", "Poor"), "max_label": L("很好", "很好", "Excellent"),
            **extra}


SCENARIOS = [
    {"key": "deposit", "label": L("定期存款咨询", "定期存款諮詢", "Term deposit enquiry"),
     "script": L("您想存入 5 万元三个月。询问利率、提前支取规则，并索要产品说明。",
                 "您想存入 5 萬元三個月。詢問利率、提前支取規則，並索取產品說明。",
                 "You want to deposit CNY 50,000 for three months. Ask for the rate and the "
                 "early-withdrawal rules, and ask for the product sheet.")},
    {"key": "wealth", "label": L("理财产品咨询", "理財產品諮詢", "Wealth product enquiry"),
     "script": L("您是首次购买理财的客户。询问一款中风险产品，观察员工是否做风险评估和风险提示。",
                 "您是首次購買理財的客戶。詢問一款中風險產品，觀察員工是否做風險評估和風險提示。",
                 "You are buying a wealth product for the first time. Ask about a medium-risk "
                 "product; note whether the staff member assesses your risk profile and warns "
                 "you of the risks.")},
]

DEFINITION = {
    "title": L("网点神秘客户检查", "網點神秘客戶檢查", "Branch mystery shop"),
    "intro": L("请在到访后 48 小时内填写。", "請在到訪後 48 小時內填寫。",
               "Please fill this in within 48 hours of your visit."),
    "scenarios": SCENARIOS,
    "sections": [
        {"key": "environment", "title": L("环境与迎宾", "環境與迎賓", "Environment and welcome"),
         "weight": 20, "questions": [
             _yn("greeted", "进门 30 秒内是否有人主动问候？", "進門 30 秒內是否有人主動問候？",
                 "Were you greeted within 30 seconds of entering?", 2),
             _yn("tidy", "大堂和柜台是否整洁？", "大堂和櫃檯是否整潔？",
                 "Were the lobby and counters tidy?", 1),
             _yn("queue_ticket", "叫号机是否正常可用？", "叫號機是否正常可用？",
                 "Was the queue ticket machine working?", 1, na_allowed=True,
                 help=L("网点没有叫号机时选“不适用”。", "網點沒有叫號機時選「不適用」。",
                        "Choose “not applicable” if the branch has no ticket machine.")),
         ]},
        {"key": "service", "title": L("服务过程", "服務過程", "Service"), "weight": 50,
         "questions": [
             _scale("needs", "员工对您需求的了解程度", "員工對您需求的了解程度",
                    "How well did the staff member explore your needs?", 4),
             _scale("explain", "产品说明是否清楚", "產品說明是否清楚",
                    "How clearly was the product explained?", 4),
             _yn("fees", "是否主动说明费用与利率？", "是否主動說明費用與利率？",
                 "Were fees and rates explained without asking?", 2),
             _yn("risk_warning", "是否进行风险提示？", "是否進行風險提示？",
                 "Were you warned of the product's risks?", 3, critical="all",
                 na_allowed=True,
                 help=L("存款场景选“不适用”。", "存款場景選「不適用」。",
                        "Choose “not applicable” in the deposit scenario.")),
         ]},
        {"key": "closing", "title": L("结束", "結束", "Closing"), "weight": 30, "questions": [
             _yn("card", "是否递上名片或联系方式？", "是否遞上名片或聯絡方式？",
                 "Were you given a business card or contact details?", 1),
             _yn("followup", "是否约定后续跟进？", "是否約定後續跟進？",
                 "Was a follow-up agreed?", 2, critical="section"),
             {"key": "impression", "type": "single", "required": True, "points": 3,
              "label": L("总体印象", "總體印象", "Overall impression"),
              "options": [{"key": "good", "label": L("好", "好", "Good"), "score": 2},
                          {"key": "fair", "label": L("一般", "一般", "Fair"), "score": 1},
                          {"key": "poor", "label": L("差", "差", "Poor"), "score": 0}]},
         ]},
        {"key": "evidence", "title": L("到访证据", "到訪證據", "Evidence of the visit"),
         "questions": [
             {"key": "visit_start", "type": "visit_start", "required": True,
              "label": L("进入网点时间", "進入網點時間", "Time you entered the branch")},
             {"key": "visit_end", "type": "visit_end", "required": True,
              "label": L("离开网点时间", "離開網點時間", "Time you left the branch")},
             {"key": "wait", "type": "wait_time", "required": True,
              "label": L("等候时间（分钟）", "等候時間（分鐘）", "Waiting time (minutes)")},
             {"key": "staff", "type": "staff_name",
              "label": L("接待员工姓名或工号", "接待員工姓名或工號",
                         "Name or number of the staff member who served you")},
             {"key": "photo", "type": "photo", "max_files": 3,
              "label": L("网点门头照片", "網點門頭照片", "Photo of the branch front")},
             {"key": "receipt", "type": "receipt", "max_files": 2,
              "label": L("业务单据或排队小票", "業務單據或排隊小票",
                         "Receipt or queue ticket")},
             {"key": "notes", "type": "textarea", "max_length": 2000,
              "label": L("其他观察", "其他觀察", "Anything else you noticed")},
         ]},
    ],
}

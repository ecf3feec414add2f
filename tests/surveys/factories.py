"""Sample survey definitions for tests: every question type, three languages, a condition."""

from __future__ import annotations

import copy


def L(zh_hans: str, zh_hant: str, en: str) -> dict:
    """A three-language label."""
    return {"zh_Hans": zh_hans, "zh_Hant": zh_hant, "en": en}


_SAMPLE = {
    "title": L("网点服务满意度调查", "網點服務滿意度調查", "Branch service satisfaction survey"),
    "intro": L("感谢您抽出时间。", "感謝您抽出時間。", "Thank you for your time."),
    "thanks": L("感谢您的反馈！", "感謝您的回饋！", "Thank you for your feedback!"),
    "sections": [
        {
            "key": "overall",
            "title": L("总体评价", "總體評價", "Overall"),
            "questions": [
                {"key": "intro_note", "type": "static",
                 "label": L("以下问题关于您最近一次到访网点。", "以下問題關於您最近一次到訪網點。",
                            "The following questions are about your latest branch visit.")},
                {"key": "csat", "type": "csat", "required": True,
                 "label": L("您对本次服务的总体满意度如何？", "您對本次服務的總體滿意度如何？",
                            "How satisfied are you with the service overall?"),
                 "min_label": L("非常不满意", "非常不滿意", "Very dissatisfied"),
                 "max_label": L("非常满意", "非常滿意", "Very satisfied")},
                {"key": "nps", "type": "nps", "required": True,
                 "label": L("您有多大可能向亲友推荐我行？", "您有多大可能向親友推薦我行？",
                            "How likely are you to recommend us to a friend?"),
                 "help": L("0 表示完全不可能，10 表示极有可能。", "0 表示完全不可能，10 表示極有可能。",
                           "0 means not at all likely, 10 extremely likely."),
                 "min_label": L("完全不可能", "完全不可能", "Not at all likely"),
                 "max_label": L("极有可能", "極有可能", "Extremely likely")},
                {"key": "why", "type": "textarea", "max_length": 1000,
                 "label": L("请告诉我们原因。", "請告訴我們原因。", "Please tell us why."),
                 "condition": {"q": "nps", "op": "at_most", "value": 6}},
                {"key": "ces", "type": "ces",
                 "label": L("办理业务很轻松。", "辦理業務很輕鬆。",
                            "The bank made it easy to handle my request."),
                 "min_label": L("非常不同意", "非常不同意", "Strongly disagree"),
                 "max_label": L("非常同意", "非常同意", "Strongly agree")},
            ],
        },
        {
            "key": "visit",
            "title": L("到访详情", "到訪詳情", "Your visit"),
            "questions": [
                {"key": "purpose", "type": "single", "required": True,
                 "label": L("您本次到访的主要目的？", "您本次到訪的主要目的？",
                            "What was the main purpose of your visit?"),
                 "options": [
                     {"key": "deposit", "label": L("存取款", "存取款", "Deposit / withdrawal"),
                      "score": 1},
                     {"key": "loan", "label": L("贷款", "貸款", "Loan"), "score": 2},
                     {"key": "wealth", "label": L("理财", "理財", "Wealth management"),
                      "score": 3},
                 ]},
                {"key": "channels", "type": "multiple", "min_selected": 1, "max_selected": 2,
                 "label": L("您还使用过哪些渠道？", "您還使用過哪些渠道？",
                            "Which other channels have you used?"),
                 "options": [
                     {"key": "app", "label": L("手机银行", "手機銀行", "Mobile app")},
                     {"key": "phone", "label": L("电话银行", "電話銀行", "Phone banking")},
                     {"key": "atm", "label": L("自助设备", "自助設備", "ATM / self-service")},
                 ]},
                {"key": "waited", "type": "yesno",
                 "label": L("您是否需要排队等候？", "您是否需要排隊等候？",
                            "Did you have to wait in line?")},
                {"key": "wait_minutes", "type": "number", "min": 0, "max": 240,
                 "label": L("大约等候了多少分钟？", "大約等候了多少分鐘？",
                            "About how many minutes did you wait?"),
                 "condition": {"q": "waited", "op": "equals", "value": True}},
                {"key": "visit_date", "type": "date",
                 "label": L("到访日期", "到訪日期", "Date of visit")},
                {"key": "staff_name", "type": "text", "max_length": 100,
                 "label": L("为您服务的员工姓名（选填）", "為您服務的員工姓名（選填）",
                            "Name of the staff member who served you (optional)")},
            ],
        },
        {
            "key": "details",
            "title": L("服务细节", "服務細節", "Service details"),
            "condition": {"any": [{"q": "csat", "op": "at_most", "value": 3},
                                  {"q": "purpose", "op": "in", "value": ["loan", "wealth"]}]},
            "questions": [
                {"key": "rating", "type": "rating", "min": 1, "max": 10,
                 "label": L("请为网点环境打分", "請為網點環境打分",
                            "Rate the branch environment"),
                 "min_label": L("很差", "很差", "Poor"),
                 "max_label": L("很好", "很好", "Excellent")},
                {"key": "grid", "type": "matrix", "min": 1, "max": 5,
                 "label": L("请评价以下方面", "請評價以下方面", "Rate the following"),
                 "min_label": L("很差", "很差", "Poor"),
                 "max_label": L("很好", "很好", "Excellent"),
                 "rows": [
                     {"key": "attitude", "label": L("服务态度", "服務態度", "Attitude")},
                     {"key": "speed", "label": L("办理速度", "辦理速度", "Speed")},
                     {"key": "clarity", "label": L("讲解清晰", "講解清晰",
                                                   "Clear explanations")},
                 ]},
            ],
        },
    ],
}


def sample_definition() -> dict:
    """A valid definition using every registry type, with conditions:
    'why' (textarea) shows only when nps <= 6; 'wait_minutes' only when waited is yes;
    section 'details' only when csat <= 3 or purpose in (loan, wealth)."""
    return copy.deepcopy(_SAMPLE)


def minimal_definition(key: str = "csat") -> dict:
    """The smallest valid definition: one CSAT question."""
    return {
        "title": L("满意度", "滿意度", "Satisfaction"),
        "sections": [{"key": "s1", "questions": [
            {"key": key, "type": "csat", "required": True,
             "label": L("满意吗？", "滿意嗎？", "Satisfied?")}]}],
    }


def sample_form(**overrides) -> dict[str, list[str]]:
    """A complete valid submission (form field -> list of values) for sample_definition()."""
    form = {
        "q_csat": ["4"], "q_nps": ["9"], "q_ces": ["6"], "q_purpose": ["deposit"],
        "q_channels": ["app", "atm"], "q_waited": ["no"], "q_visit_date": ["2024-05-01"],
        "q_staff_name": ["王芳"],
    }
    for k, v in overrides.items():
        form[k] = v if isinstance(v, list) else [v]
    return form

"""A small mystery-shop definition for tests: two weighted sections, a critical item, N/A items,
a scored single choice, a condition, an evidence section and two scenarios.

Points and weights (hand-checkable):
    arrival (30 %): greet yesno 2, wait_ok rating 0..4 pts 4 (scale), clean yesno 1 (N/A ok)
    service (70 %): needs rating 1..5 pts 4 (points), disclosure yesno 5 critical "all",
                    product single (good 2 / fair 1 / poor 0) pts 3 (N/A ok),
                    followup yesno 2, shown only when needs >= 4 (else N/A)
    evidence: visit_start, visit_end, wait_minutes, staff, photos, receipt, call_ref, notes
"""

from __future__ import annotations

import copy


def L(zh_hans: str, zh_hant: str, en: str) -> dict:
    return {"zh_Hans": zh_hans, "zh_Hant": zh_hant, "en": en}


_DEFINITION = {
    "title": L("网点神秘客户检查", "網點神秘客戶檢查", "Branch mystery shop"),
    "scenarios": [
        {"key": "deposit", "label": L("定期存款咨询", "定期存款諮詢", "Term deposit enquiry"),
         "script": L("询问三个月定期存款利率。", "詢問三個月定期存款利率。",
                     "Ask for the three-month term deposit rate.")},
        {"key": "card", "label": L("信用卡申请", "信用卡申請", "Credit card application"),
         "script": L("询问信用卡年费。", "詢問信用卡年費。", "Ask about the card's annual fee.")},
    ],
    "sections": [
        {"key": "arrival", "title": L("到达", "到達", "Arrival"), "weight": 30, "questions": [
            {"key": "greet", "type": "yesno", "points": 2, "required": True,
             "label": L("员工是否主动问候？", "員工是否主動問候？", "Were you greeted?")},
            {"key": "wait_ok", "type": "rating", "min": 0, "max": 4, "points": 4,
             "required": True,
             "label": L("等候体验", "等候體驗", "Waiting experience")},
            {"key": "clean", "type": "yesno", "points": 1, "na_allowed": True, "required": True,
             "label": L("大堂是否整洁？", "大堂是否整潔？", "Was the lobby clean?")},
        ]},
        {"key": "service", "title": L("服务", "服務", "Service"), "weight": 70, "questions": [
            {"key": "needs", "type": "rating", "min": 1, "max": 5, "points": 4,
             "required": True,
             "label": L("需求了解", "需求了解", "Understanding of needs")},
            {"key": "disclosure", "type": "yesno", "points": 5, "critical": "all",
             "required": True,
             "label": L("是否进行风险提示？", "是否進行風險提示？", "Was the risk disclosed?")},
            {"key": "product", "type": "single", "points": 3, "na_allowed": True,
             "required": True,
             "label": L("产品介绍", "產品介紹", "Product explanation"),
             "options": [{"key": "good", "label": L("好", "好", "Good"), "score": 2},
                         {"key": "fair", "label": L("一般", "一般", "Fair"), "score": 1},
                         {"key": "poor", "label": L("差", "差", "Poor"), "score": 0}]},
            {"key": "followup", "type": "yesno", "points": 2,
             "condition": {"q": "needs", "op": "at_least", "value": 4},
             "label": L("是否约定跟进？", "是否約定跟進？", "Was a follow-up agreed?")},
        ]},
        {"key": "evidence", "title": L("证据", "證據", "Evidence"), "questions": [
            {"key": "visit_start", "type": "visit_start", "required": True,
             "label": L("到达时间", "到達時間", "Visit start")},
            {"key": "visit_end", "type": "visit_end", "required": True,
             "label": L("离开时间", "離開時間", "Visit end")},
            {"key": "wait_minutes", "type": "wait_time",
             "label": L("等候分钟数", "等候分鐘數", "Minutes waited")},
            {"key": "staff", "type": "staff_name",
             "label": L("服务员工姓名", "服務員工姓名", "Staff member")},
            {"key": "photos", "type": "photo", "max_files": 3,
             "label": L("照片", "照片", "Photos")},
            {"key": "receipt", "type": "receipt",
             "label": L("回单", "回單", "Receipt")},
            {"key": "call_ref", "type": "call_reference",
             "label": L("来电编号", "來電編號", "Call reference")},
            {"key": "notes", "type": "textarea",
             "label": L("备注", "備註", "Notes")},
        ]},
    ],
}

# A complete, full-marks report.
FULL_MARKS = {"greet": True, "wait_ok": 4, "clean": True, "needs": 5, "disclosure": True,
              "product": "good", "followup": True, "visit_start": "2026-03-02T10:00",
              "visit_end": "2026-03-02T10:25", "wait_minutes": 5}


def mystery_definition() -> dict:
    return copy.deepcopy(_DEFINITION)


def write_approved(a, answers: dict, approved_at, status: str = "approved"):
    """Store a report as the review's approval does (score, item rows), without the review
    workflow: results tests only need the rows an approval leaves behind."""
    from qms.extensions import db
    from qms.mystery import scoring
    from qms.mystery.models import ShopItemScore
    from qms.surveys.models import SurveyVersion

    definition = db.session.get(SurveyVersion, a.version_id).definition
    result = scoring.score_report(definition, answers)
    a.answers, a.score, a.auto_failed = answers, result.total, result.auto_failed
    a.submitted_at = approved_at
    a.status = status
    if status == "approved":
        a.approved_at = approved_at
        db.session.add_all(ShopItemScore(assignment_id=a.id, branch_id=a.branch_id,
                                         agent_id=a.agent_id, **row)
                           for row in scoring.item_scores(definition, answers))
    db.session.commit()
    return a

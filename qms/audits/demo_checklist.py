"""The demo bank's branch audit checklist: branch service standards in three languages."""

from __future__ import annotations


def tri(zh_hans: str, zh_hant: str, en: str) -> dict:
    return {"zh_Hans": zh_hans, "zh_Hant": zh_hant, "en": en}


def _item(key, label, *, kind="passfail", points=1, severity="minor", na=False,
          evidence=False, critical=None, threshold=None, guidance=None) -> dict:
    return {"key": key, "label": label, "guidance": guidance or {}, "kind": kind,
            "max_points": points, "na_allowed": na, "severity": severity,
            "evidence_required": evidence, "critical": critical, "pass_threshold": threshold}


NAME = "支行服务标准检查表"

DEFINITION = {
    "weighting": "sections",
    "sections": [
        {"key": "queue", "weight": 20,
         "label": tri("排队管理", "排隊管理", "Queue management"),
         "items": [
             _item("queue_system", tri("叫号系统运行正常，等候区座位充足",
                                      "叫號系統運行正常，等候區座位充足",
                                      "Ticket system works; enough seats in the waiting area"),
                   points=2),
             _item("wait_time", tri("高峰时段平均等候时间（0–5分）", "高峰時段平均等候時間（0–5分）",
                                   "Average wait at peak time (0–5)"),
                   kind="score", points=5, threshold=3, severity="major",
                   guidance=tri("5分：≤10分钟；3分：≤20分钟；0分：>40分钟",
                               "5分：≤10分鐘；3分：≤20分鐘；0分：>40分鐘",
                               "5: up to 10 min; 3: up to 20 min; 0: over 40 min")),
             _item("priority_window", tri("老年人、残障人士优先窗口或绿色通道", "長者、殘障人士優先窗口或綠色通道",
                                         "Priority counter for elderly and disabled customers"),
                   points=2, severity="major", evidence=True),
         ]},
        {"key": "hygiene", "weight": 15,
         "label": tri("大堂环境卫生", "大堂環境衛生", "Banking hall hygiene"),
         "items": [
             _item("hall_clean", tri("大堂地面、台面整洁无杂物", "大堂地面、檯面整潔無雜物",
                                    "Floor and counters clean and tidy")),
             _item("brochures", tri("宣传资料摆放整齐且在有效期内", "宣傳資料擺放整齊且在有效期內",
                                   "Brochures tidy and not out of date")),
             _item("restroom", tri("客户洗手间清洁、用品齐全", "客戶洗手間清潔、用品齊全",
                                  "Customer restroom clean and stocked"), na=True),
         ]},
        {"key": "disclosure", "weight": 25,
         "label": tri("产品风险揭示", "產品風險揭示", "Disclosure of product risk"),
         "items": [
             _item("risk_rating", tri("理财产品风险等级在销售区醒目公示", "理財產品風險等級在銷售區醒目公示",
                                     "Risk ratings of wealth products displayed in the sales area"),
                   points=2, severity="major", evidence=True),
             _item("fee_board", tri("服务收费标准公示完整、与实际一致", "服務收費標準公示完整、與實際一致",
                                   "Fee board complete and matching the fees charged"),
                   points=2, severity="major"),
             _item("dual_recording", tri("代销产品销售执行“双录”", "代銷產品銷售執行「雙錄」",
                                        "Sales of third-party products audio/video recorded"),
                   points=3, severity="critical", na=True, evidence=True, critical="section",
                   guidance=tri("抽查3笔代销业务的录音录像", "抽查3筆代銷業務的錄音錄影",
                               "Check the recordings of three third-party product sales")),
         ]},
        {"key": "conduct", "weight": 20,
         "label": tri("员工行为规范", "員工行為規範", "Staff conduct"),
         "items": [
             _item("dress_code", tri("员工着装规范、佩戴工号牌", "員工著裝規範、佩戴工號牌",
                                    "Staff in uniform, wearing name badges")),
             _item("greeting", tri("迎送礼仪与服务用语（0–5分）", "迎送禮儀與服務用語（0–5分）",
                                  "Greeting and courteous language (0–5)"),
                   kind="score", points=5, threshold=3),
             _item("complaint_channel", tri("投诉渠道与意见簿公示", "投訴渠道與意見簿公示",
                                           "Complaint channels and comment book displayed"),
                   points=2, severity="major"),
         ]},
        {"key": "cash", "weight": 20,
         "label": tri("现金与安全", "現金與安全", "Cash security"),
         "items": [
             _item("dual_control", tri("金库与尾箱双人双锁管理", "金庫與尾箱雙人雙鎖管理",
                                      "Vault and cash boxes under dual control"),
                   points=3, severity="critical", evidence=True, critical="all"),
             _item("cash_handover", tri("现金交接登记完整", "現金交接登記完整",
                                       "Cash hand-over register complete"),
                   points=2, severity="major"),
             _item("cctv", tri("监控设备运行正常、录像保存不少于90天", "監控設備運行正常、錄影保存不少於90天",
                              "CCTV working, recordings kept at least 90 days"),
                   points=2, severity="major", evidence=True),
         ]},
    ],
}

# How often each item fails at an average branch (a better branch less, a weaker one more).
FAIL_RATE = {"queue_system": 0.06, "priority_window": 0.08, "hall_clean": 0.1,
             "brochures": 0.18, "restroom": 0.12, "risk_rating": 0.14, "fee_board": 0.09,
             "dual_recording": 0.05, "dress_code": 0.07, "complaint_channel": 0.1,
             "dual_control": 0.008, "cash_handover": 0.07, "cctv": 0.05}
NA_RATE = {"restroom": 0.25, "dual_recording": 0.15}
SCORE_MEAN = {"wait_time": 3.7, "greeting": 4.0}

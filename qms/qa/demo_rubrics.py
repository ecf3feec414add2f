"""Two demo rubrics in Chinese retail-banking practice: a call-centre call and a branch visit.

Each is {"name", "channel", "definition"}, the definition in qms.qa.rubric_format's shape,
labels in zh_Hans, zh_Hant and en, section weights summing to 100. Compliance items follow
the usual bank QA rule: a missing risk warning, a privacy breach or a misleading promise fails
the whole evaluation; an inaccurate answer fails its section.
"""

from __future__ import annotations

import copy


def _t(hans: str, hant: str, en: str) -> dict:
    return {"zh_Hans": hans, "zh_Hant": hant, "en": en}


def _c(key, label, kind="scale", points=5, *, na=False, critical=None, threshold=None,
       guidance=None) -> dict:
    c = {"key": key, "label": label, "kind": kind, "max_points": points, "na_allowed": na,
         "critical": critical, "guidance": guidance or {}}
    if threshold is not None:
        c["pass_threshold"] = threshold
    return c


def _s(key, title, weight, criteria, bonus=False) -> dict:
    return {"key": key, "title": title, "weight": weight, "bonus": bonus, "criteria": criteria}


# Guidance for a five-point scale, shared by the soft-skill items (what earns 5, 3 and 0).
_TONE_GUIDANCE = {
    "5": _t("语气亲切自然，语速适中，全程保持耐心", "語氣親切自然，語速適中，全程保持耐心",
            "Warm, natural tone at a steady pace, patient throughout"),
    "3": _t("态度尚可，但有语气生硬或语速过快的情况", "態度尚可，但有語氣生硬或語速過快的情況",
            "Acceptable, but at times curt or rushed"),
    "0": _t("语气冷淡、不耐烦或与客户争执", "語氣冷淡、不耐煩或與客戶爭執",
            "Cold, impatient, or argued with the customer"),
}


def call_rubric() -> dict:
    """A 95xxx call-centre inbound call."""
    return {"allow_above_100": False, "sections": [
        _s("greeting", _t("问候与身份核实", "問候與身份核實", "Greeting and identity check"), 15, [
            _c("greet_standard",
               _t("使用标准开场白并报工号", "使用標準開場白並報工號",
                  "Standard opening with staff number"), "yesno", 2),
            _c("verify_identity",
               _t("办理账户业务前按规定核实客户身份", "辦理賬戶業務前按規定核實客戶身份",
                  "Identity verified as required before any account matter"),
               "yesno", 5, na=True, critical="all",
               guidance={"5": _t("核对姓名及预留信息后再告知账户信息",
                                 "核對姓名及預留資料後再告知賬戶資訊",
                                 "Name and registered details checked before account details "
                                 "were given"),
                         "0": _t("未核身即透露余额、交易等账户信息",
                                 "未核身即透露餘額、交易等賬戶資訊",
                                 "Balance or transactions disclosed without verification")}),
        ]),
        _s("needs", _t("需求识别", "需求識別", "Understanding the need"), 15, [
            _c("listen", _t("耐心倾听，不随意打断客户", "耐心傾聽，不隨意打斷客戶",
                            "Listens without interrupting")),
            _c("clarify", _t("准确复述并确认客户需求", "準確複述並確認客戶需求",
                             "Restates and confirms the customer's need"),
               guidance={"5": _t("主动复述要点并获得客户确认", "主動複述要點並獲得客戶確認",
                                 "Summarised the need and had it confirmed"),
                         "0": _t("未确认需求即开始办理", "未確認需求即開始辦理",
                                 "Acted without confirming the need")}),
        ]),
        _s("accuracy", _t("业务准确性", "業務準確性", "Accuracy"), 25, [
            _c("accurate_answer", _t("业务解答准确、完整", "業務解答準確、完整",
                                     "Answer correct and complete"),
               critical="section", threshold=3,
               guidance={"5": _t("解答准确完整，无需客户再次来电", "解答準確完整，無需客戶再次來電",
                                 "Correct and complete; no need to call again"),
                         "3": _t("基本准确，个别细节需补充", "基本準確，個別細節需補充",
                                 "Mostly correct, a detail missing"),
                         "0": _t("解答错误，可能造成客户损失", "解答錯誤，可能造成客戶損失",
                                 "Wrong, could cost the customer money")}),
            _c("procedure", _t("按流程操作，工单记录完整", "按流程操作，工單記錄完整",
                               "Follows procedure; case notes complete")),
            _c("first_contact", _t("一次解决或按规范转派", "一次解決或按規範轉派",
                                   "Resolved first time or escalated properly"),
               "yesno", 5, na=True),
        ]),
        _s("compliance", _t("合规与风险提示", "合規與風險提示", "Compliance and risk warnings"), 20, [
            _c("risk_warning",
               _t("涉及理财、基金、保险等产品时进行风险提示", "涉及理財、基金、保險等產品時進行風險提示",
                  "Risk warning given for wealth, fund or insurance products"),
               "yesno", 5, na=True, critical="all",
               guidance={"0": _t("未进行风险提示", "未進行風險提示", "No risk warning given")}),
            _c("privacy", _t("未泄露客户信息", "未洩露客戶資訊", "No customer data disclosed"),
               "yesno", 5, critical="all"),
            _c("no_misleading", _t("无误导性销售或承诺收益", "無誤導性銷售或承諾收益",
                                   "No misleading sales talk or promised returns"),
               "yesno", 5, na=True, critical="all"),
        ]),
        _s("attitude", _t("服务态度", "服務態度", "Attitude"), 15, [
            _c("tone", _t("语气亲切，语速适中", "語氣親切，語速適中", "Friendly tone, steady pace"),
               guidance=copy.deepcopy(_TONE_GUIDANCE)),
            _c("empathy", _t("对客户情绪表示理解并安抚", "對客戶情緒表示理解並安撫",
                             "Acknowledges and calms the customer's feelings"), na=True),
            _c("no_taboo", _t("未使用服务禁语", "未使用服務禁語", "No forbidden phrases used"),
               "yesno", 5, critical="section"),
        ]),
        _s("closing", _t("结束语", "結束語", "Closing"), 10, [
            _c("confirm_resolved", _t("确认客户问题是否已解决", "確認客戶問題是否已解決",
                                      "Checks the matter is settled"), "yesno", 3),
            _c("standard_closing", _t("使用标准结束语，待客户先挂机", "使用標準結束語，待客戶先掛機",
                                      "Standard closing; lets the customer hang up first"),
               "yesno", 2),
        ]),
        _s("marketing", _t("主动营销（加分项）", "主動營銷（加分項）", "Cross-selling (bonus)"), 5, [
            _c("cross_sell", _t("在合规前提下识别需求并推荐合适产品", "在合規前提下識別需求並推薦合適產品",
                                "Spots a need and suggests a suitable product, compliantly"),
               points=3, na=True),
        ], bonus=True),
    ]}


def branch_rubric() -> dict:
    """A customer's visit to a branch counter (observed, or from the counter recording)."""
    return {"allow_above_100": True, "sections": [
        _s("welcome", _t("迎候与身份核实", "迎候與身份核實", "Welcome and identity check"), 15, [
            _c("greet", _t("客户到柜主动起身迎候、微笑问好", "客戶到櫃主動起身迎候、微笑問好",
                           "Stands, smiles and greets the customer"), points=3),
            _c("queue_guidance", _t("大堂引导分流取号", "大堂引導分流取號",
                                    "Lobby staff direct the customer to the right queue"),
               "yesno", 2, na=True),
            _c("check_id", _t("按规定核验有效身份证件并联网核查", "按規定核驗有效身份證件並聯網核查",
                              "ID document checked, including the online ID check"),
               "yesno", 5, critical="all"),
        ]),
        _s("needs_check", _t("需求识别", "需求識別", "Understanding the need"), 15, [
            _c("ask_needs", _t("主动询问并确认办理业务", "主動詢問並確認辦理業務",
                               "Asks and confirms what the customer wants done")),
            _c("suitability", _t("销售理财前完成客户风险承受能力评估",
                                 "銷售理財前完成客戶風險承受能力評估",
                                 "Risk tolerance assessed before a wealth product is sold"),
               "yesno", 5, na=True, critical="section"),
        ]),
        _s("processing", _t("业务准确性", "業務準確性", "Accuracy"), 25, [
            _c("correct_processing", _t("业务办理准确无差错", "業務辦理準確無差錯",
                                        "Transaction processed without error"),
               critical="section", threshold=4,
               guidance={"5": _t("一次办理准确，凭证要素齐全", "一次辦理準確，憑證要素齊全",
                                 "Right first time, every voucher field complete"),
                         "4": _t("有轻微差错但当场更正", "有輕微差錯但當場更正",
                                 "A minor slip, corrected on the spot"),
                         "0": _t("差错造成客户资金或信息风险", "差錯造成客戶資金或資訊風險",
                                 "An error that put money or data at risk")}),
            _c("efficiency", _t("办理时效符合标准", "辦理時效符合標準",
                                "Handled within the standard time")),
            _c("form_help", _t("指导客户填写单据，重要业务双人复核", "指導客戶填寫單據，重要業務雙人複核",
                               "Helps with forms; dual check for key transactions"),
               "yesno", 3, na=True),
        ]),
        _s("risk", _t("合规与风险提示", "合規與風險提示", "Compliance and risk warnings"), 20, [
            _c("risk_disclosure", _t("销售理财、保险产品时进行风险提示并按规定双录",
                                     "銷售理財、保險產品時進行風險提示並按規定雙錄",
                                     "Risk warning and audio-video recording for wealth and "
                                     "insurance sales"),
               "yesno", 5, na=True, critical="all",
               guidance={"0": _t("未进行风险提示或未双录", "未進行風險提示或未雙錄",
                                 "No risk warning, or not recorded")}),
            _c("fee_disclosure", _t("收费项目明示告知", "收費項目明示告知",
                                    "Fees stated before charging"), "yesno", 3, na=True),
            _c("data_protection", _t("保护客户信息：遮挡密码输入，不遗留单据",
                                     "保護客戶資訊：遮擋密碼輸入，不遺留單據",
                                     "Protects customer data: PIN entry shielded, no papers "
                                     "left behind"), "yesno", 5, critical="all"),
        ]),
        _s("manner", _t("服务态度", "服務態度", "Attitude"), 15, [
            _c("courtesy", _t("使用文明用语，双手递接", "使用文明用語，雙手遞接",
                              "Polite language; hands items over with both hands"),
               guidance=copy.deepcopy(_TONE_GUIDANCE)),
            _c("special_care", _t("对老年人等特殊群体耐心协助", "對老年人等特殊群體耐心協助",
                                  "Patient help for elderly and vulnerable customers"), na=True),
        ]),
        _s("farewell", _t("结束语", "結束語", "Closing"), 10, [
            _c("confirm_done", _t("确认业务办妥并提示核对回单", "確認業務辦妥並提示核對回單",
                                  "Confirms it is done; asks the customer to check the receipt"),
               "yesno", 3),
            _c("goodbye", _t("礼貌道别", "禮貌道別", "Polite goodbye"), "yesno", 2),
        ]),
        _s("bonus_sales", _t("主动营销（加分项）", "主動營銷（加分項）", "Cross-selling (bonus)"), 5, [
            _c("cross_sell_branch", _t("在合规前提下主动介绍适合客户的产品",
                                       "在合規前提下主動介紹適合客戶的產品",
                                       "Introduces a product that suits the customer, "
                                       "compliantly"), points=3, na=True),
        ], bonus=True),
    ]}


def demo_rubrics() -> list[dict]:
    """[{"name", "channel", "definition"}]: the call rubric, then the branch-visit rubric."""
    return [
        {"name": "客服中心来电质检评分表", "channel": "call", "definition": call_rubric()},
        {"name": "网点柜面服务质检评分表", "channel": "branch_visit",
         "definition": branch_rubric()},
    ]

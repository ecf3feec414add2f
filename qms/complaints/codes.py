"""Classification code lists: JR/T 0169-2018 axes A channel, B business type, C cause, plus root
causes (R) and the insurers' dispute types, with labels in each language; editable by admins.

The defaults follow the standard's categories (JR/T 0169-2018, 金融消费者投诉统计分类及编码
银行业金融机构): "other" is 99 as in the standard. The lists are data, not code: a bank renames,
adds or retires codes on the admin page, and `seed_codes()` never overwrites its edits.
A retired (inactive) code stays valid on the complaints that already carry it; new complaints
cannot choose it.
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from qms.complaints.models import ClassificationCode
from qms.config import LOCALES
from qms.core import audit
from qms.extensions import db

AXES = {
    "A": _l("Channel"),
    "B": _l("Business type"),
    "C": _l("Cause"),
    "R": _l("Root cause"),
}
# The axes of the regulator's statistics table (A x B x C).
STATISTICS_AXES = ("A", "B", "C")

CODE_PATTERN = re.compile(r"^[A-Z0-9][A-Z0-9.\-]{0,15}$")
LABEL_MAX = 200

# (axis, code, zh_Hans, zh_Hant, en)
DEFAULT_CODES: list[tuple[str, str, str, str, str]] = [
    # A — 投诉业务办理渠道: front office (counter, self-service, electronic, third party), back office
    ("A", "A01", "营业网点（营业现场）", "營業網點（營業現場）", "Branch counter"),
    ("A", "A02", "自助机具", "自助機具", "Self-service machines"),
    ("A", "A03", "网上银行", "網上銀行", "Online banking"),
    ("A", "A04", "电话银行", "電話銀行", "Phone banking"),
    ("A", "A05", "手机银行（移动客户端）", "手機銀行（流動客戶端）", "Mobile banking app"),
    ("A", "A06", "网络公众平台（微信等）", "網絡公眾平台（微信等）",
     "Social media platforms (WeChat etc.)"),
    ("A", "A07", "短信", "短信", "SMS"),
    ("A", "A08", "第三方渠道", "第三方渠道", "Third-party channels"),
    ("A", "A09", "中后台业务渠道", "中後台業務渠道", "Middle and back office"),
    ("A", "A99", "其他渠道", "其他渠道", "Other channels"),
    # B — 投诉业务类型
    ("B", "B01", "人民币储蓄", "人民幣儲蓄", "Deposits (RMB savings)"),
    ("B", "B02", "贷款", "貸款", "Loans"),
    ("B", "B03", "银行卡", "銀行卡", "Bank cards"),
    ("B", "B04", "支付结算", "支付結算", "Payments and settlement"),
    ("B", "B05", "人民币管理（现金服务）", "人民幣管理（現金服務）", "Cash and currency services"),
    ("B", "B06", "外汇", "外匯", "Foreign exchange"),
    ("B", "B07", "个人金融信息", "個人金融信息", "Personal financial information"),
    ("B", "B08", "银行理财", "銀行理財", "Bank wealth management"),
    ("B", "B09", "代理业务（保险、基金等）", "代理業務（保險、基金等）",
     "Agency business (insurance, funds etc.)"),
    ("B", "B99", "其他业务", "其他業務", "Other business"),
    # Insurers' additions to the business axis (保险消费投诉: 理赔、销售、退保纠纷)
    ("B", "BI01", "理赔纠纷", "理賠糾紛", "Claims dispute"),
    ("B", "BI02", "销售纠纷", "銷售糾紛", "Sales dispute"),
    ("B", "BI03", "退保纠纷", "退保糾紛", "Surrender dispute"),
    ("B", "BI04", "保全纠纷", "保全糾紛", "Policy administration dispute"),
    # C — 投诉原因
    ("C", "C01", "服务态度及服务质量", "服務態度及服務質量", "Service attitude and quality"),
    ("C", "C02", "服务设施、设备、业务系统", "服務設施、設備、業務系統",
     "Facilities, equipment and systems"),
    ("C", "C03", "管理制度、业务规则与流程", "管理制度、業務規則與流程",
     "Rules, policies and processes"),
    ("C", "C04", "营销方式和手段", "營銷方式和手段", "Marketing practices"),
    ("C", "C05", "信息披露", "信息披露", "Information disclosure"),
    ("C", "C06", "产品收益", "產品收益", "Product returns"),
    ("C", "C07", "自主选择权", "自主選擇權", "Freedom of choice"),
    ("C", "C08", "合同条款", "合同條款", "Contract terms"),
    ("C", "C09", "消费者资金安全", "消費者資金安全", "Security of customer funds"),
    ("C", "C10", "消费者信息安全", "消費者信息安全", "Security of customer information"),
    ("C", "C99", "其他原因", "其他原因", "Other causes"),
    # R — root causes found by the investigation (the bank's own list, for the Pareto)
    ("R", "R01", "员工业务技能不足", "員工業務技能不足", "Staff knowledge or training"),
    ("R", "R02", "员工服务行为不当", "員工服務行為不當", "Staff conduct"),
    ("R", "R03", "业务流程设计缺陷", "業務流程設計缺陷", "Process design"),
    ("R", "R04", "系统故障或缺陷", "系統故障或缺陷", "System fault or defect"),
    ("R", "R05", "产品设计缺陷", "產品設計缺陷", "Product design"),
    ("R", "R06", "告知或沟通不充分", "告知或溝通不充分", "Insufficient information or communication"),
    ("R", "R07", "第三方或外包机构", "第三方或外包機構", "Third party or outsourcer"),
    ("R", "R08", "客户误解或期望差异", "客戶誤解或期望差異",
     "Customer misunderstanding or expectations"),
    ("R", "R09", "政策或监管变化", "政策或監管變化", "Policy or regulatory change"),
    ("R", "R99", "其他根因", "其他根因", "Other root causes"),
]


class CodeError(Exception):
    def __init__(self, fields: dict[str, str]):
        super().__init__(fields)
        self.fields = fields


def seed_codes() -> int:
    """Add the default codes that are missing; existing rows (and their edits) stay as they
    are. Returns how many were added. Safe to run any number of times."""
    existing = {(axis, code) for axis, code in db.session.execute(
        sa.select(ClassificationCode.axis, ClassificationCode.code))}
    added = 0
    for sort, (axis, code, hans, hant, en) in enumerate(DEFAULT_CODES, start=1):
        if (axis, code) in existing:
            continue
        db.session.add(ClassificationCode(axis=axis, code=code, sort=sort * 10, active=True,
                                          labels={"zh_Hans": hans, "zh_Hant": hant, "en": en}))
        added += 1
    db.session.flush()
    return added


def label_of(labels: dict | None, locale: str | None, fallback: str = "") -> str:
    """The label in `locale`, else Simplified Chinese, else English, else any, else fallback."""
    labels = labels or {}
    for key in (locale, "zh_Hans", "en", *labels):
        if key and labels.get(key):
            return labels[key]
    return fallback


def list_codes(axis: str | None = None, *, active_only: bool = False) -> list[ClassificationCode]:
    stmt = sa.select(ClassificationCode).order_by(ClassificationCode.axis,
                                                  ClassificationCode.sort, ClassificationCode.code)
    if axis is not None:
        stmt = stmt.where(ClassificationCode.axis == axis)
    if active_only:
        stmt = stmt.where(ClassificationCode.active)
    return list(db.session.scalars(stmt))


def labels_for(axis: str, locale: str | None) -> dict[str, str]:
    """{code: label} of every code on the axis, retired ones included (old complaints)."""
    return {c.code: label_of(c.labels, locale, c.code) for c in list_codes(axis)}


def all_labels(locale: str | None) -> dict[str, dict[str, str]]:
    """{axis: {code: label}} in one query."""
    out: dict[str, dict[str, str]] = {axis: {} for axis in AXES}
    for c in list_codes():
        out.setdefault(c.axis, {})[c.code] = label_of(c.labels, locale, c.code)
    return out


def choices(axis: str, locale: str | None, *, current: str | None = None
            ) -> list[tuple[str, str]]:
    """(code, "code label") of the active codes, plus `current` when it was retired since."""
    rows = [c for c in list_codes(axis) if c.active or c.code == current]
    return [(c.code, f"{c.code} {label_of(c.labels, locale, c.code)}") for c in rows]


def is_active_code(axis: str, code: str) -> bool:
    return db.session.scalar(sa.select(sa.func.count(ClassificationCode.id)).where(
        ClassificationCode.axis == axis, ClassificationCode.code == code,
        ClassificationCode.active)) > 0


def get_code(code_id: int) -> ClassificationCode | None:
    return db.session.get(ClassificationCode, code_id)


def _clean_labels(labels: dict | None, errors: dict[str, str]) -> dict[str, str]:
    cleaned = {}
    for loc in LOCALES:
        value = ((labels or {}).get(loc) or "").strip()
        if not value:
            errors[f"label_{loc}"] = str(_l("A label is required in each language."))
        elif len(value) > LABEL_MAX:
            errors[f"label_{loc}"] = str(_l("At most %(n)d characters.", n=LABEL_MAX))
        cleaned[loc] = value
    return cleaned


def create_code(*, axis: str, code: str, labels: dict, sort: int | None = None,
                actor=None) -> ClassificationCode:
    errors: dict[str, str] = {}
    code = (code or "").strip().upper()
    if axis not in AXES:
        errors["axis"] = str(_l("Choose an axis from the list."))
    if not CODE_PATTERN.match(code):
        errors["code"] = str(_l("Letters, digits, dots and dashes; at most 16 characters."))
    elif axis in AXES and db.session.scalar(sa.select(ClassificationCode.id).where(
            ClassificationCode.axis == axis, ClassificationCode.code == code)):
        errors["code"] = str(_l("This code exists already on this axis."))
    cleaned = _clean_labels(labels, errors)
    if errors:
        raise CodeError(errors)
    if sort is None:
        sort = (db.session.scalar(sa.select(sa.func.max(ClassificationCode.sort))
                                  .where(ClassificationCode.axis == axis)) or 0) + 10
    row = ClassificationCode(axis=axis, code=code, labels=cleaned, sort=sort, active=True)
    db.session.add(row)
    db.session.flush()
    audit.record("complaint_code_created", actor=actor, subject=f"{axis}:{code}",
                 details={"labels": cleaned})
    return row


def update_code(row: ClassificationCode, *, labels: dict, sort: int, active: bool,
                actor=None) -> ClassificationCode:
    """Change labels, order and whether new complaints may choose it; the code itself stays
    (complaints and statistics refer to it)."""
    errors: dict[str, str] = {}
    cleaned = _clean_labels(labels, errors)
    if errors:
        raise CodeError(errors)
    before = {"labels": dict(row.labels or {}), "sort": row.sort, "active": row.active}
    row.labels = cleaned  # a new dict: JSON columns notice replacement, not mutation
    row.sort = sort
    row.active = active
    db.session.flush()
    audit.record("complaint_code_changed", actor=actor, subject=f"{row.axis}:{row.code}",
                 details={"before": before,
                          "after": {"labels": cleaned, "sort": sort, "active": active}})
    return row

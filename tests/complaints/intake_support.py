"""Shared set-up of the intake, queue, report and page tests: two branches with agents and
customers, the default code lists, API tokens, files, and complaints made by the real intake."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from qms.complaints import codes, intake
from qms.complaints.models import Complaint, ComplaintEvent, ReferenceCounter
from qms.core.tx import unit_of_work
from qms.core.uploads import Attachment
from qms.extensions import db
from qms.org.models import Customer

# 2026-03-02 10:00 in Shanghai, a Monday.
T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00"
       b"\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N"
       b"\x00\x00\x00\x00IEND\xaeB`\x82")
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
HTML = b"<!doctype html><html><script>alert(document.cookie)</script></html>"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 64


def count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model)) or 0


def nothing_stored() -> bool:
    return (count(Complaint), count(ComplaintEvent), count(Attachment)) == (0, 0, 0) and \
        not db.session.scalar(sa.select(sa.func.sum(ReferenceCounter.value)))


def upload(data: bytes, name: str):
    from werkzeug.datastructures import FileStorage

    return FileStorage(stream=io.BytesIO(data), filename=name)


def data(**kw) -> dict:
    base = {"complainant_name": "王芳", "complainant_email": "wang@example.test",
            "branch_code": "SH01", "channel_code": "A01", "business_code": "B03",
            "cause_code": "C01", "description": "信用卡年费未经同意扣收",
            "requested_outcome": "退还年费"}
    base.update(kw)
    return {k: v for k, v in base.items() if v is not None}


def make(via: str = "staff", *, actor=None, now: datetime = T0, **kw) -> Complaint:
    """A complaint through the real intake, committed."""
    with unit_of_work():
        complaint, _token = intake.create_complaint(data(**kw), actor=actor, via=via, now=now,
                                                    confirm_duplicate=True)
    return complaint


@pytest.fixture
def bank(app, make_branch, make_agent, make_user):
    with unit_of_work():
        codes.seed_codes()
    sh = make_branch(code="SH01", name="上海陆家嘴支行")
    bj = make_branch(code="BJ01", name="北京金融街支行", region="华北", city="北京")
    vip = Customer(ref="C-VIP", name="赵先生", email="zhao@example.test", segment="vip",
                   locale="zh_Hant", home_branch=sh)
    std = Customer(ref="C-STD", name="钱女士", email="qian@example.test", segment="standard",
                   locale="en", home_branch=sh)
    db.session.add_all([vip, std])
    db.session.commit()

    def user(*roles, **kw):
        # English pages: assertions on messages hold whatever the catalogues translate
        return make_user(*roles, locale="en", **kw)

    return SimpleNamespace(
        sh=sh, bj=bj, agent_sh=make_agent(sh, code="SH01-007", name="李娜"),
        agent_bj=make_agent(bj, code="BJ01-001", name="张伟"), vip=vip, std=std,
        officer=user("complaints", name="投诉专员"),
        officer2=user("complaints", name="复核专员"),
        admin=user("admin", name="管理员"),
        qa=user("qa", name="质检"),
        auditor=user("auditor", name="审计"),
        head_sh=user("branch_head", branch=sh, name="上海行长"),
        head_bj=user("branch_head", branch=bj, name="北京行长"),
        agent_user=user("agent", branch=sh, name="坐席用户"),
    )


@pytest.fixture
def token(app):
    from qms.auth.services import create_api_token

    def make_token(role="complaints", branch_code=None):
        _row, secret = create_api_token(name=f"{role}-{branch_code or 'all'}", role=role,
                                        branch_code=branch_code)
        db.session.commit()
        return {"Authorization": f"Bearer {secret}"}

    return make_token


def days(n: float) -> timedelta:
    return timedelta(days=n)

"""Classification code lists: the JR/T 0169 defaults in three languages, idempotent seeding,
editing and retiring codes, and the admin pages."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from qms.complaints import codes
from qms.complaints.models import ClassificationCode
from qms.config import LOCALES
from qms.core.audit import AuditLog
from qms.core.tx import unit_of_work
from qms.extensions import db


@pytest.fixture
def seeded(app):
    with unit_of_work():
        added = codes.seed_codes()
    return added


def test_defaults_cover_the_axes_in_three_languages(seeded):
    rows = codes.list_codes()
    assert seeded == len(codes.DEFAULT_CODES) == len(rows)
    by_axis = {axis: {r.code for r in rows if r.axis == axis} for axis in codes.AXES}
    assert {"A01", "A03", "A05", "A08", "A99"} <= by_axis["A"]
    assert {"B01", "B02", "B03", "B04", "B07", "B09", "B99"} <= by_axis["B"]
    assert {f"C{n:02d}" for n in range(1, 11)} | {"C99"} == by_axis["C"]
    assert {"R01", "R99"} <= by_axis["R"]
    # insurers' additions: claims, sales and surrender disputes
    assert {"BI01", "BI02", "BI03"} <= by_axis["B"]
    for r in rows:
        assert set(r.labels) == set(LOCALES) and all(r.labels[loc] for loc in LOCALES)
    labels = codes.labels_for("C", "zh_Hant")
    assert labels["C01"] == "服務態度及服務質量"
    assert codes.labels_for("B", "en")["BI01"] == "Claims dispute"
    assert codes.labels_for("A", "zh_Hans")["A01"] == "营业网点（营业现场）"


def test_seeding_is_idempotent_and_keeps_edits(seeded):
    row = db.session.scalar(sa.select(ClassificationCode).where(ClassificationCode.code == "A01"))
    with unit_of_work():
        codes.update_code(row, labels={"zh_Hans": "柜面", "zh_Hant": "櫃面", "en": "Counter"},
                          sort=5, active=True)
    with unit_of_work():
        assert codes.seed_codes() == 0
    db.session.refresh(row)
    assert row.labels["en"] == "Counter" and row.sort == 5
    assert db.session.scalar(sa.select(sa.func.count(ClassificationCode.id))) == seeded


def test_label_fallbacks():
    assert codes.label_of({"zh_Hans": "简", "en": "E"}, "zh_Hant") == "简"
    assert codes.label_of({"en": "E"}, "zh_Hant") == "E"
    assert codes.label_of({}, "en", "X1") == "X1"


def test_add_edit_retire(seeded):
    with unit_of_work():
        row = codes.create_code(axis="B", code="bi05", labels={
            "zh_Hans": "续期纠纷", "zh_Hant": "續期糾紛", "en": "Renewal dispute"})
    assert row.code == "BI05" and row.active and row.sort > 0
    assert ("BI05", "BI05 Renewal dispute") in codes.choices("B", "en")
    with unit_of_work():
        codes.update_code(row, labels=row.labels, sort=row.sort, active=False)
    assert "BI05" not in dict(codes.choices("B", "en"))
    # a complaint that carries it still shows it
    assert "BI05" in dict(codes.choices("B", "en", current="BI05"))
    assert codes.labels_for("B", "en")["BI05"] == "Renewal dispute"
    assert not codes.is_active_code("B", "BI05") and codes.is_active_code("B", "BI01")
    actions = set(db.session.scalars(sa.select(AuditLog.action)))
    assert {"complaint_code_created", "complaint_code_changed"} <= actions


@pytest.mark.parametrize("axis,code,labels,field", [
    ("B", "B01", {"zh_Hans": "a", "zh_Hant": "b", "en": "c"}, "code"),  # exists
    ("B", "b 1", {"zh_Hans": "a", "zh_Hant": "b", "en": "c"}, "code"),
    ("Q", "Q01", {"zh_Hans": "a", "zh_Hant": "b", "en": "c"}, "axis"),
    ("B", "B50", {"zh_Hans": "a", "zh_Hant": "", "en": "c"}, "label_zh_Hant"),
    ("B", "B51", {"zh_Hans": "a", "zh_Hant": "b", "en": "x" * 201}, "label_en"),
])
def test_bad_codes_are_refused(seeded, axis, code, labels, field):
    with pytest.raises(codes.CodeError) as exc:
        codes.create_code(axis=axis, code=code, labels=labels)
    assert field in exc.value.fields


def test_admin_pages(app, client, login, make_user, make_branch):
    admin = make_user("admin", locale="en")
    c = login(admin)
    page = c.get("/complaints/admin/codes")
    assert page.status_code == 200 and "No codes yet" in page.get_data(as_text=True)
    assert c.post("/complaints/admin/codes/seed").status_code == 303
    page = c.get("/complaints/admin/codes?axis=C").get_data(as_text=True)
    assert "服务态度及服务质量" in page and "服務態度及服務質量" in page \
        and "Service attitude and quality" in page
    resp = c.post("/complaints/admin/codes", data={
        "axis": "R", "code": "R10", "label_zh_Hans": "外部欺诈", "label_zh_Hant": "外部欺詐",
        "label_en": "External fraud"})
    assert resp.status_code == 303
    row = db.session.scalar(sa.select(ClassificationCode).where(ClassificationCode.code == "R10"))
    bad = c.post("/complaints/admin/codes", data={"axis": "R", "code": "R10",
                                                  "label_zh_Hans": "x", "label_zh_Hant": "x",
                                                  "label_en": "x"})
    assert bad.status_code == 400 and "exists already" in bad.get_data(as_text=True)
    edit = c.post(f"/complaints/admin/codes/{row.id}", data={
        "axis": "A", "code": "HACK", "label_zh_Hans": "外部欺诈行为", "label_zh_Hant": "外部欺詐行為",
        "label_en": "External fraud", "sort": "7"})
    assert edit.status_code == 303
    db.session.refresh(row)
    # the axis and code never change; labels, order and use do (unticked: retired)
    assert (row.axis, row.code, row.labels["zh_Hans"], row.sort, row.active) == (
        "R", "R10", "外部欺诈行为", 7, False)
    assert c.get("/complaints/admin/codes/999999").status_code == 404
    branch = make_branch()
    for role in ("complaints", "qa", "branch_head"):
        other = make_user(role, branch=branch if role == "branch_head" else None)
        assert login(other).get("/complaints/admin/codes").status_code == 403

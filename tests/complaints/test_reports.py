"""Reports on a hand-computed set: volumes, upheld rate, within-limit share (in the branch's zone),
median days, the overdue list, the root-cause Pareto, the monthly A x B x C table and CSV —
on SQLite and, when reachable, PostgreSQL."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from qms.complaints import codes, intake, reports
from qms.core.audit import AuditLog
from qms.core.tx import unit_of_work
from qms.extensions import db
from qms.org.models import Branch

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 3, 20, 2, 0, tzinfo=UTC)  # 20 March, 10:00 in Shanghai
PERIOD = reports.Period(date(2026, 1, 1), date(2026, 3, 31))


def cst(*args) -> datetime:
    return datetime(*args, tzinfo=SH).astimezone(UTC)


# (branch, A, B, C, product, received, closed, due_on, outcome, root cause)
ROWS = [
    ("SH01", "A01", "B03", "C01", "信用卡", cst(2026, 1, 5, 10), cst(2026, 1, 15, 10),
     date(2026, 1, 20), "upheld", "R01"),
    ("SH01", "A01", "B03", "C02", "信用卡", cst(2026, 1, 10, 10), cst(2026, 1, 30, 10),
     date(2026, 1, 26), "rejected", "R01"),
    ("BJ01", "A05", "B04", "C01", "手机银行", cst(2026, 2, 3, 10), cst(2026, 2, 7, 10),
     date(2026, 2, 18), "partly_upheld", "R04"),
    ("BJ01", "A05", "B04", "C01", None, cst(2026, 2, 20, 10), None, date(2026, 3, 9), None,
     None),
    # received 00:30 on 1 March in Shanghai (28 February in UTC): a March complaint; closed at
    # 23:30 on its due day in Shanghai (15:30 UTC): within the limit
    ("SH01", "A03", "B01", "C05", "定期存款", cst(2026, 3, 1, 0, 30), cst(2026, 3, 17, 23, 30),
     date(2026, 3, 17), "upheld", "R01"),
    # closed at 00:30 on 18 March in Shanghai — still 17 March in UTC — one day late
    ("SH01", "A01", "B03", "C01", None, cst(2026, 3, 10, 10), cst(2026, 3, 18, 0, 30),
     date(2026, 3, 17), "rejected", "R03"),
    # before the period: counted nowhere
    ("SH01", "A01", "B03", "C01", "信用卡", cst(2025, 12, 20, 10), cst(2025, 12, 30, 10),
     date(2026, 1, 4), "upheld", "R02"),
]


def build() -> SimpleNamespace:
    with unit_of_work():
        codes.seed_codes()
        for code, region in (("SH01", "华东"), ("BJ01", "华北")):
            if db.session.scalar(sa.select(Branch.id).where(Branch.code == code)) is None:
                db.session.add(Branch(code=code, name=f"{code}支行", region=region, city="x"))
    made = []
    for i, (branch, a, b, c, product, received, closed, due, outcome, root) in enumerate(ROWS):
        with unit_of_work():
            complaint, _ = intake.create_complaint(
                {"complainant_name": f"客户{i}", "complainant_email": f"r{i}@ex.test",
                 "branch_code": branch, "channel_code": a, "business_code": b,
                 "cause_code": c, "product": product, "description": "x"},
                via="api", now=received)
            complaint.due_on = due
            if closed is not None:
                complaint.status, complaint.closed_at = "CLOSED", closed
                complaint.outcome, complaint.root_cause = outcome, root
            else:
                complaint.status = "IN_INVESTIGATION"
            made.append(complaint)
    return SimpleNamespace(complaints=made,
                           sh=db.session.scalar(sa.select(Branch).where(Branch.code == "SH01")),
                           bj=db.session.scalar(sa.select(Branch).where(Branch.code == "BJ01")))


def everyone():
    # a principal with an unscoped complaints grant: the whole bank
    return SimpleNamespace(grants=[SimpleNamespace(role="complaints", branch_id=None,
                                                   region=None)], id=None, roles={"complaints"})


def head_of(branch):
    return SimpleNamespace(grants=[SimpleNamespace(role="branch_head", branch_id=branch.id,
                                                   region=None)], id=None,
                           roles={"branch_head"})


F = reports.ReportFilters(period=PERIOD)


def assert_hand_computed(d) -> None:
    who = everyone()
    vol = {by: [(r.key, r.count) for r in reports.volumes(by, F, who, locale="en")]
           for by in reports.DIMENSIONS}
    assert vol["cause"] == [("C01", 4), ("C02", 1), ("C05", 1)]
    assert vol["business"] == [("B03", 3), ("B04", 2), ("B01", 1)]
    assert vol["channel"] == [("A01", 3), ("A05", 2), ("A03", 1)]
    assert vol["branch"] == [("SH01", 4), ("BJ01", 2)]
    assert vol["month"] == [("2026-01", 2), ("2026-02", 2), ("2026-03", 2)]
    assert dict(vol["product"]) == {"信用卡": 2, "手机银行": 1, "定期存款": 1, None: 2}
    cause = reports.volumes("cause", F, who, locale="en")
    assert cause[0].label == "Service attitude and quality" and cause[0].share == 4 / 6

    s = reports.summary(F, who, now=NOW)
    assert (s.received, s.closed, s.with_outcome) == (6, 5, 5)
    assert (s.upheld, s.partly_upheld, s.rejected) == (2, 1, 2)
    assert s.upheld_rate == pytest.approx(3 / 5)
    assert (s.closed_within, s.closed_with_deadline) == (3, 5)
    assert s.within_share == pytest.approx(3 / 5)
    # durations 4, 7.60, 10, 16.96, 20 days: the median is 10
    assert s.median_days == pytest.approx(10.0, abs=1e-6)
    assert (s.open_now, s.overdue_now) == (1, 1)

    pareto = reports.root_cause_pareto(F, who, locale="en")
    assert [(p.code, p.count) for p in pareto] == [("R01", 3), ("R03", 1), ("R04", 1)]
    assert [round(p.share, 4) for p in pareto] == [0.6, 0.2, 0.2]
    assert [round(p.cumulative, 4) for p in pareto] == [0.6, 0.8, 1.0]

    late = reports.overdue_list(who, now=NOW)
    assert [(r.reference, r.days_overdue) for r in late] == [(d.complaints[3].reference, 11)]

    feb = reports.monthly_code_table("2026-02", who)
    assert [(c.channel, c.business, c.cause, c.count) for c in feb.rows] == [
        ("A05", "B04", "C01", 2)]
    mar = reports.monthly_code_table("2026-03", who)
    assert sorted((c.channel, c.business, c.cause, c.count) for c in mar.rows) == [
        ("A01", "B03", "C01", 1), ("A03", "B01", "C05", 1)]
    assert mar.total == 2 and mar.by_axis["A"] == {"A01": 1, "A03": 1}

    # a branch head's numbers are their branch's only
    bj = head_of(d.bj)
    assert [(r.key, r.count) for r in reports.volumes("branch", F, bj)] == [("BJ01", 2)]
    sb = reports.summary(F, bj, now=NOW)
    assert (sb.received, sb.closed, sb.upheld_rate, sb.within_share) == (2, 1, 1.0, 1.0)
    assert reports.monthly_code_table("2026-03", bj).total == 0
    sh = head_of(d.sh)
    assert reports.overdue_list(sh, now=NOW) == []
    # Shanghai closed four: 7.60, 10, 16.96, 20 days -> (10 + 16 23/24) / 2
    assert reports.summary(F, sh, now=NOW).median_days == pytest.approx((10 + 16 + 23 / 24) / 2)


def test_hand_computed_set_on_sqlite(app):
    assert_hand_computed(build())


@pytest.mark.postgres
def test_hand_computed_set_on_postgresql(pg_app):
    assert_hand_computed(build())


def test_filters_narrow_the_figures(app):
    d = build()
    who = everyone()
    f = reports.ReportFilters(period=PERIOD, branch_id=d.sh.id, cause_code="C01")
    assert [(r.key, r.count) for r in reports.volumes("branch", f, who)] == [("SH01", 2)]
    jan = reports.ReportFilters(period=reports.Period(date(2026, 1, 1), date(2026, 1, 31)))
    s = reports.summary(jan, who, now=NOW)
    assert (s.received, s.closed, s.closed_within) == (2, 2, 1)
    assert s.median_days == pytest.approx(15.0)  # 10 and 20 days
    empty = reports.ReportFilters(period=reports.Period(date(2027, 1, 1), date(2027, 1, 31)))
    e = reports.summary(empty, who, now=NOW)
    assert (e.received, e.upheld_rate, e.within_share, e.median_days) == (0, None, None, None)
    assert reports.root_cause_pareto(empty, who) == []


def test_export_rows_guard_formulas(app):
    build()
    with unit_of_work():
        c, _ = intake.create_complaint(
            {"complainant_name": "x", "complainant_email": "f@ex.test", "branch_code": "SH01",
             "channel_code": "A01", "business_code": "B03", "description": "x",
             "product": '=HYPERLINK("http://evil.test","x")'}, via="api", now=cst(2026, 3, 5))
    header, rows = reports.export_rows("complaints", F, everyone(), locale="en")
    assert header[0] == "Complaint reference" and len(rows) == 7
    text = "".join(reports.to_csv(header, rows))
    assert text.startswith("\ufeff")
    parsed = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    product = parsed[[r[0] for r in parsed].index(c.reference)][header.index("Product")]
    assert product.startswith("'=HYPERLINK")


def test_reports_page_and_csv(app, client, login, make_user):
    d = build()
    officer = make_user("complaints", locale="en")
    c = login(officer)
    page = c.get("/complaints/reports?from=2026-01-01&to=2026-03-31&month=2026-02")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Service attitude and quality" in html and "60.0%" in html
    resp = c.get("/complaints/reports/monthly.csv?from=2026-01-01&to=2026-03-31&month=2026-02")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    assert resp.headers["Content-Disposition"].startswith("attachment;")
    rows = list(csv.reader(io.StringIO(resp.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][0] == "Month" and rows[1][:2] == ["2026-02", "A05"] and rows[1][-1] == "2"
    log = db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "export"))
    assert log.subject == "complaints:monthly" and log.actor_id == officer.id
    assert log.details["rows"] == 1
    for kind in ("complaints", "volumes", "overdue", "pareto"):
        r = c.get(f"/complaints/reports/{kind}.csv?from=2026-01-01&to=2026-03-31&by=branch")
        assert r.status_code == 200, kind
    assert c.get("/complaints/reports/secrets.csv").status_code == 404
    # a branch head gets their branch's report and export only
    head = make_user("branch_head", branch=d.bj, locale="en")
    hc = login(head)
    assert hc.get("/complaints/reports?from=2026-01-01&to=2026-03-31").status_code == 200
    csv_text = hc.get("/complaints/reports/complaints.csv?from=2026-01-01&to=2026-03-31") \
        .get_data(as_text=True)
    refs = [r[0] for r in csv.reader(io.StringIO(csv_text.lstrip("\ufeff")))][1:]
    assert sorted(refs) == sorted(x.reference for x in d.complaints[2:4])
    assert login(make_user("agent", branch=d.sh)).get("/complaints/reports").status_code == 403


def test_default_period_is_the_last_twelve_months(app):
    p = reports.default_period(datetime(2026, 3, 20, 2, tzinfo=UTC))
    assert (p.start, p.end) == (date(2025, 4, 1), date(2026, 3, 20))
    assert reports.month_period("2024-02") == reports.Period(date(2024, 2, 1),
                                                             date(2024, 2, 29))
    assert timedelta(0) < p.bounds(SH)[1] - p.bounds(SH)[0]

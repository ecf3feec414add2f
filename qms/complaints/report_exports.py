"""Complaint report exports: the regulator's monthly A x B x C code table and the CSV downloads.

The figures come from qms.complaints.reports (the same scope, filters and period rules, so a
number in a CSV is the number on the page); everything here is re-exported from there.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask_babel import force_locale
from flask_babel import gettext as _

from qms.complaints import codes
from qms.complaints.models import Complaint
from qms.complaints.reports import (
    DIMENSIONS,
    ReportFilters,
    _conditions,
    month_period,
    overdue_list,
    root_cause_pareto,
    volumes,
)
from qms.extensions import db
from qms.org.models import Branch

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class CodeCell:
    channel: str | None
    business: str | None
    cause: str | None
    count: int


@dataclass(frozen=True)
class MonthlyTable:
    month: str            # YYYY-MM
    rows: list[CodeCell]
    total: int
    by_axis: dict[str, dict[str | None, int]]  # axis -> code -> count (marginals)


# -- the monthly code table ---------------------------------------------------------------------

def monthly_code_table(month: str, principal, *, roles=None,
                       branch_id: int | None = None) -> MonthlyTable:
    """Complaints received in the month by channel (A) x business type (B) x cause (C): the
    table a regulator asks for, with the totals of each axis."""
    period = month_period(month)
    f = ReportFilters(period=period, branch_id=branch_id)
    conds = _conditions(f, principal, roles, Complaint.received_at)
    count = sa.func.count(Complaint.id)
    cols = (Complaint.channel_code, Complaint.business_code, Complaint.cause_code)
    rows = [CodeCell(a, b, c, n) for a, b, c, n in db.session.execute(
        sa.select(*cols, count).where(*conds).group_by(*cols).order_by(*cols))]
    by_axis: dict[str, dict[str | None, int]] = {"A": {}, "B": {}, "C": {}}
    for cell in rows:
        for axis, code in (("A", cell.channel), ("B", cell.business), ("C", cell.cause)):
            by_axis[axis][code] = by_axis[axis].get(code, 0) + cell.count
    return MonthlyTable(month, rows, sum(c.count for c in rows), by_axis)


# -- CSV ----------------------------------------------------------------------------------------

def guard(value):
    """Text that a spreadsheet would run as a formula gets a leading quote (CSV injection)."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def to_csv(header: list[str], rows) -> Iterator[str]:
    """UTF-8 with a BOM (Excel opens Chinese text correctly), one chunk per row."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    yield "\ufeff"
    for row in [header, *rows]:
        writer.writerow([guard(v) for v in row])
        yield buf.getvalue()
        buf.seek(0)
        buf.truncate()


EXPORTS = ("complaints", "volumes", "monthly", "overdue", "pareto")


def export_rows(kind: str, f: ReportFilters, principal, *, roles=None, locale: str,
                by: str = "cause", month: str | None = None,
                now: datetime | None = None) -> tuple[list[str], list[list]]:
    """Header and rows of one CSV export, with headers and labels in `locale`."""
    with force_locale(locale):
        if kind == "volumes":
            data = volumes(by, f, principal, roles=roles, locale=locale)
            return ([str(DIMENSIONS[by]), _("Code"), _("Number of complaints"), _("Share")],
                    [[r.label, r.key or "", r.count, f"{r.share:.4f}"] for r in data])
        if kind == "pareto":
            data = root_cause_pareto(f, principal, roles=roles, locale=locale)
            return ([_("Root cause"), _("Code"), _("Number of complaints"), _("Share"),
                     _("Cumulative share")],
                    [[r.label, r.code, r.count, f"{r.share:.4f}", f"{r.cumulative:.4f}"]
                     for r in data])
        if kind == "overdue":
            data = overdue_list(principal, roles=roles, branch_id=f.branch_id, now=now)
            return ([_("Complaint reference"), _("Branch"), _("Status"), _("Received (UTC)"),
                     _("Due on"), _("Days overdue"), _("Assigned to"), _("Priority")],
                    [[r.reference, r.branch_code or "", r.status,
                      r.received_at.isoformat(timespec="seconds"), r.due_on.isoformat(),
                      r.days_overdue, r.assignee_name or "", r.priority] for r in data])
        if kind == "monthly":
            table = monthly_code_table(month or f.period.end.strftime("%Y-%m"), principal,
                                       roles=roles, branch_id=f.branch_id)
            labels = codes.all_labels(locale)
            none = _("Not classified")

            def lab(axis, code):
                return labels.get(axis, {}).get(code, code) if code else none

            return ([_("Month"), _("Channel code"), _("Channel"), _("Business type code"),
                     _("Business type"), _("Cause code"), _("Cause"), _("Number of complaints")],
                    [[table.month, c.channel or "", lab("A", c.channel), c.business or "",
                      lab("B", c.business), c.cause or "", lab("C", c.cause), c.count]
                     for c in table.rows])
        if kind == "complaints":
            return _complaint_rows(f, principal, roles=roles, locale=locale)
    raise ValueError(f"unknown export {kind!r}")


def _complaint_rows(f: ReportFilters, principal, *, roles, locale: str):
    labels = codes.all_labels(locale)
    conds = _conditions(f, principal, roles, Complaint.received_at)
    stmt = (sa.select(Complaint.reference, Complaint.received_at, Branch.code,
                      Complaint.channel_code, Complaint.business_code, Complaint.cause_code,
                      Complaint.product, Complaint.severity, Complaint.priority,
                      Complaint.status, Complaint.due_on, Complaint.closed_at,
                      Complaint.outcome, Complaint.root_cause, Complaint.source)
            .select_from(Complaint).outerjoin(Branch, Branch.id == Complaint.branch_id)
            .where(*conds).order_by(Complaint.received_at, Complaint.id))
    header = [_("Complaint reference"), _("Received (UTC)"), _("Branch"), _("Channel"),
              _("Business type"), _("Cause"), _("Product"), _("Severity"), _("Priority"),
              _("Status"), _("Due on"), _("Closed (UTC)"), _("Outcome"), _("Root cause"),
              _("Source")]
    rows = []
    for (ref, received, branch, a, b, c, product, severity, priority, status, due, closed,
         outcome, root, source) in db.session.execute(stmt):
        rows.append([ref, received.isoformat(timespec="seconds"), branch or "",
                     labels["A"].get(a, a or ""), labels["B"].get(b, b or ""),
                     labels["C"].get(c, c or ""), product or "", severity, priority, status,
                     due.isoformat() if due else "",
                     closed.isoformat(timespec="seconds") if closed else "", outcome or "",
                     labels["R"].get(root, root or ""), source])
    return header, rows

"""Audit reports as SQL aggregates: scores by branch and month, findings by severity and by
checklist section, corrective-action closure on time, overdue actions, and the per-branch
summary the scorecards use. The same functions feed the report page and the scorecards.

Conventions: periods are UTC, `start` inclusive and `end` exclusive, months are UTC calendar
months (as in the QA and survey reports). An audit counts in the month it was submitted (only
submitted or closed audits have a score). An action is overdue at a moment when it was due
before that moment, existed then, and was neither marked done nor closed by then. Closure on
time looks at the actions due in the window and already due at `now`: the share closed (checked
effective) by their due date.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa

from qms.audits import checklists
from qms.audits.models import Audit, AuditTemplateVersion, CorrectiveAction, Finding
from qms.core.db import now_utc
from qms.extensions import db
from qms.org.models import Branch
from qms.surveys.results import utc_month

SCORED = ("submitted", "closed")
SEVERITY_ORDER = {"critical": 0, "major": 1, "minor": 2}


@dataclass(frozen=True)
class ScoreRow:
    branch_id: int
    code: str
    name: str
    month: str
    audits: int
    average: float | None


@dataclass(frozen=True)
class SectionRow:
    section_key: str
    label: str
    critical: int
    major: int
    minor: int

    @property
    def total(self) -> int:
        return self.critical + self.major + self.minor


@dataclass(frozen=True)
class Closure:
    due: int            # actions due in the window (and due by now)
    on_time: int        # closed by their due date
    late: int           # closed after it
    open: int           # not closed yet

    @property
    def on_time_share(self) -> float | None:
        return None if not self.due else self.on_time / self.due


@dataclass(frozen=True)
class OverdueRow:
    action_id: int
    finding_id: int
    branch_id: int
    branch: str
    item_key: str
    severity: str
    due_at: datetime
    days_overdue: int
    owner_id: int | None
    escalation_level: int


def _branches(stmt, column, branch_ids):
    return stmt if branch_ids is None else stmt.where(column.in_(list(branch_ids)))


def _window(column, start, end) -> list:
    conds = []
    if start is not None:
        conds.append(column >= start)
    if end is not None:
        conds.append(column < end)
    return conds


def scores_by_branch_month(start=None, end=None, branch_ids=None) -> list[ScoreRow]:
    """Audits submitted and their average score per branch and UTC month."""
    month = utc_month(Audit.submitted_at).label("month")
    stmt = (sa.select(Audit.branch_id, Branch.code, Branch.name, month,
                      sa.func.count(Audit.id), sa.func.avg(Audit.score))
            .join(Branch, Branch.id == Audit.branch_id)
            .where(Audit.status.in_(SCORED), Audit.submitted_at.is_not(None),
                   *_window(Audit.submitted_at, start, end))
            .group_by(Audit.branch_id, Branch.code, Branch.name, month)
            .order_by(Branch.code, month))
    stmt = _branches(stmt, Audit.branch_id, branch_ids)
    return [ScoreRow(bid, code, name, m, n, None if avg is None else float(avg))
            for bid, code, name, m, n, avg in db.session.execute(stmt)]


def findings_by_severity(start=None, end=None, branch_ids=None) -> dict[str, dict[str, int]]:
    """{severity: {"open": n, "closed": n}} of the findings raised in the window."""
    stmt = (sa.select(Finding.severity, Finding.status, sa.func.count(Finding.id))
            .where(*_window(Finding.created_at, start, end))
            .group_by(Finding.severity, Finding.status))
    stmt = _branches(stmt, Finding.branch_id, branch_ids)
    out = {s: {"open": 0, "closed": 0} for s in SEVERITY_ORDER}
    for severity, status, n in db.session.execute(stmt):
        out.setdefault(severity, {"open": 0, "closed": 0})[status] = n
    return out


def findings_by_section(start=None, end=None, branch_ids=None, *,
                        locale: str = "zh_Hans") -> list[SectionRow]:
    """Findings raised in the window per checklist section and severity, most first. Section
    labels come from the newest checklist version that has the section."""
    stmt = (sa.select(Finding.section_key, Finding.severity, sa.func.count(Finding.id),
                      sa.func.max(Audit.template_version_id))
            .join(Audit, Audit.id == Finding.audit_id)
            .where(*_window(Finding.created_at, start, end))
            .group_by(Finding.section_key, Finding.severity))
    stmt = _branches(stmt, Finding.branch_id, branch_ids)
    counts: dict[str, dict[str, int]] = {}
    versions: dict[str, int] = {}
    for key, severity, n, version_id in db.session.execute(stmt):
        counts.setdefault(key, {})[severity] = n
        versions[key] = max(versions.get(key, 0), version_id or 0)
    labels = _section_labels(set(versions.values()), locale)
    rows = [SectionRow(key, labels.get((versions[key], key), key), c.get("critical", 0),
                       c.get("major", 0), c.get("minor", 0)) for key, c in counts.items()]
    return sorted(rows, key=lambda r: (-r.total, -r.critical, r.section_key))


def _section_labels(version_ids: set[int], locale: str) -> dict[tuple[int, str], str]:
    if not version_ids:
        return {}
    out = {}
    for vid, definition in db.session.execute(sa.select(
            AuditTemplateVersion.id, AuditTemplateVersion.definition)
            .where(AuditTemplateVersion.id.in_(version_ids))):
        for s in checklists.sections(definition):
            out[(vid, s.get("key"))] = checklists.text(s.get("label"), locale)
    return out


def action_closure(start=None, end=None, branch_ids=None, *,
                   now: datetime | None = None) -> Closure:
    """Of the actions due in [start, end) and already due at `now`: how many were closed by
    their due date, closed late, or are not closed."""
    now = now or now_utc()
    closed = CorrectiveAction.closed_at.is_not(None)
    on_time = sa.and_(closed, CorrectiveAction.closed_at <= CorrectiveAction.due_at)
    stmt = (sa.select(sa.func.count(CorrectiveAction.id),
                      sa.func.sum(sa.case((on_time, 1), else_=0)),
                      sa.func.sum(sa.case((sa.and_(closed, sa.not_(on_time)), 1), else_=0)))
            .where(CorrectiveAction.due_at <= now,
                   *_window(CorrectiveAction.due_at, start, end)))
    stmt = _branches(stmt, CorrectiveAction.branch_id, branch_ids)
    due, ok, late = db.session.execute(stmt).one()
    due, ok, late = int(due or 0), int(ok or 0), int(late or 0)
    return Closure(due=due, on_time=ok, late=late, open=due - ok - late)


def _overdue_conditions(as_of: datetime) -> list:
    ca = CorrectiveAction
    return [ca.due_at < as_of, ca.created_at <= as_of,
            sa.or_(ca.done_at.is_(None), ca.done_at > as_of),
            sa.or_(ca.closed_at.is_(None), ca.closed_at > as_of)]


def overdue_actions(as_of: datetime | None = None, branch_ids=None) -> list[OverdueRow]:
    """Actions overdue at `as_of` (default now), the longest overdue first."""
    as_of = as_of or now_utc()
    ca = CorrectiveAction
    stmt = (sa.select(ca.id, ca.finding_id, ca.branch_id, Branch.code, Branch.name,
                      Finding.item_key, Finding.severity, ca.due_at, ca.owner_id,
                      ca.escalation_level)
            .join(Finding, Finding.id == ca.finding_id)
            .join(Branch, Branch.id == ca.branch_id)
            .where(*_overdue_conditions(as_of)).order_by(ca.due_at, ca.id))
    stmt = _branches(stmt, ca.branch_id, branch_ids)
    return [OverdueRow(aid, fid, bid, f"{code} {name}", item, sev, due,
                       max(0, (as_of - due).days), owner, level)
            for aid, fid, bid, code, name, item, sev, due, owner, level
            in db.session.execute(stmt)]


def count_overdue(as_of: datetime, branch_ids=None) -> int:
    stmt = sa.select(sa.func.count(CorrectiveAction.id)).where(*_overdue_conditions(as_of))
    return db.session.scalar(_branches(stmt, CorrectiveAction.branch_id, branch_ids)) or 0


def open_findings(as_of: datetime, branch_ids=None) -> int:
    """Findings raised by `as_of` and not closed by then."""
    stmt = sa.select(sa.func.count(Finding.id)).where(
        Finding.created_at <= as_of,
        sa.or_(Finding.closed_at.is_(None), Finding.closed_at > as_of))
    return db.session.scalar(_branches(stmt, Finding.branch_id, branch_ids)) or 0


def month_bounds(period: str) -> tuple[datetime, datetime]:
    """[start, end) in UTC of "YYYY-MM", "YYYY-Qn" or "YYYY" (ValueError otherwise)."""
    period = (period or "").strip()
    try:
        if len(period) == 7 and period[4] == "-" and period[5] != "Q":
            year, month, months = int(period[:4]), int(period[5:]), 1
        elif len(period) == 7 and period[4:6] == "-Q":
            year, month, months = int(period[:4]), (int(period[6]) - 1) * 3 + 1, 3
        elif len(period) == 4:
            year, month, months = int(period), 1, 12
        else:
            raise ValueError
        start = datetime(year, month, 1, tzinfo=UTC)
    except (ValueError, IndexError):
        raise ValueError(f"not a period: {period!r} (YYYY-MM, YYYY-Qn or YYYY)") from None
    index = year * 12 + month - 1 + months
    return start, datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)


def branch_audit_summary(branch_id: int, period: str, *,
                         as_of: datetime | None = None) -> dict:
    """What a branch's scorecard shows for a period: audits submitted in it and their average
    score, findings raised in it, and — as of `as_of` (default the period's end, or now if
    that is earlier) — open findings and overdue actions; plus action closure on time for the
    actions due in the period."""
    start, end = month_bounds(period)
    as_of = as_of or min(end, now_utc())
    scored = db.session.execute(
        sa.select(sa.func.count(Audit.id), sa.func.avg(Audit.score))
        .where(Audit.branch_id == branch_id, Audit.status.in_(SCORED),
               Audit.submitted_at >= start, Audit.submitted_at < end)).one()
    raised = db.session.scalar(sa.select(sa.func.count(Finding.id)).where(
        Finding.branch_id == branch_id, Finding.created_at >= start, Finding.created_at < end))
    closure = action_closure(start, end, [branch_id], now=as_of)
    return {
        "branch_id": branch_id, "period": period, "as_of": as_of,
        "audits": int(scored[0] or 0),
        "score_average": None if scored[1] is None else round(float(scored[1]), 2),
        "findings_raised": int(raised or 0),
        "open_findings": open_findings(as_of, [branch_id]),
        "overdue_actions": count_overdue(as_of, [branch_id]),
        "actions_due": closure.due, "actions_closed_on_time": closure.on_time,
        "closure_on_time": closure.on_time_share,
    }

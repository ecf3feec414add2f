"""The SQL aggregates behind the KPIs: one GROUP BY query per source and scope, for every
branch (or every agent) and every month of a window at once.

Each source returns {(entity id, "YYYY-MM"): {count name: number}}; the KPI registry
(qms.scorecards.kpis) turns counts into values. Months are UTC calendar months, as in the
survey and QA results services whose definitions these queries repeat:

- surveys: satisfaction-survey responses by `completed_at`; CSAT/NPS/CES answers by the
  response's branch and agent; the response rate is a cohort rate over invitations *sent* in
  the month that were delivered (not bounced, failed or suppressed; customer not opted out).
- QA: released evaluations (submitted or acknowledged), not calibration, not replaced, by
  `submitted_at`.
- complaints: received by `received_at`; outcome figures over complaints closed in the month;
  "in time" = closing day in the branch's zone on or before the deadline in force (due_on).
- interactions: by `occurred_at` (the customers served behind "complaints per 1,000").
- mystery shopping: approved reports by `approved_at`; audits: submitted audits by
  `submitted_at`; corrective actions: overdue as of the end of each month.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

import sqlalchemy as sa

from qms.analytics import survey_metrics as sm
from qms.audits.models import Audit, CorrectiveAction
from qms.complaints.models import Complaint
from qms.complaints.reports import _days_between, _local_date_in_branch_zone
from qms.extensions import db
from qms.mystery.models import ShopAssignment
from qms.org.models import Branch, Customer
from qms.qa.models import Evaluation, Interaction
from qms.qa.reports import ReportFilters, evaluation_conditions
from qms.surveys.models import Answer, Campaign, Invitation, Response, Survey, SurveyVersion
from qms.surveys.results import UNDELIVERED, utc_month

NOT_COUNTED_COMPLAINTS = ("WITHDRAWN", "MERGED", "NOT_ACCEPTED")
AUDIT_COUNTED = ("submitted", "closed")


class Window:
    """Consecutive UTC months: `start` of the first (inclusive) to `end` of the last."""

    def __init__(self, months: list[str], bounds: list[tuple[datetime, datetime]]):
        self.months = months
        self.bounds = bounds
        self.start = bounds[0][0]
        self.end = bounds[-1][1]


def _key(scope: str, branch_col, agent_col):
    return branch_col if scope == "branch" else agent_col


def _rows(stmt) -> list:
    return list(db.session.execute(stmt))


def survey_answers(scope: str, w: Window) -> dict:
    key = _key(scope, Response.branch_id, Response.agent_id)
    month = utc_month(Response.completed_at)
    num = Answer.num_value
    top = sa.case((sa.and_(Answer.qtype == "nps", num >= sm.NPS_PROMOTER_MIN), 1),
                  (sa.and_(Answer.qtype == "csat", num >= sm.CSAT_SATISFIED_MIN), 1), else_=0)
    bottom = sa.case((sa.and_(Answer.qtype == "nps", num <= sm.NPS_DETRACTOR_MAX), 1), else_=0)
    stmt = (sa.select(key, month, Answer.qtype, sa.func.count(Answer.id), sa.func.sum(top),
                      sa.func.sum(bottom), sa.func.sum(num))
            .select_from(Answer).join(Response, Response.id == Answer.response_id)
            .join(Survey, Survey.id == Response.survey_id)
            .where(Survey.kind == "satisfaction", key.is_not(None),
                   Response.completed_at >= w.start, Response.completed_at < w.end,
                   Answer.qtype.in_(("csat", "nps", "ces")), num.is_not(None))
            .group_by(key, month, Answer.qtype))
    out: dict = defaultdict(dict)
    for ent, mon, qtype, n, hi, lo, total in _rows(stmt):
        c = out[(ent, mon)]
        if qtype == "csat":
            c.update(csat_n=n, csat_satisfied=int(hi or 0))
        elif qtype == "nps":
            c.update(nps_n=n, promoters=int(hi or 0), detractors=int(lo or 0))
        else:
            c.update(ces_n=n, ces_sum=float(total or 0))
    return out


def invitations(scope: str, w: Window) -> dict:
    key = _key(scope, Invitation.branch_id, Invitation.agent_id)
    month = utc_month(Invitation.sent_at)
    stmt = (sa.select(key, month, sa.func.count(Invitation.id), sa.func.count(Response.id))
            .select_from(Invitation)
            .join(Campaign, Campaign.id == Invitation.campaign_id)
            .join(SurveyVersion, SurveyVersion.id == Campaign.version_id)
            .join(Survey, Survey.id == SurveyVersion.survey_id)
            .outerjoin(Customer, Customer.id == Invitation.customer_id)
            .outerjoin(Response, sa.and_(Response.invitation_id == Invitation.id,
                                         Response.completed_at.is_not(None)))
            .where(Survey.kind == "satisfaction", key.is_not(None),
                   Invitation.sent_at >= w.start, Invitation.sent_at < w.end,
                   Invitation.status.not_in(UNDELIVERED), Customer.opted_out_at.is_(None))
            .group_by(key, month))
    return {(ent, mon): {"delivered": n, "completed": done}
            for ent, mon, n, done in _rows(stmt)}


def evaluations(scope: str, w: Window) -> dict:
    key = _key(scope, Evaluation.branch_id, Evaluation.agent_id)
    month = utc_month(Evaluation.submitted_at)
    stmt = (sa.select(key, month, sa.func.count(Evaluation.id), sa.func.count(Evaluation.total),
                      sa.func.sum(Evaluation.total),
                      sa.func.sum(sa.case((Evaluation.auto_failed.is_(True), 1), else_=0)))
            .where(*evaluation_conditions(ReportFilters(start=w.start, end=w.end)))
            .group_by(key, month))
    return {(ent, mon): {"evaluations": n, "scored": scored, "score_sum": float(total or 0),
                         "auto_failed": int(failed or 0)}
            for ent, mon, n, scored, total, failed in _rows(stmt)}


def interactions(scope: str, w: Window) -> dict:
    key = _key(scope, Interaction.branch_id, Interaction.agent_id)
    month = utc_month(Interaction.occurred_at)
    stmt = (sa.select(key, month, sa.func.count(Interaction.id))
            .where(Interaction.occurred_at >= w.start, Interaction.occurred_at < w.end)
            .group_by(key, month))
    return {(ent, mon): {"interactions": n} for ent, mon, n in _rows(stmt)}


def complaints_received(scope: str, w: Window) -> dict:
    key = _key(scope, Complaint.branch_id, Complaint.agent_id)
    month = utc_month(Complaint.received_at)
    stmt = (sa.select(key, month, sa.func.count(Complaint.id))
            .where(key.is_not(None), Complaint.received_at >= w.start,
                   Complaint.received_at < w.end,
                   Complaint.status.not_in(("MERGED",)))
            .group_by(key, month))
    return {(ent, mon): {"received": n} for ent, mon, n in _rows(stmt)}


def complaints_closed(scope: str, w: Window) -> dict:
    """Counts of the complaints closed in each month plus, per entity and month, the list of
    durations (days from receipt to closure) for the median — one grouped fetch."""
    key = _key(scope, Complaint.branch_id, Complaint.agent_id)
    month = utc_month(Complaint.closed_at)
    closing_day = _local_date_in_branch_zone(Complaint.closed_at, w.end)
    has_deadline = Complaint.due_on.is_not(None)
    within = sa.and_(has_deadline, closing_day <= Complaint.due_on)
    days = _days_between(Complaint.closed_at, Complaint.received_at)
    stmt = (sa.select(key, month, Complaint.outcome, has_deadline, within, days)
            .select_from(Complaint).outerjoin(Branch, Branch.id == Complaint.branch_id)
            .where(key.is_not(None), Complaint.closed_at >= w.start, Complaint.closed_at < w.end))
    out: dict = {}
    for ent, mon, outcome, deadline, in_time, d in _rows(stmt):
        c = out.setdefault((ent, mon), {"closed": 0, "with_outcome": 0, "upheld": 0,
                                        "with_deadline": 0, "within": 0, "durations": []})
        c["closed"] += 1
        if outcome:
            c["with_outcome"] += 1
            c["upheld"] += outcome in ("upheld", "partly_upheld")
        c["with_deadline"] += bool(deadline)
        c["within"] += bool(in_time)
        c["durations"].append(float(d))
    return out


def mystery_shops(scope: str, w: Window) -> dict:
    a = ShopAssignment
    key = _key(scope, a.branch_id, a.agent_id)
    month = utc_month(a.approved_at)
    stmt = (sa.select(key, month, sa.func.count(a.score), sa.func.sum(a.score))
            .where(a.status == "approved", key.is_not(None), a.approved_at >= w.start,
                   a.approved_at < w.end, a.score.is_not(None))
            .group_by(key, month))
    return {(ent, mon): {"shops": n, "shop_score_sum": float(total or 0)}
            for ent, mon, n, total in _rows(stmt)}


def audits(scope: str, w: Window) -> dict:
    if scope != "branch":
        return {}
    month = utc_month(Audit.submitted_at)
    stmt = (sa.select(Audit.branch_id, month, sa.func.count(Audit.score), sa.func.sum(Audit.score))
            .where(Audit.status.in_(AUDIT_COUNTED), Audit.submitted_at >= w.start,
                   Audit.submitted_at < w.end, Audit.score.is_not(None))
            .group_by(Audit.branch_id, month))
    return {(ent, mon): {"audits": n, "audit_score_sum": float(total or 0)}
            for ent, mon, n, total in _rows(stmt)}


def overdue_actions(scope: str, w: Window) -> dict:
    """Corrective actions overdue at the end of each month: created before it, due before it,
    and neither done by the owner nor closed by then. One fetch of the candidate actions."""
    if scope != "branch":
        return {}
    ca = CorrectiveAction
    finished = sa.func.coalesce(ca.done_at, ca.closed_at)
    stmt = (sa.select(ca.branch_id, ca.created_at, ca.due_at, finished)
            .where(ca.due_at < w.end, ca.created_at < w.end,
                   sa.or_(finished.is_(None), finished >= w.start)))
    rows = _rows(stmt)
    out: dict = {}
    for mon, (_lo, hi) in zip(w.months, w.bounds, strict=True):
        for branch_id, created, due, done in rows:
            c = out.setdefault((branch_id, mon), {"actions_due": 0, "overdue": 0})
            if created < hi and due < hi:
                c["actions_due"] += 1
                c["overdue"] += done is None or done >= hi
    return out


SOURCES = {
    "survey_answers": survey_answers,
    "invitations": invitations,
    "evaluations": evaluations,
    "interactions": interactions,
    "complaints_received": complaints_received,
    "complaints_closed": complaints_closed,
    "mystery_shops": mystery_shops,
    "audits": audits,
    "overdue_actions": overdue_actions,
}

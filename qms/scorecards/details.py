"""The parts of a scorecard beside the KPIs, for every branch or agent of a period at once:
most-missed mystery-shop items and QA criteria, open audit findings and overdue corrective
actions (as of the end of the period), and the complaint summary.

Free text (item labels, names) is stored as written; every renderer escapes it. Item labels
are stored in the installation's default language ("label") and in all ("labels").
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask import current_app, has_app_context

from qms.audits.models import Audit, AuditTemplateVersion, CorrectiveAction, Finding
from qms.auth.models import User
from qms.complaints.models import Complaint
from qms.extensions import db
from qms.mystery.models import ShopAssignment, ShopItemScore
from qms.qa.models import CriterionScore, Evaluation, RubricVersion
from qms.qa.reports import ReportFilters, evaluation_conditions
from qms.scorecards.sources import NOT_COUNTED_COMPLAINTS
from qms.surveys.models import SurveyVersion

WEAKEST = 5
LIST_LIMIT = 20
EMPTY_COMPLAINTS = {"received": 0, "closed": 0, "closed_in_time": 0, "upheld": 0, "open": 0}


def _default_locale() -> str:
    return current_app.config.get("BABEL_DEFAULT_LOCALE", "zh_Hans") if has_app_context() \
        else "zh_Hans"


def _text(labels, fallback: str) -> str:
    if isinstance(labels, str):
        return labels
    if not isinstance(labels, dict) or not labels:
        return fallback
    return labels.get(_default_locale()) or labels.get("en") or next(iter(labels.values())) \
        or fallback


def _labels(labels) -> dict:
    return {k: str(v) for k, v in labels.items()} if isinstance(labels, dict) else {}


def _item_labels(definitions, child_keys=("questions", "criteria")) -> dict[int, dict]:
    """{version id: {item key: labels}} from survey or rubric/checklist definitions."""
    out: dict[int, dict] = {}
    for vid, definition in definitions:
        items = out.setdefault(vid, {})
        for section in (definition or {}).get("sections", []):
            for child in child_keys:
                for item in section.get(child, []) or []:
                    if isinstance(item, dict) and "key" in item:
                        items[item["key"]] = item.get("label")
    return out


def weakest_items(scope: str, start: datetime, end: datetime) -> dict[int, list[dict]]:
    """The most-missed mystery-shop items and QA criteria per entity in the period: two
    GROUP BY queries (N/A answers left out), then labels from the versions met."""
    a, s = ShopAssignment, ShopItemScore
    key = s.branch_id if scope == "branch" else s.agent_id
    shop = db.session.execute(
        sa.select(key, a.version_id, s.item_key, sa.func.count(s.id),
                  sa.func.sum(sa.case((s.missed.is_(True), 1), else_=0)))
        .select_from(s).join(a, a.id == s.assignment_id)
        .where(a.status == "approved", a.approved_at >= start, a.approved_at < end,
               key.is_not(None), s.possible.is_not(None))
        .group_by(key, a.version_id, s.item_key)).all()
    e, c = Evaluation, CriterionScore
    ekey = e.branch_id if scope == "branch" else e.agent_id
    qa = db.session.execute(
        sa.select(ekey, e.rubric_version_id, c.criterion_key, sa.func.count(c.id),
                  sa.func.sum(sa.case((c.failed.is_(True), 1), else_=0)))
        .select_from(c).join(e, e.id == c.evaluation_id)
        .where(*evaluation_conditions(ReportFilters(start=start, end=end)), c.na.is_(False))
        .group_by(ekey, e.rubric_version_id, c.criterion_key)).all()

    survey_labels = _item_labels(db.session.execute(
        sa.select(SurveyVersion.id, SurveyVersion.definition)
        .where(SurveyVersion.id.in_(sorted({r[1] for r in shop}) or [0]))))
    rubric_labels = _item_labels(db.session.execute(
        sa.select(RubricVersion.id, RubricVersion.definition)
        .where(RubricVersion.id.in_(sorted({r[1] for r in qa}) or [0]))))

    acc: dict[int, dict] = {}
    for source, rows, labels in (("mystery", shop, survey_labels), ("qa", qa, rubric_labels)):
        for ent, vid, item, total, missed in rows:
            slot = acc.setdefault(ent, {}).setdefault((source, item), {
                "source": source, "key": item, "label": item, "labels": {}, "missed": 0,
                "total": 0})
            slot["missed"] += int(missed or 0)
            slot["total"] += int(total or 0)
            raw = labels.get(vid, {}).get(item)
            if raw:  # later versions' labels win (rows come in no order: any is fine)
                slot["label"], slot["labels"] = _text(raw, item), _labels(raw)
    out = {}
    for ent, items in acc.items():
        missed = [i for i in items.values() if i["missed"] > 0]
        missed.sort(key=lambda i: (-i["missed"], -i["missed"] / i["total"], i["source"],
                                   i["key"]))
        out[ent] = missed[:WEAKEST]
    return out


def complaint_summary(scope: str, counts: dict, period: str, start: datetime,
                      end: datetime) -> dict[int, dict]:
    """Received, closed, closed in time and upheld in the period (from the KPI counts), and
    open at the end of the period (one GROUP BY query)."""
    key = Complaint.branch_id if scope == "branch" else Complaint.agent_id
    open_at_end = dict(db.session.execute(
        sa.select(key, sa.func.count(Complaint.id))
        .where(key.is_not(None), Complaint.received_at < end,
               sa.or_(Complaint.closed_at.is_(None), Complaint.closed_at >= end),
               Complaint.status.not_in(NOT_COUNTED_COMPLAINTS))
        .group_by(key)).all())
    out: dict[int, dict] = {}
    ids = {ent for (ent, mon) in counts if mon == period} | set(open_at_end)
    for ent in ids:
        c = counts.get((ent, period), {})
        out[ent] = {"received": int(c.get("received", 0)), "closed": int(c.get("closed", 0)),
                    "closed_in_time": int(c.get("within", 0)),
                    "upheld": int(c.get("upheld", 0)), "open": int(open_at_end.get(ent, 0))}
    return out


def audit_lists(start: datetime, end: datetime) -> dict[int, dict]:
    """Per branch: findings open at the end of the period (most severe first) and corrective
    actions overdue then (longest overdue first), LIST_LIMIT of each."""
    findings = db.session.execute(
        sa.select(Finding.id, Finding.branch_id, Finding.severity, Finding.item_key,
                  Finding.created_at, Audit.template_version_id)
        .join(Audit, Audit.id == Finding.audit_id)
        .where(Finding.created_at < end,
               sa.or_(Finding.closed_at.is_(None), Finding.closed_at >= end))
        .order_by(Finding.branch_id, Finding.created_at, Finding.id)).all()
    labels = _item_labels(db.session.execute(
        sa.select(AuditTemplateVersion.id, AuditTemplateVersion.definition)
        .where(AuditTemplateVersion.id.in_(sorted({f[5] for f in findings}) or [0]))))
    ca = CorrectiveAction
    finished = sa.func.coalesce(ca.done_at, ca.closed_at)
    actions = db.session.execute(
        sa.select(ca.id, ca.branch_id, ca.due_at, User.name)
        .outerjoin(User, User.id == ca.owner_id)
        .where(ca.created_at < end, ca.due_at < end,
               sa.or_(finished.is_(None), finished >= end))
        .order_by(ca.branch_id, ca.due_at, ca.id)).all()
    order = {"critical": 0, "major": 1, "minor": 2}
    out: dict[int, dict] = {}
    for fid, bid, severity, item, created, vid in sorted(
            findings, key=lambda f: (f[1], order.get(f[2], 9), f[4], f[0])):
        block = out.setdefault(bid, {"open_findings": [], "overdue_actions": []})
        if len(block["open_findings"]) < LIST_LIMIT:
            raw = labels.get(vid, {}).get(item)
            block["open_findings"].append({"id": fid, "severity": severity, "key": item,
                                           "item": _text(raw, item), "labels": _labels(raw),
                                           "opened": created.date().isoformat()})
    for aid, bid, due, owner in actions:
        block = out.setdefault(bid, {"open_findings": [], "overdue_actions": []})
        if len(block["overdue_actions"]) < LIST_LIMIT:
            block["overdue_actions"].append({"id": aid, "due": due.date().isoformat(),
                                             "owner": owner or ""})
    return out

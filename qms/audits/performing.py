"""Performing an audit: start, save answers, comments and evidence item by item (save and
resume, with the partial score), submit (score, findings, corrective actions, lock).

Scores come from the one shared function (qms.analytics.scoring.score, through
qms.audits.checklists). Evidence rule, decided here: an item marked `evidence_required` needs
at least one file when it FAILS (the finding must be provable); a passed or N/A item may carry
files but need not. Submitting is one unit of work: the audit is taken with a conditional
UPDATE (in_progress -> submitted) as the first write, so two submits of one audit (two tabs,
a double click) create its findings once; the second is refused. A submitted audit is locked.
Functions flush; the caller's unit of work commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from qms.analytics import scoring
from qms.audits import access, actions, checklists, evidence
from qms.audits.access import AuditWorkError
from qms.audits.models import Audit, CorrectiveAction, Finding
from qms.core.db import now_utc
from qms.extensions import db

EDITABLE = ("in_progress",)
LOCKED = ("submitted", "closed", "cancelled")
COMMENT_MAX = 2000

STATUS_LABELS = {"planned": _l("Planned"), "in_progress": _l("In progress"),
                 "submitted": _l("Submitted"), "closed": _l("Closed"),
                 "cancelled": _l("Cancelled")}
SEVERITY_LABELS = {"minor": _l("Minor"), "major": _l("Major"), "critical": _l("Critical")}


@dataclass(frozen=True)
class Progress:
    answered: int
    total: int
    result: scoring.ScoreResult | None   # partial score of what is answered (None if unfit)

    @property
    def percent_done(self) -> int:
        return round(100 * self.answered / self.total) if self.total else 0


def definition_of(audit: Audit) -> dict:
    return audit.template_version.definition


def _require_performer(audit: Audit, user) -> None:
    if not access.can_perform(user, audit):
        raise AuditWorkError(_l("Only the assigned auditor, QA or an administrator performs "
                                "this audit."), status=403)


def start_audit(audit: Audit, user, *, now: datetime | None = None) -> Audit:
    """planned -> in_progress (starting again is harmless)."""
    now = now or now_utc()
    _require_performer(audit, user)
    if audit.status == "in_progress":
        return audit
    if audit.status != "planned":
        raise AuditWorkError(_l("This audit cannot be started: it is %(status)s.",
                                status=STATUS_LABELS.get(audit.status, audit.status)),
                             status=409)
    audit.status = "in_progress"
    audit.started_at = now
    db.session.flush()
    return audit


def progress(audit: Audit, answers: dict | None = None) -> Progress:
    """How far the audit is, with the partial score (unanswered items left out, as N/A)."""
    definition = definition_of(audit)
    answers = (audit.answers or {}) if answers is None else answers
    keys = [i["key"] for _s, i in checklists.walk(definition)]
    answered = sum(1 for k in keys if answers.get(k) not in (None, ""))
    try:
        result = checklists.score_answers(definition, answers, partial=True)
    except ValueError:
        result = None
    return Progress(answered, len(keys), result)


def save_answers(audit: Audit, user, *, answers: dict | None = None,
                 comments: dict | None = None, files: dict | None = None,
                 now: datetime | None = None) -> Progress:
    """Merge the given answers and comments into the audit and store evidence files
    ({item_key: [FileStorage]}). An answer of None or "" clears that item. Any unfit answer,
    over-long comment or refused file refuses the whole save (nothing half-written)."""
    now = now or now_utc()
    _require_performer(audit, user)
    if audit.status not in EDITABLE:
        raise AuditWorkError(_l("This audit is not in progress: it cannot be changed."),
                             status=409)
    definition = definition_of(audit)
    merged = dict(audit.answers or {})
    for key, value in (answers or {}).items():
        if value is None or value == "":
            merged.pop(key, None)
        else:
            merged[key] = value
    problems = checklists.answer_problems(definition, merged, partial=True)
    known = set(checklists.item_meta(definition))
    notes = dict(audit.comments or {})
    for key, text in (comments or {}).items():
        text = (text or "").strip()
        if key not in known:
            problems[key] = str(_l("This item is not on the checklist."))
        elif len(text) > COMMENT_MAX:
            problems[key] = str(_l("At most %(n)d characters.", n=COMMENT_MAX))
        elif text:
            notes[key] = text
        else:
            notes.pop(key, None)
    for key in files or {}:
        if key not in known:
            problems[key] = str(_l("This item is not on the checklist."))
    if problems:
        raise AuditWorkError(problems)
    # JSON columns: assign new dicts so the change is seen
    audit.answers = merged
    audit.comments = notes
    for key, storages in (files or {}).items():
        for storage in storages:
            evidence.store_item_evidence(audit, key, storage, user)
    db.session.flush()
    return progress(audit)


def remove_evidence(audit: Audit, user, attachment_id: int) -> bool:
    _require_performer(audit, user)
    if audit.status not in EDITABLE:
        raise AuditWorkError(_l("This audit is not in progress: it cannot be changed."),
                             status=409)
    return evidence.remove_item_evidence(audit, attachment_id)


def submit_problems(audit: Audit) -> dict[str, str]:
    """Everything that stops a submit, by item key: unanswered items, unfit answers, failed
    items that need evidence and have none."""
    definition = definition_of(audit)
    answers = audit.answers or {}
    problems = checklists.answer_problems(definition, answers, partial=False)
    meta = checklists.item_meta(definition)
    files = evidence.evidence_by_item(audit)
    for key in checklists.failed_items(definition, answers):
        if meta[key]["evidence_required"] and not files.get(key) and key not in problems:
            problems[key] = str(_l("A failed item needs evidence: attach a photo or document."))
    return problems


def _take(audit: Audit, now: datetime) -> bool:
    """in_progress -> submitted with a conditional UPDATE: True for the one submit that won."""
    table = Audit.__table__
    result = db.session.connection().execute(
        sa.update(table).where(table.c.id == audit.id, table.c.status == "in_progress")
        .values(status="submitted", submitted_at=now))
    return result.rowcount == 1


def submit_audit(audit: Audit, user, *, now: datetime | None = None) -> list[Finding]:
    """Score the audit, create a finding (with its corrective action) for every failed item,
    and lock it. Returns the findings."""
    now = now or now_utc()
    _require_performer(audit, user)
    if audit.status != "in_progress":
        raise AuditWorkError(_l("Only an audit in progress can be submitted."), status=409)
    problems = submit_problems(audit)
    if problems:
        raise AuditWorkError(problems)
    definition = definition_of(audit)
    answers = dict(audit.answers or {})
    result = checklists.score_answers(definition, answers)
    if not _take(audit, now):
        raise AuditWorkError(_l("This audit has been submitted already."), status=409)
    db.session.refresh(audit)
    audit.score = None if result.total is None else round(result.total, 2)
    audit.auto_failed = result.auto_failed
    meta = checklists.item_meta(definition)
    comments = audit.comments or {}
    findings = []
    for key in checklists.failed_items(definition, answers):
        finding = Finding(audit_id=audit.id, branch_id=audit.branch_id,
                          section_key=meta[key]["section_key"], item_key=key,
                          severity=meta[key]["severity"], description=comments.get(key),
                          status="open", created_at=now)
        db.session.add(finding)
        db.session.flush()
        actions.open_action(finding, now=now)
        findings.append(finding)
    if not findings:
        audit.status = "closed"  # nothing to follow up
    db.session.flush()
    return findings


def findings_of(audit: Audit) -> list[tuple[Finding, CorrectiveAction | None]]:
    rows = db.session.execute(
        sa.select(Finding, CorrectiveAction)
        .outerjoin(CorrectiveAction, CorrectiveAction.finding_id == Finding.id)
        .where(Finding.audit_id == audit.id).order_by(Finding.id)).all()
    return [(f, a) for f, a in rows]

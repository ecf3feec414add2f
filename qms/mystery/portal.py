"""The shopper's side of mystery shopping: their own assignments, accept / decline, the report
(save and resume, evidence, submit) and a returned report with the reviewer's comments.

Every state change is a conditional UPDATE on the assignment's status (written first, so two
tabs or a reviewer acting at the same moment cannot both win, and SQLite never has to upgrade
a read lock). A shopper only ever reaches assignments whose shopper_id is theirs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from qms.core import audit, uploads
from qms.core.db import now_utc
from qms.extensions import db
from qms.mystery.models import ShopAssignment, ShopReview
from qms.surveys.definition import question_map, questions, read_submission, text
from qms.surveys.models import SurveyVersion
from qms.surveys.question_evidence import UPLOAD_TYPES
from qms.surveys.questions import ALL_TYPES

OWNER_TYPE = "shop_report"   # Attachment.owner_type; owner_id is the assignment id
REPORT_OPEN = ("accepted", "in_progress", "returned")   # the shopper may edit the report
TODO = ("offered", *REPORT_OPEN)
DONE = ("submitted", "approved", "rejected")
DECLINE_REASON_MAX = 500
STATUS_LABELS = {
    "offered": _l("Offered"), "accepted": _l("Accepted, to visit"),
    "declined": _l("Declined"), "in_progress": _l("Report in progress"),
    "submitted": _l("Waiting for review"), "returned": _l("Returned for correction"),
    "approved": _l("Approved"), "rejected": _l("Rejected, does not count"),
    "cancelled": _l("Cancelled"),
}


class PortalError(Exception):
    """A refused action; `message` is for the shopper."""

    def __init__(self, message, fields: dict | None = None, status: int = 409):
        super().__init__(str(message))
        self.message = message
        self.fields = fields or {}
        self.status = status


class InvalidReport(Exception):
    """The report does not pass its checks: `errors` key -> message; nothing was written."""

    def __init__(self, errors: dict, status: int = 400, answers: dict | None = None):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors
        self.answers = answers  # what could be read (the page shows questions by these)
        self.status = status  # 413 when a file was too large


# -- reading ---------------------------------------------------------------------------------

def own_assignment(shopper, assignment_id: int) -> ShopAssignment | None:
    """The shopper's own assignment, or None (someone else's is as missing as a wrong id)."""
    a = db.session.get(ShopAssignment, assignment_id)
    if a is None or shopper is None or a.shopper_id != shopper.id:
        return None
    return a


def my_assignments(shopper) -> dict[str, list[ShopAssignment]]:
    """The shopper's assignments: to do (offered, accepted, in progress, returned), done, and
    declined — by visit window."""
    rows = db.session.scalars(
        sa.select(ShopAssignment).where(ShopAssignment.shopper_id == shopper.id,
                                        ShopAssignment.status != "cancelled")
        .order_by(ShopAssignment.window_start, ShopAssignment.id)).all()
    groups: dict[str, list[ShopAssignment]] = {"todo": [], "done": [], "declined": []}
    for a in rows:
        key = "todo" if a.status in TODO else "declined" if a.status == "declined" else "done"
        groups[key].append(a)
    groups["done"].sort(key=lambda a: a.submitted_at or a.window_start, reverse=True)
    return groups


def version_of(a: ShopAssignment) -> SurveyVersion:
    return db.session.get(SurveyVersion, a.version_id)


def definition_of(a: ShopAssignment) -> dict:
    return version_of(a).definition or {}


@dataclass(frozen=True)
class Scenario:
    key: str
    label: str
    script: str


def scenario_of(a: ShopAssignment, locale: str) -> Scenario | None:
    """The assignment's scenario (label and script in the locale) from the survey version."""
    if not a.scenario:
        return None
    found = next((s for s in definition_of(a).get("scenarios") or []
                  if isinstance(s, dict) and s.get("key") == a.scenario), None)
    if found is None:
        return Scenario(a.scenario, a.scenario, "")
    return Scenario(a.scenario, text(found.get("label"), locale) or a.scenario,
                    text(found.get("script"), locale))


def latest_return(a: ShopAssignment) -> ShopReview | None:
    """The reviewer's return (with comments per question) the shopper is correcting."""
    if a.status != "returned":
        return None
    return db.session.scalar(
        sa.select(ShopReview).where(ShopReview.assignment_id == a.id,
                                    ShopReview.decision == "return")
        .order_by(ShopReview.id.desc()).limit(1))


def can_edit(a: ShopAssignment) -> bool:
    return a.status in REPORT_OPEN


def form_values(definition: dict, answers: dict) -> dict:
    """Stored answers shaped as the question templates pre-fill them (resume)."""
    qmap = question_map(definition)
    values = {}
    for key, value in (answers or {}).items():
        q = qmap.get(key)
        if q is None or q["type"] not in ALL_TYPES:
            continue
        if isinstance(value, str) and q["type"] == "date":
            values[key] = value  # kept as YYYY-MM-DD already
            continue
        try:
            values[key] = ALL_TYPES[q["type"]].form_value(value)
        except (AttributeError, TypeError, ValueError):
            values[key] = value
    return values


# -- accept / decline -------------------------------------------------------------------------

def transition(a: ShopAssignment, allowed: tuple[str, ...], to: str, **values) -> bool:
    """Move the assignment to `to` if it is still in one of `allowed` (a conditional UPDATE,
    the first statement of the unit of work); False when something else got there first."""
    table = ShopAssignment.__table__
    result = db.session.execute(
        sa.update(table).where(table.c.id == a.id, table.c.status.in_(allowed))
        .values(status=to, **values))
    if result.rowcount != 1:
        return False
    db.session.refresh(a)
    return True


def refusal(a: ShopAssignment):
    labels = {
        "approved": _l("This report is approved and locked."),
        "submitted": _l("This report has been submitted and is waiting for review."),
        "rejected": _l("This report was rejected."),
        "declined": _l("You declined this assignment."),
        "cancelled": _l("This assignment was cancelled."),
        "offered": _l("Accept the assignment before filling in the report."),
    }
    return labels.get(a.status, _l("This assignment cannot be changed now."))


def accept_assignment(a: ShopAssignment, shopper, *, now: datetime | None = None) -> None:
    if a.shopper_id != shopper.id:
        raise PortalError(_l("This is not your assignment."), status=404)
    if not transition(a, ("offered",), "accepted"):
        raise PortalError(refusal(a))
    audit.record("mystery_accepted", actor=shopper, subject=f"shop_assignment:{a.id}", now=now)


def decline_assignment(a: ShopAssignment, shopper, reason: str, *,
                       now: datetime | None = None) -> None:
    """Decline an offered assignment; the reason is required (the planner reads it)."""
    if a.shopper_id != shopper.id:
        raise PortalError(_l("This is not your assignment."), status=404)
    reason = " ".join((reason or "").split())
    if not reason:
        raise PortalError(_l("Say why you decline."), {"reason": _l("Say why you decline.")},
                          status=400)
    if len(reason) > DECLINE_REASON_MAX:
        msg = _l("At most %(n)d characters.", n=DECLINE_REASON_MAX)
        raise PortalError(msg, {"reason": msg}, status=400)
    extra = {"decline_reason": reason} if "decline_reason" in ShopAssignment.__table__.c else {}
    if not transition(a, ("offered",), "declined", **extra):
        raise PortalError(refusal(a))
    audit.record("mystery_declined", actor=shopper, subject=f"shop_assignment:{a.id}",
                 details={"reason": reason}, now=now)


# -- the report ---------------------------------------------------------------------------------

def _jsonable(value):
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


@dataclass
class _Read:
    answers: dict = field(default_factory=dict)
    errors: dict = field(default_factory=dict)


NA = "na"   # a scored question answered "not applicable" (where na_allowed)


def read_report(a: ShopAssignment, definition: dict, form: dict[str, list[str]], *,
                final: bool) -> _Read:
    """Parse the form against the version with the survey engine (N/A where allowed, visit
    times in order); evidence answers must name this report's own files."""
    sub = read_submission(definition, form, final=final)
    out = _Read(answers={k: _jsonable(v) for k, v in sub.answers.items()},
                errors=dict(sub.errors))
    mine = {att.id for att in files_of(a)}
    for key in upload_keys(definition):
        ids = out.answers.get(key)
        if ids is not None and any(i not in mine for i in ids):
            out.errors[key] = _l("This file is not part of your report.")
            out.answers.pop(key, None)
    if final:
        out.errors.update(missing_evidence(definition, out.answers))
    return out


def _visit_times(a: ShopAssignment, definition: dict, answers: dict) -> dict:
    """visit_started_at / visit_ended_at (UTC) from the version's visit-time questions, which
    hold the branch's local time as the shopper typed it."""
    found = {}
    zone = ZoneInfo(a.branch.timezone or "Asia/Shanghai")
    for _s, q in questions(definition):
        column = {"visit_start": "visit_started_at", "visit_end": "visit_ended_at"}.get(q["type"])
        value = answers.get(q["key"])
        if column and isinstance(value, str) and column not in found:
            try:
                found[column] = datetime.fromisoformat(value).replace(tzinfo=zone).astimezone(UTC)
            except ValueError:
                continue
    return found


def save_report(a: ShopAssignment, shopper, form: dict[str, list[str]], *,
                now: datetime | None = None) -> None:
    """Keep what the shopper has filled in so far (replacing the earlier save). Invalid values
    are refused and then nothing is written. An accepted report becomes in progress; a
    returned one stays returned (the reviewer's comments stay in view)."""
    if a.shopper_id != shopper.id:
        raise PortalError(_l("This is not your assignment."), status=404)
    if not can_edit(a):
        raise PortalError(refusal(a))
    definition = definition_of(a)
    read = read_report(a, definition, form, final=False)
    if read.errors:
        raise InvalidReport(read.errors, answers=read.answers)
    to = "returned" if a.status == "returned" else "in_progress"
    if not transition(a, (a.status,), to, answers=read.answers,
                       **_visit_times(a, definition, read.answers)):
        raise PortalError(refusal(a))


def submit_report(a: ShopAssignment, shopper, form: dict[str, list[str]], *,
                  now: datetime | None = None) -> None:
    """Submit the report for review: every answer checked against the survey version,
    required evidence present, scored with the shared scoring rules. One unit of work."""
    from qms.mystery import scoring

    if a.shopper_id != shopper.id:
        raise PortalError(_l("This is not your assignment."), status=404)
    if not can_edit(a):
        raise PortalError(refusal(a))
    now = now or now_utc()
    definition = definition_of(a)
    read = read_report(a, definition, form, final=True)
    if read.errors:
        raise InvalidReport(read.errors, answers=read.answers)
    result = scoring.score_report(definition, read.answers)
    if not transition(a, REPORT_OPEN, "submitted", answers=read.answers, submitted_at=now,
                       score=result.total, auto_failed=bool(result.auto_failed),
                       **_visit_times(a, definition, read.answers)):
        raise PortalError(refusal(a))
    audit.record("mystery_submitted", actor=shopper, subject=f"shop_assignment:{a.id}", now=now)


def add_files(a: ShopAssignment, shopper, files: dict[str, list]) -> dict[str, list[int]]:
    """Store evidence sent with the report form (question key -> uploads), before the answers
    are read: a photo taken on a phone is kept even when another answer needs correcting.
    Every file is checked first; one refused file stores none. Returns key -> new ids."""
    if a.shopper_id != shopper.id:
        raise PortalError(_l("This is not your assignment."), status=404)
    if not can_edit(a):
        raise PortalError(refusal(a))
    return _store_files(a, shopper, definition_of(a), files)




# -- evidence ---------------------------------------------------------------------------------
#
# Photos, receipts and PDFs go through qms.core.uploads: the type is read from the content,
# the size is capped, the file is stored under its SHA-256 and the uploader's file name is only
# a sanitised display name. An evidence question's answer is the list of attachment ids.



def upload_keys(definition: dict) -> list[str]:
    return [q["key"] for _s, q in questions(definition) if q.get("type") in UPLOAD_TYPES]


def missing_evidence(definition: dict, answers: dict) -> dict:
    """Scored items that require evidence ("evidence": "<upload question key>") and were
    answered, whose evidence question has no file."""
    errors = {}
    keys = set(upload_keys(definition))
    for _s, q in questions(definition):
        needs = q.get("evidence")
        if isinstance(needs, str) and needs in keys and q["key"] in answers \
                and not answers.get(needs):
            errors[needs] = _l("Attach the evidence this question asks for.")
    return errors


def files_of(a: ShopAssignment) -> list[uploads.Attachment]:
    return uploads.attachments_of(OWNER_TYPE, a.id)


def file_of(a: ShopAssignment, attachment_id: int) -> uploads.Attachment | None:
    att = db.session.get(uploads.Attachment, attachment_id)
    if att is None or att.owner_type != OWNER_TYPE or att.owner_id != a.id:
        return None
    return att


def _store_files(a: ShopAssignment, shopper, definition: dict,
                 files: dict[str, list]) -> dict[str, list[int]]:
    qmap = question_map(definition)
    checked: dict[str, list[uploads.CheckedUpload]] = {}
    errors: dict = {}
    status = 400
    for key, items in files.items():
        items = [f for f in items if f is not None and getattr(f, "filename", None)]
        if not items:
            continue
        q = qmap.get(key)
        if q is None or q.get("type") not in UPLOAD_TYPES:
            errors[key] = _l("This question is not part of the survey.")
            continue
        try:
            checked[key] = [uploads.read_upload(f) for f in items]
        except uploads.UploadError as exc:
            errors[key] = exc.message
            status = max(status, exc.status)
            continue
        accept = getattr(ALL_TYPES[q["type"]], "accept", ())
        if any(c.mime not in accept for c in checked[key]):
            errors[key] = (_l("Send a JPEG or PNG picture.") if "application/pdf" not in accept
                           else _l("Send a JPEG or PNG picture or a PDF document."))
    if errors:
        raise InvalidReport(errors, status)
    stored: dict[str, list[int]] = {}
    for key, items in checked.items():
        stored[key] = [uploads.save_upload(c, OWNER_TYPE, a.id, actor=shopper).id for c in items]
    return stored

"""Evidence question types of mystery-shop surveys: photo and receipt uploads, visit start and
end time, wait time, the name of the staff member, a call reference.

Each is one entry of the question-type registry (qms.surveys.questions.EVIDENCE, part of
ALL_TYPES; mystery-shop surveys only) and is rendered by the shopper portal's report template
(templates/mystery/shopper_report_fields.html). Values are JSON-friendly, as a shopper's
report stores them (ShopAssignment.answers):

    photo, receipt      [attachment id, ...] (sorted, unique); the shopper portal uploads the
                        file and sends the ids back as q_<key> fields. The type checks the
                        shape only; that the ids belong to the report is the portal's check
                        (see attachment_ids()).
    visit_start/_end    "YYYY-MM-DDTHH:MM", local time as a datetime-local input sends it
    wait_time           whole minutes 0..MAX_WAIT
    staff_name          text, at most 100 characters
    call_reference      letters, digits and - _ / # . only, at most 64 characters
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime

from flask_babel import lazy_gettext as _l

from qms.surveys.question_base import InvalidAnswer, QuestionType, _ascii_digits, _is_int, _one

MAX_FILES = 10
DEFAULT_FILES = 5
MAX_WAIT = 600
LOCAL_DT_RE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}", re.ASCII)
CALL_REF_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_/#.\-]{0,63}", re.ASCII)
EVIDENCE_TYPES = ("photo", "receipt", "visit_start", "visit_end", "wait_time", "staff_name",
                  "call_reference")
UPLOAD_TYPES = ("photo", "receipt")


class _Upload(QuestionType):
    """Attachment ids of files the portal stored for this report."""

    settings = ("files",)
    accept = ("image/jpeg", "image/png")

    def check(self, q):
        n = q.get("max_files", DEFAULT_FILES)
        if not _is_int(n) or not 1 <= n <= MAX_FILES:
            return [f"max_files must be 1..{MAX_FILES}"]
        return []

    def parse(self, q, raw):
        values = [_ascii_digits(v).strip() for v in raw if v is not None and v.strip()]
        if not values:
            return None
        if any(not re.fullmatch(r"\d{1,12}", v, re.ASCII) for v in values):
            raise InvalidAnswer(_l("This upload is not part of the report."))
        ids = sorted({int(v) for v in values})
        limit = q.get("max_files", DEFAULT_FILES)
        if len(ids) > limit:
            raise InvalidAnswer(_l("At most %(n)d files.", n=limit))
        return ids

    def to_rows(self, q, value):
        return [{"num_value": float(v)} for v in value]

    def from_rows(self, q, rows):
        return sorted(int(r.num_value) for r in rows) or None


class _Receipt(_Upload):
    accept = ("image/jpeg", "image/png", "application/pdf")


class _VisitTime(QuestionType):
    """A local date and time, as <input type="datetime-local"> sends it."""

    def parse(self, q, raw):
        s = _ascii_digits(_one(raw))
        if s == "":
            return None
        s = s.replace(" ", "T")[:16]
        try:
            if not LOCAL_DT_RE.fullmatch(s):
                raise ValueError(s)
            moment = datetime.fromisoformat(s)
        except ValueError:
            raise InvalidAnswer(_l("Enter a date and time as YYYY-MM-DD HH:MM.")) from None
        if not 2000 <= moment.year <= 2100:
            raise InvalidAnswer(_l("Enter a real date."))
        return moment.strftime("%Y-%m-%dT%H:%M")

    def to_rows(self, q, value):
        return [{"text_value": value}]

    def from_rows(self, q, rows):
        return rows[0].text_value if rows else None


class _WaitTime(QuestionType):
    def parse(self, q, raw):
        s = _ascii_digits(_one(raw))
        if s == "":
            return None
        if not re.fullmatch(r"\d{1,4}", s, re.ASCII) or int(s) > MAX_WAIT:
            raise InvalidAnswer(_l("Enter the minutes waited, from 0 to %(n)d.", n=MAX_WAIT))
        return int(s)


class _StaffName(QuestionType):
    limit = 100

    def parse(self, q, raw):
        s = _one(raw)
        if s == "":
            return None
        if len(s) > self.limit:
            raise InvalidAnswer(_l("At most %(n)d characters.", n=self.limit))
        if any(ord(c) < 32 for c in s):
            raise InvalidAnswer(_l("The text contains characters that are not allowed."))
        return s

    def to_rows(self, q, value):
        return [{"text_value": value}]

    def from_rows(self, q, rows):
        return rows[0].text_value if rows else None


class _CallReference(_StaffName):
    limit = 64

    def parse(self, q, raw):
        s = super().parse(q, raw)
        if s is not None and not CALL_REF_RE.fullmatch(s):
            raise InvalidAnswer(_l("A call reference has letters, digits and - _ / # . only."))
        return s


def evidence_types() -> tuple[QuestionType, ...]:
    return (
        _Upload("photo", _l("Photo upload")),
        _Receipt("receipt", _l("Receipt upload")),
        _VisitTime("visit_start", _l("Visit start time")),
        _VisitTime("visit_end", _l("Visit end time")),
        _WaitTime("wait_time", _l("Wait time (minutes)"), numeric=True),
        _StaffName("staff_name", _l("Name of staff served by")),
        _CallReference("call_reference", _l("Call reference")),
    )


def attachment_ids(definition: Mapping, answers: Mapping | None) -> set[int]:
    """Every attachment id the upload questions of a report refer to (for the portal's check
    that they belong to the report)."""
    out: set[int] = set()
    for section in definition.get("sections", []):
        for q in section.get("questions", []):
            value = (answers or {}).get(q.get("key"))
            if q.get("type") in UPLOAD_TYPES and isinstance(value, list):
                out.update(v for v in value if _is_int(v))
    return out


def check_visit_times(definition: Mapping, answers: Mapping) -> dict[str, object]:
    """An end before the start is a mistake: {end question key: message}."""
    starts = [answers[q["key"]] for _s, q in _typed(definition, "visit_start")
              if isinstance(answers.get(q["key"]), str)]
    errors = {}
    for _s, q in _typed(definition, "visit_end"):
        end = answers.get(q["key"])
        if isinstance(end, str) and starts and end < min(starts):
            errors[q["key"]] = _l("The visit cannot end before it started.")
    return errors


def _typed(definition: Mapping, kind: str):
    for section in definition.get("sections", []):
        for q in section.get("questions", []):
            if q.get("type") == kind:
                yield section, q

"""Complaint intake: checked input, then the complaint, its reference, deadline and first event.

For the staff form, the public form, the API and survey follow-ups alike. One call is one unit
of work: every field is checked (and every attachment read and checked) before anything is
written, so bad input raises IntakeError with all its field errors and stores nothing. The
reference (qms.complaints.references) is the intake's first write: on SQLite the write lock is
taken there, so concurrent intakes queue on the busy timeout instead of failing.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from qms.auth.models import User
from qms.complaints import codes, history
from qms.complaints.duplicates import duplicates_of, find_duplicates
from qms.complaints.models import Complaint
from qms.complaints.references import (
    REFERENCE_SETTINGS,
    assign_status_token,
    find_by_status_token,
    next_reference,
    status_token_for,
    status_url,
)
from qms.complaints.states import Status
from qms.complaints.survey_intake import follow_up_data
from qms.config import LOCALES
from qms.core import uploads
from qms.core.db import now_utc
from qms.core.permissions import branch_scope
from qms.extensions import db
from qms.org.models import SEGMENTS, Agent, Branch, Customer

# The duplicate search, the reference and the status link live in their own modules; they are
# re-exported so that `intake.status_url` and the like keep working.
__all__ = [
    "CLOCK_SKEW", "INTAKE_ROLES", "LIMITS", "PRIORITY_LABELS", "SETTINGS", "SEVERITIES",
    "SEVERITY_LABELS", "SOURCES", "SOURCE_LABELS", "VIA", "AlreadyRaised", "IntakeError",
    "PossibleDuplicate", "add_attachment", "assign_status_token", "create_complaint",
    "duplicates_of", "find_by_status_token", "find_duplicates", "from_follow_up",
    "next_reference", "setting", "status_token_for", "status_url",
]

VIA = ("staff", "public", "api", "survey")
SEVERITIES = ("low", "medium", "high", "critical")
SEVERITY_LABELS = {"low": _l("Low"), "medium": _l("Medium"), "high": _l("High"),
                   "critical": _l("Critical")}
SOURCES = ("direct", "regulator")
SOURCE_LABELS = {"direct": _l("Directly from the customer"),
                 "regulator": _l("Transferred by the regulator")}
PRIORITY_LABELS = {"normal": _l("Normal"), "high": _l("High")}
# Who may enter complaints for a branch (the branch must be in the actor's scope through these).
INTAKE_ROLES = frozenset({"admin", "complaints"})

# Configuration keys with their defaults (the lead adds them to qms/config.py).
SETTINGS: dict[str, object] = {
    "COMPLAINT_SLA_POLICY": "CN_NFRA_2020",
    **REFERENCE_SETTINGS,  # prefix and zone of CMP-2026-...
    # How far back a receipt time may lie (a letter found late in a drawer is still a receipt).
    "COMPLAINT_MAX_BACKDATE_DAYS": 366,
    "COMPLAINT_MAX_ATTACHMENTS": 10,
}
# A receipt time this little ahead of our clock is a client's clock drifting: it is taken as now.
CLOCK_SKEW = timedelta(minutes=5)

LIMITS = {"complainant_name": 200, "complainant_email": 254, "complainant_phone": 32,
          "representative": 200, "product": 100, "description": 10_000,
          "requested_outcome": 5_000, "regulator_ref": 64, "customer_ref": 64}
_PHONE = re.compile(r"^\+?[0-9 ()\-]{5,32}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def setting(name: str):
    return current_app.config.get(name, SETTINGS[name])


class IntakeError(Exception):
    """Bad input: `fields` maps each input name to what is wrong with it; nothing was stored."""

    def __init__(self, fields: dict[str, str]):
        super().__init__(fields)
        self.fields = fields


class PossibleDuplicate(Exception):
    """The customer has an open complaint of the same category: staff confirm before adding."""

    def __init__(self, duplicates: list[Complaint]):
        super().__init__([c.reference for c in duplicates])
        self.duplicates = duplicates


class AlreadyRaised(Exception):
    """This survey follow-up became a complaint before: `complaint` is that one."""

    def __init__(self, complaint: Complaint):
        super().__init__(complaint.reference)
        self.complaint = complaint


@dataclass
class _Checked:
    values: dict
    customer: Customer | None
    branch: Branch | None
    agent: Agent | None
    uploads: list[uploads.CheckedUpload]


# -- the service --------------------------------------------------------------------------------

def create_complaint(data: dict, *, actor=None, actor_label: str | None = None,
                     via: str = "staff", now: datetime | None = None,
                     confirm_duplicate: bool = False) -> tuple[Complaint, str | None]:
    """Check `data`, then add the complaint, its reference, deadline and first event.

    `data` holds plain values (see LIMITS and `_check` for the names); `attachments` is a list of
    file storages. Returns the complaint and its private status token (the link to give the
    complainant). Raises IntakeError (field errors), PossibleDuplicate (staff intake only, unless
    `confirm_duplicate`); in both cases nothing was written. The caller commits.
    """
    if via not in VIA:
        raise ValueError(f"unknown intake channel {via!r}")
    now = now or now_utc()
    user = actor if isinstance(actor, User) else None
    checked = _check(data or {}, actor=actor, via=via, now=now)
    v = checked.values
    if via == "staff" and not confirm_duplicate:
        dups = find_duplicates(customer_id=v["customer_id"], email=v["complainant_email"],
                               phone=v["complainant_phone"], business_code=v["business_code"],
                               cause_code=v["cause_code"])
        if dups:
            raise PossibleDuplicate(dups)

    reference = next_reference(now)  # the first write of the transaction (see the docstring)
    complaint = Complaint(reference=reference, status=str(Status.RECEIVED),
                          policy_code=setting("COMPLAINT_SLA_POLICY"), intake_channel=via,
                          clock_started_at=v["received_at"], created_at=now,
                          owner_id=user.id if user is not None and via in ("staff", "survey")
                          else None, **v)
    complaint.branch = checked.branch
    db.session.add(complaint)
    db.session.flush()
    token = assign_status_token(complaint)
    from qms.complaints import workflow  # late: the workflow's letters import this module

    workflow.refresh_deadline(complaint, now)
    label = actor_label or _actor_label(actor, via)
    history.record(complaint, "received", actor=user, actor_label=label,
                   to_status=str(Status.RECEIVED), changes=_initial_changes(complaint),
                   reason=v["regulator_ref"] and f"{complaint.source}: {v['regulator_ref']}",
                   now=now)
    for item in checked.uploads:
        uploads.save_upload(item, "complaint", complaint.id, actor=user, actor_label=label)
    db.session.flush()
    return complaint, token


def from_follow_up(follow_up, actor, *, now: datetime | None = None) -> tuple[Complaint, str]:
    """One click on a survey follow-up: the response's customer, branch, agent and comments
    become a complaint linked to the follow-up (and so to the response). A second click gets
    AlreadyRaised with the first complaint; the unique follow_up_id refuses a race."""
    existing = db.session.scalar(sa.select(Complaint).where(
        Complaint.follow_up_id == follow_up.id))
    if existing is not None:
        raise AlreadyRaised(existing)
    return create_complaint(follow_up_data(follow_up), actor=actor, via="survey", now=now)


# -- checks -------------------------------------------------------------------------------------

def _text(data: dict, name: str, errors: dict, *, required: bool = False) -> str | None:
    raw = data.get(name)
    if raw is not None and not isinstance(raw, str):
        errors[name] = _("Must be text.")
        return None
    value = (raw or "").strip() or None
    if value is None:
        if required:
            errors[name] = _("This field is required.")
        return None
    limit = LIMITS.get(name)
    if limit is not None and len(value) > limit:
        errors[name] = _("At most %(n)d characters.", n=limit)
    return value


def _check(data: dict, *, actor, via: str, now: datetime) -> _Checked:
    errors: dict[str, str] = {}
    v: dict = {}
    customer = _check_customer(data, errors, via)
    branch = _check_branch(data, errors, actor=actor, via=via)
    agent = _check_agent(data, errors, branch)

    name = _text(data, "complainant_name", errors, required=customer is None)
    email = _text(data, "complainant_email", errors)
    phone = _text(data, "complainant_phone", errors)
    if email and "complainant_email" not in errors and not _EMAIL.match(email):
        errors["complainant_email"] = _("Enter a valid e-mail address.")
    if phone and "complainant_phone" not in errors and not _PHONE.match(phone):
        errors["complainant_phone"] = _("Enter a valid phone number.")
    if customer is not None:
        name, email, phone = (name or customer.name, email or customer.email,
                              phone or customer.phone)
    if via in ("public", "api") and not email and not phone \
            and "complainant_email" not in errors:
        errors["complainant_email"] = _("Give an e-mail address or a phone number so that we "
                                        "can send you our answer.")
    locale = data.get("complainant_locale") or (customer.locale if customer else None) \
        or current_app.config["BABEL_DEFAULT_LOCALE"]
    if locale not in LOCALES:
        errors["complainant_locale"] = _("Choose a language from the list.")
    segment = customer.segment if customer is not None else (data.get("segment") or "standard")
    if via == "public":
        segment = "standard"  # a member of the public cannot claim a segment
    if segment not in SEGMENTS:
        errors["segment"] = _("Choose a segment from the list.")

    severity = data.get("severity") or "medium"
    if severity not in SEVERITIES:
        errors["severity"] = _("Choose a severity from the list.")
    classified = _check_codes(data, errors, required=via in ("staff", "api"))
    source, regulator_ref = _check_source(data, errors, via)
    received_at = _check_received_at(data.get("received_at"), errors, branch=branch, now=now)
    v.update(
        customer_id=customer.id if customer is not None else None,
        complainant_name=name, complainant_email=email, complainant_phone=phone,
        complainant_locale=locale, segment=segment,
        representative=_text(data, "representative", errors),
        agent_id=agent.id if agent is not None else None,
        product=_text(data, "product", errors),
        severity=severity,
        priority="high" if segment == "vip" or severity == "critical" else "normal",
        description=_text(data, "description", errors, required=True),
        requested_outcome=_text(data, "requested_outcome", errors),
        source=source, regulator_ref=regulator_ref, received_at=received_at,
        follow_up_id=data.get("follow_up_id") if via == "survey" else None,
        **classified,
    )
    files = _check_files(data.get("attachments") or [], errors)
    if errors:
        raise IntakeError(errors)
    return _Checked(v, customer, branch, agent, files)


def _check_customer(data: dict, errors: dict, via: str) -> Customer | None:
    if via == "public":
        return None  # identity from a public form is what the person says, not a record
    ref = _text(data, "customer_ref", errors)
    if ref is None or "customer_ref" in errors:
        return None
    customer = db.session.scalar(sa.select(Customer).where(Customer.ref == ref))
    if customer is None:
        errors["customer_ref"] = _("No customer has this reference.")
    return customer


def _check_branch(data: dict, errors: dict, *, actor, via: str) -> Branch | None:
    code = _text(data, "branch_code", errors, required=via in ("staff", "api"))
    if code is None or "branch_code" in errors:
        return None
    branch = db.session.scalar(sa.select(Branch).where(Branch.code == code))
    if branch is None or not branch.active:
        errors["branch_code"] = _("No open branch has this code.")
        return None
    if via in ("staff", "api") and actor is not None:
        scope = branch_scope(actor, INTAKE_ROLES)
        if scope is not None and branch.id not in scope:
            # the same words as for an unknown code: the scope does not reveal other branches
            errors["branch_code"] = _("No open branch has this code.")
            return None
    return branch


def _check_agent(data: dict, errors: dict, branch: Branch | None) -> Agent | None:
    code = _text(data, "agent_code", errors)
    if code is None or "agent_code" in errors:
        return None
    agent = db.session.scalar(sa.select(Agent).where(Agent.code == code))
    if agent is None or (branch is not None and agent.branch_id != branch.id):
        errors["agent_code"] = _("No agent of this branch has this code.")
        return None
    return agent


def _check_codes(data: dict, errors: dict, *, required: bool) -> dict:
    out = {}
    for name, axis, must in (("channel_code", "A", required), ("business_code", "B", required),
                             ("cause_code", "C", False)):
        code = _text(data, name, errors, required=must)
        if code is not None and name not in errors and not codes.is_active_code(axis, code):
            errors[name] = _("Choose a code from the list.")
        out[name] = code
    return out


def _check_source(data: dict, errors: dict, via: str) -> tuple[str, str | None]:
    source = data.get("source") or "direct"
    if via in ("public", "survey"):
        source = "direct"
    if source not in SOURCES:
        errors["source"] = _("Choose a source from the list.")
    ref = _text(data, "regulator_ref", errors)
    if source == "regulator" and not ref and "regulator_ref" not in errors:
        errors["regulator_ref"] = _("A complaint transferred by the regulator needs the "
                                    "regulator's reference.")
    return source, ref if source == "regulator" else None


def _check_received_at(raw, errors: dict, *, branch: Branch | None,
                       now: datetime) -> datetime | None:
    """The moment of receipt: now when not given. A time without a zone is read in the
    branch's zone (the staff form's local time); never in the future, not too far back."""
    if raw in (None, ""):
        return now
    moment = raw
    if isinstance(raw, str):
        try:
            moment = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
        except ValueError:
            errors["received_at"] = _("Give a date and time such as 2026-03-01T09:30+08:00.")
            return None
    if not isinstance(moment, datetime):
        errors["received_at"] = _("Give a date and time such as 2026-03-01T09:30+08:00.")
        return None
    if moment.tzinfo is None:
        tz = (branch.timezone if branch is not None and branch.timezone
              else current_app.config["BABEL_DEFAULT_TIMEZONE"])
        moment = moment.replace(tzinfo=ZoneInfo(tz))
    moment = moment.astimezone(UTC)
    if moment > now + CLOCK_SKEW:
        errors["received_at"] = _("The time of receipt cannot be in the future.")
        return None
    if moment > now:
        return now
    if moment < now - timedelta(days=int(setting("COMPLAINT_MAX_BACKDATE_DAYS"))):
        errors["received_at"] = _("The time of receipt is more than %(n)d days ago.",
                                  n=int(setting("COMPLAINT_MAX_BACKDATE_DAYS")))
        return None
    return moment


def _check_files(files, errors: dict) -> list[uploads.CheckedUpload]:
    files = [f for f in files if f is not None and getattr(f, "filename", "x") != ""]
    limit = int(setting("COMPLAINT_MAX_ATTACHMENTS"))
    if len(files) > limit:
        errors["attachments"] = _("At most %(n)d attachments.", n=limit)
        return []
    checked, problems = [], []
    for f in files:
        try:
            checked.append(uploads.read_upload(f))
        except uploads.UploadError as exc:
            name = (getattr(f, "filename", None) or "").replace("\\", "/").rsplit("/", 1)[-1]
            problems.append(f"{name[:60]}: {exc.message}" if name else str(exc.message))
    if problems:
        errors["attachments"] = " ".join(problems)
    return checked


# -- small helpers ------------------------------------------------------------------------------

def _actor_label(actor, via: str) -> str | None:
    if via == "public":
        return "public form"
    if via == "api":
        return f"api:{getattr(actor, 'name', '?')}"
    return getattr(actor, "name", None)


_RECORDED = ("reference", "branch_id", "agent_id", "customer_id", "channel_code",
             "business_code", "cause_code", "severity", "priority", "segment", "source",
             "regulator_ref", "received_at", "due_on", "policy_code", "intake_channel",
             "follow_up_id")


def _initial_changes(complaint: Complaint) -> dict:
    return {name: [None, getattr(complaint, name)] for name in _RECORDED
            if getattr(complaint, name) is not None}


def add_attachment(complaint: Complaint, file_storage, *, actor,
                   now: datetime | None = None) -> uploads.Attachment:
    """A document that arrives after intake: checked, stored, and recorded in the history.
    Raises uploads.UploadError (nothing stored)."""
    checked = uploads.read_upload(file_storage)
    user = actor if isinstance(actor, User) else None
    att = uploads.save_upload(checked, "complaint", complaint.id, actor=user,
                              actor_label=getattr(actor, "name", None))
    history.record(complaint, "attachment_added", actor=user,
                   from_status=complaint.status, to_status=complaint.status,
                   changes={"filename": [None, att.filename]}, now=now)
    return att

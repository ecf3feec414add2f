"""Custom SLA policies: an administrator's own time limits, kept as checked JSON definitions.

The presets live in code (qms.complaints.sla.PRESETS); a custom policy is stored in
sla_policies and used by complaints whose policy_code names it (workflow.policy_for reads it).
A definition is checked by sla.validate_policy_dict before it is saved, so a policy that
would fail to compute a deadline never reaches a complaint.
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from qms.complaints import sla
from qms.complaints.models import Complaint, SlaPolicyRecord
from qms.core import audit
from qms.extensions import db


class PolicyFormError(Exception):
    def __init__(self, fields: dict[str, str]):
        super().__init__(fields)
        self.fields = fields


def list_custom() -> list[SlaPolicyRecord]:
    return list(db.session.scalars(sa.select(SlaPolicyRecord).order_by(SlaPolicyRecord.code)))


def get_custom(policy_id: int) -> SlaPolicyRecord | None:
    return db.session.get(SlaPolicyRecord, policy_id)


def preset_json(code: str) -> str:
    """A preset as editable JSON: the starting point of a custom policy."""
    return json.dumps(sla.policy_to_dict(sla.PRESETS[code]), ensure_ascii=False, indent=2)


def in_use(code: str) -> int:
    return db.session.scalar(sa.select(sa.func.count(Complaint.id))
                             .where(Complaint.policy_code == code)) or 0


def _parse(code: str, name: str, definition_text: str, *, record_id: int | None) -> tuple:
    errors: dict[str, str] = {}
    code = (code or "").strip().upper()
    name = (name or "").strip()
    if not name:
        errors["name"] = str(_l("This field is required."))
    if code in sla.PRESETS:
        errors["code"] = str(_l("This is the code of a preset; choose another."))
    else:
        clash = db.session.scalar(sa.select(SlaPolicyRecord.id).where(
            SlaPolicyRecord.code == code))
        if clash is not None and clash != record_id:
            errors["code"] = str(_l("A custom policy has this code already."))
    try:
        definition = json.loads(definition_text or "")
    except ValueError as exc:
        errors["definition"] = str(_l("Not valid JSON: %(problem)s", problem=str(exc)))
        definition = None
    if isinstance(definition, dict):
        definition = {**definition, "code": code, "name": name}
        problems = sla.validate_policy_dict(definition)
        if problems:
            errors["definition"] = "; ".join(problems)
    elif definition is not None:
        errors["definition"] = str(_l("The definition must be a JSON object."))
    if errors:
        raise PolicyFormError(errors)
    return code, name, definition


def create_policy(*, code: str, name: str, definition_text: str, active: bool = True,
                  actor=None) -> SlaPolicyRecord:
    code, name, definition = _parse(code, name, definition_text, record_id=None)
    record = SlaPolicyRecord(code=code, name=name, definition=definition, active=active)
    db.session.add(record)
    db.session.flush()
    audit.record("sla_policy_created", actor=actor, subject=code)
    return record


def update_policy(record: SlaPolicyRecord, *, name: str, definition_text: str, active: bool,
                  actor=None) -> SlaPolicyRecord:
    """Changes apply to deadlines computed from now on (open complaints' due dates are
    recomputed by their next workflow step); the code stays, complaints refer to it."""
    _code, name, definition = _parse(record.code, name, definition_text, record_id=record.id)
    before = {"name": record.name, "definition": record.definition, "active": record.active}
    record.name, record.definition, record.active = name, definition, active
    db.session.flush()
    audit.record("sla_policy_changed", actor=actor, subject=record.code,
                 details={"before": before})
    return record

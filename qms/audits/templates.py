"""Audit checklist templates: create, save a draft, publish (which freezes a version), JSON
export and import.

A published version never changes: saving a change to a template whose latest version is
published starts version n+1 as a draft; audits keep the version they were created with. An ORM
hook refuses any code path that tries otherwise (as for QA rubrics). Functions only flush; the
caller's unit of work commits.
"""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy import event
from sqlalchemy.orm import Session

from qms.audits import checklists
from qms.audits.models import Audit, AuditTemplate, AuditTemplateVersion
from qms.core.db import now_utc
from qms.core.definitions import ProblemsError
from qms.extensions import db

EXPORT_FORMAT = "qms-audit-checklist"
EXPORT_VERSION = 1


class TemplateError(ProblemsError):
    """A refusal meant for the user; `problems` lists every reason."""


class FrozenTemplateVersion(TemplateError):
    pass


_WATCHED = ("definition", "published_at", "number", "template_id")


@event.listens_for(Session, "before_flush")
def _published_versions_are_immutable(session, _ctx, _instances):
    """A published version, or one audits use, is never changed or deleted. What is stored
    decides, so an expired or detached instance cannot slip an "unpublish, then edit" past it."""
    for obj in list(session.dirty) + list(session.deleted):
        if not isinstance(obj, AuditTemplateVersion) or obj.id is None:
            continue
        state = sa.inspect(obj)
        if obj not in session.deleted and not any(
                getattr(state.attrs, name).history.has_changes() for name in _WATCHED):
            continue
        with session.no_autoflush:
            stored = session.execute(
                sa.select(AuditTemplateVersion.published_at,
                          sa.exists().where(Audit.template_version_id == obj.id))
                .where(AuditTemplateVersion.id == obj.id)).first()
        if stored is not None and (stored[0] is not None or stored[1]):
            raise FrozenTemplateVersion(str(_l(
                "A published checklist version cannot be changed.")))


def revision(definition) -> str:
    """A short fingerprint of a definition, carried by the builder form so two people editing
    one draft cannot overwrite each other unseen."""
    raw = json.dumps(definition, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


# -- reading -------------------------------------------------------------------------------

def get_template(template_id: int) -> AuditTemplate | None:
    return db.session.get(AuditTemplate, template_id)


def latest_version(template: AuditTemplate) -> AuditTemplateVersion:
    return db.session.scalar(
        sa.select(AuditTemplateVersion).where(AuditTemplateVersion.template_id == template.id)
        .order_by(AuditTemplateVersion.number.desc()).limit(1))


def latest_published(template_or_id) -> AuditTemplateVersion | None:
    """The version new audits are created with."""
    tid = getattr(template_or_id, "id", template_or_id)
    return db.session.scalar(
        sa.select(AuditTemplateVersion)
        .where(AuditTemplateVersion.template_id == tid,
               AuditTemplateVersion.published_at.is_not(None))
        .order_by(AuditTemplateVersion.number.desc()).limit(1))


def get_version_number(template: AuditTemplate, number: int) -> AuditTemplateVersion | None:
    return db.session.scalar(sa.select(AuditTemplateVersion).where(
        AuditTemplateVersion.template_id == template.id, AuditTemplateVersion.number == number))


def is_frozen(version: AuditTemplateVersion) -> bool:
    if version.published_at is not None:
        return True
    return bool(db.session.scalar(sa.select(
        sa.exists().where(Audit.template_version_id == version.id))))


@dataclass(frozen=True)
class TemplateRow:
    id: int
    name: str
    latest: int
    has_draft: bool
    published: int | None
    published_at: datetime | None
    archived: bool


def template_rows(*, archived: bool = False, published_only: bool = False) -> list[TemplateRow]:
    stmt = sa.select(AuditTemplate).order_by(AuditTemplate.name, AuditTemplate.id)
    stmt = stmt.where(AuditTemplate.archived_at.is_not(None) if archived
                      else AuditTemplate.archived_at.is_(None))
    templates = list(db.session.scalars(stmt))
    ids = [t.id for t in templates]
    if not ids:
        return []
    latest = dict(db.session.execute(
        sa.select(AuditTemplateVersion.template_id, sa.func.max(AuditTemplateVersion.number))
        .where(AuditTemplateVersion.template_id.in_(ids))
        .group_by(AuditTemplateVersion.template_id)).all())
    published = {tid: (num, at) for tid, num, at in db.session.execute(
        sa.select(AuditTemplateVersion.template_id, AuditTemplateVersion.number,
                  AuditTemplateVersion.published_at)
        .where(AuditTemplateVersion.template_id.in_(ids),
               AuditTemplateVersion.published_at.is_not(None))
        .order_by(AuditTemplateVersion.number))}
    rows = []
    for t in templates:
        num, at = published.get(t.id, (None, None))
        if published_only and num is None:
            continue
        rows.append(TemplateRow(t.id, t.name, latest.get(t.id, 0), num != latest.get(t.id),
                                num, at, t.archived_at is not None))
    return rows


# -- writing -------------------------------------------------------------------------------

def _check_name(name) -> str:
    name = (name or "").strip()
    if not name:
        raise TemplateError(_l("A name is required."))
    if len(name) > 200:
        raise TemplateError(_l("At most %(n)d characters.", n=200))
    return name


def create_template(*, name: str, definition: dict | None = None) -> AuditTemplate:
    """A new template whose version 1 is a draft (of `definition`, or an empty start)."""
    name = _check_name(name)
    if definition is not None and not isinstance(definition, dict):
        raise TemplateError(_l("The checklist must be a JSON object."))
    template = AuditTemplate(name=name)
    db.session.add(template)
    db.session.flush()
    db.session.add(AuditTemplateVersion(
        template=template, number=1,
        definition=copy.deepcopy(definition or checklists.empty_definition())))
    db.session.flush()
    return template


def rename_template(template: AuditTemplate, *, name: str) -> AuditTemplate:
    template.name = _check_name(name)
    db.session.flush()
    return template


def save_draft(template: AuditTemplate, definition: dict, *,
               base: str | None = None) -> AuditTemplateVersion:
    """Store an edited definition. When the latest version is published this starts version
    n+1; the published one stays as it was. `base`: the revision the editor started from."""
    if not isinstance(definition, dict):
        raise TemplateError(_l("The checklist must be a JSON object."))
    if template.archived_at is not None:
        raise TemplateError(_l("This checklist is archived; restore it to change it."))
    current = latest_version(template)
    if base is not None and base != revision(current.definition):
        raise TemplateError(_l("The draft was changed by someone else in the meantime; reload "
                               "it and make your change again."))
    if definition == current.definition:
        return current
    if is_frozen(current):
        current = AuditTemplateVersion(template=template, number=current.number + 1)
        db.session.add(current)
    current.definition = copy.deepcopy(definition)
    db.session.flush()
    return current


def publish_template(template: AuditTemplate, *,
                     now: datetime | None = None) -> AuditTemplateVersion:
    """Freeze the draft (with its optional properties filled in): new audits use it."""
    if template.archived_at is not None:
        raise TemplateError(_l("This checklist is archived; restore it to change it."))
    version = latest_version(template)
    if version.published_at is not None:
        raise TemplateError(_l("There is no draft to publish: this version is published "
                               "already."))
    problems = checklists.check_definition(version.definition)
    if problems:
        raise TemplateError(problems)
    if is_frozen(version):
        version = AuditTemplateVersion(template=template, number=version.number + 1)
        db.session.add(version)
    version.definition = checklists.normalise(version.definition)
    version.published_at = now or now_utc()
    db.session.flush()
    return version


def archive_template(template: AuditTemplate, *, now: datetime | None = None) -> AuditTemplate:
    if template.archived_at is None:
        template.archived_at = now or now_utc()
        db.session.flush()
    return template


def restore_template(template: AuditTemplate) -> AuditTemplate:
    template.archived_at = None
    db.session.flush()
    return template


# -- JSON export and import ----------------------------------------------------------------

def export_json(template: AuditTemplate, version: AuditTemplateVersion | None = None) -> str:
    """A version (the latest by default) as a JSON document import_json() reads back."""
    version = version or latest_version(template)
    return json.dumps({"format": EXPORT_FORMAT, "format_version": EXPORT_VERSION,
                       "name": template.name, "version": version.number,
                       "definition": version.definition},
                      ensure_ascii=False, indent=2, sort_keys=True)


def import_json(raw: str | bytes, *, name: str | None = None) -> AuditTemplate:
    """A new template whose draft version 1 is the exported definition; refuses a document
    that is not an export or whose checklist could not be published (every problem listed)."""
    try:
        doc = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise TemplateError(_l("This is not JSON: %(error)s", error=str(exc))) from None
    if not isinstance(doc, dict) or doc.get("format") != EXPORT_FORMAT:
        raise TemplateError(_l("This is not an exported audit checklist."))
    if doc.get("format_version") != EXPORT_VERSION:
        raise TemplateError(_l("This export's format version is not supported."))
    definition = doc.get("definition")
    problems = checklists.check_definition(definition)
    if problems:
        raise TemplateError(problems)
    return create_template(name=name or str(doc.get("name") or ""), definition=definition)

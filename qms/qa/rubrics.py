"""QA rubrics: create, save a draft, publish (which freezes a version), copy, archive.

A published version never changes, and neither does any version an evaluation was scored
against: saving a change to one starts version n+1 as a draft, and evaluations keep the version
they were scored with (DOMAIN.md, "Rubric versions"). An ORM hook refuses any code path that
tries otherwise. Functions only flush; the caller's unit of work commits.
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

from qms.core.db import now_utc
from qms.core.definitions import ProblemsError
from qms.extensions import db
from qms.qa.models import CHANNELS, Evaluation, Rubric, RubricVersion
from qms.qa.rubric_format import check_definition


class RubricError(ProblemsError):
    """A refusal meant for the user; `problems` lists every reason."""


class FrozenRubricVersion(RubricError):
    pass


_WATCHED = ("definition", "published_at", "number", "rubric_id")


@event.listens_for(Session, "before_flush")
def _scored_versions_are_immutable(session, _ctx, _instances):
    """Last line of defence: a published version, or one with evaluations, is never changed or
    deleted. What is stored decides (read from the database), so an expired or detached
    instance cannot slip an "unpublish, then edit" past it."""
    for obj in list(session.dirty) + list(session.deleted):
        if not isinstance(obj, RubricVersion) or obj.id is None:
            continue
        state = sa.inspect(obj)
        if obj not in session.deleted and not any(
                getattr(state.attrs, name).history.has_changes() for name in _WATCHED):
            continue
        with session.no_autoflush:
            stored = session.execute(
                sa.select(RubricVersion.published_at,
                          sa.exists().where(Evaluation.rubric_version_id == obj.id))
                .where(RubricVersion.id == obj.id)).first()
        if stored is not None and (stored[0] is not None or stored[1]):
            raise FrozenRubricVersion(str(_l(
                "A published rubric version, or one with evaluations, cannot be changed.")))


def revision(definition) -> str:
    """A short fingerprint of a definition: forms carry it, so that two people editing the same
    draft cannot overwrite each other's work unseen."""
    raw = json.dumps(definition, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def new_definition() -> dict:
    """A draft to start from: one empty section carrying the whole weight."""
    return {"allow_above_100": False, "sections": [
        {"key": "s1", "title": {"zh_Hans": "", "zh_Hant": "", "en": ""}, "weight": 100,
         "bonus": False, "criteria": []}]}


# -- reading -------------------------------------------------------------------------------

def get_rubric(rubric_id: int) -> Rubric | None:
    return db.session.get(Rubric, rubric_id)


def latest_version(rubric: Rubric) -> RubricVersion:
    return db.session.scalar(sa.select(RubricVersion).where(RubricVersion.rubric_id == rubric.id)
                             .order_by(RubricVersion.number.desc()).limit(1))


def latest_published(rubric: Rubric) -> RubricVersion | None:
    """The version new evaluations are scored with."""
    return db.session.scalar(
        sa.select(RubricVersion)
        .where(RubricVersion.rubric_id == rubric.id, RubricVersion.published_at.is_not(None))
        .order_by(RubricVersion.number.desc()).limit(1))


def get_version_number(rubric: Rubric, number: int) -> RubricVersion | None:
    return db.session.scalar(sa.select(RubricVersion).where(
        RubricVersion.rubric_id == rubric.id, RubricVersion.number == number))


def evaluation_counts(rubric: Rubric) -> dict[int, int]:
    """Evaluations (any status, calibration included) per version id."""
    return dict(db.session.execute(
        sa.select(Evaluation.rubric_version_id, sa.func.count(Evaluation.id))
        .join(RubricVersion, RubricVersion.id == Evaluation.rubric_version_id)
        .where(RubricVersion.rubric_id == rubric.id)
        .group_by(Evaluation.rubric_version_id)).all())


def is_frozen(version: RubricVersion) -> bool:
    """Published, or scored against: a change must go to a new version."""
    if version.published_at is not None:
        return True
    return bool(db.session.scalar(sa.select(
        sa.exists().where(Evaluation.rubric_version_id == version.id))))


@dataclass(frozen=True)
class RubricRow:
    id: int
    name: str
    channel: str | None
    latest: int
    has_draft: bool
    published: int | None
    published_at: datetime | None
    evaluations: int
    archived: bool


def rubric_rows(*, archived: bool = False, published_only: bool = False) -> list[RubricRow]:
    """The rubric list in three grouped queries, whatever the number of rubrics."""
    stmt = sa.select(Rubric).order_by(Rubric.name, Rubric.id)
    stmt = stmt.where(Rubric.archived_at.is_not(None) if archived
                      else Rubric.archived_at.is_(None))
    rubrics = list(db.session.scalars(stmt))
    ids = [r.id for r in rubrics]
    if not ids:
        return []
    latest = dict(db.session.execute(
        sa.select(RubricVersion.rubric_id, sa.func.max(RubricVersion.number))
        .where(RubricVersion.rubric_id.in_(ids)).group_by(RubricVersion.rubric_id)).all())
    published = {rid: (num, at) for rid, num, at in db.session.execute(
        sa.select(RubricVersion.rubric_id, RubricVersion.number, RubricVersion.published_at)
        .where(RubricVersion.rubric_id.in_(ids), RubricVersion.published_at.is_not(None))
        .order_by(RubricVersion.number))}
    counts = dict(db.session.execute(
        sa.select(RubricVersion.rubric_id, sa.func.count(Evaluation.id))
        .join(Evaluation, Evaluation.rubric_version_id == RubricVersion.id)
        .where(RubricVersion.rubric_id.in_(ids)).group_by(RubricVersion.rubric_id)).all())
    rows = []
    for r in rubrics:
        num, at = published.get(r.id, (None, None))
        if published_only and num is None:
            continue
        rows.append(RubricRow(r.id, r.name, r.channel, latest.get(r.id, 0),
                              num != latest.get(r.id), num, at, counts.get(r.id, 0),
                              r.archived_at is not None))
    return rows


# -- writing -------------------------------------------------------------------------------

def _check_name(name, channel) -> str:
    problems = []
    if not (name or "").strip():
        problems.append(_l("A name is required."))
    elif len(name.strip()) > 200:
        problems.append(_l("At most %(n)d characters.", n=200))
    if channel not in (None, "", *CHANNELS):
        problems.append(_l("Use one of: %(values)s.", values=", ".join(CHANNELS)))
    if problems:
        raise RubricError(problems)
    return name.strip()


def create_rubric(*, name: str, channel: str | None = None, definition: dict | None = None,
                  actor=None) -> Rubric:
    """A new rubric whose version 1 is a draft (of `definition`, or an empty start)."""
    name = _check_name(name, channel)
    if definition is not None and not isinstance(definition, dict):
        raise RubricError(_l("The rubric must be a JSON object."))
    rubric = Rubric(name=name, channel=channel or None)
    db.session.add(rubric)
    db.session.flush()
    db.session.add(RubricVersion(rubric=rubric, number=1,
                                 definition=copy.deepcopy(definition or new_definition())))
    db.session.flush()
    return rubric


def rename_rubric(rubric: Rubric, *, name: str, channel: str | None) -> Rubric:
    """Name and channel describe the rubric, not a version: they change in place."""
    rubric.name = _check_name(name, channel)
    rubric.channel = channel or None
    db.session.flush()
    return rubric


def save_draft(rubric: Rubric, definition: dict, *, base: str | None = None,
               actor=None) -> RubricVersion:
    """Store an edited definition. When the latest version is published or has evaluations,
    this starts version n+1; that version and its evaluations stay as they were. Nothing is
    stored when nothing changed. `base`: the revision the editor started from."""
    if not isinstance(definition, dict):
        raise RubricError(_l("The rubric must be a JSON object."))
    if rubric.archived_at is not None:
        raise RubricError(_l("This rubric is archived; restore it to change it."))
    current = latest_version(rubric)
    if base is not None and base != revision(current.definition):
        raise RubricError(_l("The draft was changed by someone else in the meantime; reload "
                             "it and make your change again."))
    if definition == current.definition:
        return current
    if is_frozen(current):
        current = RubricVersion(rubric=rubric, number=current.number + 1)
        db.session.add(current)
    current.definition = copy.deepcopy(definition)
    db.session.flush()
    return current


def publish_rubric(rubric: Rubric, *, actor=None, now: datetime | None = None) -> RubricVersion:
    """Freeze the draft: from now on new evaluations are scored with it."""
    if rubric.archived_at is not None:
        raise RubricError(_l("This rubric is archived; restore it to change it."))
    version = latest_version(rubric)
    if version.published_at is not None:
        raise RubricError(_l("There is no draft to publish: this version is published already."))
    problems = check_definition(version.definition)
    if problems:
        raise RubricError(problems)
    if is_frozen(version):  # a draft scored against (a trial calibration) stays as it is
        version = RubricVersion(rubric=rubric, number=version.number + 1,
                                definition=copy.deepcopy(version.definition))
        db.session.add(version)
    version.published_at = now or now_utc()
    db.session.flush()
    return version


def discard_draft(rubric: Rubric) -> RubricVersion:
    """Drop the unpublished latest version and go back to the published one before it."""
    version = latest_version(rubric)
    if version.published_at is not None or version.number == 1 or is_frozen(version):
        raise RubricError(_l("There is no draft to discard."))
    db.session.delete(version)
    db.session.flush()
    db.session.expire(rubric, ["versions"])
    return latest_version(rubric)


def copy_rubric(rubric: Rubric, *, name: str, version: RubricVersion | None = None,
                actor=None) -> Rubric:
    """A new rubric whose draft version 1 is a copy of a version (the latest by default)."""
    source = version or latest_version(rubric)
    return create_rubric(name=name, channel=rubric.channel,
                         definition=copy.deepcopy(source.definition), actor=actor)


def archive_rubric(rubric: Rubric, *, now: datetime | None = None) -> Rubric:
    """Take a rubric out of use; its versions and evaluations stay as they are."""
    if rubric.archived_at is None:
        rubric.archived_at = now or now_utc()
        db.session.flush()
    return rubric


def restore_rubric(rubric: Rubric) -> Rubric:
    rubric.archived_at = None
    db.session.flush()
    return rubric

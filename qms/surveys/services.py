"""Survey programmes: drafts, publishing (which freezes a version), JSON export and import."""

from __future__ import annotations

import copy
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session

from qms.core.db import now_utc
from qms.extensions import db
from qms.surveys import definition as defn
from qms.surveys.models import Survey, SurveyKind, SurveyVersion


class SurveyError(Exception):
    """A refusal meant for the user; problems lists every reason."""

    def __init__(self, problems: list[str] | str):
        problems = [problems] if isinstance(problems, str) else problems
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


class FrozenVersion(SurveyError):
    pass


@event.listens_for(Session, "before_flush")
def _published_versions_are_immutable(session, _ctx, _instances):
    """Last line of defence: no code path may change or delete a published version."""
    for obj in list(session.dirty) + list(session.deleted):
        if not isinstance(obj, SurveyVersion):
            continue
        state = sa.inspect(obj)
        history = state.attrs.published_at.history
        was_published = any(v is not None for v in history.deleted) or (
            obj.published_at is not None and not history.added)
        if not was_published:
            continue
        # Unpublishing counts as a change: otherwise published_at=None, flush, then edit.
        if obj in session.deleted or any(
                getattr(state.attrs, name).history.has_changes()
                for name in ("definition", "published_at", "number", "survey_id")):
            raise FrozenVersion("a published survey version cannot be changed")


def list_surveys(kind: str | None = None) -> list[Survey]:
    stmt = sa.select(Survey).where(Survey.archived_at.is_(None)).order_by(Survey.id.desc())
    if kind:
        stmt = stmt.where(Survey.kind == kind)
    return list(db.session.scalars(stmt))


def get_survey(survey_id: int) -> Survey | None:
    return db.session.get(Survey, survey_id)


def get_version(version_id: int) -> SurveyVersion | None:
    return db.session.get(SurveyVersion, version_id)


def latest_version(survey: Survey) -> SurveyVersion:
    return db.session.scalar(sa.select(SurveyVersion).where(SurveyVersion.survey_id == survey.id)
                             .order_by(SurveyVersion.number.desc()).limit(1))


def latest_published(survey: Survey) -> SurveyVersion | None:
    return db.session.scalar(
        sa.select(SurveyVersion)
        .where(SurveyVersion.survey_id == survey.id, SurveyVersion.published_at.is_not(None))
        .order_by(SurveyVersion.number.desc()).limit(1))


def create_survey(*, title: str, definition: dict, kind: str = SurveyKind.SATISFACTION,
                  actor=None) -> Survey:
    if not (title or "").strip():
        raise SurveyError("a title is required")
    if kind not in set(SurveyKind):
        raise SurveyError(f"unknown kind {kind}")
    if not isinstance(definition, dict):
        raise SurveyError("the definition must be a JSON object")
    survey = Survey(title=title.strip()[:200], kind=kind, created_by_id=getattr(actor, "id", None))
    db.session.add(survey)
    db.session.flush()
    db.session.add(SurveyVersion(survey=survey, number=1, definition=copy.deepcopy(definition)))
    db.session.flush()
    return survey


def save_draft(survey: Survey, definition: dict, *, actor=None) -> SurveyVersion:
    """Store an edited definition. Editing a published survey starts a new version; the
    published one and its responses stay as they were."""
    if not isinstance(definition, dict):
        raise SurveyError("the definition must be a JSON object")
    current = latest_version(survey)
    if current.is_published:
        current = SurveyVersion(survey=survey, number=current.number + 1)
        db.session.add(current)
    current.definition = copy.deepcopy(definition)
    db.session.flush()
    return current


def publish(survey: Survey, *, actor=None, now: datetime | None = None) -> SurveyVersion:
    version = latest_version(survey)
    if version.is_published:
        raise SurveyError("there is no draft to publish: this version is already published")
    problems = defn.validate(version.definition, kind=survey.kind)
    if problems:
        raise SurveyError(problems)
    version.published_at = now or now_utc()
    version.published_by_id = getattr(actor, "id", None)
    db.session.flush()
    return version


def export_survey(version: SurveyVersion) -> dict:
    """A lossless JSON document: import_survey(export_survey(v)) gives the same definition."""
    return {
        "format": defn.FORMAT,
        "kind": version.survey.kind,
        "title": version.survey.title,
        "definition": copy.deepcopy(version.definition),
    }


def check_import(document) -> list[str]:
    if not isinstance(document, dict):
        return ["the file must hold a JSON object"]
    problems = []
    if document.get("format") != defn.FORMAT:
        problems.append(f"format must be {defn.FORMAT!r}")
    if document.get("kind") not in set(SurveyKind):
        problems.append(f"kind must be one of {', '.join(SurveyKind)}")
    title = document.get("title")
    if not isinstance(title, str) or not title.strip():
        problems.append("title is required")
    elif len(title) > 200 or title != title.strip():
        problems.append("title: at most 200 characters, no leading or trailing spaces")
    extra = sorted(set(document) - {"format", "kind", "title", "definition"})
    problems += [f"{k}: unknown property" for k in extra]
    if "definition" not in document:
        return problems + ["definition is required"]
    kind = document.get("kind") if document.get("kind") in set(SurveyKind) else None
    problems += [f"definition.{p}" for p in defn.validate(document["definition"], kind=kind)]
    return problems


def import_survey(document, *, actor=None, into: Survey | None = None) -> Survey:
    """Create a survey (or a new draft of `into`) from an exported document; a broken
    document is refused with every problem listed."""
    if into is not None and isinstance(document, dict) and into.kind != document.get("kind"):
        raise SurveyError("the file is for another kind of survey")
    problems = check_import(document)
    if problems:
        raise SurveyError(problems)
    if into is not None:
        save_draft(into, document["definition"], actor=actor)
        return into
    return create_survey(title=document["title"], definition=document["definition"],
                         kind=document["kind"], actor=actor)

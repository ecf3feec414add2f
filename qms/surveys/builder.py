"""Builder operations on a survey's draft: sections, questions, conditions, raw JSON.

Each operation reads the current definition, changes a copy and stores it with
services.save_draft — so editing a published survey starts version n+1 and the published one
is never touched. Drafts may be incomplete (validate() lists what is missing); publishing is
what refuses an invalid definition. Functions only flush; the caller commits.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from qms.extensions import db
from qms.surveys import conditions, services
from qms.surveys import definition as defn
from qms.surveys.definition_mystery import QUESTION_PROPERTIES as SCORING_PROPERTIES
from qms.surveys.models import Response, Survey, SurveyVersion
from qms.surveys.questions import ALL_TYPES, KEY_RE, LOCALES, types_for
from qms.surveys.services import SurveyError


def revision(definition: dict) -> str:
    """A short fingerprint of a definition: forms carry it so that two people editing the
    same draft cannot overwrite each other's work unseen."""
    raw = json.dumps(definition, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def blank_labels() -> dict:
    return {loc: "" for loc in LOCALES}


def new_definition(title: dict | None = None) -> dict:
    """A draft to start from: a title and one empty section (section titles are optional)."""
    return {"title": title or blank_labels(), "sections": [{"key": "s1", "questions": []}]}


def skeleton(qtype: str, key: str) -> dict:
    """A new question of a type, with the settings its type has (labels still to write)."""
    qt = ALL_TYPES.get(qtype)
    if qt is None:
        raise SurveyError(f"unknown question type {qtype!r}")
    q: dict = {"key": key, "type": qtype, "label": blank_labels()}
    if "range" in qt.settings:
        q.update(min=1, max=5)
    if "options" in qt.settings:
        q["options"] = [{"key": f"o{i}", "label": blank_labels()} for i in (1, 2)]
    if "rows" in qt.settings:
        q["rows"] = [{"key": f"r{i}", "label": blank_labels()} for i in (1, 2)]
    return q


# -- reading -------------------------------------------------------------------------------

def current(survey: Survey) -> tuple[SurveyVersion, dict]:
    """The latest version and a private copy of its definition to change."""
    version = services.latest_version(survey)
    return version, copy.deepcopy(version.definition)


def _sections(d: dict) -> list:
    sections = d.get("sections")
    if not isinstance(sections, list):
        raise SurveyError("the definition has no list of sections; fix it in the JSON editor")
    return sections


def find_section(d: dict, key: str) -> tuple[int, dict]:
    for i, s in enumerate(_sections(d)):
        if isinstance(s, dict) and s.get("key") == key:
            return i, s
    raise SurveyError(f"there is no section {key}")


def find_question(d: dict, key: str) -> tuple[dict, int, dict]:
    for s in _sections(d):
        qs = s.get("questions") if isinstance(s, dict) else None
        for i, q in enumerate(qs if isinstance(qs, list) else []):
            if isinstance(q, dict) and q.get("key") == key:
                return s, i, q
    raise SurveyError(f"there is no question {key}")


def walk(d: dict):
    """(section, question-or-None) in order, skipping what is not an object (a broken draft)."""
    for s in _sections(d):
        if not isinstance(s, dict):
            continue
        yield s, None
        qs = s.get("questions")
        for q in qs if isinstance(qs, list) else []:
            if isinstance(q, dict):
                yield s, q


def all_keys(d: dict) -> set[str]:
    return {(q or s).get("key") for s, q in walk(d)}


def free_key(d: dict, prefix: str) -> str:
    taken = all_keys(d)
    n = 1
    while f"{prefix}{n}" in taken:
        n += 1
    return f"{prefix}{n}"


def earlier_questions(d: dict, target_key: str) -> list[dict]:
    """Answerable questions before a question or section: what its condition may read."""
    out = []
    for s, q in walk(d):
        if (q or s).get("key") == target_key:
            return out
        if q is not None and q.get("type") in ALL_TYPES and ALL_TYPES[q["type"]].answerable \
                and KEY_RE.fullmatch(str(q.get("key", ""))):
            out.append(q)
    return out


def references_to(d: dict, key: str) -> list[str]:
    """Keys of the sections and questions whose condition reads `key`."""
    return [(q or s).get("key") for s, q in walk(d)
            if key in _safe_refs((q or s).get("condition"))]


def _safe_refs(cond) -> set:
    return conditions.referenced(cond) if not conditions.check(cond, "") else set()


# -- writing -------------------------------------------------------------------------------

def _store(survey: Survey, d: dict, base: str | None, actor) -> SurveyVersion:
    version = services.latest_version(survey)
    if base is not None and base != revision(version.definition):
        raise SurveyError("the draft was changed by someone else in the meantime; "
                          "reload it and make your change again")
    return services.save_draft(survey, d, actor=actor)


def _check_key(d: dict, key: str, old: str | None = None) -> None:
    if not KEY_RE.fullmatch(key or ""):
        raise SurveyError("a key has letters, digits and _ only, and starts with a letter")
    if key != old and key in all_keys(d):
        raise SurveyError(f"the key {key} is already used")


def update_settings(survey: Survey, *, name: str, title: dict, intro: dict | None,
                    thanks: dict | None, base: str | None = None, actor=None) -> SurveyVersion:
    """The internal name, and the survey's own texts: the title respondents see, an
    introduction and a thank-you."""
    if not (name or "").strip():
        raise SurveyError("a name is required")
    survey.title = name.strip()[:200]
    _version, d = current(survey)
    d["title"] = title
    for name, value in (("intro", intro), ("thanks", thanks)):
        if value and any(value.values()):
            d[name] = value
        else:
            d.pop(name, None)
    return _store(survey, d, base, actor)


def add_section(survey: Survey, *, key: str | None = None, title: dict | None = None,
                base: str | None = None, actor=None) -> str:
    _version, d = current(survey)
    key = key or free_key(d, "s")
    _check_key(d, key)
    section: dict = {"key": key, "questions": []}
    if title and any(str(v).strip() for v in title.values()):
        section["title"] = title
    _sections(d).append(section)
    _store(survey, d, base, actor)
    return key


def update_section(survey: Survey, key: str, *, new_key: str, title: dict,
                   base: str | None = None, actor=None) -> str:
    _version, d = current(survey)
    _i, s = find_section(d, key)
    _check_key(d, new_key, old=key)
    s["key"] = new_key
    if any(title.values()):
        s["title"] = title
    else:
        s.pop("title", None)
    _store(survey, d, base, actor)
    return new_key


def delete_section(survey: Survey, key: str, *, base: str | None = None, actor=None) -> None:
    _version, d = current(survey)
    i, s = find_section(d, key)
    removed = {q.get("key") for sec, q in walk(d) if sec is s and q is not None}
    users = sorted({u for k in removed for u in references_to(d, k)} - removed - {key})
    if users:
        raise SurveyError(f"the conditions of {', '.join(users)} read questions of this "
                          "section; change them first")
    del _sections(d)[i]
    _store(survey, d, base, actor)


def move_section(survey: Survey, key: str, step: int, *, base: str | None = None,
                 actor=None) -> None:
    _version, d = current(survey)
    i, s = find_section(d, key)
    j = i + step
    sections = _sections(d)
    if not 0 <= j < len(sections):
        raise SurveyError("the section cannot move further")
    before = _forward_references(d)
    sections[i], sections[j] = sections[j], sections[i]
    _refuse_new_forward_references(d, before)
    _store(survey, d, base, actor)


def add_question(survey: Survey, section_key: str, qtype: str, *, base: str | None = None,
                 actor=None) -> str:
    if qtype not in types_for(survey.kind):
        raise SurveyError(f"a {survey.kind} survey cannot have {qtype!r} questions")
    _version, d = current(survey)
    _i, s = find_section(d, section_key)
    key = free_key(d, "q")
    s.setdefault("questions", []).append(skeleton(qtype, key))
    _store(survey, d, base, actor)
    return key


def update_question(survey: Survey, key: str, question: dict, *, base: str | None = None,
                    actor=None) -> str:
    """Replace a question (from the edit form). A changed key is renamed in the conditions
    that read it, so a rename never leaves a dangling condition."""
    _version, d = current(survey)
    s, i, old = find_question(d, key)
    new_key = question.get("key", key)
    _check_key(d, new_key, old=key)
    question = dict(question)
    if "condition" in old:
        question["condition"] = old["condition"]  # edited on its own page
    for name in SCORING_PROPERTIES:  # a mystery shop's scoring, edited on its own page too
        if name in old and name not in question:
            question[name] = old[name]
    s["questions"][i] = question
    if new_key != key:
        _rename_references(d, key, new_key)
    _store(survey, d, base, actor)
    return new_key


def delete_question(survey: Survey, key: str, *, base: str | None = None, actor=None) -> None:
    _version, d = current(survey)
    s, i, _q = find_question(d, key)
    users = references_to(d, key)
    if users:
        raise SurveyError(f"the conditions of {', '.join(users)} read {key}; change them first")
    del s["questions"][i]
    _store(survey, d, base, actor)


def move_question(survey: Survey, key: str, step: int, *, base: str | None = None,
                  actor=None) -> None:
    """One place up or down; past the top or bottom of its section it moves to the end of
    the previous (start of the next) section, as in LimeSurvey's group reordering."""
    _version, d = current(survey)
    s, i, q = find_question(d, key)
    sections = _sections(d)
    qs = s["questions"]
    before = _forward_references(d)
    j = i + step
    if 0 <= j < len(qs):
        qs[i], qs[j] = qs[j], qs[i]
    else:
        si = next(n for n, x in enumerate(sections) if x is s) + step
        if not 0 <= si < len(sections):
            raise SurveyError("the question cannot move further")
        del qs[i]
        target = sections[si].setdefault("questions", [])
        target.insert(len(target) if step < 0 else 0, q)
    _refuse_new_forward_references(d, before)
    _store(survey, d, base, actor)


def set_condition(survey: Survey, key: str, condition: dict | None, *,
                  base: str | None = None, actor=None) -> None:
    """Show a question or section only when the condition holds (None: always)."""
    _version, d = current(survey)
    try:
        _i, target = find_section(d, key)
    except SurveyError:
        _s, _i, target = find_question(d, key)
    if condition:
        earlier = {q["key"]: q for q in earlier_questions(d, key)}
        problems = defn.check_condition(condition, "condition", earlier)
        if problems:
            raise SurveyError(problems)
        target["condition"] = condition
    else:
        target.pop("condition", None)
    _store(survey, d, base, actor)


def replace_definition(survey: Survey, definition, *, base: str | None = None,
                       actor=None) -> list[str]:
    """The advanced editor: store any JSON object as the draft; return validate()'s problems
    (a draft may be incomplete, publishing refuses it)."""
    if not isinstance(definition, dict):
        raise SurveyError("the definition must be a JSON object")
    _store(survey, definition, base, actor)
    return defn.validate(definition)


def _rename_references(d: dict, old: str, new: str) -> None:
    def rename(cond):
        if not isinstance(cond, dict):
            return
        for group in ("all", "any"):
            for c in cond.get(group) or []:
                rename(c)
        if cond.get("q") == old:
            cond["q"] = new

    for s, q in walk(d):
        rename((q or s).get("condition"))


def _forward_references(d: dict) -> list[str]:
    return [p for p in defn.validate(d) if p.endswith("is not an earlier question")]


def _refuse_new_forward_references(d: dict, before: list[str]) -> None:
    """Moving must not put a condition before the question it reads (a draft that already
    had such problems may still be reordered, as long as it gets no more of them)."""
    after = _forward_references(d)
    if len(after) > len(before):
        raise SurveyError(["this move would put a condition before the question it reads"]
                          + after)


# -- pages' plain values ---------------------------------------------------------------------

@dataclass(frozen=True)
class SurveyRow:
    id: int
    name: str
    kind: str
    latest: int
    latest_published: int | None
    has_draft: bool
    published_at: datetime | None
    responses: int


def survey_rows(kind: str | None = None) -> list[SurveyRow]:
    """The survey list: three grouped queries, whatever the number of surveys."""
    surveys = services.list_surveys(kind)
    ids = [x.id for x in surveys]
    if not ids:
        return []
    latest = dict(db.session.execute(
        sa.select(SurveyVersion.survey_id, sa.func.max(SurveyVersion.number))
        .where(SurveyVersion.survey_id.in_(ids)).group_by(SurveyVersion.survey_id)).all())
    published = {sid: (num, at) for sid, num, at in db.session.execute(
        sa.select(SurveyVersion.survey_id, SurveyVersion.number, SurveyVersion.published_at)
        .where(SurveyVersion.survey_id.in_(ids), SurveyVersion.published_at.is_not(None))
        .order_by(SurveyVersion.number))}
    counts = dict(db.session.execute(
        sa.select(Response.survey_id, sa.func.count(Response.id))
        .where(Response.survey_id.in_(ids), Response.completed_at.is_not(None))
        .group_by(Response.survey_id)).all())
    rows = []
    for x in surveys:
        pub_num, pub_at = published.get(x.id, (None, None))
        rows.append(SurveyRow(x.id, x.title, x.kind, latest.get(x.id, 0), pub_num,
                              pub_num != latest.get(x.id), pub_at, counts.get(x.id, 0)))
    return rows


def response_counts(survey: Survey) -> dict[int, int]:
    """Completed responses per version id."""
    return dict(db.session.execute(
        sa.select(Response.version_id, sa.func.count(Response.id))
        .where(Response.survey_id == survey.id, Response.completed_at.is_not(None))
        .group_by(Response.version_id)).all())


def get_version_number(survey: Survey, number: int) -> SurveyVersion | None:
    return db.session.scalar(sa.select(SurveyVersion).where(
        SurveyVersion.survey_id == survey.id, SurveyVersion.number == number))


_PATH = re.compile(r"sections\[(\d+)\](?:\.questions\[(\d+)\])?")


def problems_by_key(d: dict, problems: list[str]) -> dict[str, list[str]]:
    """validate()'s problems grouped by the key of the section or question they are about
    ("" for the survey itself), so the editor can show each beside its item."""
    out: dict[str, list[str]] = {}
    sections = d.get("sections") if isinstance(d.get("sections"), list) else []
    for problem in problems:
        key = ""
        m = _PATH.match(problem)
        if m:
            try:
                item = sections[int(m[1])]
                if m[2] is not None:
                    item = item["questions"][int(m[2])]
                key = str(item.get("key", ""))
            except (IndexError, KeyError, TypeError, AttributeError):
                key = ""
        out.setdefault(key, []).append(problem)
    return out

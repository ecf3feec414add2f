"""Builder operations only mystery-shop surveys have: scoring of questions and sections,
scenarios, and evidence questions. Like qms.surveys.builder, each changes a copy of the draft
and stores it with save_draft (a published version is never touched); functions only flush.
A satisfaction survey is refused: it has none of these."""

from __future__ import annotations

from qms.surveys import builder, services
from qms.surveys.definition_mystery import CRITICAL_MODES, MYSTERY_SHOP
from qms.surveys.models import Survey, SurveyKind, SurveyVersion
from qms.surveys.question_evidence import EVIDENCE_TYPES, UPLOAD_TYPES
from qms.surveys.questions import KEY_RE
from qms.surveys.services import SurveyError


def _mystery(survey: Survey) -> None:
    if survey.kind != MYSTERY_SHOP:
        raise SurveyError("only a mystery-shop survey has scoring, scenarios and evidence")


def create_mystery_survey(*, name: str, title: dict, actor=None) -> Survey:
    d = builder.new_definition(title)
    d["scenarios"] = []
    return services.create_survey(title=name, definition=d, kind=SurveyKind.MYSTERY_SHOP,
                                  actor=actor)


def set_question_scoring(survey: Survey, key: str, *, points: float | None,
                         critical: str | None = None, na_allowed: bool = False,
                         pass_threshold: float | None = None, evidence: str | None = None,
                         base: str | None = None, actor=None) -> SurveyVersion:
    """Points make the question a scored item; None makes it unscored again (critical and
    pass mark go with it). validate() judges the rest when the draft is published."""
    _mystery(survey)
    if critical not in CRITICAL_MODES:
        raise SurveyError("critical is none, section or all")
    _version, d = builder.current(survey)
    _s, _i, q = builder.find_question(d, key)
    for name in ("points", "critical", "na_allowed", "pass_threshold", "evidence"):
        q.pop(name, None)
    if na_allowed:
        q["na_allowed"] = True
    if evidence:
        q["evidence"] = evidence  # an upload question that must hold a file
    if points is not None:
        q["points"] = int(points) if float(points).is_integer() else points
        if critical:
            q["critical"] = critical
            if pass_threshold is not None:
                q["pass_threshold"] = pass_threshold
    return builder._store(survey, d, base, actor)


def set_section_scoring(survey: Survey, key: str, *, weight: float | None, bonus: bool = False,
                        base: str | None = None, actor=None) -> SurveyVersion:
    _mystery(survey)
    _version, d = builder.current(survey)
    _i, s = builder.find_section(d, key)
    s.pop("weight", None)
    s.pop("bonus", None)
    if weight is not None:
        s["weight"] = int(weight) if float(weight).is_integer() else weight
    if bonus:
        s["bonus"] = True
    return builder._store(survey, d, base, actor)


def set_scenarios(survey: Survey, scenarios: list[dict], *, allow_above_100: bool = False,
                  base: str | None = None, actor=None) -> SurveyVersion:
    """Replace the scenario list ([{key, label, script?}]); rows without a key and without
    any text are dropped (the blank rows of the form)."""
    _mystery(survey)
    kept, seen = [], set()
    for sc in scenarios:
        key = (sc.get("key") or "").strip()
        label = {k: v.strip() for k, v in (sc.get("label") or {}).items()}
        script = {k: v.strip() for k, v in (sc.get("script") or {}).items()}
        if not key and not any(label.values()) and not any(script.values()):
            continue
        if not KEY_RE.fullmatch(key):
            raise SurveyError(f"scenario {key or '?'}: a key has letters, digits and _ only, "
                              "and starts with a letter")
        if key in seen:
            raise SurveyError(f"scenario {key} appears twice")
        seen.add(key)
        item = {"key": key, "label": label}
        if any(script.values()):
            item["script"] = script
        kept.append(item)
    _version, d = builder.current(survey)
    d["scenarios"] = kept
    if allow_above_100:
        d["allow_above_100"] = True
    else:
        d.pop("allow_above_100", None)
    return builder._store(survey, d, base, actor)


def add_evidence_question(survey: Survey, section_key: str, qtype: str, *,
                          base: str | None = None, actor=None) -> str:
    _mystery(survey)
    if qtype not in EVIDENCE_TYPES:
        raise SurveyError(f"{qtype!r} is not an evidence question type")
    return builder.add_question(survey, section_key, qtype, base=base, actor=actor)


def update_evidence_question(survey: Survey, key: str, *, new_key: str, label: dict,
                             help: dict | None, required: bool, max_files: int | None = None,
                             base: str | None = None, actor=None) -> str:
    """The texts and settings of an evidence question (its condition is kept)."""
    _mystery(survey)
    _version, d = builder.current(survey)
    _s, _i, old = builder.find_question(d, key)
    if old.get("type") not in EVIDENCE_TYPES:
        raise SurveyError(f"{key} is not an evidence question")
    q: dict = {"key": new_key, "type": old["type"], "label": label}
    if help and any(help.values()):
        q["help"] = help
    if required:
        q["required"] = True
    if old["type"] in UPLOAD_TYPES and max_files is not None:
        q["max_files"] = max_files
    return builder.update_question(survey, key, q, base=base, actor=actor)

"""Per-question results (choice counts, scale histograms, matrix rows) and comment search.

Part of the results service (qms.surveys.results): the same Filters, three GROUP BY queries
for all questions together, labels in the reader's language.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import aliased

from qms.analytics import survey_metrics as sm
from qms.extensions import db
from qms.org.models import Agent, Branch
from qms.surveys.definition import question_map, text
from qms.surveys.models import Answer, Response, SurveyVersion
from qms.surveys.questions import REGISTRY
from qms.surveys.results import Filters, min_sample_setting, response_conditions

SCALES = ("csat", "nps", "ces", "rating")
CHOICES = ("single", "multiple", "yesno")
TEXTS = ("text", "textarea")
YESNO_LABELS = {"yes": _l("Yes"), "no": _l("No")}


@dataclass(frozen=True)
class Bar:
    key: str
    label: str
    count: int
    share: float | None  # of the respondents who answered (0..1); multiple choice may sum > 1


@dataclass(frozen=True)
class RowResult:
    key: str
    label: str
    answered: int
    mean: float | None
    bars: list[Bar]


@dataclass(frozen=True)
class QuestionResult:
    key: str
    qtype: str
    label: str
    answered: int  # respondents with an answer to this question
    mean: float | None = None
    bars: list[Bar] = field(default_factory=list)
    rows: list[RowResult] = field(default_factory=list)
    kpi: sm.Metric | None = None  # the question's own CSAT %, NPS or CES


def survey_questions(f: Filters) -> list[dict]:
    """The answerable questions of the versions in the filter, newest wording first; keys that
    only older versions have come after, so old responses still show."""
    stmt = (sa.select(SurveyVersion.definition)
            .where(SurveyVersion.survey_id == f.survey_id, SurveyVersion.published_at.is_not(None))
            .order_by(SurveyVersion.number.desc()))
    if f.version_ids:
        stmt = stmt.where(SurveyVersion.id.in_(f.version_ids))
    definitions = list(db.session.scalars(stmt))
    if not definitions:  # nothing published: show the draft's questions (no answers anyway)
        definitions = list(db.session.scalars(
            sa.select(SurveyVersion.definition).where(SurveyVersion.survey_id == f.survey_id)
            .order_by(SurveyVersion.number.desc()).limit(1)))
    merged: dict[str, dict] = {}
    for definition in definitions:
        for key, q in question_map(definition or {}).items():
            qt = REGISTRY.get(q.get("type"))
            if qt is not None and qt.answerable and key not in merged:
                merged[key] = q
    return list(merged.values())


def _share(count: int, answered: int) -> float | None:
    return count / answered if answered else None


def _scale_bars(q: dict, hist: dict, answered: int) -> list[Bar]:
    lo, hi = REGISTRY[q["type"]].scale(q)
    return [Bar(str(v), str(v), hist.get(float(v), 0), _share(hist.get(float(v), 0), answered))
            for v in range(lo, hi + 1)]


def _choice_bars(q: dict, hist: dict, answered: int, locale: str) -> list[Bar]:
    if q["type"] == "yesno":
        options = [(k, str(label)) for k, label in YESNO_LABELS.items()]
    else:
        options = [(o["key"], text(o.get("label"), locale)) for o in q.get("options", [])]
    known = {k for k, _label in options}
    options += [(k, k) for k in sorted(hist) if k not in known]  # removed in a later version
    return [Bar(k, label, hist.get(k, 0), _share(hist.get(k, 0), answered))
            for k, label in options]


def _question_kpi(qtype: str, bars: list[Bar], mean: float | None, n: int, ms: int):
    counts = {int(b.key): b.count for b in bars}
    if qtype == "nps":
        return sm.nps(sum(c for v, c in counts.items() if v >= sm.NPS_PROMOTER_MIN),
                      sum(c for v, c in counts.items() if sm.NPS_DETRACTOR_MAX < v < sm.NPS_PROMOTER_MIN),
                      sum(c for v, c in counts.items() if v <= sm.NPS_DETRACTOR_MAX),
                      min_sample=ms)
    if qtype == "csat":
        total = sum(counts.values())
        return sm.csat_percent(sum(c for v, c in counts.items() if v >= sm.CSAT_SATISFIED_MIN),
                               total, min_sample=ms)
    if qtype == "ces":
        return sm.ces_mean((mean or 0.0) * n, n, min_sample=ms)
    return None


def distributions(f: Filters, *, locale: str, min_sample: int | None = None
                  ) -> list[QuestionResult]:
    """Every answerable question with its counts, in the survey's order."""
    ms = min_sample_setting(min_sample)
    qs = survey_questions(f)
    where = response_conditions(f)
    base = sa.select().select_from(Answer).join(Response, Response.id == Answer.response_id)

    # One answer row per respondent for scales and single choices: their counts come from the
    # histogram; only the other types need COUNT(DISTINCT).
    answered: dict[str, tuple[int, float | None]] = {}
    stmt = base.add_columns(Answer.question_key, sa.func.count(sa.distinct(Answer.response_id)),
                            sa.func.avg(Answer.num_value)) \
        .where(*where, Answer.qtype.not_in(SCALES + ("single", "yesno"))) \
        .group_by(Answer.question_key)
    for key, n, mean in db.session.execute(stmt):
        answered[key] = (n, None if mean is None else float(mean))

    rows: dict[tuple[str, str], tuple[int, float | None]] = {}
    stmt = base.add_columns(Answer.question_key, Answer.row_key,
                            sa.func.count(sa.distinct(Answer.response_id)),
                            sa.func.avg(Answer.num_value)) \
        .where(*where, Answer.qtype == "matrix", Answer.row_key.is_not(None)) \
        .group_by(Answer.question_key, Answer.row_key)
    for key, row, n, mean in db.session.execute(stmt):
        rows[(key, row)] = (n, None if mean is None else float(mean))

    hist: dict[tuple, dict] = {}
    stmt = base.add_columns(Answer.question_key, Answer.row_key, Answer.choice_key,
                            Answer.num_value, sa.func.count(Answer.id)) \
        .where(*where, Answer.qtype.in_(SCALES + CHOICES + ("matrix",))) \
        .group_by(Answer.question_key, Answer.row_key, Answer.choice_key, Answer.num_value)
    for key, row, choice, num, n in db.session.execute(stmt):
        bucket = hist.setdefault((key, row), {})
        value = choice if choice is not None else (None if num is None else float(num))
        bucket[value] = bucket.get(value, 0) + n
    for q in qs:
        if q["type"] in SCALES + ("single", "yesno"):
            counts = hist.get((q["key"], None), {})
            n = sum(counts.values())
            total = sum(v * c for v, c in counts.items() if isinstance(v, float))
            answered[q["key"]] = (n, total / n if n and q["type"] in SCALES else None)

    results = []
    for q in qs:
        key, qtype = q["key"], q["type"]
        n, mean = answered.get(key, (0, None))
        res = QuestionResult(key=key, qtype=qtype, label=text(q.get("label"), locale), answered=n,
                             mean=mean if qtype in SCALES + ("number",) else None)
        if qtype in SCALES:
            bars = _scale_bars(q, hist.get((key, None), {}), n)
            res = replace(res, bars=bars, kpi=_question_kpi(qtype, bars, mean, n, ms))
        elif qtype in CHOICES:
            res = replace(res, bars=_choice_bars(q, hist.get((key, None), {}), n, locale))
        elif qtype == "matrix":
            matrix_rows = []
            for r in q.get("rows", []):
                rn, rmean = rows.get((key, r["key"]), (0, None))
                matrix_rows.append(RowResult(r["key"], text(r.get("label"), locale), rn, rmean,
                                             _scale_bars(q, hist.get((key, r["key"]), {}), rn)))
            res = replace(res, rows=matrix_rows)
        results.append(res)
    return results


# -- comments -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Comment:
    answer_id: int
    response_id: int
    question_key: str
    question: str
    text: str
    completed_at: datetime
    channel: str
    segment: str | None
    locale: str
    branch_code: str | None
    branch_name: str | None
    agent_code: str | None
    agent_name: str | None
    nps: float | None
    csat: float | None


@dataclass(frozen=True)
class CommentPage:
    items: list[Comment]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def _like(q: str) -> str:
    return "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def search_comments(f: Filters, *, q: str = "", locale: str, question_key: str | None = None,
                    page: int = 1, per_page: int = 20) -> CommentPage:
    """Free-text answers, newest first, optionally containing `q` (case-insensitive)."""
    page, per_page = max(1, page), max(1, min(per_page, 200))
    conds = [*response_conditions(f), Answer.qtype.in_(TEXTS), Answer.text_value.is_not(None),
             Answer.text_value != ""]
    if q.strip():
        conds.append(Answer.text_value.ilike(_like(q.strip()), escape="\\"))
    if question_key:
        conds.append(Answer.question_key == question_key)
    joined = sa.select().select_from(Answer).join(Response, Response.id == Answer.response_id)
    total = db.session.scalar(joined.add_columns(sa.func.count(Answer.id)).where(*conds)) or 0

    def score(qtype: str):
        other = aliased(Answer)
        return (sa.select(other.num_value)
                .where(other.response_id == Response.id, other.qtype == qtype)
                .order_by(other.id).limit(1).scalar_subquery())

    stmt = (joined.add_columns(
        Answer.id, Response.id, Answer.question_key, Answer.text_value, Response.completed_at,
        Response.channel, Response.segment, Response.locale, Branch.code, Branch.name,
        Agent.code, Agent.name, score("nps"), score("csat"))
        .outerjoin(Branch, Branch.id == Response.branch_id)
        .outerjoin(Agent, Agent.id == Response.agent_id)
        .where(*conds)
        .order_by(Response.completed_at.desc(), Answer.id.desc())
        .limit(per_page).offset((page - 1) * per_page))
    labels = {q["key"]: text(q.get("label"), locale) for q in survey_questions(f)}
    items = [Comment(aid, rid, key, labels.get(key, key), txt, done, channel, segment, loc,
                     bcode, bname, acode, aname, nps, csat)
             for (aid, rid, key, txt, done, channel, segment, loc, bcode, bname, acode, aname,
                  nps, csat) in db.session.execute(stmt)]
    return CommentPage(items, total, page, per_page)

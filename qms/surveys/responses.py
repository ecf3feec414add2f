"""Answering surveys: resolving personal and counter links, partial saves, submissions, and
closing the loop with a follow-up item for detractors and dissatisfied customers.

One completed response per personal link, whatever races happen: the first write of a
submission is a conditional UPDATE of invitations.completed_at (WHERE completed_at IS NULL),
and responses.invitation_id is unique besides. Writing first also matters for SQLite: a
transaction that reads and then writes can fail with "database is locked" once another writer
has committed (DESIGN.md), while one whose first statement is the write waits its turn.
"""

from __future__ import annotations

import enum
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import SimpleNamespace

import sqlalchemy as sa
from flask import current_app

from qms.auth.models import RoleGrant, User
from qms.core.db import UTCDateTime, now_utc
from qms.core.tokens import hash_token
from qms.org.models import Customer
from qms.surveys.definition import (
    Submission,
    question_map,
    questions,
    read_submission,
    visible_keys,
)
from qms.surveys.models import (
    Answer,
    Campaign,
    Channel,
    CounterLink,
    FollowUp,
    Invitation,
    Response,
    SurveyVersion,
)
from qms.surveys.prepared import Conn, Prepared, session_conn
from qms.surveys.questions import REGISTRY

# Campaign statuses in which links do not take answers (besides the opens/closes window).
NOT_OPEN_STATUSES = frozenset({"draft", "paused", "closed"})
DETRACTOR_MAX = 6  # NPS 0-6 (Reichheld)
LOW_CSAT_MAX = 2   # CSAT 1-2 on 1-5
MAX_TOKEN_LENGTH = 128


class LinkState(enum.StrEnum):
    OPEN = "open"
    EXPIRED = "expired"
    CLOSED = "closed"
    COMPLETED = "completed"
    NOT_FOUND = "not_found"


@dataclass
class Link:
    """What a token leads to, as plain values read when it was resolved: for a personal link
    the invitation's, for a counter link the counter link's; the campaign's and those of the
    survey version it asks (its definition apart)."""

    state: LinkState
    invitation: SimpleNamespace | None = None
    counter_link: SimpleNamespace | None = None
    campaign: SimpleNamespace | None = None
    version: SimpleNamespace | None = None
    segment: str | None = None
    definition: dict | None = None

    @property
    def personal(self) -> bool:
        return self.counter_link is None

    @property
    def locale(self) -> str | None:
        """The invitation's language (counter links have none: the browser's is used)."""
        return self.invitation.locale if self.invitation is not None else None


class AlreadyAnswered(Exception):
    """Another submission of this personal link completed first."""


class LinkNotOpen(Exception):
    def __init__(self, state: LinkState):
        super().__init__(state)
        self.state = state


class InvalidSubmission(Exception):
    """Nothing was stored. `submission.errors` maps question keys (or unknown field names) to
    messages; `newly_visible` lists questions the respondent has not seen yet because their
    answers made them appear (a browser without JavaScript)."""

    def __init__(self, submission: Submission, newly_visible: list[str] | None = None):
        super().__init__(dict(submission.errors))
        self.submission = submission
        self.newly_visible = newly_visible or []


# -- resolving links ----------------------------------------------------------------------------

def _campaign_state(campaign: Campaign, now: datetime) -> LinkState:
    if campaign.status in NOT_OPEN_STATUSES:
        return LinkState.CLOSED
    if campaign.opens_at is not None and campaign.opens_at > now:
        return LinkState.CLOSED
    if campaign.closes_at is not None and campaign.closes_at <= now:
        return LinkState.CLOSED
    return LinkState.OPEN


def _plausible(token: str | None) -> bool:
    return bool(token) and len(token) <= MAX_TOKEN_LENGTH


# Resolving a link is on every request of the answering pages: one prepared statement (see
# qms.surveys.prepared) for the few columns needed, as plain values, and each published
# version's definition parsed once per process (a published version never changes).
_INVITATION_COLS = ("id", "locale", "branch_id", "agent_id", "opened_at", "started_at",
                    "completed_at", "expires_at")
_COUNTER_COLS = ("id", "branch_id", "agent_id", "revoked_at")
_CAMPAIGN_COLS = ("id", "channel", "status", "opens_at", "closes_at")
_VERSION_COLS = ("id", "survey_id", "number", "published_at")


def _cols(model, names, prefix):
    return [model.__table__.c[n].label(f"{prefix}{n}") for n in names]


def _part(row: tuple, names: tuple, start: int) -> SimpleNamespace:
    """The values of `names`, which sit in the row from position `start` on."""
    return SimpleNamespace(**dict(zip(names, row[start:start + len(names)], strict=True)))


_I, _C, _V, _L, _CU = (Invitation.__table__, Campaign.__table__, SurveyVersion.__table__,
                       CounterLink.__table__, Customer.__table__)
_RESP, _ANS, _FU = Response.__table__, Answer.__table__, FollowUp.__table__
_PERSONAL = Prepared(
    sa.select(*_cols(Invitation, _INVITATION_COLS, "i_"), *_cols(Campaign, _CAMPAIGN_COLS, "c_"),
              *_cols(SurveyVersion, _VERSION_COLS, "v_"), _CU.c.segment)
    .select_from(_I.join(_C, _I.c.campaign_id == _C.c.id)
                 .join(_V, _C.c.version_id == _V.c.id)
                 .outerjoin(_CU, _I.c.customer_id == _CU.c.id))
    .where(_I.c.token_hash == sa.bindparam("token_hash")))
_COUNTER = Prepared(
    sa.select(*_cols(CounterLink, _COUNTER_COLS, "l_"), *_cols(Campaign, _CAMPAIGN_COLS, "c_"),
              *_cols(SurveyVersion, _VERSION_COLS, "v_"))
    .select_from(_L.join(_C, _L.c.campaign_id == _C.c.id).join(_V, _C.c.version_id == _V.c.id))
    .where(_L.c.token_hash == sa.bindparam("token_hash")))
_DEFINITION = Prepared(sa.select(_V.c.definition).where(_V.c.id == sa.bindparam("vid")))
# positions in the rows of _PERSONAL and _COUNTER
_PI, _PC, _PV = 0, len(_INVITATION_COLS), len(_INVITATION_COLS) + len(_CAMPAIGN_COLS)
_PS = _PV + len(_VERSION_COLS)
_LC, _LV = len(_COUNTER_COLS), len(_COUNTER_COLS) + len(_CAMPAIGN_COLS)
DEFINITIONS_KEPT = 1000


def _definition(version: SimpleNamespace, conn: Conn | None) -> dict:
    if version.published_at is None:  # a draft can still change: always read it
        return _DEFINITION.first(conn, vid=version.id)[0]
    cache = current_app.extensions.setdefault("qms.surveys.definitions", {})
    key = (version.id, version.published_at)
    found = cache.get(key)
    if found is None:
        found = _DEFINITION.first(conn, vid=version.id)[0]
        if len(cache) >= DEFINITIONS_KEPT:
            cache.clear()
        cache[key] = found
    return found


def resolve_personal_link(token: str, *, now: datetime | None = None,
                          conn: Conn | None = None) -> Link:
    """The invitation behind /s/<token> and whether it takes answers. An answered link stays
    'completed' after it expires, so the customer is thanked rather than told it is too late.
    `conn`: where to read (by default the session's connection), as for every function here."""
    if not _plausible(token):
        return Link(LinkState.NOT_FOUND)
    now = now or now_utc()
    row = _PERSONAL.first(conn, token_hash=hash_token(token))
    if row is None:
        return Link(LinkState.NOT_FOUND)
    invitation = _part(row, _INVITATION_COLS, _PI)
    campaign = _part(row, _CAMPAIGN_COLS, _PC)
    version = _part(row, _VERSION_COLS, _PV)
    link = Link(LinkState.OPEN, invitation=invitation, campaign=campaign, version=version,
                segment=row[_PS], definition=_definition(version, conn))
    if invitation.completed_at is not None:
        link.state = LinkState.COMPLETED
    elif invitation.expires_at is not None and invitation.expires_at <= now:
        link.state = LinkState.EXPIRED
    else:
        link.state = _campaign_state(campaign, now)
    return link


def resolve_counter_link(token: str, *, now: datetime | None = None,
                         conn: Conn | None = None) -> Link:
    if not _plausible(token):
        return Link(LinkState.NOT_FOUND)
    now = now or now_utc()
    row = _COUNTER.first(conn, token_hash=hash_token(token))
    if row is None:
        return Link(LinkState.NOT_FOUND)
    counter_link = _part(row, _COUNTER_COLS, 0)
    campaign = _part(row, _CAMPAIGN_COLS, _LC)
    version = _part(row, _VERSION_COLS, _LV)
    state = LinkState.CLOSED if counter_link.revoked_at is not None else \
        _campaign_state(campaign, now)
    return Link(state, counter_link=counter_link, campaign=campaign, version=version,
                definition=_definition(version, conn))


# -- reading what was saved ---------------------------------------------------------------------

_SAVED = Prepared(sa.select(_RESP.c.id, _RESP.c.locale)
                  .where(_RESP.c.invitation_id == sa.bindparam("iid")))
_ROW_COLS = ("question_key", "row_key", "choice_key", "num_value", "text_value")
_SAVED_ROWS = Prepared(sa.select(*(_ANS.c[n] for n in _ROW_COLS))
                       .where(_ANS.c.response_id == sa.bindparam("rid")).order_by(_ANS.c.id))


def saved_answers(link: Link, *, conn: Conn | None = None) -> tuple[dict, str | None]:
    """The partial answers kept for a personal link (key -> value) and their language."""
    if not link.personal or link.invitation is None or link.invitation.started_at is None:
        return {}, None  # nothing was ever saved for a link never started
    response = _SAVED.first(conn, iid=link.invitation.id)
    if response is None:
        return {}, None
    by_key: dict[str, list[SimpleNamespace]] = defaultdict(list)
    for row in _SAVED_ROWS.all(conn, rid=response[0]):
        by_key[row[0]].append(SimpleNamespace(**dict(zip(_ROW_COLS, row, strict=True))))
    qmap = question_map(link.definition)
    values = {}
    for key, key_rows in by_key.items():
        q = qmap.get(key)
        if q is not None:
            values[key] = REGISTRY[q["type"]].from_rows(q, key_rows)
    return values, response[1]


# -- writes -------------------------------------------------------------------------------------
# Prepared statements: a submission is a handful of statements in one short write transaction,
# and everything that is not a statement (validation, answer rows, the follow-up reason) is
# worked out before it starts, so the write lock is held as briefly as possible.

def _utc(name: str):
    return sa.bindparam(name, type_=UTCDateTime())


_OPENED = Prepared(sa.update(_I).where(_I.c.id == sa.bindparam("iid"), _I.c.opened_at.is_(None))
           .values(opened_at=_utc("now")))
# The claim: started (and completed) on the condition that nobody completed the link before.
# RETURNING started_at says whether the link had been started before (a partial save).
_START_STMT = (sa.update(_I).where(_I.c.id == sa.bindparam("iid"), _I.c.completed_at.is_(None))
               .values(started_at=sa.func.coalesce(_I.c.started_at, _utc("now")))
               .returning(_I.c.started_at))
_START = Prepared(_START_STMT)
_COMPLETE = Prepared(_START_STMT.values(completed_at=_utc("now")))
# A partial response (the link was saved before) takes the submission's language and time.
_PARTIAL_STMT = (sa.update(_RESP).where(_RESP.c.invitation_id == sa.bindparam("iid"))
                 .values(locale=sa.bindparam("loc"), updated_at=_utc("now"))
                 .returning(_RESP.c.id))
_PARTIAL_SAVE = Prepared(_PARTIAL_STMT)
_PARTIAL_DONE = Prepared(_PARTIAL_STMT.values(completed_at=_utc("now")))
_RESPONSE_KEYS = ("version_id", "survey_id", "campaign_id", "invitation_id", "counter_link_id",
                  "branch_id", "agent_id", "channel", "segment", "locale", "started_at",
                  "updated_at", "completed_at")
_NEW_RESPONSE = Prepared(sa.insert(_RESP).returning(_RESP.c.id), _RESPONSE_KEYS)
_ANSWER_KEYS = ("response_id", "question_key", "qtype", "row_key", "choice_key", "num_value",
                "text_value")
_NEW_ANSWERS = Prepared(sa.insert(_ANS), _ANSWER_KEYS, many=True)
_DROP_ANSWERS = Prepared(sa.delete(_ANS).where(_ANS.c.response_id == sa.bindparam("rid")))
# The branch's head (the first active one) owns its follow-ups until someone reassigns them.
_U, _G = User.__table__, RoleGrant.__table__
_BRANCH_HEAD = (sa.select(_U.c.id).select_from(_U.join(_G, _G.c.user_id == _U.c.id))
                .where(_G.c.role == "branch_head", _G.c.branch_id == sa.bindparam("owner_branch"),
                       _U.c.active.is_(True))
                .order_by(_U.c.id).limit(1).scalar_subquery())
_NEW_FOLLOW_UP = Prepared(sa.insert(_FU).values(owner_id=_BRANCH_HEAD),
                          ("response_id", "branch_id", "reason", "status", "due_at",
                           "created_at"))


def first_opening(link: Link) -> bool:
    """Whether opening this link now is the first time (and so worth a write)."""
    return link.personal and link.invitation is not None and link.invitation.opened_at is None


def mark_opened(link: Link, *, now: datetime | None = None, conn: Conn | None = None) -> None:
    """First opening of a personal link; later visits write nothing."""
    if first_opening(link):
        _OPENED.run(conn, iid=link.invitation.id, now=now or now_utc())


def _require_open(link: Link) -> None:
    if link.state is LinkState.COMPLETED:
        raise AlreadyAnswered()
    if link.state is not LinkState.OPEN:
        raise LinkNotOpen(link.state)


def answer_rows(definition: dict, answers: dict) -> list[dict]:
    """Answer rows for parsed answers: as each question type's to_rows says, in the
    definition's order, with the type copied in (response_id left to fill)."""
    rows = []
    for _section, q in questions(definition):
        if q["key"] not in answers:
            continue
        for r in REGISTRY[q["type"]].to_rows(q, answers[q["key"]]):
            rows.append({"response_id": None, "question_key": q["key"], "qtype": q["type"],
                         "row_key": r.get("row_key"), "choice_key": r.get("choice_key"),
                         "num_value": r.get("num_value"), "text_value": r.get("text_value")})
    return rows


def _write(link: Link, locale: str, now: datetime, rows: list[dict], conn: Conn | None, *,
           completed: bool, follow_up: dict | None = None) -> int:
    """Store a save or a submission; the response id. Every statement is bound first, then
    they run back to back, so the write lock (taken by the first) is held only for them:
    the claim (personal links; the loser of a race gets AlreadyAnswered), the response (the
    link's partial one, updated, or a new one carrying the attribution of the invitation or
    counter link), its answer rows, and a follow-up item if one is due."""
    conn = conn or session_conn()
    personal = link.personal
    source = link.invitation if personal else link.counter_link
    claim = ((_COMPLETE if completed else _START).bind(conn, iid=link.invitation.id, now=now)
             if personal else None)
    new_response = _NEW_RESPONSE.bind(conn, **{
        "version_id": link.version.id, "survey_id": link.version.survey_id,
        "campaign_id": link.campaign.id,
        "invitation_id": link.invitation.id if personal else None,
        "counter_link_id": None if personal else link.counter_link.id,
        "branch_id": source.branch_id, "agent_id": source.agent_id,
        "channel": link.campaign.channel if personal else Channel.COUNTER,
        "segment": link.segment if personal else None, "locale": locale,
        "started_at": now, "updated_at": now, "completed_at": now if completed else None})
    answers = _NEW_ANSWERS.bind_many(conn, rows)
    item = _NEW_FOLLOW_UP.bind(conn, **follow_up) if follow_up is not None else None

    rid = None
    if claim is not None:
        row = claim.first()
        if row is None:
            raise AlreadyAnswered()
        if row[0] != now:  # started before: a partial save may hold the response
            partial = (_PARTIAL_DONE if completed else _PARTIAL_SAVE).first(
                conn, iid=link.invitation.id, loc=locale, now=now)
            if partial is not None:
                rid = partial[0]
                _DROP_ANSWERS.run(conn, rid=rid)
    if rid is None:
        rid = new_response.first()[0]
    answers.put("response_id", rid).run()
    if item is not None:
        item.put("response_id", rid).run()
    return rid


def save_partial(link: Link, form: dict[str, list[str]], *, locale: str,
                 now: datetime | None = None, conn: Conn | None = None) -> int:
    """Keep what a customer answered so far (personal links only); the saved answers replace
    the previous ones. Invalid values are refused, and then nothing is stored. Returns the
    response id."""
    if not link.personal:
        raise LinkNotOpen(link.state)
    _require_open(link)
    now = now or now_utc()
    sub = read_submission(link.definition, form, final=False)
    if sub.errors:
        raise InvalidSubmission(sub)
    rows = answer_rows(link.definition, sub.answers)
    return _write(link, locale, now, rows, conn, completed=False)


def newly_visible(definition: dict, answers: dict, seen: set[str] | None) -> list[str]:
    """Answerable questions the respondent's answers reveal that were not on their screen."""
    if seen is None:
        return []
    qmap = question_map(definition)
    return [k for k in visible_keys(definition, answers)
            if k not in seen and REGISTRY[qmap[k]["type"]].answerable]


def submit_response(link: Link, form: dict[str, list[str]], *, locale: str,
                    seen: set[str] | None = None, now: datetime | None = None,
                    follow_up_due: timedelta = timedelta(days=2),
                    conn: Conn | None = None) -> int:
    """Complete a response from a personal or counter link, validated against the version's
    definition; returns its id. `seen`: the question keys that were shown when the form was
    sent (None: do not check). Raises InvalidSubmission (nothing stored), AlreadyAnswered or
    LinkNotOpen."""
    _require_open(link)
    now = now or now_utc()
    sub = read_submission(link.definition, form, final=True)
    fresh = newly_visible(link.definition, sub.answers, seen)
    if sub.errors or fresh:
        raise InvalidSubmission(sub, fresh)
    rows = answer_rows(link.definition, sub.answers)
    reason = follow_up_reason(link.definition, sub.answers)
    follow_up = None
    if reason is not None:
        branch_id = (link.invitation if link.personal else link.counter_link).branch_id
        follow_up = _follow_up_values(None, branch_id, reason, due_at=now + follow_up_due,
                                      now=now)
    return _write(link, locale, now, rows, conn, completed=True, follow_up=follow_up)


# -- closing the loop ---------------------------------------------------------------------------

def follow_up_reason(definition: dict, answers: dict) -> str | None:
    """'detractor' when an NPS answer is 0-6, else 'low_csat' when a CSAT answer is 1-2."""
    qmap = question_map(definition)
    typed = [(qmap[k]["type"], v) for k, v in answers.items() if k in qmap]
    if any(t == "nps" and v <= DETRACTOR_MAX for t, v in typed):
        return "detractor"
    if any(t == "csat" and v <= LOW_CSAT_MAX for t, v in typed):
        return "low_csat"
    return None


def create_follow_up(response_id: int, branch_id: int | None, reason: str, *,
                     due_at: datetime, now: datetime | None = None,
                     conn: Conn | None = None) -> None:
    """An open follow-up item for the branch, owned by its head; one per response (unique)."""
    _NEW_FOLLOW_UP.run(conn, **_follow_up_values(response_id, branch_id, reason, due_at=due_at,
                                                 now=now or now_utc()))


def _follow_up_values(response_id: int | None, branch_id: int | None, reason: str, *,
                      due_at: datetime, now: datetime) -> dict:
    return {"response_id": response_id, "branch_id": branch_id, "reason": reason,
            "status": "open", "due_at": due_at, "created_at": now, "owner_branch": branch_id}


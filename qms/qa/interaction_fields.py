"""The columns of an interaction, checked the same way for a CSV row, an API call and the form.

Built on the organisation importer's Field: `check` cleans one value or raises
ValueError(message). `ctx` holds what the checks look up: "agents" (code -> AgentInfo, only the
agents in the caller's scope), "customers" (ref -> id) and "now".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from qms.core.permissions import branch_scope
from qms.extensions import db
from qms.org.importer.fields import Column, Field, Kind, Text
from qms.org.models import Agent, Branch, Customer
from qms.qa.models import CHANNELS, Interaction

# Future times are refused beyond this much clock difference between systems.
CLOCK_SKEW = timedelta(minutes=10)
MAX_DURATION = 24 * 3600
_BAD_URL_CHAR = re.compile(r"[\s\x00-\x1f]")
_HMS = re.compile(r"(?:(\d{1,2}):)?([0-5]?\d):([0-5]\d)")

# What call-centre and branch systems write for each channel, besides our own codes.
CHANNEL_ALIASES = {
    "phone": "call", "电话": "call", "電話": "call", "来电": "call", "來電": "call",
    "branch": "branch_visit", "branch visit": "branch_visit", "branch-visit": "branch_visit",
    "visit": "branch_visit", "网点": "branch_visit", "網點": "branch_visit",
    "柜面": "branch_visit", "櫃面": "branch_visit",
    "online chat": "chat", "在线客服": "chat", "在線客服": "chat", "在线": "chat", "在線": "chat",
    "e-mail": "email", "mail": "email", "邮件": "email", "郵件": "email",
}


@dataclass(frozen=True)
class AgentInfo:
    id: int
    branch_id: int
    timezone: str


class Channel(Field):
    few = True

    def clean(self, value, ctx):
        v = value.strip().lower()
        v = CHANNEL_ALIASES.get(v, v)
        if v not in CHANNELS:
            raise ValueError(_l("Use one of: %(values)s.", values=", ".join(CHANNELS)))
        return v


class ExternalRef(Text):
    # as Text's pattern, without control characters (the column-wide fast path uses it)
    plain = r"[^\s\x00-\x1f](?:[^\x00-\x1f]*[^\s\x00-\x1f])?"

    def __init__(self):
        super().__init__(100, required=True)

    def clean(self, value, ctx):
        value = super().clean(value, ctx)
        if any(ord(ch) < 32 for ch in value):
            raise ValueError(_l("Line breaks and control characters are not allowed here."))
        return value


class AgentRef(Field):
    """An agent code -> AgentInfo; an agent outside the caller's scope reads as unknown."""

    few = True

    def clean(self, value, ctx):
        code = value.strip()
        if not code:
            raise ValueError(_l("A value is required."))
        agent = ctx["agents"].get(code)
        if agent is None:
            raise ValueError(_l("No agent has the code %(code)s.", code=code))
        return agent


class OccurredAt(Field):
    """ISO 8601 with an offset (kept as it is), or without one: a local time in the zone of
    the agent's branch, which is applied once the agent is known (the value stays naive)."""

    def clean(self, value, ctx):
        value = value.strip()
        if not value:
            raise ValueError(_l("A value is required."))
        try:
            when = datetime.fromisoformat(value)
        except ValueError:
            when = None
        if when is None or len(value) < 16:  # a date alone is no time of day
            raise ValueError(_l("Give a date and time such as 2026-03-01T09:30:00+08:00, or "
                                "2026-03-01 09:30 in the branch's local time."))
        return when


class Duration(Field):
    """Whole seconds, or h:mm:ss / m:ss as call-centre reports print them."""

    def clean(self, value, ctx):
        value = value.strip()
        if not value:
            return None
        if value.isdigit():
            seconds = int(value)
        else:
            m = _HMS.fullmatch(value)
            if m is None:
                raise ValueError(_l("Give whole seconds, or h:mm:ss."))
            seconds = int(m[1] or 0) * 3600 + int(m[2]) * 60 + int(m[3])
        if seconds > MAX_DURATION:
            raise ValueError(_l("At most %(n)d seconds (24 hours).", n=MAX_DURATION))
        return seconds


class CustomerRef(Field):
    few = True

    def clean(self, value, ctx):
        ref = value.strip()
        if not ref:
            return None
        customer_id = ctx["customers"].get(ref)
        if customer_id is None:
            raise ValueError(_l("No customer has the reference %(ref)s.", ref=ref))
        return customer_id


class MediaUrl(Field):
    """A link to the recording or transcript: http or https only (it becomes a link on pages)."""

    # what clean() accepts as it is, for the column-wide fast path: no spaces, control
    # characters or brackets (urlsplit refuses unbalanced ones), a host after the scheme
    plain = r"(?:[Hh][Tt][Tt][Pp][Ss]?://[^\s/?#\[\]\x00-\x1f][^\s\[\]\x00-\x1f]*)?"
    maxlen = 500

    def clean(self, value, ctx):
        value = value.strip()
        if not value:
            return None
        if len(value) > self.maxlen:
            raise ValueError(_l("At most %(n)d characters.", n=self.maxlen))
        try:
            parts = urlsplit(value)
        except ValueError:
            parts = None
        if parts is None or parts.scheme.lower() not in ("http", "https") or not parts.netloc \
                or _BAD_URL_CHAR.search(value):
            raise ValueError(_l("Give a web address starting with https:// or http://."))
        return value

    def finish(self, values, joined):
        return [v or None for v in values]


COLUMNS: tuple[Column, ...] = (
    Column("channel", "channel", Channel(), True),
    Column("external_ref", "external_ref", ExternalRef(), True),
    Column("agent_code", "agent_id", AgentRef(), True),
    Column("occurred_at", "occurred_at", OccurredAt(), True),
    Column("duration_seconds", "duration_seconds", Duration()),
    Column("customer_ref", "customer_id", CustomerRef()),
    Column("summary", "summary", Text(4000)),
    Column("media_url", "media_url", MediaUrl()),
)

# The API and the form take the transcript too (a CSV row is no place for one).
TRANSCRIPT = Column("transcript", "transcript", Text(200_000))

KIND = Kind(Interaction, "external_ref", COLUMNS)


def localise(when: datetime, agent: AgentInfo) -> datetime:
    """The time in UTC; a naive time is read as local time in the agent's branch zone."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=ZoneInfo(agent.timezone or "Asia/Shanghai"))
    return when.astimezone(UTC)


def check_not_future(when: datetime, now: datetime) -> None:
    if when > now + CLOCK_SKEW:
        raise ValueError(_l("This time is in the future."))


# -- what the checks look up ---------------------------------------------------------------

def load_agents(principal=None, roles=None, codes=None) -> dict[str, AgentInfo]:
    """Agents by code, limited to the principal's branches (None: every branch, for the CLI)
    and, if given, to `codes`."""
    stmt = sa.select(Agent.code, Agent.id, Agent.branch_id, Branch.timezone).join(Agent.branch)
    if principal is not None:
        scope = branch_scope(principal, roles)
        if scope is not None:
            stmt = stmt.where(Agent.branch_id.in_(scope))
    if codes is not None:
        stmt = stmt.where(Agent.code.in_(list(codes)))
    return {code: AgentInfo(aid, bid, tz) for code, aid, bid, tz in db.session.execute(stmt)}


def load_customers(refs) -> dict[str, int]:
    refs = [r for r in {str(r).strip() for r in refs} if r]
    if not refs:
        return {}
    return dict(db.session.execute(sa.select(Customer.ref, Customer.id)
                                   .where(Customer.ref.in_(refs))).all())

"""Fixtures for the campaign tests: a published version, campaigns, customers, a real SMTP
server on loopback (aiosmtpd) that records what it receives, and a clock."""

from __future__ import annotations

import socket
import threading
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy

import pytest
import sqlalchemy as sa

from qms.extensions import db
from tests.surveys.factories import sample_definition

DAY0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


def day(n: float) -> datetime:
    return DAY0 + timedelta(days=n)


@pytest.fixture
def version(app):
    from qms.surveys import services

    survey = services.create_survey(title="Branch CSAT", definition=sample_definition())
    v = services.publish(survey, now=DAY0 - timedelta(days=30))
    db.session.commit()
    return v


@pytest.fixture
def make_campaign(app, version):
    from qms.surveys import campaigns

    def make(start=True, now=DAY0 - timedelta(days=1), **kw):
        data = {"name": kw.pop("name", "Spring CSAT"), "version_id": version.id,
                "channel": kw.pop("channel", "email"), "link_valid_days": 14,
                "contact_gap_days": 30, **kw}
        c = campaigns.create_campaign(data, now=now)
        if start:
            campaigns.start_campaign(c, now=now)
        db.session.commit()
        return c

    return make


@pytest.fixture
def make_customer(app):
    from qms.org.models import Customer

    counter = iter(range(1, 100_000))

    def make(ref=None, email="", locale="zh_Hans", branch=None, **kw):
        n = next(counter)
        c = Customer(ref=ref or f"C{n:05d}", name=kw.pop("name", f"客户{n}"),
                     email=(f"c{n}@example.test" if email == "" else email), locale=locale,
                     home_branch_id=branch.id if branch else None, **kw)
        db.session.add(c)
        db.session.commit()
        return c

    return make


def invite(campaign, customers, now):
    """Queue customers into an e-mail campaign, as the audience upload does."""
    from qms.surveys import campaigns

    result = campaigns.invite_targets(
        campaign, [campaigns.Target(c, c.home_branch_id) for c in customers], now=now)
    db.session.commit()
    return result


def invitations(campaign=None):
    from qms.surveys.models import Invitation

    stmt = sa.select(Invitation).order_by(Invitation.id)
    if campaign is not None:
        stmt = stmt.where(Invitation.campaign_id == campaign.id)
    db.session.expire_all()
    return list(db.session.scalars(stmt))


# -- a real SMTP server ---------------------------------------------------------------------

class Recorder:
    """aiosmtpd handler: records messages and connections; can refuse recipients or drop the
    connection without answering a message's DATA."""

    def __init__(self):
        self.messages: list = []
        self.peers: set = set()
        self.refuse: dict[str, str] = {}   # address -> SMTP reply
        self.drop_at: int | None = None    # drop the connection on the n-th message (1-based)
        self.on_message = None             # called with the recipient in the server thread
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.peers.add(session.peer)
            self.messages.append(message_from_bytes(envelope.original_content,
                                                    policy=policy.default))
            n = len(self.messages)
        if self.on_message:
            self.on_message(envelope.rcpt_tos[0])
        if self.drop_at is not None and n == self.drop_at:
            server.transport.close()  # taken, but the client never hears so
            return "250 OK"
        return "250 OK"

    def recipients(self) -> list[str]:
        return [str(m["To"]) for m in self.messages]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp_server(app):
    """A real SMTP server on 127.0.0.1; the app is pointed at it."""
    from aiosmtpd.controller import Controller

    recorder = Recorder()
    port = free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port)
    controller.start()
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=port, SMTP_TIMEOUT=5,
                      MAIL_FROM="survey@bank.test")
    try:
        yield recorder
    finally:
        controller.stop()
        app.config["SMTP_HOST"] = None


def outbox_messages(app) -> list:
    from pathlib import Path

    files = sorted(Path(app.config["OUTBOX_DIR"]).glob("*.eml"))
    return [message_from_bytes(f.read_bytes(), policy=policy.default) for f in files]


def body_text(msg) -> str:
    return msg.get_body(("plain",)).get_content()


def link_in(msg, kind="s") -> str:
    import re

    m = re.search(rf"https?://\S+/{kind}/([A-Za-z0-9_\-]+)(?=\s|$)", body_text(msg))
    assert m, body_text(msg)
    return m.group(1)

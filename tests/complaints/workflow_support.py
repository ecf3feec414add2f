"""Shared set-up of the workflow tests: a branch with officers, and complaints in any state."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest

from qms.complaints import history, letters, workflow
from qms.complaints.models import Complaint
from qms.core.tx import unit_of_work
from qms.extensions import db

# 2026-03-02 10:00 in Shanghai: a Monday with no holiday near it.
T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
_numbers = itertools.count(1)


def at(days: float = 0, hours: float = 0) -> datetime:
    return T0 + timedelta(days=days, hours=hours)


def new_complaint(branch=None, *, received_at: datetime = T0, policy: str = "CN_NFRA_2020",
                  email: str | None = "customer@example.com", locale: str = "zh_Hans",
                  customer=None, **values) -> Complaint:
    """A complaint as intake leaves it: RECEIVED, its first event, its deadline."""
    n = next(_numbers)
    c = Complaint(reference=f"CMP-T-{n:05d}", status="RECEIVED", policy_code=policy,
                  complainant_name=values.pop("complainant_name", "王小明"),
                  complainant_email=email, complainant_locale=locale, customer=customer,
                  description=values.pop("description", "柜台办理业务等候时间过长"),
                  received_at=received_at, clock_started_at=received_at, branch=branch,
                  **values)
    db.session.add(c)
    db.session.flush()
    workflow.refresh_deadline(c)
    history.record(c, "received", actor_label="test", to_status="RECEIVED", now=received_at)
    db.session.commit()
    return c


def run(service, *args, **kwargs):
    """One service call as one unit of work, then the e-mails, as a view does."""
    with unit_of_work():
        result = service(*args, **kwargs)
    letters.deliver_committed()
    return result


def build_people() -> SimpleNamespace:
    """Two branches and the cast, in the current app's database."""
    from qms.auth.services import GrantSpec, create_user
    from qms.org.models import Branch

    branch = Branch(code="SH01", name="上海分行营业部", region="华东", city="上海")
    other = Branch(code="BJ01", name="北京分行", region="华北", city="北京")
    db.session.add_all([branch, other])
    db.session.flush()
    n = itertools.count(1)

    def user(role, name, branch_code=None, *more):
        grants = [GrantSpec(r, branch_code, None) for r in (role, *more)]
        return create_user(email=f"u{next(n)}-{role}@bank.test", name=name,
                           password="correct horse battery", grants=grants)

    people = SimpleNamespace(
        branch=branch, other=other,
        handler=user("complaints", "处理人", "SH01"),
        checker=user("complaints", "复核人", "SH01"),
        reviewer=user("complaints", "核查人", "SH01"),
        central=user("complaints", "总行投诉岗"),
        admin=user("admin", "总行管理"),
        head=user("branch_head", "支行长", "SH01"),
        outsider=user("complaints", "外行", "BJ01"),
    )
    db.session.commit()
    return people


@pytest.fixture
def people(app):
    return build_people()


def to_investigation(c: Complaint, p, now: datetime | None = None) -> Complaint:
    """RECEIVED -> IN_INVESTIGATION by the handler, conflict declared."""
    now = now or c.received_at + timedelta(hours=1)
    run(workflow.acknowledge, c, p.handler, now=now)
    run(workflow.triage, c, p.handler, channel_code="A01", business_code="B01",
        cause_code="C01", now=now)
    run(workflow.start_investigation, c, p.handler, now=now)
    run(workflow.declare_no_conflict, c, p.handler, now=now)
    return c


DECISION = dict(outcome="partly_upheld", redress_amount="200.00", findings="核实了柜台监控记录",
                reasons="等候时间确实超过规定", basis="《服务规范》第三条", remedies="退还手续费")


def to_response(c: Complaint, p, now: datetime | None = None, **decision) -> Complaint:
    """... -> RESPONSE_ISSUED: drafted by the handler, approved by the checker."""
    now = now or c.received_at + timedelta(days=2)
    to_investigation(c, p, now=now - timedelta(hours=2))
    run(workflow.draft_decision, c, p.handler, **{**DECISION, **decision}, now=now)
    run(workflow.submit_for_approval, c, p.handler, now=now)
    run(workflow.decide_approval, workflow.pending_approval(c), p.checker, approve=True,
        now=now)
    return c


# -- the app with this part's translations ----------------------------------------------------

ROOT = Path(__file__).resolve().parents[2]
FRAGMENT = "complaints-workflow"


@pytest.fixture(scope="session")
def workflow_catalogues(tmp_path_factory) -> str:
    """The shipped catalogues with this part's fragment merged in, compiled (until the lead
    merges qms/translations/fragments into messages.po, after which nothing changes)."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    from qms.config import LOCALES

    out = tmp_path_factory.mktemp("catalogues")
    translations = ROOT / "qms" / "translations"
    for locale in LOCALES:
        with open(translations / locale / "LC_MESSAGES" / "messages.po", "rb") as fh:
            catalog = read_po(fh, locale=locale)
        fragment = translations / "fragments" / f"{FRAGMENT}.{locale}.po"
        if fragment.exists():
            with open(fragment, "rb") as fh:
                for message in read_po(fh, locale=locale):
                    if message.id and message.string:
                        catalog[message.id] = message
        target = out / locale / "LC_MESSAGES"
        target.mkdir(parents=True)
        with open(target / "messages.mo", "wb") as fh:
            write_mo(fh, catalog)
    return str(out)


@pytest.fixture(name="app")
def translated_app(tmp_path, workflow_catalogues):
    """Import into a test module to replace the `app` fixture there."""
    from qms.extensions import babel
    from tests.conftest import app_config, build_app

    app = build_app(app_config(tmp_path, BABEL_TRANSLATION_DIRECTORIES=workflow_catalogues))
    with app.app_context():
        # Flask-Babel caches translations on the one Babel object, across apps
        babel.domain_instance.cache.clear()
        db.create_all()
        yield app
        babel.domain_instance.cache.clear()
        db.session.remove()
        db.engine.dispose()

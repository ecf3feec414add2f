"""Audit fixtures: a checklist definition, templates (published by default) and programmes.

    tpl = make_template()                       # published version 1 of SAMPLE_DEFINITION
    tpl = make_template(published=False)        # a draft
    prog = make_programme(tpl, recurrence="monthly", starts_on=datetime(...), scope="list",
                          branch_ids=[b.id], auditor_ids=[u.id], days_allowed=14)
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime

import pytest

from qms.extensions import db as _db


def L(text: str) -> dict:  # noqa: N802 - a label in the three languages
    return {"en": text, "zh_Hans": text, "zh_Hant": text}


# cash (weight 60): dual_control pass/fail 2 points, critical for its section, severity
# critical, evidence required; cash_count score 0..5, pass mark 3, severity major, N/A allowed.
# premises (weight 40): signage pass/fail 1 point, minor.
SAMPLE_DEFINITION = {
    "weighting": "sections",
    "sections": [
        {"key": "cash", "label": L("Cash handling"), "weight": 60, "items": [
            {"key": "dual_control", "label": L("Vault under dual control"),
             "guidance": L("Two keys held by two people"), "kind": "passfail",
             "max_points": 2, "na_allowed": False, "severity": "critical",
             "evidence_required": True, "critical": "section", "pass_threshold": None},
            {"key": "cash_count", "label": L("Cash count matches the ledger"),
             "kind": "score", "max_points": 5, "na_allowed": True, "severity": "major",
             "evidence_required": False, "critical": None, "pass_threshold": 3},
        ]},
        {"key": "premises", "label": L("Premises"), "weight": 40, "items": [
            {"key": "signage", "label": L("Fee board displayed"), "kind": "passfail",
             "max_points": 1, "na_allowed": False, "severity": "minor",
             "evidence_required": False, "critical": None, "pass_threshold": None},
        ]},
    ],
}


@pytest.fixture
def sample_definition():
    return copy.deepcopy(SAMPLE_DEFINITION)


@pytest.fixture
def make_template(app):
    from qms.audits import templates

    counter = iter(range(1, 10_000))

    def make(name=None, definition=None, published=True, now=None):
        t = templates.create_template(
            name=name or f"Checklist {next(counter)}",
            definition=copy.deepcopy(definition or SAMPLE_DEFINITION))
        if published:
            templates.publish_template(t, now=now)
        _db.session.commit()
        return t

    return make


@pytest.fixture
def make_programme(app):
    from qms.audits.programmes import ProgrammeSpec, create_programme

    counter = iter(range(1, 10_000))

    def make(template, *, name=None, recurrence="monthly", cron=None, scope="all", region=None,
             branch_ids=(), auditor_ids=None, days_allowed=14,
             starts_on=datetime(2026, 1, 1, tzinfo=UTC), active=True):
        p = create_programme(ProgrammeSpec(
            name=name or f"Programme {next(counter)}", template_id=template.id,
            recurrence=recurrence, cron=cron, scope=scope, region=region,
            branch_ids=list(branch_ids), auditor_ids=auditor_ids, days_allowed=days_allowed,
            starts_on=starts_on, active=active))
        _db.session.commit()
        return p

    return make

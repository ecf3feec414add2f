"""Mystery-shopping fixtures: a published mystery_shop survey, waves, shoppers, assignments."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from qms.extensions import db as _db
from tests.mystery.support import mystery_definition


@pytest.fixture
def make_mystery_survey(app):
    """make_mystery_survey(published=True, definition=None, title=...) -> SurveyVersion."""
    from qms.surveys import services
    from qms.surveys.models import SurveyKind

    counter = iter(range(1, 10_000))

    def make(published=True, definition=None, title=None):
        survey = services.create_survey(
            title=title or f"Mystery shop {next(counter)}", kind=SurveyKind.MYSTERY_SHOP,
            definition=definition if definition is not None else mystery_definition())
        version = services.latest_version(survey)
        if published:
            version = services.publish(survey, now=datetime(2026, 1, 1, tzinfo=UTC))
        _db.session.commit()
        return version

    return make


@pytest.fixture
def make_shopper(make_user):
    """make_shopper(name=...) -> a User with the shopper role."""

    def make(**kw):
        return make_user("shopper", **kw)

    return make


@pytest.fixture
def make_wave(app, make_mystery_survey, make_branch):
    """make_wave(version=None, branches=None, shoppers=None, **columns) -> Wave (committed).

    Defaults: a fresh published survey, one new branch, every active shopper, 2026-03-02 ..
    2026-03-13 (two working weeks), one visit per branch, scenario "deposit"."""
    from qms.mystery.models import ShopProgramme, Wave

    def make(version=None, branches=None, shoppers=None, programme=None, **kw):
        version = version or make_mystery_survey()
        if programme is None:
            programme = ShopProgramme(name=kw.pop("programme_name", "Q1 2026"),
                                      survey_id=version.survey_id)
            _db.session.add(programme)
            _db.session.flush()
        branches = branches if branches is not None else [make_branch()]
        columns = dict(name="Wave 1", starts_on=date(2026, 3, 2), ends_on=date(2026, 3, 13),
                       visits_per_branch=1, scenarios=["deposit"], rotation_days=90,
                       daily_cap=3, status="open")
        columns.update(kw)
        wave = Wave(programme_id=programme.id, version_id=version.id,
                    branch_ids=[b.id for b in branches],
                    shopper_ids=None if shoppers is None else [s.id for s in shoppers],
                    **columns)
        _db.session.add(wave)
        _db.session.commit()
        return wave

    return make


@pytest.fixture
def make_assignment(app, make_wave, make_shopper):
    """make_assignment(wave=None, shopper=None, branch=None, status="offered", start=None,
    **columns) -> ShopAssignment (committed); a 2-hour window from `start` (default the wave's
    first day, 10:00 UTC), due days_to_submit days after the window."""
    from qms.mystery.models import ShopAssignment
    from qms.org.models import Branch

    def make(wave=None, shopper=None, branch=None, status="offered", start=None, **kw):
        wave = wave or make_wave()
        shopper = shopper or make_shopper()
        if branch is None:
            branch = _db.session.get(Branch, wave.branch_ids[0])
        start = start or datetime.combine(wave.starts_on, datetime.min.time(),
                                          tzinfo=UTC) + timedelta(hours=10)
        end = start + timedelta(hours=2)
        columns = dict(scenario=(wave.scenarios or [None])[0], window_start=start,
                       window_end=end, due_at=end + timedelta(days=wave.days_to_submit))
        columns.update(kw)
        a = ShopAssignment(wave_id=wave.id, version_id=wave.version_id, shopper_id=shopper.id,
                           branch_id=branch.id, status=status, **columns)
        _db.session.add(a)
        _db.session.commit()
        return a

    return make

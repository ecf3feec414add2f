"""The demo bank's year of survey activity: shape, believable differences, determinism."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from qms.extensions import db as _db
from qms.surveys.models import Answer, Campaign, FollowUp, Invitation, Response, Survey
from qms.surveys.results import Filters, breakdown, monthly_trend, summary

FIXED_NOW = datetime(2026, 3, 15, 8, 0, tzinfo=UTC)


@pytest.fixture
def fixed_clock(monkeypatch):
    monkeypatch.setattr("qms.surveys.demo.now_utc", lambda: FIXED_NOW)


def _build(seed=5, customers=600):
    from qms.demo import build_demo

    build_demo(seed=seed, customers=customers, activities=("surveys",))
    _db.session.commit()
    return _db.session.scalar(sa.select(Survey.id).where(Survey.kind == "satisfaction"))


def test_a_year_of_activity_with_differences(app, fixed_clock):
    sid = _build()
    assert _db.session.scalar(sa.select(sa.func.count(Survey.id))
                              .where(Survey.kind == "satisfaction")) == 1
    campaigns = list(_db.session.scalars(sa.select(Campaign)))
    assert sorted(c.channel for c in campaigns).count("email") == 12
    assert any(c.channel == "counter" for c in campaigns)
    f = Filters(survey_id=sid)

    trend = monthly_trend(f)
    # twelve months up to "now" (2026-03-15): the current one so far
    assert [p.month for p in trend] == [f"2025-{m:02d}" for m in range(4, 13)] + [
        "2026-01", "2026-02", "2026-03"]
    assert all(p.kpis.responses > 250 and p.kpis.nps.sufficient for p in trend[:-1])
    assert 100 < trend[-1].kpis.responses < trend[-2].kpis.responses
    assert _db.session.scalar(sa.select(sa.func.max(Response.completed_at))) < FIXED_NOW
    by_month = {p.month: p.kpis.nps.value for p in trend}
    assert by_month["2026-02"] < by_month["2025-06"] - 15  # Spring Festival dip

    total = summary(f)
    assert 3000 < total.responses < 6000
    assert 20 < total.response_rate.value < 45
    assert 60 < total.csat.value < 85 and -10 < total.nps.value < 35 and 4.5 < total.ces.value < 6

    branches = {r.code: r.kpis for r in breakdown(f, "branch")}
    assert len(branches) == 12 and all(k.nps.sufficient for k in branches.values())
    nps = {code: k.nps.value for code, k in branches.items()}
    assert max(nps.values()) - min(nps.values()) > 40
    assert nps["SH01"] > total.nps.value + 15 and nps["BJ04"] < total.nps.value - 15
    assert len({round(v) for v in nps.values()}) >= 10  # branches really differ
    rates = {code: k.response_rate.value for code, k in branches.items()}
    assert rates["SH01"] > rates["BJ04"]

    bj04 = _db.session.scalar(sa.text("SELECT id FROM branches WHERE code = 'BJ04'"))
    agents = {r.code: r.kpis for r in breakdown(f.with_(branch_id=bj04), "agent", min_sample=10)}
    assert agents["BJ04-A07"].nps.value < branches["BJ04"].nps.value  # a weak agent

    # every detractor and low CSAT has its follow-up; old ones are mostly closed
    flagged = _db.session.scalar(sa.select(sa.func.count(sa.distinct(Answer.response_id))).where(
        sa.or_(sa.and_(Answer.qtype == "nps", Answer.num_value <= 6),
               sa.and_(Answer.qtype == "csat", Answer.num_value <= 2))))
    assert _db.session.scalar(sa.select(sa.func.count(FollowUp.id))) == flagged > 0
    statuses = dict(_db.session.execute(sa.select(FollowUp.status, sa.func.count())
                                        .group_by(FollowUp.status)).all())
    assert statuses["closed"] > statuses.get("open", 0) > 0
    open_branches = _db.session.scalar(sa.select(sa.func.count(sa.distinct(FollowUp.branch_id)))
                                       .where(FollowUp.status != "closed"))
    assert open_branches == 12  # every branch has recent items to work
    assert _db.session.scalar(sa.select(sa.func.count()).where(
        Invitation.status == "bounced")) > 0
    comments = _db.session.scalar(sa.select(sa.func.count()).where(Answer.qtype == "textarea"))
    assert comments > 500


def _snapshot() -> list[tuple]:
    return [tuple(r) for r in _db.session.execute(
        sa.select(Response.branch_id, Response.agent_id, Response.channel, Response.segment,
                  Response.locale, Response.completed_at, Answer.question_key,
                  Answer.choice_key, Answer.num_value, Answer.text_value)
        .join(Answer, Answer.response_id == Response.id)
        .order_by(Response.id, Answer.id))]


def test_deterministic_for_a_seed(tmp_path, fixed_clock):
    from qms import create_app
    from tests.conftest import app_config

    snapshots = []
    for name, seed in (("a", 11), ("b", 11), ("c", 12)):
        (tmp_path / name).mkdir()
        app = create_app(app_config(tmp_path / name))
        with app.app_context():
            _db.create_all()
            _build(seed=seed, customers=300)
            snapshots.append(_snapshot())
            _db.session.remove()
            _db.engine.dispose()
    assert snapshots[0] == snapshots[1]
    assert snapshots[0] != snapshots[2]


@pytest.mark.postgres
def test_demo_on_postgresql(pg_app, fixed_clock):
    sid = _build(customers=300)
    assert summary(Filters(survey_id=sid)).responses > 3000
    assert len(monthly_trend(Filters(survey_id=sid))) == 12
    # ids were reserved from the sequences: ordinary inserts still work afterwards
    version_id = _db.session.scalar(sa.select(Response.version_id).limit(1))
    r = Response(version_id=version_id, survey_id=sid, channel="counter", locale="en",
                 completed_at=FIXED_NOW)
    _db.session.add(r)
    _db.session.flush()
    _db.session.add(Answer(response_id=r.id, question_key="csat", qtype="csat", num_value=5))
    _db.session.commit()
    assert summary(Filters(survey_id=sid)).responses > 3000

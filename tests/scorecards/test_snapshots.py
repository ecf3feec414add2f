"""Snapshots: stored as computed, never changed silently; late data marks them stale; a
recompute makes a new snapshot and keeps the old one."""

from __future__ import annotations

import copy
import hashlib
import json
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from qms.complaints.models import Complaint
from qms.extensions import db as _db
from qms.scorecards.models import ScorecardSnapshot
from qms.scorecards.snapshots import (
    compute_period,
    get_or_compute,
    get_snapshot,
    history,
    latest_arrival,
    mark_stale,
    recompute_stale,
    refresh_staleness,
)
from tests.scorecards.conftest import NOW, at


def all_rows():
    return list(_db.session.scalars(sa.select(ScorecardSnapshot).order_by(ScorecardSnapshot.id)))


def late_complaint(agent, created):
    """A complaint received in October but entered (created) after the snapshot's cut-off."""
    c = Complaint(reference="CMP-2026-009999", policy_code="CN_NFRA_2020",
                  complainant_name="迟到", description="补录", branch_id=agent.branch_id,
                  agent_id=agent.id, received_at=at(20), clock_started_at=at(20),
                  created_at=created, status="RECEIVED")
    _db.session.add(c)
    _db.session.commit()


def test_compute_stores_one_snapshot_per_branch_and_agent(scorecard_world):
    w = scorecard_world
    snaps = compute_period(w.period, now=NOW)
    _db.session.commit()
    assert sorted((s.scope, s.entity_code) for s in snaps) == [
        ("agent", "B1-A1"), ("agent", "B1-A2"), ("agent", "B2-A3"), ("branch", "B1"),
        ("branch", "B2")]
    b1 = get_snapshot("branch", "B1", w.period)
    canonical = json.dumps(b1.data, sort_keys=True, separators=(",", ":"),
                           ensure_ascii=False).encode()
    assert b1.content_hash == hashlib.sha256(canonical).hexdigest()
    assert b1.cutoff_at == NOW and not b1.stale and b1.superseded_by_id is None
    assert b1.branch_id == w.b1.id and b1.agent_id is None
    a1 = get_snapshot("agent", "B1-A1", w.period)
    assert a1.agent_id == w.a1.id and a1.branch_id == w.b1.id
    assert b1.data["cutoff"] == NOW.isoformat() and b1.data["period"] == "2026-10"
    assert b1.data["model"]["version"] == 1 and b1.model_version_id == b1.model_version.id


def test_recompute_without_change_keeps_the_published_snapshot(scorecard_world):
    first = compute_period("2026-10", now=NOW)
    _db.session.commit()
    ids = sorted(s.id for s in first)
    again = compute_period("2026-10", now=NOW + timedelta(days=3))
    _db.session.commit()
    assert sorted(s.id for s in again) == ids
    assert len(all_rows()) == 5
    assert get_snapshot("branch", "B1", "2026-10").cutoff_at == NOW


def test_late_data_marks_stale_and_a_recompute_keeps_the_old(scorecard_world):
    w = scorecard_world
    compute_period(w.period, now=NOW)
    _db.session.commit()
    old = get_snapshot("branch", "B1", w.period)
    old_id, old_hash, old_data = old.id, old.content_hash, copy.deepcopy(old.data)
    assert refresh_staleness(NOW + timedelta(hours=1)) == {}  # nothing late yet

    late_complaint(w.a1, created=NOW + timedelta(days=1))
    assert latest_arrival(w.period) == NOW + timedelta(days=1)
    marked = refresh_staleness(NOW + timedelta(days=2))
    _db.session.commit()
    assert marked == {"2026-10": 5}  # ranks compare everyone: the whole month is stale
    _db.session.expire_all()
    old = _db.session.get(ScorecardSnapshot, old_id)
    assert old.stale and old.data == old_data and old.content_hash == old_hash  # not changed

    assert recompute_stale(NOW + timedelta(days=2)) == ["2026-10"]
    _db.session.commit()
    _db.session.expire_all()
    new = get_snapshot("branch", "B1", w.period)
    old = _db.session.get(ScorecardSnapshot, old_id)
    assert new.id != old_id and old.superseded_by_id == new.id
    assert old.data == old_data and old.content_hash == old_hash
    assert not new.stale and new.cutoff_at == NOW + timedelta(days=2)
    received = {k["key"]: k for k in new.data["kpis"]}["complaints_per_1000"]
    assert received["value"] == pytest.approx(40.0)  # 8 of 200, was 7 of 200
    assert new.data["complaints"]["received"] == 8
    assert [s.id for s in history("branch", "B1", w.period)] == [new.id, old_id]
    assert len(all_rows()) == 10
    assert refresh_staleness(NOW + timedelta(days=3)) == {}


def test_only_one_current_snapshot_per_entity_and_month(scorecard_world):
    compute_period("2026-10", now=NOW)
    _db.session.commit()
    cur = get_snapshot("branch", "B1", "2026-10")
    _db.session.add(ScorecardSnapshot(
        scope="branch", branch_id=cur.branch_id, entity_code="B1", period="2026-10",
        model_version_id=cur.model_version_id, data={}, content_hash="0" * 64, cutoff_at=NOW))
    with pytest.raises(IntegrityError):
        _db.session.flush()
    _db.session.rollback()


def test_mark_stale_is_explicit_and_targeted(scorecard_world):
    compute_period("2026-10", now=NOW)
    _db.session.commit()
    assert mark_stale("2026-10", scope="agent", entity_code="B1-A2") == 1
    assert mark_stale("2026-10", scope="agent", entity_code="B1-A2") == 0  # already
    assert mark_stale("2026-10", arrived_after=NOW) == 0  # nothing cut off before NOW
    _db.session.commit()
    assert get_snapshot("agent", "B1-A2", "2026-10").stale
    assert not get_snapshot("agent", "B1-A1", "2026-10").stale


def test_get_or_compute_computes_closed_months_only(scorecard_world):
    assert get_or_compute("branch", "B1", "2026-11", now=NOW) is None  # still running
    assert all_rows() == []
    assert get_or_compute("branch", "NOPE", "2026-10", now=NOW) is None
    assert all_rows() == []
    snap = get_or_compute("branch", "B1", "2026-10", now=NOW)
    assert snap is not None and snap.entity_code == "B1"
    assert len(all_rows()) == 5  # the whole month at once


@pytest.mark.postgres
def test_snapshots_on_postgresql(pg_scorecard_world):
    w = pg_scorecard_world
    compute_period(w.period, now=NOW)
    _db.session.commit()
    old = get_snapshot("branch", "B1", w.period)
    old_id = old.id
    late_complaint(w.a1, created=NOW + timedelta(days=1))
    assert refresh_staleness(NOW + timedelta(days=2)) == {"2026-10": 5}
    compute_period(w.period, now=NOW + timedelta(days=2))
    _db.session.commit()
    new = get_snapshot("branch", "B1", w.period)
    assert new.id != old_id
    assert _db.session.get(ScorecardSnapshot, old_id).superseded_by_id == new.id
    assert new.data["overall"]["rank"] == 2 and new.data["complaints"]["received"] == 8


def test_compute_recent_months_for_the_demo(scorecard_world):
    from qms.scorecards.snapshots import compute_recent

    assert compute_recent(now=NOW, months=2) == ["2026-09", "2026-10"]
    _db.session.commit()
    assert get_snapshot("agent", "B1-A1", "2026-09").data["overall"]["score"] is not None
    assert len(all_rows()) == 10

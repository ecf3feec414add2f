"""Waves and assignment: rotation, conflicts, daily caps, spread, planner override, idempotence."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest
from flask_babel import force_locale

from qms.extensions import db
from qms.mystery import assignment as asg
from qms.mystery import waves
from qms.mystery.models import ShopAssignment

NOW = datetime(2026, 2, 20, 8, 0, tzinfo=UTC)


def generate(wave, seed=1):
    result = asg.generate_assignments(wave, now=NOW, seed=seed)
    db.session.commit()
    return result


def rows(wave):
    return list(db.session.scalars(
        db.select(ShopAssignment).where(ShopAssignment.wave_id == wave.id)
        .order_by(ShopAssignment.id)))


def test_create_programme_and_wave_checks_input(app, make_mystery_survey, make_branch,
                                                make_shopper):
    version = make_mystery_survey()
    b = make_branch()
    s = make_shopper()
    p = waves.create_programme(name="Q1", survey=version.survey)
    spec = waves.WaveSpec(name="W1", starts_on=date(2026, 3, 2), ends_on=date(2026, 3, 6),
                          branch_ids=[b.id], shopper_ids=[s.id], scenarios=("deposit",))
    wave = waves.create_wave(p, spec)
    assert wave.version_id == version.id and wave.status == "open"
    bad = waves.WaveSpec(name="", starts_on=date(2026, 3, 6), ends_on=date(2026, 3, 2),
                         branch_ids=[b.id], scenarios=("nope",), visits_per_branch=0,
                         shopper_ids=[b.id + 999])
    with pytest.raises(waves.PlanningError) as exc:
        waves.create_wave(p, bad)
    assert set(exc.value.fields) == {"name", "ends_on", "scenarios", "visits_per_branch",
                                     "shopper_ids"}
    draft = make_mystery_survey(published=False)
    with pytest.raises(waves.PlanningError) as exc:
        waves.create_programme(name="x", survey=draft.survey)
    assert "survey_id" in exc.value.fields


def test_generation_is_idempotent_and_spreads_visits(app, make_wave, make_branch,
                                                     make_shopper):
    branches = [make_branch() for _ in range(3)]
    shoppers = [make_shopper() for _ in range(4)]
    wave = make_wave(branches=branches, shoppers=shoppers, visits_per_branch=3,
                     scenarios=["deposit", "card"], daily_cap=1)
    first = generate(wave)
    assert len(first.created) == 9 and first.unplaced == []
    again = generate(wave)
    assert again.created == [] and again.kept == 9 and len(rows(wave)) == 9
    for b in branches:
        mine = [a for a in rows(wave) if a.branch_id == b.id]
        local = [a.window_start.astimezone(asg.ZoneInfo("Asia/Shanghai")) for a in mine]
        assert len({t.weekday() for t in local}) == 3          # three different weekdays
        assert {t.hour < 12 for t in local} == {True, False}   # mornings and afternoons
        assert len({a.shopper_id for a in mine}) == 3          # rotation within the wave
        assert {a.scenario for a in mine} == {"deposit", "card"}
        assert all(date(2026, 3, 2) <= t.date() <= date(2026, 3, 13) for t in local)
    per_day = Counter((a.shopper_id, a.window_start.astimezone(
        asg.ZoneInfo("Asia/Shanghai")).date()) for a in rows(wave))
    assert max(per_day.values()) == 1                          # the daily cap
    assert all(a.due_at == a.window_end + timedelta(days=2) for a in rows(wave))


def test_declined_visit_is_refilled_with_another_shopper(app, make_wave, make_shopper):
    shoppers = [make_shopper() for _ in range(2)]
    wave = make_wave(shoppers=shoppers)
    (a,) = generate(wave).created
    a.status = "declined"
    db.session.commit()
    refill = generate(wave)
    assert len(refill.created) == 1 and refill.created[0].shopper_id != a.shopper_id


def test_rotation_looks_at_earlier_waves(app, make_wave, make_branch, make_shopper,
                                         make_assignment):
    b = make_branch()
    s1, s2 = make_shopper(), make_shopper()
    earlier = make_wave(branches=[b], shoppers=[s1, s2], name="Earlier",
                        starts_on=date(2026, 1, 5), ends_on=date(2026, 1, 9))
    make_assignment(wave=earlier, shopper=s1, branch=b, status="approved")
    make_assignment(wave=earlier, shopper=s2, branch=b, status="declined")
    wave = make_wave(branches=[b], shoppers=[s1, s2])
    (a,) = generate(wave).created
    assert a.shopper_id == s2.id   # s1 was there in January; s2's visit was declined


def test_rotation_blocks_everyone_and_says_why(app, make_wave, make_branch, make_shopper,
                                              make_assignment):
    b = make_branch()
    s1 = make_shopper()
    earlier = make_wave(branches=[b], shoppers=[s1], starts_on=date(2026, 2, 2),
                        ends_on=date(2026, 2, 6))
    make_assignment(wave=earlier, shopper=s1, branch=b, status="submitted")
    wave = make_wave(branches=[b], shoppers=[s1], rotation_days=90)
    result = generate(wave)
    assert result.created == []
    (u,) = result.unplaced
    assert (u.branch_id, u.visit, u.reason_code, u.blocked) == (b.id, 1, "rotation",
                                                                 {"rotation": 1})
    short = make_wave(branches=[b], shoppers=[s1], rotation_days=7, name="Short rotation")
    assert len(generate(short).created) == 1


def test_conflicts_are_never_assigned(app, make_wave, make_branch, make_shopper):
    b = make_branch()
    s1, s2 = make_shopper(), make_shopper()
    waves.declare_conflict(s1, b, "sister works there")
    waves.declare_conflict(s2, b)
    db.session.commit()
    wave = make_wave(branches=[b], shoppers=[s1, s2])
    result = generate(wave)
    assert result.created == [] and result.unplaced[0].reason_code == "conflict"
    assert result.unplaced[0].blocked == {"conflict": 2}
    s3 = make_shopper()
    wave.shopper_ids = [s1.id, s2.id, s3.id]
    db.session.commit()
    assert [a.shopper_id for a in generate(wave).created] == [s3.id]


def test_daily_cap_moves_visits_to_other_days(app, make_wave, make_branch, make_shopper):
    branches = [make_branch() for _ in range(4)]
    s = make_shopper()
    # one working day, one shopper, a cap of 2: two of four branches cannot be placed
    wave = make_wave(branches=branches, shoppers=[s], daily_cap=2,
                     starts_on=date(2026, 3, 2), ends_on=date(2026, 3, 2))
    result = generate(wave)
    assert len(result.created) == 2
    assert [u.reason_code for u in result.unplaced] == ["daily_cap", "daily_cap"]
    longer = make_wave(branches=branches, shoppers=[s], daily_cap=2, name="Two days",
                       rotation_days=0, starts_on=date(2026, 3, 9), ends_on=date(2026, 3, 10))
    created = generate(longer).created
    assert len(created) == 4
    assert sorted(Counter(a.window_start.date() for a in created).values()) == [2, 2]


def test_no_shoppers(app, make_wave, make_shopper):
    s = make_shopper()
    s.active = False
    db.session.commit()
    result = generate(make_wave(shoppers=[s]))
    assert [u.reason_code for u in result.unplaced] == ["no_shoppers"]
    with force_locale("en"):
        assert "no active shopper" in str(result.unplaced[0].reason)


def test_generation_is_deterministic_for_a_seed(app, make_wave, make_branch, make_shopper):
    branches = [make_branch() for _ in range(2)]
    shoppers = [make_shopper() for _ in range(3)]
    wave = make_wave(branches=branches, shoppers=shoppers, visits_per_branch=2)

    def plan():
        created = asg.generate_assignments(wave, now=NOW, seed=7).created
        out = [(a.branch_id, a.shopper_id, a.window_start, a.scenario) for a in created]
        db.session.rollback()
        return out

    first = plan()
    assert len(first) == 4 and first == plan()


def test_reassign_refuses_broken_rules_unless_forced(app, make_wave, make_branch,
                                                     make_shopper, make_user):
    b = make_branch()
    s1, s2, s3 = make_shopper(), make_shopper(), make_shopper()
    planner = make_user("qa")
    waves.declare_conflict(s2, b)
    db.session.commit()
    wave = make_wave(branches=[b], shoppers=[s1])
    (a,) = generate(wave).created
    with force_locale("en"), pytest.raises(waves.PlanningError) as exc:
        asg.reassign(a, s2, by=planner, now=NOW)
    assert "conflict" in str(exc.value.fields["shopper_id"])
    assert a.shopper_id == s1.id
    codes = asg.reassign(a, s2, by=planner, now=NOW, force=True)
    db.session.commit()
    assert codes == ["not_in_pool", "conflict"] and a.shopper_id == s2.id
    assert a.override_warning == "not_in_pool; conflict" and a.status == "offered"
    with force_locale("en"):
        assert "conflict" in str(asg.warning_text(a.override_warning))
    wave.shopper_ids = None
    db.session.commit()
    assert asg.reassign(a, s3, by=planner, now=NOW) == []
    assert a.override_warning is None and a.shopper_id == s3.id
    with pytest.raises(waves.PlanningError):
        asg.reassign(a, planner, by=planner, now=NOW, force=True)   # not a shopper
    a.status = "submitted"
    with pytest.raises(waves.PlanningError):
        asg.reassign(a, s1, by=planner, now=NOW, force=True)


def test_reassign_checks_daily_cap_and_rotation(app, make_wave, make_branch, make_shopper,
                                                make_user, make_assignment):
    b1, b2 = make_branch(), make_branch()
    s1, s2 = make_shopper(), make_shopper()
    wave = make_wave(branches=[b1, b2], daily_cap=1, rotation_days=30)
    a = make_assignment(wave=wave, shopper=s1, branch=b1)
    make_assignment(wave=wave, shopper=s2, branch=b2)                      # same day
    make_assignment(wave=wave, shopper=s2, branch=b1, status="approved",
                    start=a.window_start - timedelta(days=10))
    assert asg.broken_rules(a, s2) == ["rotation", "daily_cap"]
    assert asg.broken_rules(a, s1) == []     # its own assignment does not count against it

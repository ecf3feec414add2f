"""Creating each period's audits exactly once: re-runs, catch-up, concurrency, rotation."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from qms.audits.models import Audit, AuditProgramme
from qms.audits.scheduling import create_due_audits, pick_auditor
from qms.extensions import db

NOV_28 = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
OPENED = datetime(2019, 1, 1, tzinfo=UTC)  # branches older than every period


def audit_keys():
    return sorted(db.session.execute(
        sa.select(Audit.programme_id, Audit.branch_id, Audit.period)).all())


def assert_no_duplicates():
    keys = audit_keys()
    assert len(keys) == len(set(keys))


@pytest.fixture
def setup(make_branch, make_user, make_template, make_programme):
    branches = [make_branch() for _ in range(3)]
    auditors = [make_user("auditor") for _ in range(3)]
    tpl = make_template()
    prog = make_programme(tpl, starts_on=datetime(2026, 11, 1, tzinfo=UTC))
    return branches, auditors, tpl, prog


def test_creates_one_audit_per_branch_and_period_and_rerun_creates_nothing(setup):
    branches, auditors, tpl, prog = setup
    assert create_due_audits(NOV_28) == 3
    audits = db.session.scalars(sa.select(Audit).order_by(Audit.branch_id)).all()
    assert [a.branch_id for a in audits] == [b.id for b in branches]
    assert {a.period for a in audits} == {"2026-11"}
    # the period starts at local midnight, Shanghai: 16:00 UTC the day before
    assert audits[0].planned_at == datetime(2026, 10, 31, 16, 0, tzinfo=UTC)
    assert audits[0].due_at == datetime(2026, 11, 14, 16, 0, tzinfo=UTC)
    assert audits[0].status == "planned"
    assert audits[0].template_version.is_published
    # round robin: three branches, three auditors, each once
    assert sorted(a.auditor_id for a in audits) == sorted(u.id for u in auditors)

    cursor = db.session.get(AuditProgramme, prog.id).rotation_cursor
    assert create_due_audits(NOV_28) == 0
    assert create_due_audits(NOV_28) == 0
    assert len(audit_keys()) == 3
    db.session.expire_all()
    assert db.session.get(AuditProgramme, prog.id).rotation_cursor == cursor


def test_next_period_and_catch_up_after_downtime_creates_missed_period_once(setup):
    branches, _auditors, _tpl, prog = setup
    assert create_due_audits(datetime(2026, 10, 27, tzinfo=UTC)) == 0  # before starts_on
    # the scheduler was down from Oct 28 to Jan 3: November and December are both missed
    assert create_due_audits(datetime(2027, 1, 3, 2, 0, tzinfo=UTC)) == 9
    periods = sorted({k[2] for k in audit_keys()})
    assert periods == ["2026-11", "2026-12", "2027-01"]
    assert create_due_audits(datetime(2027, 1, 3, 3, 0, tzinfo=UTC)) == 0
    assert create_due_audits(datetime(2027, 1, 20, tzinfo=UTC)) == 0
    assert_no_duplicates()
    assert len(audit_keys()) == 9


def test_catch_up_is_bounded(make_branch, make_user, make_template, make_programme, app):
    make_branch(created_at=OPENED)
    make_user("auditor")
    make_programme(make_template(), starts_on=datetime(2020, 1, 1, tzinfo=UTC))
    app.config["AUDIT_CATCH_UP_PERIODS"] = 4
    assert create_due_audits(NOV_28) == 4
    assert [k[2] for k in audit_keys()] == ["2026-08", "2026-09", "2026-10", "2026-11"]


def test_branch_opened_later_gets_no_audits_for_earlier_periods(setup, make_branch):
    late = make_branch()
    late.created_at = datetime(2026, 12, 10, tzinfo=UTC)
    db.session.commit()
    create_due_audits(datetime(2027, 1, 3, tzinfo=UTC))
    assert {k[2] for k in audit_keys() if k[1] == late.id} == {"2026-12", "2027-01"}


def test_inactive_programme_and_unpublished_checklist_create_nothing(
        make_branch, make_user, make_template, make_programme):
    from qms.audits import templates

    make_branch(created_at=OPENED)
    make_user("auditor")
    tpl = make_template()
    make_programme(tpl, active=False)
    prog = make_programme(tpl)
    templates.save_draft(tpl, {**templates.latest_version(tpl).definition, "weighting": "points"})
    db.session.commit()
    assert create_due_audits(NOV_28) == 11  # Jan..Nov for the active one only
    # the new draft is not used: audits keep to the latest published version
    versions = set(db.session.scalars(sa.select(Audit.template_version_id)))
    assert versions == {templates.latest_published(tpl).id}
    assert {k[0] for k in audit_keys()} == {prog.id}


def test_rotation_never_picks_the_audited_branchs_own_staff(
        make_branch, make_agent, make_user, make_template, make_programme):
    b1, b2 = (make_branch(region="华北", created_at=OPENED),
              make_branch(region="华南", created_at=OPENED))
    # a global auditor who is also branch head of b1; an auditor whose agent record is b2's;
    # an auditor with a regional grant over b2; and one bank-wide auditor with no ties
    head_b1 = make_user("auditor")
    from qms.auth.models import RoleGrant

    db.session.add(RoleGrant(user_id=head_b1.id, role="branch_head", branch_id=b1.id))
    staff_b2 = make_user("auditor", agent=make_agent(b2))
    regional = make_user("auditor", region="华南")
    free = make_user("auditor")
    db.session.commit()
    make_programme(make_template(), recurrence="monthly",
                   starts_on=datetime(2026, 1, 1, tzinfo=UTC))
    create_due_audits(NOV_28)
    rows = db.session.execute(sa.select(Audit.branch_id, Audit.auditor_id)).all()
    assert len(rows) == 22
    for branch_id, auditor_id in rows:
        assert auditor_id is not None
        if branch_id == b1.id:
            assert auditor_id != head_b1.id
        else:
            assert auditor_id not in (staff_b2.id, regional.id)
    used = {a for _b, a in rows}
    assert {free.id, staff_b2.id, regional.id, head_b1.id} == used  # everyone gets a turn


def test_no_eligible_auditor_leaves_the_audit_unassigned(make_branch, make_user, make_template,
                                                         make_programme):
    b = make_branch()
    own = make_user("auditor", "branch_head", branch=b)
    make_programme(make_template(), auditor_ids=[own.id],
                   starts_on=datetime(2026, 11, 1, tzinfo=UTC))
    assert create_due_audits(NOV_28) == 1
    assert db.session.scalar(sa.select(Audit.auditor_id)) is None


def test_pick_auditor_is_round_robin_and_skips_excluded():
    assert pick_auditor([1, 2, 3], 0, set()) == (1, 1)
    assert pick_auditor([1, 2, 3], 2, {3}) == (1, 1)
    assert pick_auditor([1, 2, 3], 5, set()) == (3, 3)
    assert pick_auditor([1, 2], 0, {1, 2}) == (None, 0)
    assert pick_auditor([], 0, set()) == (None, 0)
    # the least loaded goes first, then round robin from the cursor
    assert pick_auditor([1, 2, 3], 0, set(), {1: 2, 2: 1, 3: 1}) == (2, 2)
    assert pick_auditor([1, 2, 3], 2, set(), {1: 2, 2: 1, 3: 1}) == (3, 3)


def run_concurrently(app, n, now):
    results, errors = [], []
    barrier = threading.Barrier(n)

    def worker():
        with app.app_context():
            try:
                barrier.wait()
                results.append(create_due_audits(now))
            except Exception as exc:  # noqa: BLE001 - reported by the test
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results, errors


def assert_exactly_once_concurrently(app, make_branch, make_user, make_template,
                                     make_programme):
    branches = [make_branch(created_at=OPENED) for _ in range(6)]
    auditors = [make_user("auditor") for _ in range(4)]
    tpl = make_template()
    progs = [make_programme(tpl, starts_on=datetime(2026, 9, 1, tzinfo=UTC)).id,
             make_programme(tpl, recurrence="quarterly",
                            starts_on=datetime(2026, 1, 1, tzinfo=UTC)).id]
    db.session.remove()
    results, errors = run_concurrently(app, 4, NOV_28)
    assert errors == []
    expected = 6 * 3 + 6 * 4   # monthly Sep..Nov, quarterly Q1..Q4
    assert sum(results) == expected
    assert len(audit_keys()) == expected
    assert_no_duplicates()
    # the cursor advanced once per audit created, not once per process that tried
    for p in progs:
        n = db.session.scalar(sa.select(sa.func.count()).where(Audit.programme_id == p))
        assert db.session.get(AuditProgramme, p).rotation_cursor == n % len(auditors)
        per_auditor = db.session.execute(
            sa.select(sa.func.count()).where(Audit.programme_id == p)
            .group_by(Audit.auditor_id)).scalars().all()
        assert max(per_auditor) - min(per_auditor) <= 1
    assert len(branches) == 6


def test_concurrent_runs_create_each_audit_once_sqlite(app, make_branch, make_user,
                                                       make_template, make_programme):
    assert_exactly_once_concurrently(app, make_branch, make_user, make_template, make_programme)


def test_concurrent_runs_create_each_audit_once_postgresql(pg_app):
    from qms.audits import templates
    from qms.audits.programmes import ProgrammeSpec, create_programme
    from qms.auth.services import GrantSpec, create_user
    from qms.org.models import Branch
    from tests.audits.conftest import SAMPLE_DEFINITION

    for i in range(5):
        db.session.add(Branch(code=f"P{i}", name=f"P{i}", region="华东", city="上海",
                              created_at=OPENED))
    for i in range(3):
        create_user(email=f"a{i}@bank.test", name=f"A{i}", password="correct horse battery",
                    grants=[GrantSpec("auditor")])
    tpl = templates.create_template(name="PG", definition=SAMPLE_DEFINITION)
    templates.publish_template(tpl)
    db.session.flush()
    create_programme(ProgrammeSpec(name="M", template_id=tpl.id,
                                   starts_on=datetime(2026, 8, 1, tzinfo=UTC)))
    db.session.commit()
    db.session.remove()
    results, errors = run_concurrently(pg_app, 4, NOV_28)
    assert errors == []
    assert sum(results) == 5 * 4
    assert len(audit_keys()) == 20
    assert_no_duplicates()

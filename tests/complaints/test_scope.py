"""A branch head sees only their branch's complaints: in every queue, on the complaint page,
attachments, reports, exports and the API — another branch's complaint is 404, never data."""

# ruff: noqa: F811  (fixtures imported from intake_support are used as arguments)

from __future__ import annotations

import csv
import io

import pytest

from qms.core import uploads
from qms.core.db import now_utc
from tests.complaints.intake_support import PDF, bank, make, token, upload  # noqa: F401


@pytest.fixture
def two(bank):
    now = now_utc()
    sh = make(actor=bank.officer, now=now, complainant_name="上海客户",
              attachments=[upload(PDF, "sh.pdf")])
    bj = make(actor=bank.officer, now=now, branch_code="BJ01", complainant_name="北京客户",
              complainant_email="bj@example.test", attachments=[upload(PDF, "bj.pdf")])
    return sh, bj


def test_branch_head_pages(bank, two, client, login):
    sh, bj = two
    c = login(bank.head_sh)
    for queue in ("mine", "branch", "unassigned", "due_soon", "overdue", "approvals", "all"):
        html = c.get(f"/complaints/?queue={queue}").get_data(as_text=True)
        assert bj.reference not in html and "北京客户" not in html, queue
    assert sh.reference in c.get("/complaints/?queue=all").get_data(as_text=True)
    assert c.get(f"/complaints/{sh.id}").status_code == 200
    other = c.get(f"/complaints/{bj.id}")
    assert other.status_code == 404 and "北京客户" not in other.get_data(as_text=True)
    att_bj = uploads.attachments_of("complaint", bj.id)[0]
    assert c.get(f"/complaints/{bj.id}/attachments/{att_bj.id}").status_code == 404
    # the other branch's attachment through the own complaint's address: 404 as well
    assert c.get(f"/complaints/{sh.id}/attachments/{att_bj.id}").status_code == 404
    report = c.get("/complaints/reports").get_data(as_text=True)
    assert bj.reference not in report
    for kind in ("complaints", "volumes", "monthly", "overdue", "pareto"):
        text = c.get(f"/complaints/reports/{kind}.csv?by=branch").get_data(as_text=True)
        assert "BJ01" not in text and bj.reference not in text, kind
    rows = list(csv.reader(io.StringIO(
        c.get("/complaints/reports/complaints.csv").get_data(as_text=True).lstrip("\ufeff"))))
    assert [r[0] for r in rows[1:]] == [sh.reference]
    # the officer (bank-wide) sees both
    officer = login(bank.officer).get("/complaints/?queue=all").get_data(as_text=True)
    assert sh.reference in officer and bj.reference in officer


def test_branch_bound_officer_and_qa_region(bank, two, client, login, make_user):
    sh, bj = two
    local_officer = make_user("complaints", branch=bank.bj)
    c = login(local_officer)
    assert c.get(f"/complaints/{sh.id}").status_code == 404
    assert c.get(f"/complaints/{bj.id}").status_code == 200
    east = make_user("qa", region="华东")
    c = login(east)
    assert c.get(f"/complaints/{sh.id}").status_code == 200
    assert c.get(f"/complaints/{bj.id}").status_code == 404


def test_branch_head_api(bank, two, client, token):
    sh, bj = two
    head = token("branch_head", "SH01")
    assert client.get(f"/api/v1/complaints/{sh.reference}", headers=head).status_code == 200
    resp = client.get(f"/api/v1/complaints/{bj.reference}", headers=head)
    assert resp.status_code == 404 and "北京" not in resp.get_data(as_text=True)

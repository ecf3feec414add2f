"""CSV import of interactions: all rows or none, every bad row with its line, column and
reason; re-import updates; the command line; the upload page; scope."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from flask_babel import force_locale

from qms.core.audit import AuditLog
from qms.core.tx import unit_of_work
from qms.extensions import db as _db
from qms.org.importer import ImportRejected
from qms.qa.interactions import import_interactions
from qms.qa.models import Interaction
from tests.qa.interaction_support import NOW, build_world, evaluate
from tests.qa.qa_support import make_rubric

HEADER = "channel,external_ref,agent_code,occurred_at,duration_seconds,customer_ref,summary,media_url"
GOOD = "\n".join([
    HEADER,
    "call,CC-0001,SH-01,2026-03-01T09:30:00+08:00,312,C0001,信用卡分期咨询,https://rec.bank.test/1",
    "电话,CC-0002,SH-02,2026-03-01 10:15,0:04:05,,\"挂失, 补卡\",",
    "branch_visit,Q-88,LN-01,2026-03-02T09:00:00,,,,",
    "chat,CHAT-7,SH-01,2026-03-02T01:00:00Z,95,,,",
]) + "\n"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store(request):
    return request.getfixturevalue("app" if request.param == "sqlite" else "pg_app")


@pytest.fixture
def iworld(store, make_branch, make_agent, make_user):
    return build_world(make_branch, make_agent, make_user)


def load(text: str | bytes, **kw):
    data = text.encode("utf-8") if isinstance(text, str) else text
    kw.setdefault("now", NOW)
    with force_locale("en"), unit_of_work():
        return import_interactions(io.BytesIO(data), **kw)


def rejected(text, **kw) -> list[tuple[int, str, str]]:
    with pytest.raises(ImportRejected) as info:
        load(text, **kw)
    return [(e.line, e.column, e.message) for e in info.value.result.errors]


def stored() -> dict[str, Interaction]:
    _db.session.expire_all()
    return {i.external_ref: i for i in _db.session.scalars(sa.select(Interaction))}


def test_a_good_file(iworld):
    result = load(GOOD)
    assert result.rows == 4 and result.ok
    rows = stored()
    assert set(rows) == {"CC-0001", "CC-0002", "Q-88", "CHAT-7"}
    one, two, visit, chat = rows["CC-0001"], rows["CC-0002"], rows["Q-88"], rows["CHAT-7"]
    assert (one.channel, one.agent_id, one.branch_id, one.customer_id, one.source) == (
        "call", iworld.a1.id, iworld.sh.id, iworld.customer.id, "csv")
    assert one.occurred_at == datetime(2026, 3, 1, 1, 30, tzinfo=UTC)
    assert (two.channel, two.duration_seconds, two.summary) == ("call", 245, "挂失, 补卡")
    assert two.occurred_at == datetime(2026, 3, 1, 2, 15, tzinfo=UTC)      # Shanghai time
    assert visit.occurred_at == datetime(2026, 3, 2, 9, 0, tzinfo=UTC)     # London time
    assert visit.branch_id == iworld.ln.id and visit.duration_seconds is None
    assert chat.occurred_at == datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
    assert one.created_at is not None


def test_a_bad_file_imports_nothing_and_lists_every_bad_row(iworld):
    text = "\n".join([
        HEADER,
        "call,OK-1,SH-01,2026-03-01T09:30:00+08:00,60,,,",
        "fax,B-1,SH-01,2026-03-01T09:30:00+08:00,60,,,",
        "call,B-2,NOPE,2026-03-01T09:30:00+08:00,60,,,",
        "call,B-3,SH-01,next tuesday,60,,,",
        "call,B-4,SH-01,2026-03-11T09:30:00+08:00,60,,,",
        "call,B-5,SH-01,2026-03-01T09:30:00+08:00,ten,C404,,javascript:alert(1)",
        "call,OK-1,SH-02,2026-03-01T09:30:00+08:00,60,,,",
        "call,B-7,SH-01",
        "chat,OK-1,SH-01,2026-03-01T09:30:00+08:00,60,,,",
    ]) + "\n"
    errors = rejected(text)
    assert errors == [
        (3, "channel", "Use one of: call, branch_visit, chat, email."),
        (4, "agent_code", "No agent has the code NOPE."),
        (5, "occurred_at", errors[2][2]),
        (6, "occurred_at", "This time is in the future."),
        (7, "duration_seconds", "Give whole seconds, or h:mm:ss."),
        (7, "customer_ref", "No customer has the reference C404."),
        (7, "media_url", "Give a web address starting with https:// or http://."),
        (8, "external_ref", "call OK-1 already appears on line 2."),
        (9, "", "Expected 8 values, found 3."),
    ]
    assert "2026-03-01T09:30:00+08:00" in errors[2][2]
    assert stored() == {}


def test_links_checked_a_column_at_a_time_or_one_by_one_agree(iworld):
    ok = ["HTTPS://REC.BANK.TEST/A?x=1#t", "http://rec.bank.test", ""]
    bad = ["http://[::1/x", "https:///x", "mailto:a@b.test", "http://a b"]
    rows = [HEADER] + [f"call,U-{n},SH-01,2026-03-01 09:00,,,,{u}" for n, u in enumerate(ok)]
    load("\n".join(rows) + "\n")
    assert {i.external_ref: i.media_url for i in stored().values()} == {
        "U-0": ok[0], "U-1": ok[1], "U-2": None}
    rows = [HEADER] + [f'call,V-{n},SH-01,2026-03-01 09:00,,,,"{u}"' for n, u in enumerate(bad)]
    assert [e[:2] for e in rejected("\n".join(rows) + "\n")] == [
        (n + 2, "media_url") for n in range(len(bad))]


def test_errors_across_batches_are_all_reported(iworld):
    rows = [HEADER] + [f"call,R-{n},{'SH-01' if n % 7 else 'XX'},2026-03-01 09:00,,,,"
                       for n in range(1, 30)]
    errors = rejected("\n".join(rows) + "\n", batch_size=5)
    assert [e[0] for e in errors] == [n + 1 for n in range(1, 30) if n % 7 == 0]
    assert stored() == {}


@pytest.mark.parametrize(("header", "expected"), [
    ("channel,external_ref,agent_code", [(1, "occurred_at", "This column is missing.")]),
    (HEADER + ",colour", [(1, "colour", "Unknown column.")]),
    ("", [(1, "", "The file is empty.")]),
])
def test_header_problems(iworld, header, expected):
    assert rejected(header + "\n") == expected


def test_re_import_updates_and_keeps_what_is_not_in_the_file(iworld):
    load(GOOD)
    before = stored()["CC-0001"]
    first_id, created = before.id, before.created_at
    load("\n".join(["channel,external_ref,agent_code,occurred_at,summary",
                    "call,CC-0001,SH-02,2026-03-01T09:31:00+08:00,已更正",
                    "call,CC-0003,SH-01,2026-03-03T09:00:00+08:00,新来电"]) + "\n",
         now=datetime(2026, 3, 12, tzinfo=UTC))
    rows = stored()
    assert len(rows) == 5
    one = rows["CC-0001"]
    assert (one.id, one.created_at, one.agent_id, one.summary) == (
        first_id, created, iworld.a2.id, "已更正")
    assert one.occurred_at == datetime(2026, 3, 1, 1, 31, tzinfo=UTC)
    assert one.duration_seconds == 312 and one.media_url == "https://rec.bank.test/1"  # kept


def test_re_import_may_not_move_an_evaluated_interaction(iworld):
    load(GOOD)
    evaluate(make_rubric(), stored()["CC-0001"])
    errors = rejected("\n".join([HEADER, "call,CC-0001,SH-02,2026-03-01 09:30,,,,"]) + "\n")
    assert errors == [(2, "agent_code",
                       "This interaction has evaluations; its agent cannot change.")]
    assert stored()["CC-0001"].agent_id == iworld.a1.id
    load("\n".join([HEADER, "call,CC-0001,SH-01,2026-03-01 09:30,,,复核,"]) + "\n")
    assert stored()["CC-0001"].summary == "复核"


def test_scope_of_the_importer(iworld):
    w = iworld
    errors = rejected(GOOD, principal=w.qa_abroad)
    assert errors == [(2, "agent_code", "No agent has the code SH-01."),
                      (3, "agent_code", "No agent has the code SH-02."),
                      (5, "agent_code", "No agent has the code SH-01.")]
    load(GOOD)
    errors = rejected("\n".join([HEADER, "call,CC-0001,LN-01,2026-03-01 09:30,,,,"]) + "\n",
                      principal=w.qa_abroad)
    assert errors == [(2, "external_ref",
                       "This interaction is recorded for a branch outside your scope.")]


def test_gb18030_and_a_bom(iworld):
    assert load(GOOD.encode("gb18030"), encoding="gb18030").rows == 4
    assert stored()["CC-0002"].summary == "挂失, 补卡"
    assert load(b"\xef\xbb\xbf" + GOOD.encode()).rows == 4


# -- command line and web -------------------------------------------------------------------

def test_cli(iworld, runner, tmp_path):
    good = tmp_path / "good.csv"
    good.write_text(GOOD, encoding="utf-8")
    result = runner.invoke(args=["qa", "import-interactions", str(good)])
    assert result.exit_code == 0, result.output
    assert "imported 4 interactions" in result.output
    assert len(stored()) == 4
    assert _db.session.scalar(sa.select(AuditLog.subject).where(AuditLog.action == "import")) \
        == "interactions"

    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join([HEADER, "call,X-1,NOPE,2026-03-01 09:00,,,,",
                              "call,X-2,SH-01,soon,,,,"]) + "\n", encoding="utf-8")
    result = runner.invoke(args=["qa", "import-interactions", str(bad)])
    assert result.exit_code == 1
    assert "nothing imported: 2 errors" in result.output
    assert "line 2, column agent_code" in result.output and "line 3, column occurred_at" \
        in result.output
    assert len(stored()) == 4
    result = runner.invoke(args=["qa", "import-interactions", str(good), "--encoding", "nope"])
    assert result.exit_code == 2


def _upload(c, text: str, encoding: str = "utf-8-sig"):
    return c.post("/qa/interactions/import", data={
        "file": (io.BytesIO(text.encode("utf-8")), "interactions.csv"), "encoding": encoding},
        content_type="multipart/form-data")


def test_web_upload(iworld, login):
    c = login(iworld.qa)
    page = c.get("/qa/interactions/import")
    assert page.status_code == 200 and "occurred_at" in page.get_data(as_text=True)
    template = c.get("/qa/interactions/import/template.csv")
    assert template.status_code == 200 and template.mimetype == "text/csv"
    assert template.get_data(as_text=True).lstrip("\ufeff").startswith(HEADER)

    resp = _upload(c, GOOD)
    assert resp.status_code == 200 and "4 rows imported." in resp.get_data(as_text=True)
    resp = _upload(c, "\n".join([HEADER, "call,N-1,NOPE,2026-03-01 09:00,,,,"]) + "\n")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert "Nothing was imported: 1 problems in 1 rows" in html
    assert "No agent has the code NOPE." in html
    assert len(stored()) == 4
    assert c.post("/qa/interactions/import", data={}).status_code == 400


def test_web_upload_is_scoped_and_refused_to_readers(iworld, login):
    resp = _upload(login(iworld.qa_abroad), GOOD)
    assert resp.status_code == 400 and "No agent has the code SH-01." in resp.get_data(
        as_text=True)
    assert stored() == {}
    for who in (iworld.head_sh, iworld.agent_a1, iworld.shopper):
        assert _upload(login(who), GOOD).status_code == 403
        assert login(who).get("/qa/interactions/import/template.csv").status_code == 403
    assert stored() == {}

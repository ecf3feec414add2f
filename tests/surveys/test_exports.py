"""Exports: one row per response, one column per question, labels in the chosen language,
formula injection guarded, streamed in constant memory, audited."""

from __future__ import annotations

import csv
import io
import tracemalloc

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from qms.core.audit import AuditLog
from qms.extensions import db as _db
from qms.surveys import exports
from qms.surveys.results import Filters
from tests.surveys import results_data
from tests.surveys.results_data import t


@pytest.fixture
def data(app):
    return results_data.build(_db)


def _csv(text: str) -> list[list[str]]:
    assert text.startswith("\ufeff")  # Excel needs the BOM to read UTF-8 Chinese
    return list(csv.reader(io.StringIO(text[1:])))


def _download(c, url) -> bytes:
    resp = c.get(url)
    assert resp.status_code == 200, resp.status_code
    assert resp.is_streamed
    assert "attachment" in resp.headers["Content-Disposition"]
    return resp.get_data()


def test_csv_in_english(data, client, login, make_user):
    c = login(make_user("qa", locale="en"))
    rows = _csv(_download(c, f"/surveys/results/export.csv?survey={data.survey.id}&lang=en"
                          ).decode("utf-8"))
    header = rows[0]
    assert header[:3] == ["Response", "Completed (UTC)", "Version"]
    assert header[11:] == ["Overall satisfaction", "Likelihood to recommend", "Easy to handle",
                           "Purpose of visit", "What to improve", "Aspects — Attitude",
                           "Aspects — Speed", "Comments"]
    assert len(rows) == 1 + 10  # one per completed response of this survey
    by_id = {int(r[0]): dict(zip(header, r, strict=True)) for r in rows[1:]}
    first = by_id[data.response_ids[0]]
    assert first["Completed (UTC)"] == "2025-01-10 09:00:00"
    assert (first["Branch code"], first["Agent code"], first["Channel"], first["Segment"]) == (
        "RA", "RA-01", "email", "standard")
    assert (first["Overall satisfaction"], first["Likelihood to recommend"],
            first["Purpose of visit"], first["What to improve"], first["Aspects — Attitude"],
            first["Aspects — Speed"], first["Comments"]) == (
        "5", "10", "Deposit", "Waiting time", "5", "4", "很好，服务周到")
    third = by_id[data.response_ids[2]]
    assert third["What to improve"] == "Waiting time; Staff attitude"
    assert third["Completed (UTC)"] == "2025-01-31 23:59:59"
    tenth = by_id[data.response_ids[9]]
    assert tenth["Purpose of visit"] == "" and tenth["Aspects — Attitude"] == ""


def test_csv_in_simplified_chinese_and_formula_guard(data, client, login, make_user):
    c = login(make_user("qa", locale="en"))
    rows = _csv(_download(c, f"/surveys/results/export.csv?survey={data.survey.id}"
                             "&lang=zh_Hans").decode("utf-8"))
    header = rows[0]
    assert header[11:] == ["总体满意度", "推荐意愿", "办理轻松", "到访目的", "需要改进",
                           "分项评价 — 服务态度", "分项评价 — 办理速度", "意见建议"]
    by_id = {int(r[0]): dict(zip(header, r, strict=True)) for r in rows[1:]}
    assert by_id[data.response_ids[2]]["需要改进"] == "等候时间; 员工态度"
    assert by_id[data.response_ids[0]]["到访目的"] == "存取款"
    hostile = by_id[data.response_ids[4]]["意见建议"]
    assert hostile == "'=HYPERLINK(\"http://evil.test\",\"click\")"


@pytest.mark.parametrize("value, expected", [
    ("=1+2", "'=1+2"), ("+1", "'+1"), ("-1", "'-1"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\t=x", "'\t=x"), ("\r=x", "'\r=x"), ("a=b", "a=b"), ("", ""), (-5, -5), (3.5, 3.5),
    (None, None)])
def test_formula_guard(value, expected):
    assert exports.guard(value) == expected


def test_xlsx_read_back(data, client, login, make_user, tmp_path):
    c = login(make_user("qa", locale="zh_Hans"))
    path = tmp_path / "export.xlsx"
    path.write_bytes(_download(c, f"/surveys/results/export.xlsx?survey={data.survey.id}"
                                  "&lang=en"))
    sheet = load_workbook(path, read_only=True).active
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    header = rows[0]
    assert header[11:] == ["Overall satisfaction", "Likelihood to recommend", "Easy to handle",
                           "Purpose of visit", "What to improve", "Aspects — Attitude",
                           "Aspects — Speed", "Comments"]
    assert len(rows) == 11
    by_id = {r[0]: dict(zip(header, r, strict=True)) for r in rows[1:]}
    first = by_id[data.response_ids[0]]
    assert first["Overall satisfaction"] == 5 and first["Aspects — Speed"] == 4  # numbers
    assert first["What to improve"] == "Waiting time"
    # a text that looks like a formula is a string cell, never a formula
    assert by_id[data.response_ids[4]]["Comments"] == '=HYPERLINK("http://evil.test","click")'
    cells = load_workbook(path).active
    formula_cells = [cell for row in cells.iter_rows() for cell in row if cell.data_type == "f"]
    assert formula_cells == []
    zh = tmp_path / "zh.xlsx"
    zh.write_bytes(_download(c, f"/surveys/results/export.xlsx?survey={data.survey.id}"
                                "&lang=zh_Hans"))
    assert list(next(load_workbook(zh, read_only=True).active.iter_rows(values_only=True)))[
        11:13] == ["总体满意度", "推荐意愿"]


def test_export_is_scoped_and_audited(data, client, login, make_user):
    head = make_user("branch_head", branch=data.a, locale="en")
    c = login(head)
    rows = _csv(_download(c, f"/surveys/results/export.csv?survey={data.survey.id}"
                             "&segment=vip").decode("utf-8"))
    assert {r[4] for r in rows[1:]} == {"RA"} and len(rows) == 1 + 2  # responses 2 and 5
    for query in ("branch=RB", "agent=RB-01"):
        resp = c.get(f"/surveys/results/export.csv?survey={data.survey.id}&{query}")
        assert resp.status_code == 404
    assert c.get(f"/surveys/results/export.xlsx?survey={data.survey.id}&from=x"
                 ).status_code == 400
    entries = list(_db.session.scalars(sa.select(AuditLog).where(AuditLog.action == "export")))
    assert len(entries) == 1
    entry = entries[0]
    assert entry.actor_id == head.id and entry.subject == f"survey:{data.survey.id}:responses"
    assert entry.details["format"] == "csv" and entry.details["responses"] == 2
    assert entry.details["filters"] == {"segment": "vip", "scope": [data.a.id]}
    agent = make_user("agent", branch=data.a)
    assert login(agent).get(f"/surveys/results/export.csv?survey={data.survey.id}"
                            ).status_code == 403


def _bulk_responses(version, survey, branch, n: int) -> None:
    """n responses with 7 answer rows each, inserted with executemany (ids given: fast)."""
    from qms.surveys.models import Answer, Response

    done = t(2025, 3, 1)
    first = (_db.session.scalar(sa.select(sa.func.max(Response.id))) or 0) + 1
    ids = range(first, first + n)
    _db.session.execute(sa.insert(Response), [dict(
        id=rid, version_id=version.id, survey_id=survey.id, branch_id=branch.id,
        channel="counter", segment="standard", locale="zh_Hans", started_at=done,
        updated_at=done, completed_at=done) for rid in ids])
    _db.session.execute(sa.insert(Answer), [row for i, rid in enumerate(ids) for row in (
        dict(response_id=rid, question_key="csat", qtype="csat", num_value=1 + i % 5),
        dict(response_id=rid, question_key="nps", qtype="nps", num_value=i % 11),
        dict(response_id=rid, question_key="purpose", qtype="single", choice_key="card"),
        dict(response_id=rid, question_key="improve", qtype="multiple", choice_key="wait"),
        dict(response_id=rid, question_key="improve", qtype="multiple", choice_key="app"),
        dict(response_id=rid, question_key="grid", qtype="matrix", row_key="staff",
             num_value=4),
        dict(response_id=rid, question_key="comment", qtype="textarea",
             text_value=f"评论 {rid}: " + "服务很好，但是排队时间太长了。" * 4))])
    _db.session.commit()


def _peak_csv(f: Filters) -> tuple[int, int, int]:
    """Peak traced memory while the whole CSV is produced; rows and bytes seen."""
    _db.session.expire_all()
    tracemalloc.start()
    rows = size = 0
    try:
        for chunk in exports.csv_chunks(f, "zh_Hans"):
            rows += chunk.count("\n")
            size += len(chunk.encode("utf-8"))
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak, rows, size


def _peak(fn) -> tuple[int, object]:
    _db.session.expire_all()
    tracemalloc.start()
    try:
        result = fn()
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak, result


def test_export_memory_does_not_grow_with_the_rows(app, make_branch, tmp_path):
    from qms.surveys import services

    branch = make_branch()
    small_s = services.create_survey(title="small", definition=results_data.DEFINITION)
    large_s = services.create_survey(title="large", definition=results_data.DEFINITION)
    small_v, large_v = services.publish(small_s), services.publish(large_s)
    _db.session.commit()
    _bulk_responses(small_v, small_s, branch, 2_000)
    _bulk_responses(large_v, large_s, branch, 20_000)
    small, large = Filters(survey_id=small_s.id), Filters(survey_id=large_s.id)

    peak_small, rows_small, _size = _peak_csv(small)
    peak_large, rows_large, size_large = _peak_csv(large)
    assert (rows_small, rows_large) == (2_001, 20_001)
    # Ten times the rows, about the same memory: a batch, never the whole result ...
    assert peak_large < 2 * peak_small, (peak_small, peak_large)
    # ... and less than merely fetching a tenth of the rows at once takes.
    peak_fetch_small, fetched = _peak(lambda: _db.session.execute(
        exports._rows_query(small)).all())
    assert len(fetched) == 2_000 * 7
    del fetched
    assert peak_large < peak_fetch_small, (peak_large, peak_fetch_small)
    assert peak_large < 8 * 1024 * 1024 < 2 * size_large

    # XLSX: constant_memory mode writes each row out as it comes, so writing the workbook
    # takes less than holding the rows would. (Measured on the small set: tracemalloc slows
    # xlsxwriter's many small allocations about fivefold.)
    peak_xlsx, count = _peak(lambda: exports.write_xlsx(small, "en", str(tmp_path / "x.xlsx")))
    assert count == 2_000
    assert peak_xlsx < peak_fetch_small, (peak_xlsx, peak_fetch_small)
    sheet = load_workbook(tmp_path / "x.xlsx", read_only=True).active
    assert sheet.max_row == 2_001


@pytest.mark.postgres
def test_exports_on_postgresql(pg_app, tmp_path):
    """A server-side cursor on PostgreSQL: same rows, same cells."""
    d = results_data.build(_db)
    f = Filters(survey_id=d.survey.id)
    rows = _csv("".join(exports.csv_chunks(f, "en")))
    assert len(rows) == 11 and rows[0][11] == "Overall satisfaction"
    first = dict(zip(rows[0], next(r for r in rows[1:] if r[0] == str(d.response_ids[0])),
                     strict=True))
    assert (first["What to improve"], first["Aspects — Speed"]) == ("Waiting time", "4")
    assert exports.write_xlsx(f, "zh_Hans", str(tmp_path / "pg.xlsx")) == 10

"""Programme periods (monthly, quarterly, yearly, cron) in the bank's time zone, programme
validation, and the set-up pages: builder, publish, programmes, calendar and list with scope."""

from __future__ import annotations

import io
import json
from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa

from qms.audits import periods, programmes
from qms.audits import templates as tsvc
from qms.audits.models import Audit, AuditProgramme, AuditTemplate
from qms.audits.programmes import ProgrammeError, ProgrammeSpec
from qms.audits.scheduling import create_due_audits
from qms.extensions import db

NOW = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
OPENED = datetime(2019, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def ctx(tmp_path_factory):
    from tests.conftest import app_config, build_app

    app = build_app(app_config(tmp_path_factory.mktemp("periods")))
    with app.app_context():
        yield app


def utc(*args):
    return datetime(*args, tzinfo=UTC)


def test_monthly_periods_start_at_shanghai_midnight(ctx):
    due = periods.periods_between("monthly", None, utc(2026, 9, 15), NOW)
    assert due == [("2026-09", utc(2026, 8, 31, 16)), ("2026-10", utc(2026, 9, 30, 16)),
                   ("2026-11", utc(2026, 10, 31, 16))]
    # 23:30 UTC on Nov 30 is already December 1st in Shanghai
    assert periods.periods_between("monthly", None, utc(2026, 11, 1), utc(2026, 11, 30, 23, 30)
                                   )[-1][0] == "2026-12"
    assert periods.periods_between("monthly", None, utc(2026, 12, 5), NOW) == []


def test_quarterly_and_yearly_periods_and_limit(ctx):
    due = periods.periods_between("quarterly", None, utc(2025, 5, 1), NOW)
    assert [k for k, _ in due] == ["2025-Q2", "2025-Q3", "2025-Q4", "2026-Q1", "2026-Q2",
                                   "2026-Q3", "2026-Q4"]
    assert due[-1][1] == utc(2026, 9, 30, 16)
    assert [k for k, _ in periods.periods_between("quarterly", None, utc(2025, 5, 1), NOW,
                                                  limit=2)] == ["2026-Q3", "2026-Q4"]
    yearly = periods.periods_between("yearly", None, utc(2024, 6, 1), NOW)
    assert yearly == [("2024", utc(2023, 12, 31, 16)), ("2025", utc(2024, 12, 31, 16)),
                      ("2026", utc(2025, 12, 31, 16))]


def test_cron_periods_are_fire_times_in_the_bank_zone(ctx):
    # 10:00 Shanghai every day = 02:00 UTC
    due = periods.periods_between("cron", "0 10 * * *", utc(2026, 11, 26), NOW)
    assert due == [("2026-11-26T02:00", utc(2026, 11, 26, 2)),
                   ("2026-11-27T02:00", utc(2026, 11, 27, 2)),
                   ("2026-11-28T02:00", utc(2026, 11, 28, 2))]
    # a frequent expression started long ago is not walked from its beginning
    last = periods.periods_between("cron", "*/5 * * * *", utc(2016, 1, 1), NOW, limit=3)
    assert [k for k, _ in last] == ["2026-11-28T02:50", "2026-11-28T02:55", "2026-11-28T03:00"]
    assert periods.period_end("cron", "0 10 * * *", utc(2026, 11, 27, 2)) == utc(2026, 11, 28, 2)
    assert periods.period_end("quarterly", None, utc(2026, 9, 30, 16)) == utc(2026, 12, 31, 16)
    with pytest.raises(ValueError):
        periods.cron_trigger("every day")


def test_bank_timezone_comes_from_config(ctx):
    ctx.config["BANK_TIMEZONE"] = "UTC"
    try:
        assert periods.periods_between("monthly", None, utc(2026, 11, 1), NOW) == [
            ("2026-11", utc(2026, 11, 1))]
    finally:
        del ctx.config["BANK_TIMEZONE"]


def spec(template, **kw) -> ProgrammeSpec:
    return ProgrammeSpec(**({"name": "Monthly branch audit", "template_id": template.id} | kw))


def test_programme_validation_lists_every_field(app, make_template, make_user, make_branch):
    draft = make_template(published=False)
    with pytest.raises(ProgrammeError) as exc:
        programmes.create_programme(ProgrammeSpec(
            name="", template_id=draft.id, recurrence="cron", cron="61 * * *",
            scope="list", branch_ids=[], auditor_ids=[make_user("qa").id], days_allowed=0))
    assert set(exc.value.fields) == {"name", "template_id", "cron", "branch_ids",
                                     "auditor_ids", "days_allowed"}
    tpl = make_template()
    with pytest.raises(ProgrammeError) as exc:
        programmes.create_programme(spec(tpl, scope="region", recurrence="weekly"))
    assert set(exc.value.fields) == {"region", "recurrence"}
    b = make_branch()
    auditor = make_user("auditor")
    p = programmes.create_programme(spec(tpl, recurrence="cron", cron="0 9 1 */2 *",
                                         scope="list", branch_ids=[b.id],
                                         auditor_ids=[auditor.id], starts_on=date(2026, 12, 1)))
    db.session.commit()
    assert p.cron == "0 9 1 */2 *" and [x.id for x in p.branches] == [b.id]
    assert p.starts_on == utc(2026, 11, 30, 16)  # a date is local midnight
    assert programmes.pool_ids(p) == [auditor.id]
    p2 = programmes.update_programme(p, spec(tpl, scope="all", days_allowed=30))
    assert p2.cron is None and p2.branches == [] and p2.auditor_ids is None


def test_scope_region_and_list(app, make_template, make_programme, make_branch):
    north = [make_branch(region="华北") for _ in range(2)]
    south = make_branch(region="华南")
    closed = make_branch(region="华北", active=False)
    tpl = make_template()
    assert programmes.scoped_branches(make_programme(tpl, scope="region", region="华北")) == north
    assert programmes.scoped_branches(
        make_programme(tpl, scope="list", branch_ids=[south.id, closed.id])) == [south]
    assert len(programmes.scoped_branches(make_programme(tpl))) == 3


# -- pages -----------------------------------------------------------------------------------

def test_builder_pages_build_publish_and_export(app, client, login, make_user):
    qa = make_user("qa")
    login(qa)
    assert client.get("/audits/templates").status_code == 200
    r = client.post("/audits/templates/new", data={"name": "Counter checklist"})
    assert r.status_code == 302
    t = db.session.scalar(sa.select(AuditTemplate))
    v = tsvc.latest_version(t)
    base = tsvc.revision(v.definition)
    # add a section, then an item, then fill it in and save
    assert client.post(f"/audits/templates/{t.id}/edit", data={
        "base": base, "name": t.name, "sections_count": "0", "op": "add_section"}
    ).status_code == 302
    db.session.expire_all()
    d = tsvc.latest_version(t).definition
    assert [s["key"] for s in d["sections"]] == ["section1"]
    base = tsvc.revision(d)
    client.post(f"/audits/templates/{t.id}/edit", data={
        "base": base, "name": t.name, "sections_count": "1", "s0_key": "section1",
        "s0_items_count": "0", "op": "add_item:0"})
    db.session.expire_all()
    d = tsvc.latest_version(t).definition
    assert d["sections"][0]["items"][0]["key"] == "item1"
    page = client.get(f"/audits/templates/{t.id}/edit")
    assert b"s0_i0_label_en" in page.data
    fields = {"base": tsvc.revision(d), "name": "Counter checklist v1", "weighting": "sections",
              "sections_count": "1", "s0_key": "counter", "s0_weight": "100",
              "s0_label_en": "Counter", "s0_label_zh_Hans": "柜台", "s0_label_zh_Hant": "櫃檯",
              "s0_items_count": "2", "s0_i0_key": "queue", "s0_i0_kind": "score",
              "s0_i0_max_points": "5", "s0_i0_pass_threshold": "3", "s0_i0_severity": "major",
              "s0_i0_critical": "", "s0_i0_na_allowed": "1",
              "s0_i0_label_en": "Queue", "s0_i0_label_zh_Hans": "排队",
              "s0_i0_label_zh_Hant": "排隊", "s0_i0_guidance_en": "Count people",
              "s0_i0_guidance_zh_Hans": "数人数", "s0_i0_guidance_zh_Hant": "數人數",
              "s0_i1_key": "gone", "s0_i1_delete": "1", "op": "save"}
    assert client.post(f"/audits/templates/{t.id}/edit", data=fields).status_code == 302
    db.session.expire_all()
    d = tsvc.latest_version(t).definition
    item = d["sections"][0]["items"][0]
    assert (item["kind"], item["max_points"], item["pass_threshold"], item["na_allowed"],
            item["severity"]) == ("score", 5, 3, True, "major")
    assert item["guidance"]["en"] == "Count people" and len(d["sections"][0]["items"]) == 1
    assert db.session.get(AuditTemplate, t.id).name == "Counter checklist v1"
    # a stale form is refused, nothing changes
    client.post(f"/audits/templates/{t.id}/edit", data=fields | {"s0_weight": "50"})
    db.session.expire_all()
    assert tsvc.latest_version(t).definition["sections"][0]["weight"] == 100
    # preview and publish
    assert "排队".encode() in client.get(f"/audits/templates/{t.id}").data
    page = client.get(f"/audits/templates/{t.id}/publish")
    assert page.status_code == 200
    r = client.post(f"/audits/templates/{t.id}/publish", data={"base": tsvc.revision(d)})
    assert r.status_code == 302, r.get_data(as_text=True)[-3000:]
    db.session.expire_all()
    assert tsvc.latest_published(t).number == 1
    exported = client.get(f"/audits/templates/{t.id}/export?version=1")
    assert exported.headers["Content-Disposition"].startswith("attachment")
    doc = json.loads(exported.data)
    # importing the export (as an upload) gives an identical draft
    r = client.post("/audits/templates/new", data={
        "name": "Imported copy", "upload": (io.BytesIO(exported.data), "c.json")},
        content_type="multipart/form-data")
    assert r.status_code == 302
    copy_ = db.session.scalars(sa.select(AuditTemplate).order_by(AuditTemplate.id.desc())).first()
    assert tsvc.latest_version(copy_).definition == doc["definition"]
    assert copy_.name == "Imported copy"
    # archive takes it off the list; restore brings it back
    client.post(f"/audits/templates/{t.id}/archive", data={"archive": "1"})
    assert b"Counter checklist v1" not in client.get("/audits/templates").data
    assert b"Counter checklist v1" in client.get("/audits/templates?archived=1").data
    assert client.get(f"/audits/templates/{t.id}/edit").status_code == 404
    client.post(f"/audits/templates/{t.id}/archive", data={"archive": "0"})
    assert b"Counter checklist v1" in client.get("/audits/templates").data


def test_auditor_reads_published_checklists_only_and_cannot_edit(app, client, login, make_user,
                                                                 make_template):
    published, draft = make_template(name="Pub"), make_template(name="Draft", published=False)
    login(make_user("auditor"))
    page = client.get("/audits/templates")
    assert b"Pub" in page.data and b"Draft" not in page.data
    assert client.get(f"/audits/templates/{published.id}").status_code == 200
    assert client.get(f"/audits/templates/{draft.id}").status_code == 404
    assert client.get(f"/audits/templates/{published.id}/edit").status_code == 403
    assert client.post(f"/audits/templates/{published.id}/publish").status_code == 403


def test_programme_pages(app, client, login, make_user, make_template, make_branch):
    tpl = make_template(name="Ops")
    b = make_branch(created_at=OPENED)
    auditor = make_user("auditor")
    login(make_user("admin"))
    assert client.get("/audits/programmes/new").status_code == 200
    r = client.post("/audits/programmes/new", data={
        "name": "Quarterly ops", "template_id": str(tpl.id), "recurrence": "cron",
        "cron": "bad", "scope": "all", "pool": "all", "days_allowed": "10",
        "starts_on": "2026-01-01", "active": "y"})
    assert r.status_code == 200 and "cron" in r.get_data(as_text=True)
    r = client.post("/audits/programmes/new", data={
        "name": "Quarterly ops", "template_id": str(tpl.id), "recurrence": "quarterly",
        "scope": "list", "branch_ids": [str(b.id)], "pool": "list",
        "auditor_ids": [str(auditor.id)], "days_allowed": "10", "starts_on": "2026-01-01",
        "active": "y"})
    assert r.status_code == 302
    p = db.session.scalar(sa.select(AuditProgramme))
    assert (p.recurrence, p.auditor_ids, p.days_allowed) == ("quarterly", [auditor.id], 10)
    assert client.get(f"/audits/programmes/{p.id}").status_code == 200
    assert client.get(f"/audits/programmes/{p.id}/edit").status_code == 200
    assert client.get("/audits/programmes").status_code == 200
    assert client.post("/audits/programmes/run").status_code == 302
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Audit)) == 4
    # a checklist archived since stays the programme's choice on its edit form
    tsvc.archive_template(tpl)
    db.session.commit()
    page = client.get(f"/audits/programmes/{p.id}/edit").get_data(as_text=True)
    assert f'<option selected value="{tpl.id}">' in page or \
        f'<option value="{tpl.id}" selected>' in page
    client.post(f"/audits/programmes/{p.id}/active", data={"active": "0"})
    db.session.expire_all()
    assert db.session.get(AuditProgramme, p.id).active is False


def test_calendar_and_list_are_scoped(app, client, login, make_user, make_template,
                                      make_programme, make_branch):
    mine, other = make_branch(created_at=OPENED), make_branch(created_at=OPENED)
    auditor = make_user("auditor")
    make_programme(make_template(), starts_on=utc(2026, 11, 1))
    assert create_due_audits(NOW) == 2
    ids = dict(db.session.execute(sa.select(Audit.branch_id, Audit.id)).all())
    head = make_user("branch_head", branch=mine)
    c = login(head)
    page = client.get("/audits/").get_data(as_text=True)
    assert f"/audits/{ids[mine.id]}" in page and f"/audits/{ids[other.id]}" not in page
    cal = client.get("/audits/calendar?month=2026-11").get_data(as_text=True)
    assert f"/audits/{ids[mine.id]}" in cal and f"/audits/{ids[other.id]}" not in cal
    login(auditor, c)
    page = client.get("/audits/").get_data(as_text=True)
    assert f"/audits/{ids[mine.id]}" in page and f"/audits/{ids[other.id]}" in page
    # filters: branch, state, period, auditor
    page = client.get(f"/audits/?branch={other.id}&state=planned&period=2026-11"
                      ).get_data(as_text=True)
    assert f"/audits/{ids[other.id]}" in page and f"/audits/{ids[mine.id]}" not in page
    assert f"/audits/{ids[mine.id]}" not in client.get("/audits/?state=submitted").get_data(
        as_text=True)
    # due Nov 15 (Shanghai): on the calendar by due date, on Nov 1 by planned date
    cal = client.get("/audits/calendar?month=2026-11&by=planned").get_data(as_text=True)
    assert cal.count(f"/audits/{ids[mine.id]}") == 1
    assert client.get("/audits/calendar?month=garbage").status_code == 200
    login(make_user("agent", branch=mine), c)
    assert client.get("/audits/").status_code == 403

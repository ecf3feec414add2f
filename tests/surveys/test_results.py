"""The results service on a hand-computed data set (tests/surveys/results_data.py), on SQLite
and PostgreSQL; and the results page with its branch scope."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from qms.extensions import db as _db
from qms.surveys.results import (
    FilterError,
    Filters,
    OutOfScope,
    breakdown,
    monthly_trend,
    summary,
    survey_results,
)
from qms.surveys.results_filters import parse_filters
from qms.surveys.results_questions import distributions, search_comments
from tests.surveys import results_data
from tests.surveys.results_data import t


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def data(request):
    request.getfixturevalue("app" if request.param == "sqlite" else "pg_app")
    return results_data.build(_db)


def _values(k):
    return (k.responses, k.csat.value, k.nps.value, k.ces.value, k.response_rate.value)


def test_summary_is_the_hand_computed_one(data):
    k = summary(Filters(survey_id=data.survey.id), min_sample=10)
    c = k.counts
    assert (c.csat_n, c.csat_satisfied) == (10, 5)
    assert (c.promoters, c.passives, c.detractors) == (4, 3, 3)
    assert (c.ces_n, c.ces_sum) == (10, 44)
    assert (c.delivered, c.completed) == (16, 7)
    assert _values(k) == (10, pytest.approx(50.0), pytest.approx(10.0), pytest.approx(4.4),
                          pytest.approx(43.75))
    assert all(m.sufficient for m in (k.csat, k.nps, k.ces, k.response_rate))


def test_breakdown_by_branch_and_agent(data):
    f = Filters(survey_id=data.survey.id)
    rows = breakdown(f, "branch", min_sample=5)
    assert [(r.code, r.label) for r in rows] == [("RA", "甲支行"), ("RB", "乙支行")]
    assert _values(rows[0].kpis) == (5, 60.0, 20.0, pytest.approx(4.8), 50.0)
    assert _values(rows[1].kpis) == (5, 40.0, 0.0, pytest.approx(4.0), 40.0)
    assert (rows[1].kpis.counts.delivered, rows[1].kpis.counts.completed) == (10, 4)

    agents = {r.code: r.kpis for r in breakdown(f, "agent", min_sample=2)}
    assert set(agents) == {"RA-01", "RA-02", "RB-01", ""}
    # the unanswered invitations name no agent: "not attributed", last
    assert breakdown(f, "agent")[-1].key is None
    assert (agents[""].responses, agents[""].counts.delivered) == (0, 9)
    assert _values(agents["RA-01"])[:4] == (3, pytest.approx(200 / 3), pytest.approx(100 / 3),
                                             pytest.approx(5.0))
    assert _values(agents["RA-02"])[:4] == (2, 50.0, 0.0, 4.5)
    # invitations without an agent (the unanswered ones) are "not attributed"
    assert agents["RA-01"].counts.delivered == 2

    by_segment = {r.code: r.kpis for r in breakdown(f, "segment", min_sample=1)}
    assert _values(by_segment["vip"])[:4] == (4, 75.0, 75.0, 6.0)  # 2, 5, 8, 10
    assert by_segment["vip"].counts.delivered == 2
    by_channel = {r.code: r.kpis for r in breakdown(f, "channel", min_sample=1)}
    assert by_channel["counter"].responses == 3 and by_channel["email"].responses == 7
    assert by_channel["counter"].response_rate.status == "no_data"  # no invitations


def test_minimum_sample_hides_the_numbers_but_keeps_n(data):
    rows = breakdown(Filters(survey_id=data.survey.id), "branch", min_sample=6)
    for row in rows:
        k = row.kpis
        assert k.responses == 5
        assert (k.csat.value, k.nps.value, k.ces.value) == (None, None, None)
        assert (k.csat.n, k.csat.status) == (5, "insufficient")
    assert rows[1].kpis.response_rate.value == 40.0  # 10 invitations: enough
    # the app setting is the default
    assert summary(Filters(survey_id=data.survey.id)).csat.value == 50.0  # n = 10 >= 10
    a_only = summary(Filters(survey_id=data.survey.id, branch_id=data.a.id))
    assert a_only.csat.value is None and a_only.csat.status == "insufficient"


def test_monthly_trend(data):
    trend = monthly_trend(Filters(survey_id=data.survey.id), min_sample=5)
    assert [p.month for p in trend] == ["2025-01", "2025-02"]
    jan, feb = (p.kpis for p in trend)
    assert _values(jan) == (5, 40.0, -20.0, pytest.approx(3.8), 40.0)
    assert _values(feb) == (5, 60.0, 40.0, pytest.approx(5.0), 50.0)
    # a period wider than the data gives empty months, not missing ones
    wide = monthly_trend(Filters(survey_id=data.survey.id, start=t(2024, 12, 1),
                                 end=t(2025, 4, 1)), min_sample=5)
    assert [p.month for p in wide] == ["2024-12", "2025-01", "2025-02", "2025-03"]
    assert wide[0].kpis.responses == 0 and wide[0].kpis.csat.status == "no_data"


def test_period_boundaries_are_utc(data):
    sid = data.survey.id
    january = Filters(survey_id=sid, start=t(2025, 1, 1), end=t(2025, 2, 1))
    february = Filters(survey_id=sid, start=t(2025, 2, 1), end=t(2025, 3, 1))
    # 2025-01-31 23:59:59 UTC is January (February 1st in Shanghai); 2025-02-01 00:00 is February
    assert summary(january).responses == 5 and summary(february).responses == 5
    assert summary(january).counts.delivered == 10 and summary(february).counts.delivered == 6
    last_second = Filters(survey_id=sid, start=t(2025, 1, 31, 23, 59, 59), end=t(2025, 2, 1))
    assert summary(last_second).responses == 1


def test_segment_channel_campaign_agent_filters(data):
    sid = data.survey.id
    vip = summary(Filters(survey_id=sid, segment="vip"), min_sample=1)
    assert _values(vip)[:4] == (4, 75.0, 75.0, 6.0)  # NPS 9, 7, 10, 9
    counter = summary(Filters(survey_id=sid, channel="counter"), min_sample=1)
    assert counter.responses == 3 and counter.counts.csat_satisfied == 1  # 2, 3, 5
    assert counter.counts.delivered == 0
    email_b = summary(Filters(survey_id=sid, campaign_id=data.campaigns["B"].id), min_sample=1)
    assert (email_b.responses, email_b.counts.delivered, email_b.counts.completed) == (4, 10, 4)
    a2 = summary(Filters(survey_id=sid, agent_id=data.agents["a2"].id), min_sample=1)
    assert a2.responses == 2 and a2.ces.value == 4.5
    nothing = summary(Filters(survey_id=sid, segment="vip", channel="counter",
                              branch_id=data.b.id), min_sample=1)
    assert nothing.responses == 1 and nothing.nps.value == 100.0  # response 8


def test_scope_limits_everything(data):
    sid = data.survey.id
    only_a = Filters(survey_id=sid, scope=frozenset({data.a.id}))
    assert _values(summary(only_a, min_sample=5)) == (5, 60.0, 20.0, pytest.approx(4.8), 50.0)
    assert [r.code for r in breakdown(only_a, "branch")] == ["RA"]
    assert search_comments(only_a, q="wait", locale="en").total == 0  # B's comment
    none = Filters(survey_id=sid, scope=frozenset())
    assert summary(none).responses == 0 and summary(none).counts.delivered == 0
    assert breakdown(none, "agent") == []


def test_distributions(data):
    qs = {q.key: q for q in distributions(Filters(survey_id=data.survey.id), locale="en",
                                          min_sample=10)}
    assert list(qs) == ["csat", "nps", "ces", "purpose", "improve", "grid", "comment"]
    csat = qs["csat"]
    assert [(b.key, b.count) for b in csat.bars] == [("1", 1), ("2", 2), ("3", 2), ("4", 2),
                                                     ("5", 3)]
    assert csat.answered == 10 and csat.mean == pytest.approx(3.4) and csat.kpi.value == 50.0
    nps = qs["nps"]
    assert [b.count for b in nps.bars] == [1, 0, 0, 1, 0, 0, 1, 2, 1, 2, 2]  # 0..10
    assert nps.kpi.value == 10.0
    assert qs["ces"].kpi.value == pytest.approx(4.4)
    purpose = qs["purpose"]
    assert purpose.answered == 9  # response 10 skipped it
    assert [(b.label, b.count) for b in purpose.bars] == [("Deposit", 4), ("Card", 3),
                                                          ("Loan", 2)]
    assert purpose.bars[0].share == pytest.approx(4 / 9)
    improve = qs["improve"]
    assert improve.answered == 7
    assert [(b.key, b.count) for b in improve.bars] == [("wait", 4), ("staff", 3), ("app", 2)]
    assert improve.bars[0].share == pytest.approx(4 / 7)  # of respondents: may sum over 100 %
    grid = qs["grid"]
    assert grid.answered == 4
    staff, speed = grid.rows
    assert (staff.label, staff.answered, staff.mean) == ("Attitude", 4, 4.0)
    assert [b.count for b in staff.bars] == [0, 1, 0, 1, 2]
    assert (speed.answered, speed.mean, [b.count for b in speed.bars]) == (3, 3.0,
                                                                           [1, 0, 0, 2, 0])
    assert qs["comment"].answered == 5 and qs["comment"].bars == []
    zh = {q.key: q for q in distributions(Filters(survey_id=data.survey.id), locale="zh_Hans")}
    assert zh["purpose"].label == "到访目的" and zh["purpose"].bars[1].label == "银行卡"


def test_comment_search(data):
    f = Filters(survey_id=data.survey.id)
    everything = search_comments(f, locale="en")
    assert everything.total == 5  # not the unfinished response's, not the other survey's
    assert [c.response_id for c in everything.items] == [data.response_ids[i] for i in
                                                         (4, 7, 2, 0, 5)]  # newest first
    wait = search_comments(f, q="wait", locale="en")
    assert [c.text for c in wait.items] == ["Terrible WAIT at the counter"]
    assert (wait.items[0].branch_code, wait.items[0].nps, wait.items[0].csat) == ("RB", 0, 1)
    assert search_comments(f, q="排队", locale="en").total == 1
    assert [c.text for c in search_comments(f, q="100%", locale="en").items] == [
        "Great staff, 100% happy"]
    assert search_comments(f, q="%", locale="en").total == 1  # a literal percent sign
    assert search_comments(f, q="_", locale="en").total == 0
    page = search_comments(f, locale="en", page=3, per_page=2)
    assert (page.total, page.pages, len(page.items)) == (5, 3, 1)


def test_a_fixed_handful_of_queries_whatever_the_size(data):
    """No query per branch, agent or question: the count does not grow with them."""
    from qms.org.models import Agent, Branch
    from qms.surveys.models import Answer, Response

    f = Filters(survey_id=data.survey.id)
    engine = _db.engine
    statements: list[str] = []

    def count(*args):
        statements.append(args[2])

    def run():
        statements.clear()
        sa.event.listen(engine, "before_cursor_execute", count)
        try:
            for by in ("branch", "agent"):
                survey_results(f, locale="en", by=by)
        finally:
            sa.event.remove(engine, "before_cursor_execute", count)
        return len(statements)

    before = run()
    branches = [Branch(code=f"X{i}", name=f"X{i}", region="r", city="c") for i in range(8)]
    _db.session.add_all(branches)
    _db.session.flush()
    agents = [Agent(code=f"X{i}-{j}", name="x", branch=b) for i, b in enumerate(branches)
              for j in range(3)]
    _db.session.add_all(agents)
    _db.session.flush()
    ids = _db.session.scalars(sa.insert(Response).returning(Response.id), [dict(
        version_id=data.version.id, survey_id=data.survey.id, branch_id=a.branch.id,
        agent_id=a.id, channel="counter", segment="standard", locale="en",
        started_at=t(2025, 3, 1), updated_at=t(2025, 3, 1), completed_at=t(2025, 3, 1))
        for a in agents]).all()
    _db.session.execute(sa.insert(Answer), [dict(response_id=i, question_key="csat",
                                                 qtype="csat", num_value=5) for i in ids])
    _db.session.commit()
    after = run()
    assert after == before <= 2 * 15, statements
    assert summary(f).responses == 10 + len(agents)


def _user(*roles, branch=None):
    from qms.auth.services import GrantSpec, create_user

    code = branch.code if branch is not None else None
    user = create_user(email=f"{'-'.join(roles)}-{code}@bank.test", name="U",
                       password="correct horse battery",
                       grants=[GrantSpec(r, code) for r in roles])
    _db.session.commit()
    return user


def test_parse_filters(data):
    sid = data.survey.id
    head = _user("branch_head", branch=data.a)
    qa = _user("qa")
    f = parse_filters(sid, {"from": "2025-01-31", "to": "2025-01-31", "segment": "vip",
                            "channel": "email", "branch": "RA", "agent": "RA-01",
                            "version": "1", "campaign": str(data.campaigns["A"].id)}, qa)
    assert (f.start, f.end) == (t(2025, 1, 31), t(2025, 2, 1))
    assert (f.segment, f.channel, f.branch_id, f.agent_id, f.scope) == (
        "vip", "email", data.a.id, data.agents["a1"].id, None)
    assert f.version_ids == (data.version.id,) and f.campaign_id == data.campaigns["A"].id
    assert summary(parse_filters(sid, {"from": "2025-01-31", "to": "2025-01-31"}, qa)
                   ).responses == 1  # only the 23:59:59 one
    assert parse_filters(sid, {}, head).scope == frozenset({data.a.id})
    for params in ({"branch": "RB"}, {"branch": "NOPE"}, {"agent": "RB-01"},
                   {"campaign": str(data.campaigns["B"].id)}, {"campaign": "x"}):
        with pytest.raises(OutOfScope):
            parse_filters(sid, params, head)
    with pytest.raises(OutOfScope):
        parse_filters(999999, {}, qa)
    with pytest.raises(OutOfScope):  # a campaign of another survey
        parse_filters(data.other.id, {"campaign": str(data.campaigns["A"].id)}, qa)
    with pytest.raises(FilterError) as exc:
        parse_filters(sid, {"from": "31/01/2025", "segment": "gold", "channel": "fax",
                            "version": "7"}, qa)
    assert set(exc.value.fields) == {"from", "segment", "channel", "version"}
    with pytest.raises(FilterError) as exc:
        parse_filters(sid, {"from": "2025-02-01", "to": "2025-01-01"}, qa)
    assert set(exc.value.fields) == {"to"}


# -- the page -----------------------------------------------------------------------------------

@pytest.fixture
def page_data(app):
    return results_data.build(_db)


def test_results_page_shows_the_service_numbers(page_data, client, login, make_user):
    c = login(make_user("qa", locale="en"))
    resp = c.get(f"/surveys/results?survey={page_data.survey.id}")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    for text in ("50.0%", "+10.0", "4.40", "43.8%", "7 completed of 16 delivered invitations",
                 "Promoters 4 · passives 3 · detractors 3", "甲支行", "乙支行", "2025-01",
                 "2025-02", "Purpose of visit", "Waiting time", "Attitude", "<svg"):
        assert text in html, text
    # per month and per branch n = 5 < 10: no numbers that a branch could be ranked on
    assert "Insufficient data" in html
    assert "<script" not in html and "cdn" not in html.lower()  # no JS libraries, no CDN
    by_agent = c.get(f"/surveys/results?survey={page_data.survey.id}&by=agent").get_data(
        as_text=True)
    assert "RA-02" in by_agent and "Not attributed" in by_agent


def test_results_page_filters_and_bad_input(page_data, client, login, make_user):
    c = login(make_user("qa", locale="en"))
    sid = page_data.survey.id
    vip = c.get(f"/surveys/results?survey={sid}&segment=vip&channel=counter").get_data(
        as_text=True)
    assert "Great staff" in vip and "Terrible" not in vip
    bad = c.get(f"/surveys/results?survey={sid}&from=yesterday")
    assert bad.status_code == 400 and "Enter a date as YYYY-MM-DD." in bad.get_data(as_text=True)
    assert c.get("/surveys/results?survey=999999").status_code == 404
    assert c.get("/surveys/results").status_code == 200  # the newest survey


def test_branch_head_sees_only_their_branch(page_data, client, login, make_user):
    c = login(make_user("branch_head", branch=page_data.a, locale="en"))
    sid = page_data.survey.id
    html = c.get(f"/surveys/results?survey={sid}").get_data(as_text=True)
    assert "甲支行" in html and "乙支行" not in html and "RB-01" not in html
    assert "Terrible WAIT" not in html and "Great staff" not in html  # B's comments
    assert "3 completed of 6 delivered invitations" in html
    for query in ("branch=RB", "branch=NOPE", "agent=RB-01",
                  f"campaign={page_data.campaigns['B'].id}"):
        resp = c.get(f"/surveys/results?survey={sid}&{query}")
        assert resp.status_code == 404, query
        assert "乙支行" not in resp.get_data(as_text=True)
    own = c.get(f"/surveys/results?survey={sid}&branch=RA&by=branch").get_data(as_text=True)
    assert "甲支行" in own and "乙支行" not in own


def test_roles_that_may_not_see_results(page_data, client, login, make_user):
    for role in ("agent", "auditor", "complaints", "shopper"):
        user = make_user(role, branch=page_data.a if role == "agent" else None)
        assert login(user).get(f"/surveys/results?survey={page_data.survey.id}"
                               ).status_code == 403, role
    anonymous = client.application.test_client()
    resp = anonymous.get(f"/surveys/results?survey={page_data.survey.id}")
    assert resp.status_code in (302, 303) and "/login" in resp.headers["Location"]


def test_hostile_comment_is_escaped_and_searchable(page_data, client, login, make_user):
    c = login(make_user("qa", locale="en"))
    html = c.get(f"/surveys/results?survey={page_data.survey.id}&q=排队").get_data(as_text=True)
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; 排队太久" in html
    assert "<script>alert" not in html
    assert "1 comment" in html and "1 comments" not in html

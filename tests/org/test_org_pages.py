"""Organisation pages: branch, agent and customer forms, search and filters, scope, escaping."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from qms.extensions import db as _db
from qms.org.models import Agent, Branch, Customer

HOSTILE = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


@pytest.fixture
def client(app):
    c = app.test_client()
    c.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"  # messages are asserted in English
    return c


@pytest.fixture
def admin(login, make_user):
    return login(make_user("admin"))


@pytest.fixture
def two(make_branch, make_agent):
    a = make_branch(code="BA", region="华东", city="上海", name="外滩支行")
    b = make_branch(code="BB", region="华南", city="深圳", name="福田支行")
    make_agent(a, code="BA-01", name="张三", team="柜面")
    make_agent(b, code="BB-01", name="李四", team="理财")
    return a, b


def count(model) -> int:
    return _db.session.scalar(sa.select(sa.func.count()).select_from(model))


def fresh(model, **by):
    _db.session.expire_all()
    return _db.session.scalar(sa.select(model).filter_by(**by))


def has_field_error(resp, field_id: str) -> bool:
    return f'id="{field_id}-error"' in resp.get_data(as_text=True)


def branch_form(**over):
    data = {"code": "SH-009", "name": "陆家嘴支行", "region": "华东", "city": "上海",
            "timezone": "Asia/Shanghai", "active": "y"}
    data.update(over)
    return data


def agent_form(**over):
    data = {"code": "BA-77", "name": "王五", "branch_code": "BA", "team": "对公", "active": "y"}
    data.update(over)
    return data


def customer_form(**over):
    data = {"ref": "CUST-1", "name": "赵六", "email": "Zhao@Example.com",
            "phone": "+86 138-0000-0000", "segment": "vip", "locale": "zh_Hant",
            "home_branch_code": "BA"}
    data.update(over)
    return data


# -- branches -------------------------------------------------------------------------------

def test_admin_creates_and_edits_a_branch(app, admin, two):
    resp = admin.post("/org/branches/new", data=branch_form())
    branch = fresh(Branch, code="SH-009")
    assert branch is not None
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/org/branches/{branch.id}")
    assert (branch.name, branch.region, branch.city, branch.timezone, branch.active) == \
        ("陆家嘴支行", "华东", "上海", "Asia/Shanghai", True)
    assert "陆家嘴支行" in admin.get(f"/org/branches/{branch.id}").get_data(as_text=True)

    edit = admin.get(f"/org/branches/{branch.id}/edit").get_data(as_text=True)
    assert 'value="陆家嘴支行"' in edit
    resp = admin.post(f"/org/branches/{branch.id}/edit",
                      data=branch_form(name="陆家嘴分行", timezone="Asia/Hong_Kong", active=""))
    assert resp.status_code == 302
    branch = fresh(Branch, code="SH-009")
    assert (branch.name, branch.timezone, branch.active) == ("陆家嘴分行", "Asia/Hong_Kong", False)
    # Saving under its own code is not a clash with itself.
    assert admin.post(f"/org/branches/{branch.id}/edit",
                      data=branch_form(name="陆家嘴支行")).status_code == 302


@pytest.mark.parametrize("over, field", [
    ({"code": "SH 009"}, "code"),
    ({"code": "-x"}, "code"),
    ({"code": "BA"}, "code"),                    # taken
    ({"code": ""}, "code"),
    ({"name": ""}, "name"),
    ({"name": "   "}, "name"),
    ({"region": ""}, "region"),
    ({"city": ""}, "city"),
    ({"timezone": "Mars/Olympus"}, "timezone"),
    ({"name": "x" * 201}, "name"),
])
def test_bad_branch_form_shows_field_errors_and_writes_nothing(app, admin, two, over, field):
    before = count(Branch)
    resp = admin.post("/org/branches/new", data=branch_form(**over))
    assert resp.status_code in (200, 400)
    assert has_field_error(resp, field), field
    assert count(Branch) == before

    a = two[0]
    resp = admin.post(f"/org/branches/{a.id}/edit",
                      data=branch_form(**{"code": "BA", "name": "改名", **over}))
    if over.get("code") == "BA":  # its own code: not an error when editing
        return
    assert has_field_error(resp, field), field
    assert fresh(Branch, id=a.id).name == "外滩支行"


def test_branch_search_and_region_filter(app, admin, two, make_branch):
    make_branch(code="SZ-2", region="华南", city="深圳", name="南山支行")
    make_branch(code="X_1", region="华北", city="北京", name="100%达标支行")

    def codes(query):
        html = admin.get("/org/branches" + query).get_data(as_text=True)
        return [c for c in ("BA", "BB", "SZ-2", "X_1") if f">{c}</a>" in html]

    assert codes("") == ["BA", "BB", "SZ-2", "X_1"]
    assert codes("?q=深圳") == ["BB", "SZ-2"]                     # by city
    assert codes("?q=福田") == ["BB"]                             # by name
    assert codes("?q=bb") == ["BB"]                               # by code, any case
    assert codes("?region=华南") == ["BB", "SZ-2"]
    assert codes("?region=华南&q=南山") == ["SZ-2"]
    # LIKE wildcards are literal characters in a search.
    assert codes("?q=%25") == ["X_1"]
    assert codes("?q=_") == ["X_1"]
    assert codes("?q=nothing-like-this") == []


# -- agents ---------------------------------------------------------------------------------

def test_admin_creates_and_edits_an_agent(app, admin, two):
    resp = admin.post("/org/agents/new", data=agent_form())
    assert resp.status_code == 302
    agent = fresh(Agent, code="BA-77")
    assert (agent.name, agent.branch.code, agent.team, agent.active) == ("王五", "BA", "对公", True)
    assert "BA-77" in admin.get("/org/agents?q=BA-77").get_data(as_text=True)

    edit = admin.get(f"/org/agents/{agent.id}/edit").get_data(as_text=True)
    assert 'value="BA"' in edit  # the branch code is filled in
    resp = admin.post(f"/org/agents/{agent.id}/edit",
                      data=agent_form(branch_code="BB", team="", active=""))
    assert resp.status_code == 302
    agent = fresh(Agent, code="BA-77")
    assert (agent.branch.code, agent.team, agent.active) == ("BB", None, False)


@pytest.mark.parametrize("over, field", [
    ({"code": "BA 77"}, "code"),
    ({"code": "BB-01"}, "code"),                 # taken
    ({"name": ""}, "name"),
    ({"branch_code": "NOPE"}, "branch_code"),
    ({"branch_code": ""}, "branch_code"),
])
def test_bad_agent_form_shows_field_errors_and_writes_nothing(app, admin, two, over, field):
    before = count(Agent)
    resp = admin.post("/org/agents/new", data=agent_form(**over))
    assert has_field_error(resp, field), field
    assert count(Agent) == before


def test_agent_search(app, admin, two):
    html = admin.get("/org/agents?q=理财").get_data(as_text=True)  # by team
    assert "BB-01" in html and "BA-01" not in html
    html = admin.get("/org/agents?q=张").get_data(as_text=True)    # by name
    assert "BA-01" in html and "BB-01" not in html


def test_branch_head_sees_only_their_branchs_agents(app, login, make_user, two):
    a, b = two
    c = login(make_user("branch_head", branch=a))
    html = c.get("/org/agents").get_data(as_text=True)
    assert "BA-01" in html and "张三" in html
    assert "BB-01" not in html and "李四" not in html
    assert "BB-01" not in c.get("/org/agents?q=李四").get_data(as_text=True)
    detail = c.get(f"/org/branches/{a.id}").get_data(as_text=True)
    assert "张三" in detail
    assert c.get(f"/org/branches/{b.id}").status_code == 404
    # No admin links for a branch head.
    assert "/org/agents/new" not in html and "/edit" not in html


# -- customers ------------------------------------------------------------------------------

def test_admin_creates_and_edits_a_customer(app, admin, two):
    assert admin.post("/org/customers/new", data=customer_form()).status_code == 302
    cust = fresh(Customer, ref="CUST-1")
    assert (cust.name, cust.email, cust.segment, cust.locale, cust.home_branch.code) == \
        ("赵六", "zhao@example.com", "vip", "zh_Hant", "BA")
    resp = admin.post(f"/org/customers/{cust.id}/edit",
                      data=customer_form(home_branch_code="", email="", phone="",
                                         segment="standard"))
    assert resp.status_code == 302
    cust = fresh(Customer, ref="CUST-1")
    assert (cust.email, cust.phone, cust.segment, cust.home_branch) == (None, None, "standard",
                                                                        None)


@pytest.mark.parametrize("over, field", [
    ({"ref": "C 1"}, "ref"),
    ({"name": ""}, "name"),
    ({"email": "not-an-address"}, "email"),
    ({"phone": "call me"}, "phone"),
    ({"segment": "platinum"}, "segment"),
    ({"home_branch_code": "NOPE"}, "home_branch_code"),
])
def test_bad_customer_form_shows_field_errors_and_writes_nothing(app, admin, two, over, field):
    resp = admin.post("/org/customers/new", data=customer_form(**over))
    assert has_field_error(resp, field), field
    assert count(Customer) == 0


def test_customer_search_and_segment_filter(app, admin, two):
    a, _b = two
    _db.session.add_all([
        Customer(ref="C-1", name="钱七", email="qian@example.com", segment="vip", home_branch=a),
        Customer(ref="C-2", name="孙八", phone="13900000000", segment="standard"),
        Customer(ref="C-3", name="周九", email="zhou@example.com", segment="standard"),
    ])
    _db.session.commit()

    def refs(query):
        html = admin.get("/org/customers" + query).get_data(as_text=True)
        return [r for r in ("C-1", "C-2", "C-3") if f">{r}</a>" in html]

    assert refs("") == ["C-1", "C-2", "C-3"]
    assert refs("?segment=vip") == ["C-1"]
    assert refs("?segment=standard") == ["C-2", "C-3"]
    assert refs("?q=zhou@") == ["C-3"]          # by e-mail
    assert refs("?q=13900") == ["C-2"]          # by phone
    assert refs("?q=钱") == ["C-1"]             # by name
    assert refs("?q=example&segment=standard") == ["C-3"]


# -- escaping -------------------------------------------------------------------------------

def test_hostile_names_are_escaped_in_lists_and_pages(app, admin, login, make_user, two):
    a, _b = two
    assert admin.post("/org/branches/new", data=branch_form(
        code="EVIL", name=HOSTILE, city=HOSTILE, region=HOSTILE)).status_code == 302
    assert admin.post("/org/agents/new", data=agent_form(
        code="EVIL-1", branch_code="EVIL", name=HOSTILE, team=HOSTILE)).status_code == 302
    assert admin.post("/org/customers/new", data=customer_form(
        ref="EVIL-C", name=HOSTILE, home_branch_code="EVIL")).status_code == 302
    evil = fresh(Branch, code="EVIL")
    assert evil.name == HOSTILE  # stored as typed; escaping is the template's job

    pages = ["/org/branches", f"/org/branches/{evil.id}", "/org/agents", "/org/customers",
             f"/org/branches/{evil.id}/edit", "/org/branches?q=" + HOSTILE,
             "/org/agents?q=" + HOSTILE]
    for url in pages:
        html = admin.get(url).get_data(as_text=True)
        assert HOSTILE not in html, url
        assert "<script" not in html, url
        assert ESCAPED in html or "&#34;" in html or "&lt;script" in html, url
    # Error messages that echo input are escaped too.
    resp = admin.post("/org/agents/new", data=agent_form(code="Z-1", branch_code=HOSTILE))
    assert has_field_error(resp, "branch_code")
    assert HOSTILE not in resp.get_data(as_text=True)
    resp = admin.post("/org/branches/new", data=branch_form(code="Z-2", timezone=HOSTILE))
    assert has_field_error(resp, "timezone") and HOSTILE not in resp.get_data(as_text=True)
    # And for a branch head looking at their (hostile-named) branch.
    head = login(make_user("branch_head", branch=evil), app.test_client())
    html = head.get(f"/org/branches/{evil.id}").get_data(as_text=True)
    assert HOSTILE not in html and ESCAPED in html

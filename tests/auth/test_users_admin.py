"""Administering users: the form, role grants with their audit trail, deactivation, the CLI."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from qms.auth.models import RoleGrant, User
from qms.core.audit import AuditLog
from qms.extensions import db as _db
from tests.conftest import PASSWORD


@pytest.fixture
def client(app):
    c = app.test_client()
    c.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"  # messages are asserted in English
    return c


@pytest.fixture
def admin_client(login, make_user):
    return login(make_user("admin", email="root@citybank.com.cn"))


@pytest.fixture
def branch(make_branch):
    return make_branch(code="BA", name="甲支行")


def user_by_email(email) -> User | None:
    _db.session.expire_all()
    return _db.session.scalar(sa.select(User).where(User.email == email))


def audit(action):
    _db.session.expire_all()
    return list(_db.session.scalars(
        sa.select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id)))


def new_user_form(**over):
    data = {"email": "new.head@citybank.com.cn", "name": "王行长", "password": "a long password",
            "locale": "zh_Hans", "active": "y", "agent_code": "",
            "grant-role": "branch_head", "grant-branch_code": "BA", "grant-region": ""}
    data.update(over)
    return data


def field_errors(html: str, field_id: str) -> bool:
    return f'id="{field_id}-error"' in html


# -- the form -------------------------------------------------------------------------------

def test_admin_creates_a_user_with_a_branch_role(app, admin_client, branch):
    resp = admin_client.post("/admin/users/new", data=new_user_form())
    user = user_by_email("new.head@citybank.com.cn")
    assert user is not None
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/admin/users/{user.id}")
    assert [(g.role, g.branch.code, g.region) for g in user.grants] == [("branch_head", "BA", None)]
    assert user.locale == "zh_Hans" and user.active
    assert user.password_hash != "a long password"
    [row] = [r for r in audit("user_created") if r.subject == "new.head@citybank.com.cn"]
    assert row.details == {"roles": ["branch_head"]}
    assert row.actor_id == user_by_email("root@citybank.com.cn").id
    page = admin_client.get(f"/admin/users/{user.id}").get_data(as_text=True)
    assert "甲支行" in page


@pytest.mark.parametrize("over, field", [
    ({"grant-branch_code": ""}, "grant-branch_code"),               # branch head without branch
    ({"grant-role": "agent", "grant-branch_code": ""}, "grant-branch_code"),
    ({"grant-branch_code": "NOPE"}, "grant-branch_code"),           # no such branch
    ({"grant-role": "shopper", "grant-branch_code": "BA"}, "grant-branch_code"),
    ({"email": "root@citybank.com.cn"}, "email"),                         # taken
    ({"email": "not-an-address"}, "email"),
    ({"password": "short"}, "password"),
    ({"password": ""}, "password"),
    ({"name": ""}, "name"),
    ({"grant-role": "superuser"}, "grant-role"),
])
def test_bad_user_form_shows_field_error_and_writes_nothing(app, admin_client, branch, over,
                                                            field):
    users_before = _db.session.scalar(sa.select(sa.func.count(User.id)))
    resp = admin_client.post("/admin/users/new", data=new_user_form(**over))
    assert resp.status_code in (200, 400)
    html = resp.get_data(as_text=True)
    assert field_errors(html, field), f"no error on {field}"
    assert _db.session.scalar(sa.select(sa.func.count(User.id))) == users_before
    assert [r.subject for r in audit("user_created")] == ["root@citybank.com.cn"]


def test_branch_head_needs_a_branch_message(app, admin_client, branch):
    html = admin_client.post("/admin/users/new",
                             data=new_user_form(**{"grant-branch_code": ""})).get_data(as_text=True)
    assert "needs a branch" in html
    assert user_by_email("new.head@citybank.com.cn") is None


def test_add_and_remove_roles_are_audited_with_before_and_after(app, admin_client, make_user,
                                                                branch):
    user = make_user("qa", email="target@bank.test")
    resp = admin_client.post(f"/admin/users/{user.id}/grants",
                             data={"grant-role": "branch_head", "grant-branch_code": "BA"})
    assert resp.status_code == 302
    user = user_by_email("target@bank.test")
    assert user.roles == {"qa", "branch_head"}
    [added] = audit("roles_changed")
    assert added.subject == "target@bank.test"
    assert added.details == {"from": ["qa@*"], "to": ["branch_head@BA", "qa@*"]}
    assert added.actor_id == user_by_email("root@citybank.com.cn").id

    resp = admin_client.post(f"/admin/users/{user.id}/grants", data={"grant-role": "auditor",
                                                                     "grant-region": "华南"})
    assert resp.status_code == 302
    assert "auditor@region:华南" in audit("roles_changed")[-1].details["to"]

    qa = next(g for g in user_by_email("target@bank.test").grants if g.role == "qa")
    resp = admin_client.post(f"/admin/users/{user.id}/grants/{qa.id}/remove")
    assert resp.status_code == 302
    assert user_by_email("target@bank.test").roles == {"branch_head", "auditor"}
    removed = audit("roles_changed")[-1]
    assert removed.details == {"from": ["auditor@region:华南", "branch_head@BA", "qa@*"],
                               "to": ["auditor@region:华南", "branch_head@BA"]}
    # Removing a grant that is not this user's: 404, nothing changes.
    other = make_user("complaints")
    assert admin_client.post(
        f"/admin/users/{user.id}/grants/{other.grants[0].id}/remove").status_code == 404
    assert user_by_email(other.email).roles == {"complaints"}


def test_a_bad_grant_is_refused_and_not_audited(app, admin_client, make_user, branch):
    user = make_user("qa", email="target@bank.test")
    resp = admin_client.post(f"/admin/users/{user.id}/grants",
                             data={"grant-role": "branch_head", "grant-branch_code": ""},
                             follow_redirects=True)
    assert "needs a branch" in resp.get_data(as_text=True)
    assert user_by_email("target@bank.test").roles == {"qa"}
    assert audit("roles_changed") == []
    assert _db.session.scalar(sa.select(sa.func.count(RoleGrant.id))) == 2  # target's + admin's


def test_deactivating_a_user_stops_their_sign_in(app, admin_client, make_user, login):
    user = make_user("qa", email="leaver@bank.test")
    their_session = login(user, app.test_client())
    assert their_session.get("/").status_code == 200

    resp = admin_client.post(f"/admin/users/{user.id}",
                             data={"email": "leaver@bank.test", "name": "Leaver", "locale": ""})
    assert resp.status_code == 302
    assert user_by_email("leaver@bank.test").active is False
    assert [r.subject for r in audit("user_deactivated")] == ["leaver@bank.test"]

    assert their_session.get("/").status_code == 302  # the open session ends too
    fresh = app.test_client()
    resp = fresh.post("/login", data={"email": "leaver@bank.test", "password": PASSWORD})
    assert resp.status_code == 401
    assert fresh.get("/").status_code == 302

    admin_client.post(f"/admin/users/{user.id}", data={"email": "leaver@bank.test",
                                                       "name": "Leaver", "locale": "",
                                                       "active": "y"})
    assert user_by_email("leaver@bank.test").active is True
    assert fresh.post("/login", data={"email": "leaver@bank.test",
                                      "password": PASSWORD}).status_code == 302


def test_admin_sets_a_new_password(app, admin_client, make_user):
    user = make_user("qa", email="pw@bank.test")
    admin_client.post(f"/admin/users/{user.id}", data={"email": "pw@bank.test", "name": "P",
                                                       "locale": "", "active": "y",
                                                       "password": "another long one"})
    c = app.test_client()
    assert c.post("/login", data={"email": "pw@bank.test", "password": PASSWORD}).status_code == 401
    assert c.post("/login", data={"email": "pw@bank.test",
                                  "password": "another long one"}).status_code == 302
    assert [r.subject for r in audit("password_changed")] == ["pw@bank.test"]


def test_users_list_search_and_role_filter(app, admin_client, make_user, branch):
    make_user("qa", email="li.qa@bank.test", name="李质检")
    make_user("branch_head", branch=branch, email="wang.head@bank.test", name="王行长")
    by_name = admin_client.get("/admin/users?q=王").get_data(as_text=True)
    assert "wang.head@bank.test" in by_name and "li.qa@bank.test" not in by_name
    by_role = admin_client.get("/admin/users?role=qa").get_data(as_text=True)
    assert "li.qa@bank.test" in by_role and "wang.head@bank.test" not in by_role


def test_unknown_user_is_404(app, admin_client):
    assert admin_client.get("/admin/users/99999").status_code == 404
    assert admin_client.post("/admin/users/99999/grants",
                             data={"grant-role": "qa"}).status_code == 404


# -- CLI ------------------------------------------------------------------------------------

def _create(runner, *args, password="a long password"):
    return runner.invoke(args=["users", "create", *args, "--password", password])


def test_cli_creates_users(app, runner, branch):
    result = _create(runner, "--email", "Cli.Head@Bank.test", "--name", "行长",
                     "--role", "branch_head", "--branch", "BA")
    assert result.exit_code == 0, result.output
    assert "cli.head@bank.test" in result.output
    user = user_by_email("cli.head@bank.test")
    assert [(g.role, g.branch.code) for g in user.grants] == [("branch_head", "BA")]

    result = _create(runner, "--email", "two@bank.test", "--name", "Two",
                     "--role", "qa", "--role", "auditor", "--region", "华南")
    assert result.exit_code == 0, result.output
    grants = sorted((g.role, g.branch_id, g.region) for g in user_by_email("two@bank.test").grants)
    assert grants == [("auditor", None, "华南"), ("qa", None, "华南")]

    # The password can be typed at the prompt instead (twice, hidden).
    result = runner.invoke(args=["users", "create", "--email", "p@bank.test", "--name", "P",
                                 "--role", "admin"], input="a long password\na long password\n")
    assert result.exit_code == 0, result.output
    assert "a long password" not in result.output.replace("Password", "")


@pytest.mark.parametrize("args, password, message", [
    (["--role", "branch_head"], "a long password", "branch:"),
    (["--role", "agent", "--branch", "NOPE"], "a long password", "NOPE"),
    (["--role", "superuser"], "a long password", "superuser"),
    (["--role", "qa"], "short", "password:"),
])
def test_cli_refuses_bad_input_with_exit_code_2(app, runner, branch, args, password, message):
    result = _create(runner, "--email", "bad@bank.test", "--name", "Bad", *args,
                     password=password)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert user_by_email("bad@bank.test") is None


def test_cli_refuses_a_taken_email(app, runner, make_user):
    make_user("qa", email="taken@bank.test")
    result = _create(runner, "--email", "TAKEN@bank.test", "--name", "Again", "--role", "qa")
    assert result.exit_code == 2
    assert _db.session.scalar(sa.select(sa.func.count(User.id))) == 1


def test_the_last_active_administrator_cannot_be_removed_or_deactivated(app, make_user):
    import pytest as _pytest

    from qms.auth import services
    from qms.auth.services import GrantSpec
    from qms.extensions import db as _db

    only = make_user("admin")
    with _pytest.raises(services.ValidationError):
        services.set_grants(only, [GrantSpec("qa")])
    _db.session.rollback()
    with _pytest.raises(services.ValidationError):
        services.update_user(only, name=only.name, locale=None, active=False)
    _db.session.rollback()
    second = make_user("admin")
    services.set_grants(only, [GrantSpec("qa")])  # another admin exists: allowed
    _db.session.commit()
    assert only.roles == {"qa"} and second.has_role("admin")


def test_edit_links_a_user_to_an_agent(app, make_user, make_branch, make_agent):
    from qms.auth import services
    from qms.extensions import db as _db

    agent = make_agent(make_branch())
    user = make_user("agent", branch=agent.branch)
    services.update_user(user, name=user.name, locale=None, active=True, agent_code=agent.code)
    _db.session.commit()
    assert user.agent_id == agent.id
    other = make_user("qa")
    import pytest as _pytest

    with _pytest.raises(services.ValidationError) as exc:
        services.update_user(other, name="x", locale=None, active=True, agent_code=agent.code)
    assert "agent_code" in exc.value.fields
    _db.session.rollback()

"""Translations: complete catalogues, locale selection, the language switch, error pages, formats."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from flask import abort, render_template_string
from flask_babel import force_locale, gettext

from qms import create_app
from qms.config import LOCALES
from qms.core.i18n import normalise_locale
from qms.core.permissions import public
from qms.extensions import db
from tests.conftest import PASSWORD, app_config

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "qms" / "translations"
# The same keywords as `make extract` (pybabel extract -k _l -k lazy_gettext).
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None}

# "Sign in", the login page's title, in each catalogue; <html lang> for each locale.
SIGN_IN = {"zh_Hans": "登录", "zh_Hant": "登入", "en": "Sign in"}
HTML_LANG = {"zh_Hans": "zh-Hans", "zh_Hant": "zh-Hant", "en": "en"}


# -- completeness -------------------------------------------------------------------------

# A printf conversion as Python's % operator reads it: %(name)s, %d, %.1f, %%.
PLACEHOLDER = re.compile(
    r"%(?:\((?P<name>[^)]*)\))?[#0\- +]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[hlL]?(?P<conv>[diouxXeEfFgGcrsa%])")


def placeholders(text: str) -> Counter:
    return Counter((m["name"], m["conv"]) for m in PLACEHOLDER.finditer(text) if m["conv"] != "%")


def stray_percent(text: str) -> bool:
    """A '%' that is no conversion breaks `msgstr % variables` (Jinja formats every string)."""
    return "%" in PLACEHOLDER.sub("", text)


@pytest.fixture(scope="module")
def source_messages() -> Catalog:
    """Every translatable string in the current source, extracted as `make extract` does."""
    with open(ROOT / "qms" / "translations" / "babel.cfg", encoding="utf-8") as fh:
        method_map, options_map = parse_mapping_cfg(fh, filename=str(ROOT / "qms" / "translations" / "babel.cfg"))
    catalog = Catalog()
    for filename, lineno, message, _comments, context in extract_from_dir(
            ROOT, method_map, options_map, keywords=KEYWORDS):
        catalog.add(message, None, [(filename, lineno)], context=context)
    return catalog


def _as_tuple(value) -> tuple[str, ...]:
    return tuple(value) if isinstance(value, (list, tuple)) else (value,)


def _problems(source: Catalog, po: Catalog) -> list[str]:
    problems = []
    for msg in source:
        if not msg.id:
            continue
        where = ", ".join(f"{f}:{n}" for f, n in msg.locations[:3])
        label = f"{msg.id!r} ({where})"
        entry = po.get(msg.id, msg.context)
        if entry is None:
            problems.append(f"missing: {label}")
            continue
        if entry.fuzzy:
            problems.append(f"fuzzy: {label}")
            continue
        strings = _as_tuple(entry.string)
        if isinstance(msg.id, (list, tuple)) and len(strings) < po.num_plurals:
            problems.append(f"needs {po.num_plurals} plural forms: {label}")
            continue
        if not all(s and s.strip() for s in strings):
            problems.append(f"untranslated: {label}")
            continue
        problems.extend(_format_problems(msg, strings, label))
    return problems


def _format_problems(msg, strings, label) -> list[str]:
    """A msgstr uses the msgid's placeholders; a plural form may leave the count out."""
    ids = _as_tuple(msg.id)
    problems = []
    for form in strings:
        got = placeholders(form)
        if len(ids) == 1:
            fits = got == placeholders(ids[0])
        else:
            fits = set(got) <= set(placeholders(ids[0])) | set(placeholders(ids[1]))
        if not fits:
            problems.append(f"placeholders {sorted(got)} instead of {sorted(placeholders(ids[-1]))}: "
                            f"{label} -> {form!r}")
        elif stray_percent(form) and not stray_percent(ids[0]):
            problems.append(f"stray '%' (write %%): {label} -> {form!r}")
    return problems


def test_source_has_translatable_strings(source_messages):
    # Guards the guard: if extraction silently found nothing, every catalogue would "pass".
    ids = {m.id for m in source_messages if m.id}
    assert len(ids) > 100
    assert {"Sign in", "Administrator", "Please sign in to see this page."} <= ids


@pytest.mark.parametrize("locale", LOCALES)
def test_catalogue_translates_every_source_string(source_messages, locale):
    path = TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po"
    with open(path, "rb") as fh:
        po = read_po(fh, locale=locale)
    problems = _problems(source_messages, po)
    assert not problems, (
        f"{path.relative_to(ROOT)}: {len(problems)} message(s) need work:\n  "
        + "\n  ".join(problems)
        + "\nRun `make extract`, translate the entries above in every catalogue, then `make catalogs`."
    )


@pytest.mark.parametrize("locale", LOCALES)
def test_catalogue_has_no_fuzzy_entries(locale):
    with open(TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po", "rb") as fh:
        po = read_po(fh, locale=locale)
    fuzzy = [m.id for m in po if m.id and m.fuzzy]
    assert not po.fuzzy, "the catalogue header is marked fuzzy"
    assert not fuzzy, f"{locale}: fuzzy entries are not used at run time: {fuzzy}"


def test_placeholder_check_catches_mistakes():
    source = Catalog()
    source.add("%(n)d rows imported.", None, [("x.py", 1)])
    source.add("Sign in", None, [("x.py", 2)])
    source.add("Welcome, %(name)s", None, [("x.py", 3)])
    po = Catalog(locale="zh_Hans")
    po.add("%(n)d rows imported.", "已导入 %(m)d 行数据。")
    po.add("Sign in", "登录", flags=["fuzzy"])
    problems = _problems(source, po)
    assert any(p.startswith("placeholders") and "rows imported" in p for p in problems)
    assert any(p.startswith("fuzzy: 'Sign in'") for p in problems)
    assert any(p.startswith("missing: 'Welcome, %(name)s' (x.py:3)") for p in problems)
    po2 = Catalog(locale="zh_Hans")
    po2.add("Welcome, %(name)s", "满意度 100%，%(name)s")
    assert any(p.startswith("stray") for p in _problems(source, po2))


# -- locale selection ---------------------------------------------------------------------

def fetch(client, url, method="GET", **kw):
    """One request in its own app context, as in production.

    The `app` fixture keeps an app context pushed, and a request reuses a pushed context of
    its app, so `g` -- where Flask-Babel caches the locale and Flask-Login the user -- would
    otherwise carry over from one request to the next.
    """
    with client.application.app_context():
        return client.open(url, method=method, **kw)


def sign_in(client, user):
    """Through the real form: the session-only `login` fixture fails strong session protection."""
    resp = fetch(client, "/login", "POST", data={"email": user.email, "password": PASSWORD})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    return client


def page_language(resp) -> tuple[str, str]:
    """(<html lang>, <title> without the site name) of a rendered page."""
    html = resp.get_data(as_text=True)
    lang = re.search(r'<html lang="([^"]+)"', html).group(1)
    title = re.search(r"<title>(.*?) · QMS</title>", html, re.S).group(1).strip()
    return lang, title


@pytest.mark.parametrize(("tag", "expected"), [
    ("zh-CN", "zh_Hans"), ("zh-cn", "zh_Hans"), ("zh_CN", "zh_Hans"), ("zh-Hans", "zh_Hans"),
    ("zh-Hans-CN", "zh_Hans"), ("zh-SG", "zh_Hans"), ("zh", "zh_Hans"),
    ("zh-TW", "zh_Hant"), ("zh-HK", "zh_Hant"), ("zh-MO", "zh_Hant"), ("zh-Hant", "zh_Hant"),
    ("zh-Hant-HK", "zh_Hant"), ("zh_TW", "zh_Hant"),
    ("en", "en"), ("en-GB", "en"), ("en-US", "en"), ("en_US", "en"),
    ("zh_Hans", "zh_Hans"), ("zh_Hant", "zh_Hant"),
    ("fr", None), ("fr-CA", None), ("*", None), ("", None), (None, None), ("eng", None),
])
def test_normalise_locale(tag, expected):
    assert normalise_locale(tag) == expected


def test_default_locale_is_simplified_chinese(client):
    resp = fetch(client, "/login")
    assert resp.status_code == 200
    assert page_language(resp) == ("zh-Hans", "登录")


@pytest.mark.parametrize(("header", "locale"), [
    ("zh-TW", "zh_Hant"),
    ("zh-HK,zh;q=0.9,en;q=0.8", "zh_Hant"),
    ("zh-Hant-TW", "zh_Hant"),
    ("zh-CN", "zh_Hans"),
    ("zh-CN,zh;q=0.9", "zh_Hans"),
    ("en-GB", "en"),
    ("en-US,en;q=0.9", "en"),
    ("fr-FR,fr;q=0.9,en;q=0.5", "en"),  # the first language we have
    ("en;q=0.3,zh-TW;q=0.8", "zh_Hant"),  # quality, not order, decides
    ("fr-FR", "zh_Hans"),  # nothing we have: the default
])
def test_accept_language_chooses_the_catalogue(client, header, locale):
    resp = fetch(client, "/login", headers={"Accept-Language": header})
    assert page_language(resp) == (HTML_LANG[locale], SIGN_IN[locale])


@pytest.mark.parametrize("locale", LOCALES)
def test_lang_parameter_wins_over_browser_and_is_remembered(client, locale):
    browser = {"Accept-Language": "zh-TW" if locale != "zh_Hant" else "en-GB"}
    resp = fetch(client, f"/login?lang={locale}", headers=browser)
    assert page_language(resp) == (HTML_LANG[locale], SIGN_IN[locale])
    with client.session_transaction() as sess:
        assert sess["lang"] == locale
    # Later pages without ?lang= keep the choice, whatever the browser says.
    assert page_language(fetch(client, "/login", headers=browser)) == (HTML_LANG[locale], SIGN_IN[locale])


def test_lang_parameter_accepts_browser_style_tags(client):
    assert page_language(fetch(client, "/login?lang=zh-TW")) == ("zh-Hant", "登入")
    assert page_language(fetch(client, "/login?lang=en-GB")) == ("en", "Sign in")


def test_unknown_lang_parameter_is_ignored(client):
    resp = fetch(client, "/login?lang=fr", headers={"Accept-Language": "en-GB"})
    assert page_language(resp) == ("en", "Sign in")
    with client.session_transaction() as sess:
        assert "lang" not in sess


def test_signed_in_users_setting_wins(client, make_user):
    user = make_user("admin", locale="zh_Hant")
    sign_in(client, user)
    with client.session_transaction() as sess:
        sess["lang"] = "en"
    resp = fetch(client, "/profile?lang=en", headers={"Accept-Language": "en-GB"})
    assert resp.status_code == 200
    assert page_language(resp) == ("zh-Hant", "我的設定")


def test_signed_in_user_without_a_setting_follows_lang_and_browser(client, make_user):
    sign_in(client, make_user("admin"))
    assert page_language(fetch(client, "/profile", headers={"Accept-Language": "en-GB"})) \
        == ("en", "My settings")
    assert page_language(fetch(client, "/profile?lang=zh_Hant", headers={"Accept-Language": "en"})) \
        == ("zh-Hant", "我的設定")
    assert page_language(fetch(client, "/profile", headers={"Accept-Language": "en"})) \
        == ("zh-Hant", "我的設定")


def test_outside_a_request_the_default_locale_applies(app):
    # CLI commands and scheduled jobs translate too (import errors, e-mails).
    with app.app_context():
        assert gettext("Sign in") == "登录"
        with force_locale("zh_Hant"):
            assert gettext("Sign in") == "登入"


@pytest.mark.parametrize(("locale", "required"), [
    ("zh_Hans", "该字段是必填字段。"), ("zh_Hant", "此欄位是必需的。"), ("en", "This field is required."),
])
def test_wtforms_own_messages_follow_the_locale(client, locale, required):
    # WTForms names its catalogues zh and zh_TW; zh_Hant must not fall back to Simplified.
    resp = fetch(client, f"/login?lang={locale}", "POST", data={"email": "", "password": ""})
    assert required in resp.get_data(as_text=True)


# -- the language switcher ----------------------------------------------------------------

@pytest.mark.parametrize("locale", LOCALES)
def test_switcher_sets_the_session(client, locale):
    resp = fetch(client, "/locale", "POST", data={"lang": locale, "next": "/login"})
    assert resp.status_code == 302
    assert resp.headers["Location"] == "/login"
    with client.session_transaction() as sess:
        assert sess["lang"] == locale
    other = "en-GB" if locale != "en" else "zh-CN"
    assert page_language(fetch(client, "/login", headers={"Accept-Language": other})) \
        == (HTML_LANG[locale], SIGN_IN[locale])


def test_switcher_saves_the_signed_in_users_setting(client, make_user):
    from qms.auth.models import User

    user = make_user("qa", locale="zh_Hans")
    sign_in(client, user)
    resp = fetch(client, "/locale", "POST", data={"lang": "en", "next": "/profile"})
    assert resp.status_code == 302
    assert resp.headers["Location"] == "/profile"
    db.session.expire_all()
    assert db.session.get(User, user.id).locale == "en"
    assert page_language(fetch(client, "/profile", headers={"Accept-Language": "zh-TW"})) \
        == ("en", "My settings")


def test_switcher_refuses_unknown_languages(client, make_user):
    from qms.auth.models import User

    user = make_user("qa", locale="zh_Hant")
    sign_in(client, user)
    resp = fetch(client, "/locale", "POST", data={"lang": "fr", "next": "/profile"})
    assert resp.status_code == 302
    with client.session_transaction() as sess:
        assert "lang" not in sess
    db.session.expire_all()
    assert db.session.get(User, user.id).locale == "zh_Hant"


@pytest.mark.parametrize("target", [
    "//evil.example", "//evil.example/login", "https://evil.example", "https://evil.example/",
    "http:evil.example", "javascript:alert(1)", "evil.example", "", " //evil.example",
])
def test_switcher_refuses_off_site_next(client, target):
    resp = fetch(client, "/locale", "POST", data={"lang": "en", "next": target})
    assert resp.status_code == 302
    assert resp.headers["Location"] == "/"


def lands_on_this_site(location: str) -> bool:
    """Where a browser goes: it drops tabs and newlines and reads '\\' as '/'."""
    seen = re.sub(r"[\t\r\n]", "", location).replace("\\", "/")
    parts = urlsplit(seen)
    return not parts.scheme and not parts.netloc and seen.startswith("/")


@pytest.mark.parametrize("target", [
    "/\\evil.example", "/\\/evil.example", "/%5Cevil.example", "/%2F/evil.example",
    "/\t/evil.example", "/\n/evil.example",
])
def test_switcher_next_cannot_be_disguised(client, target):
    resp = fetch(client, "/locale", "POST", data={"lang": "en", "next": target})
    assert resp.status_code == 302
    assert lands_on_this_site(resp.headers["Location"]), resp.headers["Location"]


def test_switcher_without_next_goes_home(client):
    resp = fetch(client, "/locale", "POST", data={"lang": "en"})
    assert resp.status_code == 302
    assert resp.headers["Location"] == "/"


# -- error pages --------------------------------------------------------------------------

ERROR_TEXT = {
    403: {"zh_Hans": "您无权访问此页面。", "zh_Hant": "您沒有權限存取此頁面。",
          "en": "You do not have access to this page."},
    404: {"zh_Hans": "该页面不存在，或您无权查看。", "zh_Hant": "此頁面不存在，或您沒有權限檢視。",
          "en": "This page does not exist, or you cannot see it."},
    500: {"zh_Hans": "系统出现错误，我们已记录该错误。", "zh_Hant": "系統發生錯誤，我們已記錄此錯誤。",
          "en": "Something went wrong on our side. The error has been logged."},
}
BACK_HOME = {"zh_Hans": "返回首页", "zh_Hant": "返回首頁", "en": "Back to the home page"}


def assert_error_page(resp, code, locale):
    html = resp.get_data(as_text=True)
    assert resp.status_code == code
    assert resp.mimetype == "text/html"
    assert f'<html lang="{HTML_LANG[locale]}">' in html
    assert f"<h1>{code}</h1>" in html
    assert ERROR_TEXT[code][locale] in html
    assert BACK_HOME[locale] in html


@pytest.mark.parametrize("locale", LOCALES)
def test_404_page_in_each_language(client, locale):
    assert_error_page(fetch(client, f"/no-such-page?lang={locale}"), 404, locale)


@pytest.mark.parametrize("locale", LOCALES)
def test_403_page_in_each_language(client, make_branch, make_user, locale):
    sign_in(client, make_user("branch_head", branch=make_branch(), locale=locale))
    assert_error_page(fetch(client, "/admin/users"), 403, locale)


@pytest.fixture
def failing_app(tmp_path):
    """A fresh app with routes that fail, to see the 500 page and an unlisted status."""
    app = create_app(app_config(tmp_path))

    @app.get("/boom")
    @public
    def boom():
        raise RuntimeError("boom")

    @app.get("/conflict")
    @public
    def conflict():
        abort(409)

    with app.app_context():
        db.create_all()
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.mark.parametrize("locale", LOCALES)
def test_500_page_in_each_language(failing_app, locale):
    browser = {"zh_Hans": "zh-CN", "zh_Hant": "zh-TW", "en": "en-GB"}[locale]
    resp = fetch(failing_app.test_client(), "/boom", headers={"Accept-Language": browser})
    assert_error_page(resp, 500, locale)
    assert "RuntimeError" not in resp.get_data(as_text=True)


@pytest.mark.parametrize(("locale", "text"), [
    ("zh_Hans", "此处不允许执行该操作。"), ("zh_Hant", "此處不允許執行此操作。"),
    ("en", "This action is not allowed here."),
])
def test_other_errors_use_the_generic_page(client, locale, text):
    resp = fetch(client, f"/locale?lang={locale}")  # GET on a POST-only route
    assert resp.status_code == 405
    assert text in resp.get_data(as_text=True)


@pytest.mark.parametrize(("locale", "text"), [
    ("zh_Hans", "无法完成该请求（错误代码 409）。"), ("zh_Hant", "無法完成此要求（錯誤代碼 409）。"),
    ("en", "The request could not be completed (error 409)."),
])
def test_errors_without_a_message_of_their_own_are_translated(failing_app, locale, text):
    resp = fetch(failing_app.test_client(), f"/conflict?lang={locale}")
    assert resp.status_code == 409
    html = resp.get_data(as_text=True)
    assert text in html
    assert "Conflict" not in html


def test_api_errors_are_json_in_the_chosen_language(client):
    resp = fetch(client, "/api/v1/no-such-thing", headers={"Accept-Language": "zh-TW"})
    assert resp.status_code == 404
    assert resp.get_json()["error"] == ERROR_TEXT[404]["zh_Hant"]


# -- dates and numbers --------------------------------------------------------------------

def render(app, locale, source, **values):
    with app.test_request_context("/"), force_locale(locale):
        return render_template_string(source, **values)


@pytest.mark.parametrize(("locale", "expected"), [
    ("zh_Hans", "1,234,567.89"), ("zh_Hant", "1,234,567.89"), ("en", "1,234,567.89"),
])
def test_number_filter(app, locale, expected):
    assert render(app, locale, "{{ v|number(2) }}", v=1234567.891) == expected
    assert render(app, locale, "{{ v|number }}", v=12345) == "12,345"
    assert render(app, locale, "[{{ v|number }}]", v=None) == "[]"


@pytest.mark.parametrize("locale", LOCALES)
def test_percent_filter(app, locale):
    assert render(app, locale, "{{ v|percent }}", v=0.8766) == "87.7%"
    assert render(app, locale, "{{ v|percent(0) }}", v=0.5) == "50%"
    assert render(app, locale, "[{{ v|percent }}]", v=None) == "[]"


WHEN = datetime(2026, 3, 5, 8, 30, tzinfo=UTC)  # 16:30 in Asia/Shanghai


@pytest.mark.parametrize(("locale", "expected"), [
    ("zh_Hans", "2026年3月5日 16:30:00"),
    ("zh_Hant", "2026年3月5日 下午4:30:00"),
    ("en", "Mar 5, 2026, 4:30:00\u202fPM"),
])
def test_datetime_filter_in_locale_and_time_zone(app, locale, expected):
    assert render(app, locale, "{{ v|datetime }}", v=WHEN) == expected


@pytest.mark.parametrize(("locale", "expected"), [
    ("zh_Hans", "2026年3月5日"), ("zh_Hant", "2026年3月5日"), ("en", "Mar 5, 2026"),
])
def test_date_filter(app, locale, expected):
    assert render(app, locale, "{{ v|date }}", v=date(2026, 3, 5)) == expected
    # 20:00 UTC on the 4th is already the 5th in Shanghai.
    assert render(app, locale, "{{ v|date }}", v=datetime(2026, 3, 4, 20, 0, tzinfo=UTC)) == expected
    assert render(app, locale, "[{{ v|date }}]", v=None) == "[]"


def test_datetime_filter_uses_the_users_time_zone(app, make_user):
    from flask_login import login_user

    user = make_user("admin", locale="en")
    user.timezone = "Europe/London"
    db.session.commit()
    with app.test_request_context("/"):
        login_user(user)
        assert render_template_string("{{ v|datetime('short') }}", v=WHEN) == "3/5/26, 8:30\u202fAM"

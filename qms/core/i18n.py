"""Locale and time-zone selection, and the display filters that use them."""

from __future__ import annotations

from datetime import date, datetime
from functools import cache

from babel import support
from flask import current_app, has_request_context, request, session
from flask_babel import format_date, format_datetime, format_decimal, format_percent, get_locale
from flask_login import current_user

LOCALE_NAMES = {"zh_Hans": "简体中文", "zh_Hant": "繁體中文", "en": "English"}

# Accept-Language tags a browser sends, mapped to our catalogues.
_TAG_TO_LOCALE = {
    "zh-hans": "zh_Hans", "zh-cn": "zh_Hans", "zh-sg": "zh_Hans", "zh": "zh_Hans",
    "zh-hant": "zh_Hant", "zh-tw": "zh_Hant", "zh-hk": "zh_Hant", "zh-mo": "zh_Hant",
    "en": "en",
}


def normalise_locale(value: str | None) -> str | None:
    """One of our catalogue names for a tag like zh-TW, zh-Hant-HK, zh_CN or en-GB, else None."""
    if not value:
        return None
    if value in LOCALE_NAMES:
        return value
    # The longest known prefix decides, so zh-Hant-TW is Traditional and en-GB is English.
    parts = value.strip().replace("_", "-").lower().split("-")
    while parts:
        loc = _TAG_TO_LOCALE.get("-".join(parts))
        if loc:
            return loc
        parts.pop()
    return None


def select_locale() -> str | None:
    """The user's setting, then ?lang= (remembered in the session), then Accept-Language."""
    if not has_request_context():
        return None  # CLI, jobs: the default locale, unless the caller uses force_locale
    if current_user and getattr(current_user, "is_authenticated", False) and current_user.locale:
        loc = normalise_locale(current_user.locale)
        if loc:
            return loc
    asked = normalise_locale(request.args.get("lang"))
    if asked:
        session["lang"] = asked
        return asked
    remembered = normalise_locale(session.get("lang"))
    if remembered:
        return remembered
    for tag, _quality in request.accept_languages:
        loc = normalise_locale(tag)
        if loc:
            return loc
    return current_app.config["BABEL_DEFAULT_LOCALE"]


# WTForms ships its own messages ("This field is required.") as zh and zh_TW; looked up as
# zh_Hant, gettext would fall back to zh and show Simplified Chinese to Traditional readers.
_WTFORMS_CATALOGUE = {"zh_Hans": "zh", "zh_Hant": "zh_TW", "en": "en"}


@cache
def _wtforms_catalogue(locale: str):
    from wtforms.i18n import messages_path

    return support.Translations.load(messages_path(), [_WTFORMS_CATALOGUE.get(locale, locale)],
                                     domain="wtforms")


class _WTFormsTranslations:
    """Flask-WTF's per-request translations of WTForms' messages, resolved on first use."""

    def _catalogue(self):
        locale = get_locale()
        return _wtforms_catalogue(str(locale) if locale else current_app.config["BABEL_DEFAULT_LOCALE"])

    def ugettext(self, string):
        return self._catalogue().ugettext(string)

    def ungettext(self, singular, plural, n):
        return self._catalogue().ungettext(singular, plural, n)


def select_timezone() -> str:
    if current_user and getattr(current_user, "is_authenticated", False) and current_user.timezone:
        return current_user.timezone
    return current_app.config["BABEL_DEFAULT_TIMEZONE"]


def init_app(app) -> None:
    def fmt_datetime(value: datetime | None, fmt: str = "medium") -> str:
        return "" if value is None else format_datetime(value, fmt)

    def fmt_date(value: date | datetime | None, fmt: str = "medium") -> str:
        return "" if value is None else format_date(value, fmt)

    def fmt_number(value, digits: int | None = None) -> str:
        if value is None:
            return ""
        if digits is not None:
            return format_decimal(value, format="#,##0." + "0" * digits if digits else "#,##0")
        return format_decimal(value)

    def fmt_percent(value, digits: int = 1) -> str:
        if value is None:
            return ""
        return format_percent(value, format="#,##0." + "0" * digits + "%" if digits else "#,##0%")

    app.jinja_env.filters.update(
        datetime=fmt_datetime, date=fmt_date, number=fmt_number, percent=fmt_percent
    )

    # flask_wtf.i18n looks for request.wtforms_translations before loading a catalogue itself.
    # The object resolves the locale when used, so one shared by every request (a class
    # attribute of this app's request class) does what a fresh one per request did.
    app.request_class = type("Request", (app.request_class,),
                             {"wtforms_translations": _WTFormsTranslations()})

    @app.context_processor
    def _locales():
        loc = get_locale()
        code = str(loc) if loc else "en"
        html_lang = {"zh_Hans": "zh-Hans", "zh_Hant": "zh-Hant"}.get(code, "en")
        return {"locale_names": LOCALE_NAMES, "current_locale": code, "html_lang": html_lang}

"""Public answering pages: personal links /s/<token> and counter (QR) links /c/<token>.

No login, no CSRF token: the unguessable token in the path is the credential for a personal
link (a cross-site page cannot know it), a counter link is public by design, and a CSRF token
would expire on a page a customer leaves open. Abuse is held off by the rate limit instead.
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, quote

from flask import current_app, make_response, redirect, render_template, request, url_for
from flask_babel import force_locale, get_locale
from sqlalchemy.exc import IntegrityError

from qms.core.i18n import normalise_locale, select_locale
from qms.core.permissions import public
from qms.core.ratelimit import rate_limited
from qms.extensions import csrf
from qms.surveys import responses as svc
from qms.surveys.definition import question_map, questions, text, visible_keys
from qms.surveys.prepared import Conn, connection, single_write, transaction
from qms.surveys.questions import REGISTRY
from qms.surveys.responses import LinkState
from qms.surveys.views import public_bp

STATUS = {LinkState.NOT_FOUND: 404, LinkState.EXPIRED: 410, LinkState.CLOSED: 410,
          LinkState.COMPLETED: 409}


# -- template helpers (also used by the builder's preview of form.html) ------------------------

@public_bp.app_template_filter("survey_text")
def survey_text(labels, locale: str | None = None) -> str:
    return text(labels, locale or _current_locale())


@public_bp.app_template_global("survey_scale")
def survey_scale(q: dict) -> tuple[int, int]:
    return REGISTRY[q["type"]].scale(q) or (1, 5)


@public_bp.app_template_global("survey_visible")
def survey_visible(definition: dict, answers: dict | None = None) -> set[str]:
    return visible_keys(definition, answers or {})


@public_bp.app_template_global("survey_question_keys")
def survey_question_keys(definition: dict) -> set[str]:
    return set(question_map(definition))


def _current_locale() -> str:
    loc = get_locale()
    return str(loc) if loc else current_app.config["BABEL_DEFAULT_LOCALE"]


# -- language and rendering ---------------------------------------------------------------------

def _posted_form() -> dict[str, list[str]]:
    """The posted form as {name: [values]}. The answering form is urlencoded: read from the
    body as werkzeug's form parser reads it (the body limited by MAX_CONTENT_LENGTH, the same
    decoding), without the parser's machinery; any other body goes through request.form."""
    form = request.environ.get("qms.respond.form")
    if form is None:
        if request.mimetype == "application/x-www-form-urlencoded":
            try:
                text = request.get_data(parse_form_data=False).decode()
            except UnicodeDecodeError:
                text = ""  # werkzeug's parser (silent) also makes it an empty form
            form = parse_qs(text, keep_blank_values=True, errors="werkzeug.url_quote")
        else:
            form = request.form.to_dict(flat=False)
        request.environ["qms.respond.form"] = form
    return form


def _field(name: str) -> str | None:
    values = _posted_form().get(name)
    return values[0] if values else None


def _page_locale(default: str | None = None) -> str:
    """The language the form was filled in (a POST carries it), else ?lang= (the switch on the
    page), else the link's language, else the browser's."""
    asked = _field("lang") if request.method == "POST" else None
    return (normalise_locale(asked) or normalise_locale(request.args.get("lang"))
            or normalise_locale(default) or select_locale()
            or current_app.config["BABEL_DEFAULT_LOCALE"])


def _render(template: str, locale: str, status: int = 200, **context):
    with force_locale(locale):
        body = render_template(template, locale=locale, **context)
    resp = make_response(body, status)
    # Answers and links are personal: no shared cache keeps them.
    resp.headers["Cache-Control"] = "no-store"
    return resp


def _state_page(state: LinkState, locale: str, link: svc.Link | None = None):
    title = None
    if link is not None and link.version is not None:
        title = text(link.definition.get("title"), locale)
    return _render("surveys/respond/state.html", locale, STATUS[state], state=str(state),
                   survey_title=title)


def _too_many(retry_after: str):
    return _render("surveys/respond/state.html", _page_locale(), 429, state="rate_limited",
                   survey_title=None, retry_after=retry_after)


def _form_values(definition: dict, form: dict[str, list[str]]) -> dict:
    """What the respondent sent, shaped for the template, so a re-rendered page shows exactly
    what they typed (also when it was wrong)."""
    values: dict = {}
    for _section, q in questions(definition):
        name = f"q_{q['key']}"
        if q["type"] == "matrix":
            rows = {r["key"]: form.get(f"{name}__{r['key']}", [""])[0] for r in q.get("rows", [])}
            values[q["key"]] = {k: v for k, v in rows.items() if v}
        elif q["type"] == "multiple":
            values[q["key"]] = form.get(name, [])
        elif form.get(name):
            values[q["key"]] = form[name][0]
    return values


def _saved_values(definition: dict, answers: dict) -> dict:
    qmap = question_map(definition)
    return {k: REGISTRY[qmap[k]["type"]].form_value(v) for k, v in answers.items() if k in qmap}


def _form_page(link: svc.Link, locale: str, *, answers: dict, visible: set,
               errors: dict | None = None, status: int = 200, **flags):
    # form_action None: the form posts to the page's own address, /s/<token> or /c/<token>
    return _render("surveys/respond/form.html", locale, status, definition=link.definition,
                   version=link.version, answers=answers, errors=errors or {},
                   form_action=None, preview=False, visible=visible,
                   can_save=link.personal, **flags)


BLANK_PAGES_KEPT = 256


def _blank_form_page(link: svc.Link, locale: str):
    """The form of a link nobody has started is the same page for every customer of the
    campaign (it holds nothing of the link: relative addresses only), so it is rendered once
    per survey version, language and kind of link. Only published versions, which never
    change, are kept."""
    if link.version is None or link.version.published_at is None:
        return _form_page(link, locale, answers={}, visible=visible_keys(link.definition, {}))
    cache = current_app.extensions.setdefault("qms.respond.blank_pages", {})
    key = (link.version.id, locale, link.personal)
    body = cache.get(key)
    if body is None:
        page = _form_page(link, locale, answers={}, visible=visible_keys(link.definition, {}))
        if len(cache) >= BLANK_PAGES_KEPT:
            cache.clear()
        body = cache[key] = page.get_data()
    resp = make_response(body)
    resp.headers["Cache-Control"] = "no-store"
    return resp


def _see_other(path: str):
    """303 to an address of this site: the same as redirect(url_for(...), 303) for the fixed
    routes above (`locale` is one of ours, the token is quoted), without the HTML body and the
    URL building, on the path every submission takes."""
    resp = current_app.response_class(status=303)
    resp.headers["Location"] = request.script_root + path
    return resp


def _seen() -> set[str] | None:
    raw = _field("_seen")
    return None if raw is None else {k for k in raw.split(",") if k}


def _follow_up_due() -> timedelta:
    return timedelta(days=current_app.config.get("FOLLOWUP_DUE_DAYS", 2))


def _post(link: svc.Link, locale: str, save: bool, conn: Conn):
    """Save or submit; the redirect on success, or the page that explains what went wrong."""
    form = _posted_form()
    try:
        with transaction(conn):
            if save:
                svc.save_partial(link, form, locale=locale, conn=conn)
            else:
                svc.submit_response(link, form, locale=locale, seen=_seen(),
                                    follow_up_due=_follow_up_due(), conn=conn)
    except svc.InvalidSubmission as exc:
        sub = exc.submission
        visible = visible_keys(link.definition, sub.answers)
        return _form_page(link, locale, answers=_form_values(link.definition, form),
                          visible=visible, errors=sub.errors,
                          status=400 if sub.errors else 200, newly=exc.newly_visible)
    except svc.AlreadyAnswered:
        return _state_page(LinkState.COMPLETED, locale, link)
    except IntegrityError:
        # The unique responses.invitation_id caught a race that the claim did not: logged,
        # because the claim should have, but the customer still gets the polite page.
        current_app.logger.warning("response for an invitation refused by a unique constraint",
                                   exc_info=True)
        return _state_page(LinkState.COMPLETED, locale, link)
    except svc.LinkNotOpen as exc:
        return _state_page(exc.state, locale, link)
    return None


# -- personal links -----------------------------------------------------------------------------

@public_bp.route("/s/<token>", methods=["GET", "POST"])
@csrf.exempt
@public
@rate_limited("PUBLIC", on_limit=_too_many)
def personal(token: str):
    # One pooled connection for the request, outside the ORM session (qms.surveys.prepared):
    # the page is a few fixed statements, and its writes are short transactions of their own.
    with connection() as conn:
        link = svc.resolve_personal_link(token, conn=conn)
        if link.state is not LinkState.OPEN:
            return _state_page(link.state, _page_locale(link.locale), link)
        if request.method == "POST":
            locale = _page_locale(link.locale)
            save = _field("action") == "save"
            failed = _post(link, locale, save, conn)
            if failed is not None:
                return failed
            if save:
                return redirect(url_for(".personal", token=token, lang=locale, saved=1), 303)
            return _see_other(f"/s/{quote(token, safe='')}/thanks?lang={locale}")
        saved, saved_locale = svc.saved_answers(link, conn=conn)
        locale = _page_locale(saved_locale or link.locale)
        if saved or request.args.get("saved"):
            page = _form_page(link, locale, answers=_saved_values(link.definition, saved),
                              visible=visible_keys(link.definition, saved),
                              saved=request.args.get("saved") == "1")
        else:
            page = _blank_form_page(link, locale)
        if svc.first_opening(link):
            # one UPDATE ... WHERE opened_at IS NULL, committed by itself
            with single_write(conn):
                svc.mark_opened(link, conn=conn)
        return page


@public_bp.get("/s/<token>/thanks")
@public
@rate_limited("PUBLIC", on_limit=_too_many)
def personal_thanks(token: str):
    with connection() as conn:
        link = svc.resolve_personal_link(token, conn=conn)
    locale = _page_locale(link.locale)
    if link.state is LinkState.OPEN:
        return redirect(url_for(".personal", token=token, lang=locale))
    if link.state is not LinkState.COMPLETED:
        return _state_page(link.state, locale, link)
    return _render("surveys/respond/thanks.html", locale, definition=link.definition)


# -- counter (QR) links ---------------------------------------------------------------------------

@public_bp.route("/c/<token>", methods=["GET", "POST"])
@csrf.exempt
@public
@rate_limited("PUBLIC", on_limit=_too_many)
def counter(token: str):
    with connection() as conn:
        link = svc.resolve_counter_link(token, conn=conn)
        locale = _page_locale()
        if link.state is not LinkState.OPEN:
            return _state_page(link.state, locale, link)
        if request.method == "POST":
            failed = _post(link, locale, False, conn)
            if failed is not None:
                return failed
            return redirect(url_for(".counter_thanks", token=token, lang=locale), 303)
    return _blank_form_page(link, locale)


@public_bp.get("/c/<token>/thanks")
@public
@rate_limited("PUBLIC", on_limit=_too_many)
def counter_thanks(token: str):
    with connection() as conn:
        link = svc.resolve_counter_link(token, conn=conn)
    locale = _page_locale()
    if link.state is LinkState.NOT_FOUND:
        return _state_page(link.state, locale)
    return _render("surveys/respond/thanks.html", locale, definition=link.definition,
                   again_url=url_for(".counter", token=token, lang=locale)
                   if link.state is LinkState.OPEN else None)

"""Scorecard PDFs: the snapshot's data as A4 HTML (Jinja, autoescaped), printed by WeasyPrint.

The PDF shows exactly what the snapshot holds — the page and the API read the same snapshot —
so a published scorecard never changes when it is printed again. Nothing is fetched from the
network or the file system while printing: the URL fetcher below serves data: URIs and a
whitelist of the app's own static files, read from disk, and refuses everything else.
"""

from __future__ import annotations

import ctypes.util
import functools
import logging
import mimetypes
import re
import subprocess
from datetime import datetime
from pathlib import PurePosixPath
from urllib.parse import unquote, urlsplit

from flask import current_app
from flask_babel import force_locale, format_datetime, format_decimal
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from qms.config import ROOT
from qms.scorecards.charts import CJK_FONT_FAMILY, trend_svg

log = logging.getLogger("qms.scorecards.pdf")

# Relative links in the PDF's HTML resolve against this origin; it is never contacted: the
# fetcher answers its whitelisted paths from disk.
PDF_ORIGIN = "https://qms-pdf.invalid"
STATIC_DIR = ROOT / "qms" / "static"

RAG_LABELS = {"green": _l("Green"), "amber": _l("Amber"), "red": _l("Red"),
              "none": _l("No rating")}
SCOPE_TITLES = {"branch": _l("Branch quality scorecard"),
                "agent": _l("Agent quality scorecard")}
SOURCE_LABELS = {"mystery": _l("Mystery shopping"), "qa": _l("QA evaluation")}
# The printed rule of each normalisation key stored in snapshots (qms.scorecards.normalise).
NORMALISATION = {
    "target-ratio-v1": _l(
        "Each KPI is scored from 0 to 100 against its target. Where higher is better: value ÷ "
        "target × 100, at most 100 (at or above the target scores 100, half the target 50). "
        "Where lower is better: at or below the target scores 100, above it target ÷ value × "
        "100 (twice the target scores 50); with a target of 0, 100 ÷ (1 + value). The overall "
        "score is the weighted mean of the scores of the KPIs with enough data, the weights "
        "re-scaled over those KPIs. KPIs with insufficient data are left out of the overall "
        "score and the rank. Red, amber and green compare each value with its thresholds; "
        "equal overall scores share a rank."),
}
DEFAULT_NORMALISATION = _l(
    "Each KPI is scored from 0 to 100 against its target (for KPIs where lower is better the "
    "scale is mirrored); the overall score is the weighted mean of the scores of the KPIs "
    "with enough data. KPIs with insufficient data are left out of the overall score and "
    "the rank.")


# -- the URL fetcher ----------------------------------------------------------------------

class RefusedURL(ValueError):
    """A resource outside the whitelist: WeasyPrint logs it and leaves the resource out."""


def _fetcher_base():
    from weasyprint.urls import URLFetcher

    return URLFetcher


def static_whitelist() -> frozenset[str]:
    """Names of files in qms/static that a PDF may embed (config SCORECARD_PDF_STATIC)."""
    return frozenset(current_app.config.get("SCORECARD_PDF_STATIC") or ())


def make_url_fetcher(allowed_static: frozenset[str] | None = None):
    """A WeasyPrint URL fetcher: data: URIs, and PDF_ORIGIN/static/<name> for whitelisted
    names read from qms/static. file://, http(s) to any host and every other scheme are
    refused; each refusal is recorded in `.refused`."""
    from weasyprint.urls import URLFetcherResponse

    allowed = static_whitelist() if allowed_static is None else frozenset(allowed_static)

    class ScorecardFetcher(_fetcher_base()):
        def __init__(self):
            super().__init__(allowed_protocols={"data"}, allow_redirects=False,
                             timeout=1)
            self.refused: list[str] = []

        def fetch(self, url, headers=None):
            scheme = url.partition(":")[0].lower()
            if scheme == "data":
                return super().fetch(url, headers)
            name = self._static_name(url)
            if name is not None:
                body = (STATIC_DIR / name).read_bytes()
                mime = mimetypes.guess_type(name)[0] or "application/octet-stream"
                return URLFetcherResponse(url, body, {"Content-Type": mime})
            self.refused.append(url)
            log.warning("scorecard PDF: refused to fetch %s", url[:200])
            raise RefusedURL(f"refused: {url[:200]}")

        @staticmethod
        def _static_name(url: str) -> str | None:
            parts = urlsplit(url)
            if f"{parts.scheme}://{parts.netloc}" != PDF_ORIGIN or parts.query:
                return None
            path = PurePosixPath(unquote(parts.path))
            if len(path.parts) != 3 or path.parts[:2] != ("/", "static"):
                return None  # also refuses /static/../x and nested paths
            name = path.parts[2]
            return name if name in allowed and (STATIC_DIR / name).is_file() else None

    return ScorecardFetcher()


# -- what the template receives -----------------------------------------------------------

def kpi_label(key: str) -> str:
    try:
        from qms.scorecards.kpis import KPIS
    except ImportError:  # pragma: no cover - the registry ships with the package
        return key
    kpi = KPIS.get(key)
    return str(kpi.label) if kpi is not None else key


def format_value(value, unit: str | None) -> str:
    """A KPI value as shown in the PDF: '85.0%', '32.5', '3.0 days'."""
    if value is None:
        return "—"
    number = format_decimal(value, format="#,##0.0")
    if unit == "%":
        return f"{number}%"
    if unit == "days":
        return _("%(n)s days", n=number)
    if unit == "per 1,000":
        return f"{number}‰"
    if unit == "count":
        return format_decimal(value, format="#,##0.#")
    return number


def format_change(change, unit: str | None) -> str:
    if change is None:
        return "—"
    sign = "+" if change > 0 else ("−" if change < 0 else "±")
    text = format_value(abs(change), unit)
    return f"{sign}{text}"


def _improved(change, direction: str) -> str:
    if not change:
        return "flat"
    better = change > 0 if direction != "lower" else change < 0
    return "better" if better else "worse"


def _when(iso: str | None) -> str:
    if not iso:
        return ""
    try:
        return format_datetime(datetime.fromisoformat(iso.replace("Z", "+00:00")), "medium")
    except ValueError:
        return iso


def _kpi_rows(data: dict) -> list[dict]:
    rows = []
    kpis = data.get("kpis", [])
    # snapshots before weight_share: weights as shares of the model's total
    total_weight = sum(k.get("weight") or 0 for k in kpis) or 1
    for k in kpis:
        unit, sufficient = k.get("unit"), bool(k.get("sufficient"))
        label = kpi_label(k["key"])
        trend = k.get("trend") or []
        rows.append({
            "key": k["key"], "label": label, "unit": unit,
            "direction": k.get("direction", "higher"),
            "target": format_value(k.get("target"), unit),
            # the share the KPI carries in the overall score (none without enough data)
            "weight": format_decimal(100 * (k["weight_share"] if "weight_share" in k else
                                            (k.get("weight") or 0) / total_weight),
                                     format="#,##0.#") if sufficient else "—",
            "sufficient": sufficient,
            "value": format_value(k.get("value"), unit) if sufficient else None,
            "previous": format_value(k.get("previous"), unit),
            "change": format_change(k.get("change"), unit) if sufficient else "—",
            "trend_class": _improved(k.get("change"), k.get("direction", "higher"))
            if sufficient else "flat",
            "rag": (k.get("rag") or "none") if sufficient else "none",
            "rag_label": RAG_LABELS.get((k.get("rag") or "none") if sufficient else "none"),
            "normalised": format_decimal(k["normalised"], format="#,##0.0")
            if sufficient and k.get("normalised") is not None else "—",
            "sample": k.get("sample"), "min_sample": k.get("min_sample"),
            "chart": trend_svg(trend, target=k.get("target"), title=label,
                               width=170, height=92, font_family=CJK_FONT_FAMILY,
                               no_data_label=_("insufficient data")),
        })
    return rows


def context(data: dict) -> dict:
    """Plain values for the template (call inside force_locale)."""
    overall = data.get("overall") or {}
    rag = overall.get("rag") or "none"
    return {
        "d": data, "scope": data.get("scope"),
        "title": SCOPE_TITLES.get(data.get("scope"), SCOPE_TITLES["branch"]),
        "entity": data.get("entity") or {}, "model": data.get("model") or {},
        "period": data.get("period"),
        "overall": overall, "rag": rag, "rag_label": RAG_LABELS.get(rag, rag),
        "score": format_decimal(overall["score"], format="#,##0.0")
        if overall.get("score") is not None else None,
        "kpis": _kpi_rows(data),
        "weakest": [dict(w, source_label=SOURCE_LABELS.get(w.get("source"), w.get("source")))
                    for w in data.get("weakest_items") or []],
        "audit": data.get("audit") or {"open_findings": [], "overdue_actions": []},
        "complaints": data.get("complaints") or {},
        "agents": data.get("agents") or [],
        "normalisation": NORMALISATION.get(data.get("normalisation"), DEFAULT_NORMALISATION),
        "cutoff": _when(data.get("cutoff")), "generated": _when(data.get("generated_at")),
        "font_family": CJK_FONT_FAMILY, "rag_labels": RAG_LABELS,
        "page_counter": page_counter_css(),
    }


def css_string(text: str) -> str:
    """A CSS string literal (quoted, escaped; no way out of the <style> element)."""
    out = []
    for ch in text:
        if ch in '"\\<>&' or ord(ch) < 32:
            out.append(f"\\{ord(ch):x} ")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def page_counter_css() -> Markup:
    """'Page {page} of {pages}' in the current language, as a CSS content value."""
    template = _("Page {page} of {pages}")
    parts = []
    for piece in re.split(r"(\{page\}|\{pages\})", template):
        if piece == "{page}":
            parts.append("counter(page)")
        elif piece == "{pages}":
            parts.append("counter(pages)")
        elif piece:
            parts.append(css_string(piece))
    return Markup(" ".join(parts) or '""')


def _data_of(snapshot) -> dict:
    return snapshot if isinstance(snapshot, dict) else snapshot.data


def render_html(snapshot, *, locale: str) -> str:
    """The scorecard as one self-contained HTML document (styles inline, charts inline SVG)."""
    data = _data_of(snapshot)
    with force_locale(locale):
        html_lang = {"zh_Hans": "zh-Hans", "zh_Hant": "zh-Hant"}.get(locale, "en")
        # get_template, not render_template: no request-bound context processors (nav, user)
        template = current_app.jinja_env.get_template("scorecards/pdf/scorecard.html")
        return template.render(html_lang=html_lang, **context(data))


@functools.cache
def system_font_problems() -> tuple[str, ...]:
    """What the machine lacks for fast, correct Chinese PDFs (DESIGN.md, measured): Debian's
    libharfbuzz-subset0 (without it WeasyPrint falls back to fontTools, ~20x slower) and a
    CJK font (without one Chinese prints as empty boxes). Logged once per process."""
    problems = []
    if ctypes.util.find_library("harfbuzz-subset") is None:
        problems.append("libharfbuzz-subset0 is missing: Chinese PDFs take ~20x longer "
                        "(apt-get install libharfbuzz-subset0)")
    try:
        families = subprocess.run(["fc-list", ":lang=zh", "family"], capture_output=True,
                                  text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        families = ""
    if not families.strip():
        problems.append("no CJK font: Chinese prints as empty boxes "
                        "(apt-get install fonts-wqy-microhei)")
    for problem in problems:
        log.warning("scorecard PDFs: %s", problem)
    return tuple(problems)


def html_to_pdf(html: str, fetcher=None) -> bytes:
    from weasyprint import HTML

    system_font_problems()

    return HTML(string=html, base_url=PDF_ORIGIN + "/",
                url_fetcher=fetcher or make_url_fetcher()).write_pdf()


def render_pdf(snapshot, *, locale: str) -> bytes:
    """The scorecard PDF (A4) of a snapshot (model or its data dict), in `locale`."""
    return html_to_pdf(render_html(snapshot, locale=locale))

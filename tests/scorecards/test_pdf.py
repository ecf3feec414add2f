"""Scorecard PDFs read back: who, period, values, languages, the embedded CJK font, escaping,
the URL fetcher's refusals and page numbers; and the SVG trend chart."""

from __future__ import annotations

import io
import subprocess

import pytest
from pypdf import PdfReader

from qms.scorecards.charts import trend_svg
from qms.scorecards.pdf import (
    STATIC_DIR,
    RefusedURL,
    html_to_pdf,
    make_url_fetcher,
    render_html,
    render_pdf,
)
from tests.scorecards.pdf_sample import sample_data

HOSTILE_NAME = "<script>alert(1)</script>支行"
HOSTILE_ITEM = "<img src=file:///etc/passwd>"


def pdf_text(pdf: bytes) -> str:
    out = subprocess.run(["pdftotext", "-enc", "UTF-8", "-", "-"], input=pdf,
                         capture_output=True, check=True)
    return " ".join(out.stdout.decode("utf-8").split())  # table cells wrap lines


def font_names(pdf: bytes) -> dict[str, bool]:
    """BaseFont of every font used -> whether its program is embedded."""
    fonts = {}
    for page in PdfReader(io.BytesIO(pdf)).pages:
        for font in (page["/Resources"].get("/Font") or {}).values():
            font = font.get_object()
            descendants = font.get("/DescendantFonts")
            desc = (descendants[0].get_object() if descendants else font).get("/FontDescriptor")
            desc = desc.get_object() if desc is not None else {}
            embedded = any(k in desc for k in ("/FontFile", "/FontFile2", "/FontFile3"))
            fonts[str(font["/BaseFont"])] = embedded
    return fonts


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """The sample branch scorecard in Simplified Chinese and English (rendered once)."""
    from tests.conftest import app_config, build_app

    app = build_app(app_config(tmp_path_factory.mktemp("pdf")))
    with app.app_context():
        data = sample_data()
        return {loc: render_pdf(data, locale=loc) for loc in ("zh_Hans", "en")}


def test_branch_pdf_names_the_branch_period_and_kpi_values_in_both_languages(rendered):
    for locale, pdf in rendered.items():
        assert pdf.startswith(b"%PDF-")
        text = pdf_text(pdf)
        assert "浦东第一支行" in text and "B001" in text, locale
        assert "2026-03" in text, locale
        # CSAT value, target, previous period and change; days KPI (lower is better)
        for figure in ("88.5%", "85.0%", "87.3%", "+1.2%", "96.5%"):
            assert figure in text, (locale, figure)
        assert "87.4" in text  # overall score
        assert "92.5" in text  # CSAT's 0-100 score that enters the overall score
        assert "主动问候客户" in text and "现金区双人复核" in text and "王经理" in text
        assert "李娜" in text and "91.2" in text  # the branch's agents
    en, zh = pdf_text(rendered["en"]), pdf_text(rendered["zh_Hans"])
    assert "Rank 3 of 12 branches" in en and "Key performance indicators" in en
    assert "Trends over the last 12 periods" in en and "How the score is computed" in en
    assert "CSAT" in en and "Complaints closed within the deadline" in en
    assert "5.5 days" in en
    # dates follow the locale (generation time shown in the bank's time zone)
    assert "Apr 1, 2026" in en and "2026年4月1日" in zh


def test_insufficient_data_is_shown_as_such_never_as_a_number(app):
    data = sample_data()
    nps = next(k for k in data["kpis"] if k["key"] == "nps")
    nps.update(value=47.25, sufficient=False, change=3.0)  # a stray value must not be printed
    html = render_html(data, locale="en")
    row = html.split('data-key="nps"')[1].split("</tr>")[0]
    assert "insufficient data" in row
    assert "47.2" not in row and "47,2" not in row and "+3.0" not in row
    assert "4 <span" in row  # the sample size is still shown, with its minimum


def test_chinese_glyphs_come_from_an_embedded_cjk_font(rendered):
    fonts = font_names(rendered["zh_Hans"])
    cjk = {name: emb for name, emb in fonts.items() if "WenQuanYi" in name or "CJK" in name}
    assert cjk, f"no CJK font in {sorted(fonts)}"
    assert all(cjk.values()), f"CJK font not embedded: {cjk}"
    # the SVG charts name the font themselves (WeasyPrint SVG text does not inherit it)
    assert all(emb for emb in fonts.values())


def test_page_numbers_and_generation_time_in_the_margins(rendered):
    reader = PdfReader(io.BytesIO(rendered["en"]))
    pages = len(reader.pages)
    assert pages >= 2
    text = pdf_text(rendered["en"])
    for n in range(1, pages + 1):
        assert f"Page {n} of {pages}" in text
    assert text.count("Generated Apr 1, 2026") >= pages  # every page's footer


def test_hostile_free_text_is_printed_as_text(app):
    data = sample_data(name=HOSTILE_NAME)
    data["weakest_items"][0]["label"] = HOSTILE_ITEM
    data["audit"]["open_findings"][0]["item"] = '"><style>*{display:none}</style>'
    html = render_html(data, locale="en")
    assert "<script>" not in html and "<img src=file" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<style>*{display:none}" not in html
    fetcher = make_url_fetcher()
    text = pdf_text(html_to_pdf(html, fetcher))
    assert "<script>alert(1)</script>支行" in text
    assert HOSTILE_ITEM in text
    assert fetcher.refused == []  # no element was made from the text, so nothing was fetched


def test_the_url_fetcher_refuses_files_and_foreign_hosts(app):
    app.config["SCORECARD_PDF_STATIC"] = ("qms.css",)
    fetcher = make_url_fetcher()
    for url in ("file:///etc/passwd", "http://example.com/x.png", "https://example.com/x.png",
                "https://qms-pdf.invalid/static/../../../etc/passwd",
                "https://qms-pdf.invalid/static/qa.css",  # a static file, not whitelisted
                "https://qms-pdf.invalid.example.com/static/qms.css",
                "ftp://example.com/x"):
        with pytest.raises(RefusedURL):
            fetcher.fetch(url)
    assert len(fetcher.refused) == 7
    # the whitelist is served from disk, data: URIs as such
    css = fetcher.fetch("https://qms-pdf.invalid/static/qms.css")
    assert css.read() == (STATIC_DIR / "qms.css").read_bytes()
    assert css.content_type == "text/css"
    assert fetcher.fetch("data:text/plain;base64,aGk=").read() == b"hi"

    # and inside a real rendering: both references are refused, the PDF still comes out
    html = ('<html><body><p>ok</p><img src="file:///etc/passwd">'
            '<img src="http://example.com/x.png"><link rel="stylesheet" '
            'href="file:///etc/passwd"></body></html>')
    fetcher = make_url_fetcher()
    pdf = html_to_pdf(html, fetcher)
    assert "ok" in pdf_text(pdf) and "root:" not in pdf_text(pdf)
    assert set(fetcher.refused) == {"file:///etc/passwd", "http://example.com/x.png"}


def test_agent_scorecard_names_the_branch_and_both_ranks(app):
    data = sample_data(scope="agent", name="李娜", code="B001-A01")
    data["overall"].update(rank=7, of=60, rank_in_branch=1, of_in_branch=5)
    text = pdf_text(render_pdf(data, locale="en"))
    assert "李娜" in text and "B001-A01" in text and "浦东第一支行" in text
    assert "Rank 7 of 60 agents in the bank" in text
    assert "Rank 1 of 5 agents in the branch" in text


def test_trend_chart_escapes_labels_names_its_font_and_breaks_on_gaps():
    points = [{"period": f"2025-{m:02d}", "value": None if m == 5 else float(m)}
              for m in range(1, 13)]
    points[-1]["period"] = "<b>x</b>"
    svg = str(trend_svg(points, width=200, height=100, target=8.0, title="满意度 <i>&"))
    assert svg.startswith("<svg") and 'font-family="' in svg
    assert "WenQuanYi Micro Hei" in svg.split(">", 1)[0]
    assert "<i>" not in svg and "&lt;i&gt;&amp;" in svg and "<b>" not in svg
    assert svg.count("<polyline") == 2  # the missing month splits the line
    assert 'class="target"' in svg
    empty = str(trend_svg([{"period": "2025-01", "value": None}], no_data_label="无数据"))
    assert "<polyline" not in empty and "无数据" in empty


def test_css_strings_cannot_leave_their_quotes_or_the_style_element(app):
    from qms.scorecards.pdf import css_string, page_counter_css

    assert css_string('a"b</style>\\') == '"a\\22 b\\3c /style\\3e \\5c "'
    with app.test_request_context():
        from flask_babel import force_locale

        with force_locale("en"):
            assert str(page_counter_css()) == '"Page " counter(page) " of " counter(pages)'


def test_this_machine_has_harfbuzz_subsetting_and_a_cjk_font():
    """Without them Chinese PDFs take ~20x longer or print empty boxes (DESIGN.md)."""
    from qms.scorecards.pdf import system_font_problems

    assert system_font_problems() == ()

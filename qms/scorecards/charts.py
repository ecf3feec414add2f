"""Server-side SVG trend charts for scorecards (pages and PDFs): no JavaScript, no fonts fetched.

WeasyPrint does not let inline SVG text inherit the page's font, so every <svg> names its own
font family: the CJK font first, or Chinese labels fall back to whatever CJK font fontconfig
finds first (often with Japanese glyph forms).
"""

from __future__ import annotations

import math

from markupsafe import Markup, escape

# Debian's fonts-wqy-microhei (see DESIGN.md: smaller and faster than Noto CJK in PDFs).
CJK_FONT_FAMILY = "'WenQuanYi Micro Hei', 'Noto Sans CJK SC', 'DejaVu Sans', sans-serif"

LINE = "#1f5fa8"
TARGET = "#b26b00"
GRID = "#d0d4da"
TEXT = "#333"


def _number(value: float) -> str:
    """A short axis label: 87.5 -> '87.5', 120.0 -> '120', 0.25 -> '0.25'."""
    if value == 0:
        return "0"
    digits = 0 if abs(value) >= 100 else (1 if abs(value) >= 1 else 2)
    text = f"{value:.{digits}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _bounds(values: list[float], target: float | None) -> tuple[float, float]:
    pool = values + ([target] if target is not None else [])
    if not pool:
        return 0.0, 1.0
    low, high = min(pool), max(pool)
    pad = (abs(low) * 0.1 or 1.0) if math.isclose(low, high) else (high - low) * 0.08
    # a scale of counts, rates or scores does not dip below zero just for the padding
    return (max(low - pad, 0.0) if low >= 0 else low - pad), high + pad


def _fit(text: str, width: float, size: float) -> str:
    """Shorten a label to about `width` user units (CJK glyphs ~1 em, others ~0.55 em)."""
    used, out = 0.0, []
    for ch in text:
        used += size * (1.0 if ord(ch) >= 0x2E80 else 0.55)
        if used > width:
            return "".join(out).rstrip() + "…"
        out.append(ch)
    return text


def _period_label(period: str) -> str:
    """'2026-03' -> '26-03': twelve labels fit under an A4 third."""
    return period[2:] if len(period) == 7 and period[4] == "-" else period


def trend_svg(points: list[dict], *, width: int = 240, height: int = 110,
              target: float | None = None, title: str | None = None,
              font_family: str = CJK_FONT_FAMILY, no_data_label: str = "-") -> Markup:
    """A line chart of [{"period": "YYYY-MM", "value": float | None}, ...], oldest first.

    Missing values break the line (a month without enough data is not drawn as a number).
    Every text is escaped; the result is safe to place in a template as is.
    """
    left, right, top, bottom = 30, 6, 16 if title else 6, 18
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [float(p["value"]) for p in points if p.get("value") is not None]
    low, high = _bounds(values, target)

    def x(i: int) -> float:
        return left + (plot_w * i / (len(points) - 1) if len(points) > 1 else plot_w / 2)

    def y(v: float) -> float:
        return top + plot_h * (1 - (v - low) / (high - low))

    font = escape(font_family)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="trend" width="{width}" '
           f'height="{height}" viewBox="0 0 {width} {height}" font-family="{font}" '
           f'font-size="7" role="img">']
    if title:
        out.append(f'<title>{escape(title)}</title>')
        out.append(f'<text x="{left}" y="10" font-size="8" fill="{TEXT}">'
                   f'{escape(_fit(title, width - left, 8))}</text>')
    # Few labels on purpose: each SVG text is laid out on its own by WeasyPrint (~10 ms each),
    # so gridlines carry the scale and only its ends are numbered.
    for v in (low, (low + high) / 2, high):
        out.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y(v):.1f}" y2="{y(v):.1f}" '
                   f'stroke="{GRID}" stroke-width="0.5"/>')
    for v in (low, high):
        out.append(f'<text x="{left - 3}" y="{y(v) + 2.5:.1f}" text-anchor="end" '
                   f'fill="{TEXT}">{escape(_number(v))}</text>')
    if target is not None:
        out.append(f'<line class="target" x1="{left}" x2="{left + plot_w}" y1="{y(target):.1f}" '
                   f'y2="{y(target):.1f}" stroke="{TARGET}" stroke-width="0.8" '
                   f'stroke-dasharray="3,2"/>')
    segment: list[str] = []
    segments: list[list[str]] = []
    for i, p in enumerate(points):
        if p.get("value") is None:
            if segment:
                segments.append(segment)
            segment = []
            continue
        segment.append(f"{x(i):.1f},{y(float(p['value'])):.1f}")
    if segment:
        segments.append(segment)
    for seg in segments:
        if len(seg) > 1:
            out.append(f'<polyline fill="none" stroke="{LINE}" stroke-width="1.2" '
                       f'points="{" ".join(seg)}"/>')
        for xy in seg:
            cx, cy = xy.split(",")
            out.append(f'<circle cx="{cx}" cy="{cy}" r="1.6" fill="{LINE}"/>')
    if not values:
        out.append(f'<text x="{left + plot_w / 2:.1f}" y="{top + plot_h / 2:.1f}" '
                   f'text-anchor="middle" fill="{TEXT}">{escape(no_data_label)}</text>')
    last = len(points) - 1
    labelled = {0: "start", last // 2: "middle", last: "end"}  # first, middle, latest
    for i, p in enumerate(points):
        if i in labelled:
            anchor = labelled[i] if last else "middle"
            out.append(f'<text x="{x(i):.1f}" y="{height - 6}" text-anchor="{anchor}" '
                       f'fill="{TEXT}">{escape(_period_label(str(p.get("period", ""))))}</text>')
    out.append("</svg>")
    return Markup("".join(out))

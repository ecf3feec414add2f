"""Snapshot data as the pages show it: labels from the KPI registry (snapshots store keys),
numbers formatted for the reader's locale, trend charts as inline SVG. No queries."""

from __future__ import annotations

from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from qms.scorecards.kpis import KPIS, SOURCE_LABELS, UNITS

RAG_LABELS = {"green": _l("Green"), "amber": _l("Amber"), "red": _l("Red"),
              "none": _l("Insufficient data")}
DIRECTION_LABELS = {"higher": _l("Higher is better"), "lower": _l("Lower is better")}
ITEM_SOURCES = {"mystery": _l("Mystery shopping"), "qa": _l("QA evaluation")}
SEVERITY_LABELS = {"minor": _l("Minor"), "major": _l("Major"), "critical": _l("Critical")}
DIGITS = {"%": 1, "points": 1, "days": 1, "count": 0, "per 1,000": 2}


def number(value, unit: str) -> str:
    if value is None:
        return "—"
    digits = DIGITS.get(unit, 1)
    text = format_decimal(value, format="#,##0." + "0" * digits if digits else "#,##0")
    return f"{text}%" if unit == "%" else text


def change(value, unit: str) -> str:
    if value is None:
        return "—"
    sign = "+" if value > 0 else ""
    return sign + number(value, unit)


def kpi_label(key: str) -> str:
    kpi = KPIS.get(key)
    return str(kpi.label) if kpi else key


def item_label(labels: dict | None, fallback: str, locale: str) -> str:
    if labels:
        return labels.get(locale) or labels.get("zh_Hans") or labels.get("en") or fallback
    return fallback


def _chart(row: dict):
    try:
        from qms.scorecards.charts import trend_svg
    except ImportError:  # charts are optional: the trend table says the same
        return None
    return trend_svg(row["trend"], target=row["target"], title=kpi_label(row["key"]),
                     no_data_label=_("Insufficient data"))


def kpi_rows(data: dict) -> list[dict]:
    rows = []
    for r in data.get("kpis", []):
        kpi = KPIS.get(r["key"])
        unit = r["unit"]
        rows.append({
            **r, "label": kpi_label(r["key"]),
            "description": str(kpi.description) if kpi else "",
            "source_label": str(SOURCE_LABELS.get(r.get("source"), "")),
            "unit_label": str(UNITS.get(unit, unit)),
            "direction_label": str(DIRECTION_LABELS.get(r["direction"], "")),
            "value_text": number(r["value"], unit) if r["sufficient"]
            else _("Insufficient data"),
            "target_text": number(r["target"], unit),
            "thresholds_text": _("green %(green)s, amber %(amber)s",
                                 green=number(r["green"], unit), amber=number(r["amber"], unit)),
            "previous_text": number(r["previous"], unit),
            "change_text": change(r["change"], unit),
            "normalised_text": number(r["normalised"], "points"),
            "rag_label": str(RAG_LABELS.get(r["rag"], r["rag"])),
            "trend_text": [(p["period"], number(p["value"], unit)) for p in r["trend"]],
            "chart": _chart(r),
        })
    return rows


def page(snapshot, locale: str) -> dict:
    """Everything a scorecard page renders from one snapshot."""
    data = snapshot.data
    weakest = [{**w, "label": item_label(w.get("labels"), w.get("label") or w["key"], locale),
                "source_label": str(ITEM_SOURCES.get(w["source"], w["source"]))}
               for w in data.get("weakest_items", [])]
    audit = data.get("audit") or {}
    findings = [{**f, "item": item_label(f.get("labels"), f.get("item") or "", locale),
                 "severity_label": str(SEVERITY_LABELS.get(f["severity"], f["severity"]))}
                for f in audit.get("open_findings", [])]
    overall = data["overall"]
    return {
        "snapshot": snapshot, "data": data, "kpis": kpi_rows(data), "weakest": weakest,
        "findings": findings, "overdue": audit.get("overdue_actions", []),
        "complaints": data.get("complaints") or {}, "agents": data.get("agents", []),
        "overall": overall, "overall_text": number(overall["score"], "points"),
        "overall_rag_label": str(RAG_LABELS.get(overall["rag"], overall["rag"])),
    }


def league_rows(snaps: list, region: str | None = None) -> list[dict]:
    rows = []
    for s in snaps:
        d = s.data
        if region and d["entity"].get("region") != region:
            continue
        o = d["overall"]
        rows.append({"code": s.entity_code, "name": d["entity"]["name"],
                     "branch_code": d["entity"]["branch_code"],
                     "region": d["entity"]["region"], "score": o["score"],
                     "score_text": number(o["score"], "points"), "rag": o["rag"],
                     "rag_label": str(RAG_LABELS.get(o["rag"], o["rag"])), "rank": o["rank"],
                     "of": o["of"], "stale": s.stale,
                     "kpis": {k["key"]: (number(k["value"], k["unit"]) if k["sufficient"]
                                         else "—", k["rag"]) for k in d["kpis"]}})
    rows.sort(key=lambda r: (r["rank"] is None, r["rank"] or 0, r["code"]))
    return rows

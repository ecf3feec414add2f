"""The stored shape of a rubric version, shared by the builder, the evaluation form, sampling,
calibration and reports.

RubricVersion.definition = {
    "allow_above_100": false,
    "sections": [{
        "key": "greeting", "title": {"zh_Hans": ..., "zh_Hant": ..., "en": ...},
        "weight": 20,                      # percent; non-bonus weights sum to 100
        "bonus": false,
        "criteria": [{
            "key": "greet_name", "label": {locale: text},
            "kind": "scale" | "yesno",     # yesno: max_points for yes, 0 for no
            "max_points": 5,
            "na_allowed": true,
            "critical": null | "section" | "all",
            "guidance": {"0": {locale: text}, "5": {locale: text}}   # per score, optional
        }]
    }]
}

Evaluation.answers = {criterion_key: {"score": number | "na", "comment": "..."}}.
`to_scoring()` turns a definition into the pure qms.analytics.scoring rubric.
"""

from __future__ import annotations

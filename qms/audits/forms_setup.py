"""Forms for setting audits up: checklist templates (the builder), programmes, and the
calendar/list filters. Input shape only: the checklist's rules live in checklists.py and the
programme's in programmes.py.

The builder is one server-rendered form holding the whole draft: fields are named
`s<i>_<prop>` for section i and `s<i>_i<j>_<prop>` for its item j; `definition_from_form` reads
them back into a definition (what it cannot read as a number stays as typed, so the
checklist's own check names the problem).
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from qms.audits import checklists
from qms.audits.models import RECURRENCES, SCOPES

MAX_SECTIONS = 50
MAX_ITEMS = 100


def recurrence_labels() -> dict:
    return {"monthly": _l("Monthly"), "quarterly": _l("Quarterly"), "yearly": _l("Yearly"),
            "cron": _l("Cron expression")}


def scope_labels() -> dict:
    return {"all": _l("All branches"), "region": _l("A region"), "list": _l("Chosen branches")}


def severity_labels() -> dict:
    return {"minor": _l("Minor"), "major": _l("Major"), "critical": _l("Critical")}


def kind_labels() -> dict:
    return {"passfail": _l("Pass / fail"), "score": _l("Score")}


def critical_labels() -> dict:
    return {"": _l("No"), "section": _l("Fails its section"), "all": _l("Fails the audit")}


def weighting_labels() -> dict:
    return {"sections": _l("By section weights (adding up to 100%)"),
            "points": _l("By points (earned over possible)")}


# -- checklist templates -------------------------------------------------------------------

class NewTemplateForm(FlaskForm):
    name = StringField(_l("Checklist name"), validators=[Optional(), Length(max=200)])
    source = TextAreaField(_l("Or paste an exported checklist (JSON)"),
                           validators=[Optional()])
    upload = FileField(_l("Or upload an exported checklist (JSON file)"))


class BuilderForm(FlaskForm):
    """CSRF and the revision the page was shown with; the definition is read by hand."""
    base = HiddenField()
    name = StringField(_l("Checklist name"), validators=[DataRequired(), Length(max=200)])


class PublishForm(FlaskForm):
    base = HiddenField()


def _number(raw: str | None):
    raw = (raw or "").strip().replace(",", ".")
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        return raw
    return int(value) if value.is_integer() else value


def _labels(formdata, prefix: str) -> dict:
    return {loc: (formdata.get(f"{prefix}_{loc}") or "").strip() for loc in checklists.LOCALES}


def _count(formdata, name: str, limit: int) -> int:
    try:
        return max(0, min(int(formdata.get(name) or 0), limit))
    except ValueError:
        return 0


def _item_from_form(formdata, p: str) -> dict:
    guidance = _labels(formdata, f"{p}_guidance")
    kind = formdata.get(f"{p}_kind") or checklists.PASSFAIL
    item = {
        "key": (formdata.get(f"{p}_key") or "").strip(),
        "label": _labels(formdata, f"{p}_label"),
        "kind": kind,
        "max_points": _number(formdata.get(f"{p}_max_points")),
        "na_allowed": bool(formdata.get(f"{p}_na_allowed")),
        "severity": formdata.get(f"{p}_severity") or "minor",
        "evidence_required": bool(formdata.get(f"{p}_evidence_required")),
        "critical": formdata.get(f"{p}_critical") or None,
        "pass_threshold": (_number(formdata.get(f"{p}_pass_threshold"))
                           if kind == checklists.SCORE else None),
    }
    if any(guidance.values()):
        item["guidance"] = guidance
    return item


def definition_from_form(formdata, keys: set[str] | None = None) -> tuple[dict, str | None]:
    """(definition, the anchor to return to) from the builder's fields, with its operation
    applied: "add_section", "add_item:<i>", or a save; rows ticked for deletion are left out.
    Blank keys get a free one."""
    op = formdata.get("op") or "save"
    d = {"weighting": formdata.get("weighting") or "sections", "sections": []}
    for i in range(_count(formdata, "sections_count", MAX_SECTIONS)):
        p = f"s{i}"
        if formdata.get(f"{p}_delete"):
            continue
        section = {"key": (formdata.get(f"{p}_key") or "").strip(),
                   "label": _labels(formdata, f"{p}_label"),
                   "weight": _number(formdata.get(f"{p}_weight")), "items": []}
        for j in range(_count(formdata, f"{p}_items_count", MAX_ITEMS)):
            if not formdata.get(f"{p}_i{j}_delete"):
                section["items"].append(_item_from_form(formdata, f"{p}_i{j}"))
        if op == f"add_item:{i}":
            section["items"].append(blank_item())
        d["sections"].append(section)
    if op == "add_section":
        d["sections"].append(blank_section())
    _fill_keys(d)
    anchor = None
    if op == "add_section":
        anchor = f"s-{d['sections'][-1]['key']}"
    elif op.startswith("add_item:"):
        anchor = "builder"
    return d, anchor


def blank_section() -> dict:
    return {"key": "", "label": {loc: "" for loc in checklists.LOCALES}, "weight": None,
            "items": []}


def blank_item() -> dict:
    return {"key": "", "label": {loc: "" for loc in checklists.LOCALES},
            "kind": checklists.PASSFAIL, "max_points": 1, "na_allowed": False,
            "severity": "minor", "evidence_required": False, "critical": None,
            "pass_threshold": None}


def _fill_keys(d: dict) -> None:
    taken = {s["key"] for s in d["sections"]} | {i["key"] for s in d["sections"]
                                                  for i in s["items"]}

    def free(prefix: str) -> str:
        n = 1
        while f"{prefix}{n}" in taken:
            n += 1
        taken.add(f"{prefix}{n}")
        return f"{prefix}{n}"

    for s in d["sections"]:
        if not s["key"]:
            s["key"] = free("section")
        for i in s["items"]:
            if not i["key"]:
                i["key"] = free("item")


# -- programmes ----------------------------------------------------------------------------

class ProgrammeForm(FlaskForm):
    name = StringField(_l("Programme name"), validators=[DataRequired(), Length(max=200)])
    template_id = SelectField(_l("Checklist"), coerce=int, validate_choice=False)
    recurrence = SelectField(_l("Schedule"), choices=[])
    cron = StringField(_l("Cron expression"), validators=[Optional(), Length(max=100)])
    scope = RadioField(_l("Branches in scope"), choices=[], default="all")
    region = SelectField(_l("Region"), choices=[], validate_choice=False)
    branch_ids = SelectMultipleField(_l("Branches"), coerce=int, validate_choice=False)
    pool = RadioField(_l("Auditors"), default="all", choices=[
        ("all", _l("Every auditor, in turn")), ("list", _l("These auditors, in turn"))])
    auditor_ids = SelectMultipleField(_l("Auditor pool"), coerce=int, validate_choice=False)
    days_allowed = IntegerField(_l("Days allowed to complete"), default=14,
                                validators=[DataRequired(), NumberRange(min=1, max=366)])
    starts_on = DateField(_l("Starts on"), validators=[DataRequired()])
    active = BooleanField(_l("Active: the scheduler creates its audits"), default=True)

    def __init__(self, *args, templates=(), regions=(), branches=(), auditors=(), **kwargs):
        super().__init__(*args, **kwargs)
        rec = recurrence_labels()
        self.recurrence.choices = [(r, rec[r]) for r in RECURRENCES]
        sc = scope_labels()
        self.scope.choices = [(s, sc[s]) for s in SCOPES]
        self.template_id.choices = [(t.id, t.name) for t in templates]
        self.region.choices = [("", "—")] + [(r, r) for r in regions]
        self.branch_ids.choices = [(b.id, f"{b.code} {b.name}") for b in branches]
        self.auditor_ids.choices = [(u.id, u.name) for u in auditors]


class ActiveForm(FlaskForm):
    pass

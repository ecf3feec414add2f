"""Survey builder forms: input shape only; the definition's rules live in definition.validate."""

from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    FieldList,
    FloatField,
    Form,
    FormField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from qms.core.i18n import LOCALE_NAMES
from qms.surveys.conditions import check as check_condition
from qms.surveys.questions import KEY_RE, LOCALES, REGISTRY

KEY_HINT = _l("Letters, digits and _, starting with a letter; used in exports and results.")
OP_LABELS = {"equals": _l("is"), "in": _l("is one of"), "at_most": _l("is at most"),
             "at_least": _l("is at least")}


def _key_check(_form, field):
    if field.data and not KEY_RE.fullmatch(field.data):
        raise ValidationError(KEY_HINT)


def _labels_form(widget):
    class Labels(Form):
        pass

    for loc in LOCALES:
        setattr(Labels, loc, widget(LOCALE_NAMES[loc], validators=[Optional(),
                                                                   Length(max=2000)]))
    return Labels


Labels = _labels_form(StringField)
LongLabels = _labels_form(TextAreaField)


def labels_data(field) -> dict:
    return {loc: (field.data.get(loc) or "").strip() for loc in LOCALES}


def has_text(labels: dict | None) -> bool:
    return isinstance(labels, dict) and any(str(v).strip() for v in labels.values())


class BaseForm(FlaskForm):
    """Every builder form carries the revision it was shown with (lost-update check)."""
    base = HiddenField()


class NewSurveyForm(FlaskForm):
    name = StringField(_l("Internal name"), validators=[DataRequired(), Length(max=200)])
    title = FormField(Labels, label=_l("Title shown to customers"))


class SettingsForm(BaseForm):
    name = StringField(_l("Internal name"), validators=[DataRequired(), Length(max=200)])
    title = FormField(Labels, label=_l("Title shown to customers"))
    intro = FormField(LongLabels, label=_l("Introduction"))
    thanks = FormField(LongLabels, label=_l("Thank-you message"))


class SectionForm(BaseForm):
    key = StringField(_l("Key"), validators=[DataRequired(), Length(max=64), _key_check])
    title = FormField(Labels, label=_l("Section title"))


class NewQuestionForm(BaseForm):
    section = SelectField(_l("Section"), choices=[], validate_choice=True)
    qtype = SelectField(_l("Question type"),
                        choices=[(name, t.label) for name, t in REGISTRY.items()])


class _Item(Form):
    key = StringField(_l("Key"), validators=[Optional(), Length(max=64), _key_check])
    label = FormField(Labels)


class _Option(_Item):
    score = FloatField(_l("Score (optional)"), validators=[Optional()])


def _number(v):
    return None if v is None else (int(v) if float(v).is_integer() else v)


class QuestionForm(BaseForm):
    """Every setting any type has; the page shows, and to_question keeps, only the settings
    of the question's type (QuestionType.settings), so a new type needs no change here."""

    key = StringField(_l("Key"), validators=[DataRequired(), Length(max=64), _key_check])
    qtype = SelectField(_l("Question type"),
                        choices=[(name, t.label) for name, t in REGISTRY.items()])
    label = FormField(LongLabels, label=_l("Question text"))
    help = FormField(LongLabels, label=_l("Help text"))
    required = BooleanField(_l("An answer is required"))
    min_label = FormField(Labels, label=_l("Label of the lowest value"))
    max_label = FormField(Labels, label=_l("Label of the highest value"))
    scale_min = IntegerField(_l("Lowest value"), validators=[Optional()])
    scale_max = IntegerField(_l("Highest value"), validators=[Optional()])
    num_min = FloatField(_l("Smallest number allowed"), validators=[Optional()])
    num_max = FloatField(_l("Largest number allowed"), validators=[Optional()])
    min_selected = IntegerField(_l("At least this many choices"), validators=[Optional()])
    max_selected = IntegerField(_l("At most this many choices"), validators=[Optional()])
    max_length = IntegerField(_l("Maximum length (characters)"), validators=[Optional()])
    options = FieldList(FormField(_Option), label=_l("Options"))
    rows = FieldList(FormField(_Item), label=_l("Rows"))

    @classmethod
    def data_from(cls, q: dict) -> dict:
        """Form data for an existing question."""
        qt = REGISTRY.get(q.get("type"))
        number = qt is not None and "number_range" in qt.settings
        return {
            "key": q.get("key"), "qtype": q.get("type"), "required": bool(q.get("required")),
            **{n: q.get(n) if isinstance(q.get(n), dict) else {}
               for n in ("label", "help", "min_label", "max_label")},
            "scale_min": None if number else q.get("min"),
            "scale_max": None if number else q.get("max"),
            "num_min": q.get("min") if number else None,
            "num_max": q.get("max") if number else None,
            **{n: q.get(n) for n in ("min_selected", "max_selected", "max_length")},
            **{n: [i for i in q[n] if isinstance(i, dict)] if isinstance(q.get(n), list) else []
               for n in ("options", "rows")},
        }

    def add_blank_items(self, n: int = 2) -> None:
        for _ in range(n):
            self.options.append_entry()
            self.rows.append_entry()

    def validate_options(self, field):
        _unique_keys(field)

    def validate_rows(self, field):
        _unique_keys(field)

    def to_question(self, qtype: str) -> dict:
        """The question as the definition stores it: only the settings of its type."""
        qt = REGISTRY[qtype]
        q: dict = {"key": self.key.data.strip(), "type": qtype, "label": labels_data(self.label)}
        if has_text(labels_data(self.help)):
            q["help"] = labels_data(self.help)
        if qt.answerable and self.required.data:
            q["required"] = True  # absent means optional, as in hand-written definitions
        settings = set(qt.settings)
        if "ends" in settings:
            for end in ("min_label", "max_label"):
                if has_text(labels_data(self[end])):
                    q[end] = labels_data(self[end])
        pairs = []
        if "range" in settings:
            pairs += [("min", self.scale_min.data), ("max", self.scale_max.data)]
        if "number_range" in settings:
            pairs += [("min", _number(self.num_min.data)), ("max", _number(self.num_max.data))]
        if "selections" in settings:
            pairs += [("min_selected", self.min_selected.data),
                      ("max_selected", self.max_selected.data)]
        if "max_length" in settings:
            pairs.append(("max_length", self.max_length.data))
        q.update({k: v for k, v in pairs if v is not None})
        if "options" in settings:
            q["options"] = []
            for entry in _filled(self.options):
                o = {"key": entry.key.data.strip(), "label": labels_data(entry.form.label)}
                if entry.score.data is not None:
                    o["score"] = _number(entry.score.data)
                q["options"].append(o)
        if "rows" in settings:
            q["rows"] = [{"key": e.key.data.strip(), "label": labels_data(e.form.label)}
                         for e in _filled(self.rows)]
        return q


def _filled(field_list):
    """Entries with a key or some label; an emptied row is how an item is removed."""
    for entry in field_list:
        if (entry.key.data or "").strip() or has_text(labels_data(entry.form.label)):
            yield entry


def _unique_keys(field_list):
    seen = set()
    for entry in _filled(field_list):
        key = (entry.key.data or "").strip()
        if not key:
            raise ValidationError(_l("Every filled row needs a key."))
        if key in seen:
            raise ValidationError(_l("The key %(key)s is used twice.", key=key))
        seen.add(key)


class _Rule(Form):
    q = SelectField(_l("Question"), choices=[], validate_choice=False)
    op = SelectField(_l("Comparison"), choices=list(OP_LABELS.items()), default="equals")
    value = StringField(_l("Value"), validators=[Length(max=500)])


class ConditionForm(BaseForm):
    combine = SelectField(_l("Show when"), choices=[
        ("all", _l("all of these rules hold")), ("any", _l("any of these rules holds"))])
    rules = FieldList(FormField(_Rule), min_entries=1)

    def setup(self, questions: list[dict], locale: str, blanks: bool = False) -> None:
        """Question choices for every rule; with blanks, empty rules to add more (render)."""
        from qms.surveys.definition import text

        choices = [("", "—")] + [(q["key"], f"{q['key']} · {text(q.get('label'), locale)[:60]}")
                                 for q in questions]
        if blanks:
            filled = sum(1 for e in self.rules if e.q.data)
            for _ in range(max(3, filled + 1) - len(self.rules)):
                self.rules.append_entry()
        for entry in self.rules:
            entry.q.choices = choices

    def to_condition(self, questions: list[dict]) -> dict | None:
        """The condition the rules describe; None when no rule is filled. A value that
        does not suit its question is reported on its field."""
        by_key = {q["key"]: q for q in questions}
        leaves, ok = [], True
        for entry in self.rules:
            key = entry.q.data
            if not key:
                continue
            if key not in by_key:
                entry.q.errors.append(_l("Choose an earlier question."))
                ok = False
                continue
            try:
                leaves.append({"q": key, "op": entry.op.data,
                               "value": parse_value(by_key[key], entry.op.data,
                                                    entry.value.data or "")})
            except ValueError as exc:
                entry.value.errors.append(str(exc))
                ok = False
        if not ok:
            raise ValueError("rules")
        if not leaves:
            return None
        return leaves[0] if len(leaves) == 1 else {self.combine.data: leaves}

    @staticmethod
    def data_from(cond) -> dict | None:
        """Form data for a condition of one level; None when it is nested deeper or
        malformed (the JSON editor handles those)."""
        if not cond:
            return {"combine": "all", "rules": []}
        if check_condition(cond, "condition"):
            return None  # malformed: the JSON editor shows it, the form starts empty
        group = "all" if "all" in cond else "any" if "any" in cond else None
        leaves = cond[group] if group else [cond]
        if any("q" not in c for c in leaves):
            return None
        return {"combine": group or "all",
                "rules": [{"q": c["q"], "op": c["op"], "value": format_value(c["value"])}
                          for c in leaves]}


_SPLIT = re.compile(r"\s*[,，、;；]\s*")
YES = {"yes", "y", "true", "是", "1"}
NO = {"no", "n", "false", "否", "0"}


def parse_value(q: dict, op: str, raw: str):
    """A typed condition value from what was typed: numbers for numeric questions, true/false
    for yes/no, option keys for choices; 'is one of' takes a comma-separated list."""
    parts = [p for p in _SPLIT.split(raw.strip()) if p] if op == "in" else [raw.strip()]
    if not parts or not all(parts):
        raise ValueError(_l("Enter a value."))
    qt = REGISTRY[q["type"]]
    values = []
    for p in parts:
        if q["type"] == "yesno":
            if p.lower() not in YES | NO:
                raise ValueError(_l("Enter yes or no."))
            values.append(p.lower() in YES)
        elif qt.numeric or op in ("at_most", "at_least"):
            try:
                n = float(p)
            except ValueError:
                raise ValueError(_l("Enter a number.")) from None
            values.append(_number(n))
        else:
            values.append(p)
    return values if op == "in" else values[0]


def format_value(value) -> str:
    if isinstance(value, list):
        return ", ".join(format_value(v) for v in value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


class ActionForm(BaseForm):
    """Move and delete buttons: the CSRF token and the revision, nothing else."""


class PublishForm(BaseForm):
    pass


class JsonForm(BaseForm):
    definition = TextAreaField(_l("Definition (JSON)"),
                               validators=[InputRequired(), Length(max=2_000_000)])


class ImportForm(FlaskForm):
    file = FileField(_l("Survey file (JSON)"), validators=[FileRequired()])

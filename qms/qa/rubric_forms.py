"""Forms of the rubric builder: input shape only; the rubric's rules live in
qms.qa.rubric_format.check_definition and the builder operations."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    FieldList,
    FloatField,
    Form,
    FormField,
    HiddenField,
    SelectField,
    StringField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from qms.qa.interaction_forms import channel_labels
from qms.qa.models import CHANNELS
from qms.qa.rubric_format import KEY_RE, NA, score_key, scores_of, text, walk
from qms.surveys.forms import Labels, LongLabels, labels_data

__all__ = ["ActionForm", "CopyForm", "CriterionForm", "NewCriterionForm", "NewRubricForm",
           "SectionForm", "SettingsForm", "WeightsForm", "labels_data", "try_form"]

KEY_HINT = _l("Letters, digits and _, starting with a letter; used in exports and reports.")


def _key_check(_form, field):
    if field.data and not KEY_RE.fullmatch(field.data):
        raise ValidationError(KEY_HINT)


def channel_choices() -> list:
    labels = channel_labels()
    return [("", _l("Any channel"))] + [(c, labels[c]) for c in CHANNELS]


class BaseForm(FlaskForm):
    """Every builder form carries the revision it was shown with (lost-update check)."""
    base = HiddenField()


class ActionForm(BaseForm):
    pass


class NewRubricForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    channel = SelectField(_l("Channel"), choices=[])
    template = SelectField(_l("Start from"), choices=[])

    def __init__(self, *args, templates=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.channel.choices = channel_choices()
        self.template.choices = [("", _l("An empty rubric"))] + list(templates)


class CopyForm(FlaskForm):
    name = StringField(_l("Name of the copy"), validators=[DataRequired(), Length(max=200)])


class SettingsForm(BaseForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    channel = SelectField(_l("Channel"), choices=[])
    allow_above_100 = BooleanField(_l("Bonus sections may take the score above 100%"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.channel.choices = channel_choices()


class SectionForm(BaseForm):
    key = StringField(_l("Key"), validators=[DataRequired(), Length(max=64), _key_check])
    title = FormField(Labels, label=_l("Section title"))
    weight = FloatField(_l("Weight (%)"), validators=[Optional(), NumberRange(min=0, max=100)])
    bonus = BooleanField(_l("Bonus section (adds to the score, never lowers it)"))


class _WeightRow(Form):
    key = HiddenField()
    weight = FloatField(validators=[Optional(), NumberRange(min=0, max=100)])


class WeightsForm(BaseForm):
    rows = FieldList(FormField(_WeightRow))

    def weights(self) -> dict:
        return {row.key.data: row.weight.data for row in self.rows}


class NewCriterionForm(BaseForm):
    section = SelectField(_l("Section"), choices=[], validate_choice=True)
    kind = SelectField(_l("Kind"), choices=[])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind.choices = kind_choices()


def kind_choices() -> list:
    return [("scale", _l("Scale (0 to the points)")), ("yesno", _l("Yes / no"))]


def critical_choices() -> list:
    return [("", _l("Not critical")), ("section", _l("Critical: a fail zeroes its section")),
            ("all", _l("Critical: a fail zeroes the whole evaluation"))]


class _GuidanceRow(Form):
    score = HiddenField()
    text = FormField(LongLabels)


class CriterionForm(BaseForm):
    key = StringField(_l("Key"), validators=[DataRequired(), Length(max=64), _key_check])
    label = FormField(LongLabels, label=_l("What is checked"))
    kind = SelectField(_l("Kind"), choices=[])
    max_points = FloatField(_l("Points"), validators=[DataRequired(),
                                                      NumberRange(min=0.5, max=100)])
    na_allowed = BooleanField(_l("May be marked N/A (then it leaves the points possible)"))
    critical = SelectField(_l("Critical item"), choices=[])
    pass_threshold = FloatField(_l("Pass mark of a critical scale item"),
                                validators=[Optional(), NumberRange(min=0.5, max=100)])
    guidance = FieldList(FormField(_GuidanceRow), label=_l("Guidance per score"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind.choices = kind_choices()
        self.critical.choices = critical_choices()

    @staticmethod
    def data_from(c: dict) -> dict:
        guidance = c.get("guidance") if isinstance(c.get("guidance"), dict) else {}
        return {"key": c.get("key"), "label": c.get("label") or {},
                "kind": c.get("kind", "scale"), "max_points": c.get("max_points"),
                "na_allowed": bool(c.get("na_allowed")), "critical": c.get("critical") or "",
                "pass_threshold": c.get("pass_threshold"),
                "guidance": [{"score": score_key(s), "text": guidance.get(score_key(s)) or {}}
                             for s in scores_of(c)]}

    def to_criterion(self) -> dict:
        points = _number(self.max_points.data)
        return {"key": self.key.data.strip(), "label": labels_data(self.label),
                "kind": self.kind.data, "max_points": points,
                "na_allowed": bool(self.na_allowed.data),
                "critical": self.critical.data or None,
                "pass_threshold": _number(self.pass_threshold.data),
                "guidance": {row.score.data: labels_data(row.text) for row in self.guidance}}


def _number(v):
    return None if v is None else (int(v) if float(v).is_integer() else v)


def try_form(definition: dict, locale: str, na_label, yes_label, no_label):
    """The "try it" form, built from the definition: one choice per criterion (a score, N/A
    where allowed, or unanswered) named c-<key>; returns (form class, [(section, [(criterion,
    field name)])])."""

    class TryForm(FlaskForm):
        pass

    layout = []
    for s, c in walk(definition):
        if c is None:
            layout.append((s, []))
            continue
        guidance = c.get("guidance") if isinstance(c.get("guidance"), dict) else {}
        choices = [("", "—")]
        for x in scores_of(c):
            word = (yes_label if x else no_label) if c.get("kind") == "yesno" else ""
            hint = text(guidance.get(score_key(x)), locale)
            choices.append((score_key(x), " · ".join(
                str(p) for p in (f"{word} {score_key(x)}".strip(), hint) if p)))
        if c.get("na_allowed"):
            choices.append((NA, na_label))
        name = f"c-{c.get('key')}"
        setattr(TryForm, name, SelectField(text(c.get("label"), locale) or c.get("key"),
                                           choices=choices, validators=[Optional()]))
        layout[-1][1].append((c, name))
    return TryForm, layout

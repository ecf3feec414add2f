"""Forms of the calibration pages: a new session, and a grader's score sheet built at runtime
from the rubric version's definition (one select per criterion, its scores and N/A)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateTimeLocalField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from qms.qa import rubric_format
from qms.qa.calibration import MAX_INTERACTIONS, NAME_MAX
from qms.qa.evaluations import CHANNEL_LABELS


class CheckboxesField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class SessionForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=NAME_MAX)])
    rubric_id = SelectField(_l("Rubric"), coerce=int)
    references = TextAreaField(
        _l("Interactions"), validators=[Optional(), Length(max=5000)],
        description=_l("Interaction references, one a line (or #id); or leave empty and pick "
                       "at random below."))
    pick = IntegerField(_l("Or pick this many at random from the last 60 days"),
                        validators=[Optional(), NumberRange(min=1, max=MAX_INTERACTIONS)])
    channel = SelectField(_l("Channel of the random pick"), default="",
                          choices=[("", _l("The rubric's channel"))] + list(CHANNEL_LABELS.items()))
    graders = CheckboxesField(_l("Graders"), coerce=int)
    benchmark = SelectField(_l("Benchmark grader"), coerce=int)
    deadline = DateTimeLocalField(_l("Deadline (your time zone)"), validators=[InputRequired()])


def _choice(points) -> str:
    return rubric_format.score_key(points)


def score_form(definition: dict, locale: str, data: dict | None = None, **kw) -> FlaskForm:
    """A form with `c_<key>` (the score) and `n_<key>` (a comment) per criterion and `feedback`.
    `data` pre-fills it from stored answers."""

    class ScoreForm(FlaskForm):
        feedback = TextAreaField(_l("Overall comment"), validators=[Optional(), Length(max=4000)])

    for _section, c in rubric_format.walk(definition):
        if c is None:
            continue
        choices = [(_choice(p), _choice(p)) for p in rubric_format.scores_of(c)]
        if c.get("kind") == "yesno":
            choices = [(choices[0][0], _l("Yes")), (choices[1][0], _l("No"))]
        if c.get("na_allowed"):
            choices.append((rubric_format.NA, _l("N/A")))
        setattr(ScoreForm, f"c_{c['key']}", SelectField(
            rubric_format.text(c.get("label"), locale) or c["key"],
            choices=[("", _l("Choose a score"))] + choices,
            validators=[InputRequired(_l("Score this criterion."))]))
        setattr(ScoreForm, f"n_{c['key']}", TextAreaField(
            _l("Comment"), validators=[Optional(), Length(max=2000)]))
    initial = {}
    for key, value in (data or {}).items():
        if key == "feedback":
            initial["feedback"] = value
            continue
        score = value.get("score") if isinstance(value, dict) else value
        initial[f"c_{key}"] = rubric_format.NA if score == rubric_format.NA else _choice(score)
        initial[f"n_{key}"] = value.get("comment", "") if isinstance(value, dict) else ""
    return ScoreForm(data=initial, **kw)


def answers_from(form, definition: dict) -> dict:
    """The stored answers shape from a validated score form."""
    out = {}
    for _section, c in rubric_format.walk(definition):
        if c is None:
            continue
        raw = form[f"c_{c['key']}"].data
        if raw == rubric_format.NA:
            score = rubric_format.NA
        else:
            try:
                number = float(raw)
            except (TypeError, ValueError):
                number = raw
            score = int(number) if isinstance(number, float) and number.is_integer() else number
        out[c["key"]] = {"score": score, "comment": (form[f"n_{c['key']}"].data or "").strip()}
    return out

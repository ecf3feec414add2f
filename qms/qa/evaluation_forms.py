"""Forms of the evaluation pages: the scoring form built from the rubric version, acknowledge,
dispute, dispute decision, replacement, hand-over and sampling rules."""

from __future__ import annotations

from collections.abc import Mapping

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
    widgets,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from qms.qa import rubric_format as fmt
from qms.qa.evaluations import CHANNEL_LABELS, COMMENT_MAX, FEEDBACK_MAX
from qms.qa.models import CHANNELS


class MultiCheckboxField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


def score_field_name(key: str) -> str:
    return f"score-{key}"


def comment_field_name(key: str) -> str:
    return f"comment-{key}"


def _criteria(definition: Mapping, only=None) -> list[dict]:
    return [c for _s, c in fmt.walk(definition)
            if c is not None and (only is None or c["key"] in only)]


def score_form_class(definition: Mapping, *, only=None, base=FlaskForm):
    """A form class with a score and a comment per criterion (of `only`, if given). Choices
    are not checked here: the service checks every answer against the version."""

    class ScoreForm(base):
        pass

    for c in _criteria(definition, only):
        setattr(ScoreForm, score_field_name(c["key"]),
                RadioField(_l("Score"), choices=[], validate_choice=False,
                           validators=[Optional()]))
        setattr(ScoreForm, comment_field_name(c["key"]),
                TextAreaField(_l("Comment"), validators=[Length(max=COMMENT_MAX)]))
    return ScoreForm


def initial_data(answers: Mapping | None) -> dict:
    """Stored answers as form data."""
    data = {}
    for key, value in (answers or {}).items():
        score = value.get("score") if isinstance(value, Mapping) else value
        data[score_field_name(key)] = None if score is None else fmt.score_key(score)
        data[comment_field_name(key)] = (value.get("comment") or "") \
            if isinstance(value, Mapping) else ""
    return data


def answers_from(form, definition: Mapping, *, only=None) -> dict:
    """The answers a submitted score form holds, in the shape the services take."""
    out = {}
    for c in _criteria(definition, only):
        score = form[score_field_name(c["key"])].data
        comment = form[comment_field_name(c["key"])].data or ""
        if score in (None, "", "None") and not comment.strip():
            continue
        out[c["key"]] = {"score": None if score in (None, "", "None") else score,
                         "comment": comment}
    return out


class EvaluationFormBase(FlaskForm):
    feedback = TextAreaField(_l("Overall feedback"), validators=[Length(max=FEEDBACK_MAX)])
    save = SubmitField(_l("Save draft"))
    submit = SubmitField(_l("Submit and release to the agent"))


def evaluation_form(definition: Mapping, **kwargs):
    return score_form_class(definition, base=EvaluationFormBase)(**kwargs)


class AcknowledgeForm(FlaskForm):
    pass


class DisputeForm(FlaskForm):
    criteria = MultiCheckboxField(_l("Criteria you dispute"), choices=[])
    comment = TextAreaField(_l("Why the score is not right"),
                            validators=[Length(max=4000)])


class DecisionFormBase(FlaskForm):
    outcome = RadioField(_l("Decision"), choices=[
        ("accepted", _l("Accept: re-score the disputed criteria")),
        ("partly_accepted", _l("Partly accept: re-score some of them")),
        ("rejected", _l("Reject: the scores stand")),
    ], validate_choice=False, validators=[Optional()])
    note = TextAreaField(_l("Reasons for the decision"), validators=[Length(max=4000)])


def decision_form(definition: Mapping, criteria, **kwargs):
    return score_form_class(definition, only=set(criteria), base=DecisionFormBase)(**kwargs)


class ReplaceForm(FlaskForm):
    reason = TextAreaField(_l("Why this interaction cannot be evaluated"),
                           validators=[Length(max=1000)])


class ReassignForm(FlaskForm):
    evaluator_id = SelectField(_l("Evaluator"), coerce=int, choices=[])


CHANNEL_CHOICES = [(c, CHANNEL_LABELS.get(c, c)) for c in CHANNELS]


class SamplingRuleForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    rubric_id = SelectField(_l("Rubric"), coerce=int, choices=[])
    period = SelectField(_l("Period"), choices=[("week", _l("Week")), ("month", _l("Month"))])
    per_agent = IntegerField(_l("Interactions per agent and period"), default=4,
                             validators=[DataRequired(), NumberRange(min=1, max=100)])
    channels = MultiCheckboxField(_l("Channels (none: every channel)"),
                                  choices=CHANNEL_CHOICES)
    min_duration = IntegerField(_l("Shortest duration (seconds)"),
                                validators=[Optional(), NumberRange(min=0)])
    max_duration = IntegerField(_l("Longest duration (seconds)"),
                                validators=[Optional(), NumberRange(min=0)])
    branch_ids = MultiCheckboxField(_l("Branches (none: every branch)"), coerce=int, choices=[])
    evaluator_ids = MultiCheckboxField(_l("Evaluators (none: every QA user)"), coerce=int,
                                       choices=[])
    seed = IntegerField(_l("Random seed"),
                        validators=[Optional(), NumberRange(min=0, max=2**31 - 1)])
    active = BooleanField(_l("Active"), default=True)

"""Planning forms: programmes, waves, generation, reassignment, conflicts, list filters."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    FieldList,
    FloatField,
    Form,
    FormField,
    HiddenField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    widgets,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from qms.mystery.models import ASSIGNMENT_STATES, CHANNELS
from qms.surveys.forms import Labels, LongLabels

CHANNEL_LABELS = {"branch_visit": _l("Branch visit"), "phone": _l("Phone call")}


class MultiCheckboxField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class ProgrammeForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    survey_id = SelectField(_l("Mystery-shop survey"), coerce=int, choices=[])


class WaveForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    version_id = SelectField(_l("Survey version"), coerce=int, choices=[])
    starts_on = DateField(_l("First day"), validators=[InputRequired()])
    ends_on = DateField(_l("Last day"), validators=[InputRequired()])
    channel = SelectField(_l("Channel"), choices=[(c, CHANNEL_LABELS[c]) for c in CHANNELS])
    branch_ids = MultiCheckboxField(_l("Branches (none chosen: every active branch)"),
                                    coerce=int, choices=[])
    agent_ids = MultiCheckboxField(_l("Agents or phone lines (optional)"), coerce=int,
                                   choices=[])
    scenarios = MultiCheckboxField(_l("Scenarios"), choices=[])
    shopper_ids = MultiCheckboxField(_l("Shoppers (none chosen: every active shopper)"),
                                     coerce=int, choices=[])
    visits_per_branch = IntegerField(_l("Visits per branch (or agent)"), default=1,
                                     validators=[InputRequired(), NumberRange(1, 20)])
    rotation_days = IntegerField(_l("Rotation: days before a shopper may return to a branch"),
                                 default=90, validators=[InputRequired(), NumberRange(0, 730)])
    daily_cap = IntegerField(_l("Visits per shopper per day at most"), default=3,
                             validators=[InputRequired(), NumberRange(1, 20)])
    days_to_submit = IntegerField(_l("Days to submit the report after the visit window"),
                                  default=2, validators=[InputRequired(), NumberRange(0, 30)])


class GenerateForm(FlaskForm):
    seed = IntegerField(_l("Seed"), default=1, validators=[InputRequired(),
                                                           NumberRange(0, 2**31 - 1)])


class ReassignForm(FlaskForm):
    shopper_id = SelectField(_l("Shopper"), coerce=int, choices=[])
    force = BooleanField(_l("Override the rules this breaks (the warning is kept)"))


class ActionForm(FlaskForm):
    """A bare POST (cancel) with its CSRF token."""


class ConflictForm(FlaskForm):
    shopper_id = SelectField(_l("Shopper"), coerce=int, choices=[])
    branch_id = SelectField(_l("Branch"), coerce=int, choices=[])
    reason = StringField(_l("Reason"), validators=[Optional(), Length(max=200)])


class AssignmentFilterForm(FlaskForm):
    """GET filters of the assignment list (no CSRF: it changes nothing)."""

    class Meta:
        csrf = False

    status = SelectField(_l("Status"), choices=[("", _l("Any status"))]
                         + [(s, s) for s in ASSIGNMENT_STATES], validators=[Optional()])
    branch = SelectField(_l("Branch"), coerce=lambda v: int(v) if v else None, choices=[],
                         validators=[Optional()], validate_choice=False)
    shopper = SelectField(_l("Shopper"), coerce=lambda v: int(v) if v else None, choices=[],
                          validators=[Optional()], validate_choice=False)
    scenario = SelectField(_l("Scenario"), choices=[], validators=[Optional()],
                           validate_choice=False)


# -- the mystery-shop parts of the survey builder --------------------------------------------

class NewMysterySurveyForm(FlaskForm):
    name = StringField(_l("Internal name"), validators=[DataRequired(), Length(max=200)])
    title = FormField(Labels, label=_l("Title shown to shoppers"))


class QuestionScoringForm(FlaskForm):
    base = HiddenField()
    scored = BooleanField(_l("Scored: this question earns points"))
    points = FloatField(_l("Points (the most it can earn)"),
                        validators=[Optional(), NumberRange(0.01, 100)])
    critical = SelectField(_l("Critical item"), choices=[
        ("", _l("No")), ("section", _l("Fails its section")), ("all", _l("Fails the whole report"))])
    pass_threshold = FloatField(_l("Pass mark (critical scale questions; default full marks)"),
                                validators=[Optional(), NumberRange(0.01, 100)])
    na_allowed = BooleanField(_l("The shopper may answer “not applicable”"))
    evidence = SelectField(_l("Evidence required (a file in this upload question)"),
                           choices=[], validate_choice=False)


class SectionScoringForm(FlaskForm):
    base = HiddenField()
    weight = FloatField(_l("Weight in percent (scored sections add up to 100)"),
                        validators=[Optional(), NumberRange(0.01, 100)])
    bonus = BooleanField(_l("Bonus section (adds on top of the 100)"))


class _Scenario(Form):
    key = StringField(_l("Key"), validators=[Optional(), Length(max=64)])
    label = FormField(Labels, label=_l("Name"))
    script = FormField(LongLabels, label=_l("Script for the shopper"))


class ScenariosForm(FlaskForm):
    base = HiddenField()
    scenarios = FieldList(FormField(_Scenario), min_entries=0)
    allow_above_100 = BooleanField(_l("Bonus sections may push a score above 100"))


class NewEvidenceForm(FlaskForm):
    base = HiddenField()
    section = SelectField(_l("Section"), choices=[])
    qtype = SelectField(_l("Evidence"), choices=[])


class EvidenceQuestionForm(FlaskForm):
    base = HiddenField()
    key = StringField(_l("Key"), validators=[DataRequired(), Length(max=64)])
    label = FormField(Labels, label=_l("Question"))
    help = FormField(LongLabels, label=_l("Help text"))
    required = BooleanField(_l("Required"))
    max_files = IntegerField(_l("Files at most"), default=5,
                             validators=[Optional(), NumberRange(1, 10)])

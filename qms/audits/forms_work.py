"""Forms for performing audits and working on corrective actions.

The checklist form is built at runtime from the checklist definition: per item an answer
(pass / fail / N/A radios, or a score with an N/A box), a comment and evidence files. Field
names are "a_<key>", "na_<key>", "c_<key>" and "e_<key>" (item keys are identifiers).
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    DecimalField,
    MultipleFileField,
    RadioField,
    SelectField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from qms.audits import checklists


class PerformForm(FlaskForm):
    save = SubmitField(_l("Save"))


def perform_form(definition: dict, **kwargs) -> PerformForm:
    """The checklist form of one definition (a subclass made for it)."""

    class Form(PerformForm):
        pass

    for _section, item in checklists.walk(definition):
        key = item["key"]
        if item.get("kind", checklists.PASSFAIL) == checklists.PASSFAIL:
            choices = [(checklists.PASS, _l("Pass")), (checklists.FAIL, _l("Fail"))]
            if item.get("na_allowed"):
                choices.append((checklists.NA, _l("N/A")))
            setattr(Form, f"a_{key}", RadioField(_l("Answer"), choices=choices,
                                                 validators=[Optional()]))
        else:
            setattr(Form, f"a_{key}", DecimalField(
                _l("Score (0 to %(max)s)", max=item["max_points"]), places=None,
                validators=[Optional()]))
            if item.get("na_allowed"):
                setattr(Form, f"na_{key}", BooleanField(_l("Not applicable")))
        setattr(Form, f"c_{key}", TextAreaField(_l("Comment"), validators=[Length(max=2000)]))
        setattr(Form, f"e_{key}", MultipleFileField(_l("Evidence (photo or PDF)")))
    return Form(**kwargs)


def initial_data(definition: dict, answers: dict, comments: dict) -> dict:
    data = {}
    for _section, item in checklists.walk(definition):
        key = item["key"]
        value = answers.get(key)
        if item.get("kind", checklists.PASSFAIL) == checklists.PASSFAIL:
            data[f"a_{key}"] = value
        elif value == checklists.NA:
            data[f"na_{key}"] = True
        else:
            data[f"a_{key}"] = value
        data[f"c_{key}"] = comments.get(key, "")
    return data


def _number(value):
    if value is None:
        return None
    f = float(value)
    return int(f) if f.is_integer() else f


def answers_from(form: PerformForm, definition: dict) -> tuple[dict, dict, dict]:
    """(answers, comments, files) of a posted checklist form. Every item is in answers (None
    clears it), so saving the whole list also saves what was un-ticked."""
    answers, comments, files = {}, {}, {}
    for _section, item in checklists.walk(definition):
        key = item["key"]
        field = form[f"a_{key}"]
        if item.get("kind", checklists.PASSFAIL) == checklists.PASSFAIL:
            answers[key] = field.data or None
        elif f"na_{key}" in form and form[f"na_{key}"].data:
            answers[key] = checklists.NA
        else:
            answers[key] = _number(field.data)
        comments[key] = form[f"c_{key}"].data or ""
        storages = [f for f in (form[f"e_{key}"].data or []) if f and getattr(f, "filename", "")]
        if storages:
            files[key] = storages
    return answers, comments, files


class StartForm(FlaskForm):
    start = SubmitField(_l("Start the audit"))


class SubmitAuditForm(FlaskForm):
    submit = SubmitField(_l("Submit the audit"))


class RemoveEvidenceForm(FlaskForm):
    remove = SubmitField(_l("Remove"))


class ActionUpdateForm(FlaskForm):
    correction = TextAreaField(_l("Correction (the immediate fix)"),
                               validators=[Length(max=4000)])
    action = TextAreaField(_l("Corrective action (removing the cause)"),
                           validators=[Length(max=4000)])
    note = TextAreaField(_l("Progress note"), validators=[Length(max=4000)])
    files = MultipleFileField(_l("Evidence of the fix (photo or PDF)"))
    save = SubmitField(_l("Save"))


class ActionDoneForm(FlaskForm):
    note = TextAreaField(_l("What was done"), validators=[Length(max=4000)])
    done = SubmitField(_l("Mark done"))


class VerifyForm(FlaskForm):
    effective = RadioField(_l("Effectiveness"), choices=[
        ("yes", _l("Effective: close the action")),
        ("no", _l("Not effective: reopen it"))], validators=[InputRequired()])
    note = TextAreaField(_l("Note (required when not effective)"),
                         validators=[Length(max=4000)])
    new_due = DateField(_l("New due date (when reopening)"), validators=[Optional()])
    check = SubmitField(_l("Record the check"))


class OwnerForm(FlaskForm):
    owner_id = SelectField(_l("Owner"), coerce=int, validators=[DataRequired()])
    assign = SubmitField(_l("Assign"))


class FollowUpForm(FlaskForm):
    auditor_id = SelectField(_l("Auditor"), coerce=int, validators=[Optional()])
    due = DateField(_l("Due date"), validators=[DataRequired()])
    schedule = SubmitField(_l("Schedule a follow-up audit"))

"""Forms of the shopper portal and of report review (input shape only; the rules are in the
services). The report itself is read against its survey version by the survey engine."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from qms.mystery.portal import DECLINE_REASON_MAX
from qms.mystery.review import COMMENT_MAX


class ActionForm(FlaskForm):
    """A button that changes something: only the CSRF token (accept, save / submit)."""


class DeclineForm(FlaskForm):
    reason = TextAreaField(_l("Why do you decline?"),
                           validators=[DataRequired(), Length(max=DECLINE_REASON_MAX)])


DECISIONS = ("approve", "return", "reject")


def decision_form_class(question_keys: list[str]):
    """The reviewer's decision with an optional comment per question (field c_<key>)."""

    class DecisionForm(FlaskForm):
        decision = HiddenField()
        comment = TextAreaField(_l("Comment to the shopper"),
                                validators=[Optional(), Length(max=COMMENT_MAX)])

    for key in question_keys:
        setattr(DecisionForm, f"c_{key}", TextAreaField(
            _l("Comment on this question"), validators=[Optional(), Length(max=COMMENT_MAX)]))
    return DecisionForm


class CorrectionForm(FlaskForm):
    reason = TextAreaField(_l("Reason for the correction"),
                           validators=[DataRequired(), Length(max=COMMENT_MAX)])


class QueueFilterForm(FlaskForm):
    """The review queue's filters (GET, no CSRF)."""

    class Meta:
        csrf = False

    status = SelectField(_l("Status"), validators=[Optional()])
    wave = SelectField(_l("Wave"), validators=[Optional()])
    branch = SelectField(_l("Branch"), validators=[Optional()])

"""Forms of the workflow actions: one small form per action, prefixed with the action's name so
that the actions panel can show them all on the complaint page."""

from __future__ import annotations

from datetime import UTC
from zoneinfo import ZoneInfo

from flask_babel import get_locale, get_timezone
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    DecimalField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from qms.complaints import codes, workflow
from qms.complaints.intake import PRIORITY_LABELS, SEVERITY_LABELS

TEXT = 20_000
OUTCOME_CHOICES = (("upheld", _l("Upheld")), ("partly_upheld", _l("Partly upheld")),
                   ("rejected", _l("Not upheld")))


def _locale() -> str:
    loc = get_locale()
    return str(loc) if loc else "zh_Hans"


def to_utc(value):
    """A naive local time from a form (the user's zone) -> aware UTC."""
    if value is None:
        return None
    return value.replace(tzinfo=ZoneInfo(str(get_timezone()))).astimezone(UTC)


class ActionForm(FlaskForm):
    """Base: built with the complaint and the acting user (for choices and defaults)."""

    def __init__(self, *args, complaint=None, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.complaint, self.user = complaint, user


class ConfirmForm(ActionForm):
    pass


class ReasonForm(ActionForm):
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(), Length(max=5000)])


class NoteForm(ActionForm):
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=5000)])


class ConflictForm(ActionForm):
    confirm = BooleanField(_l("I have no direct interest in this complaint or its outcome."),
                           validators=[DataRequired()])
    statement = TextAreaField(_l("Remarks"), validators=[Optional(), Length(max=2000)])


class AssignForm(ActionForm):
    assignee = SelectField(_l("Handler"), coerce=int, validators=[InputRequired()])
    reason = TextAreaField(_l("Reason"), validators=[Optional(), Length(max=2000)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        users = workflow.eligible_handlers(self.complaint) if self.complaint is not None else []
        self.assignee.choices = [(u.id, u.name) for u in users]
        if self.complaint is not None and self.assignee.data is None:
            self.assignee.data = self.complaint.assignee_id


class TriageForm(ActionForm):
    # the service checks the codes against the lists (validate_choice=False)
    channel_code = SelectField(_l("Channel"), validators=[DataRequired()], validate_choice=False)
    business_code = SelectField(_l("Business type"), validators=[DataRequired()],
                                validate_choice=False)
    cause_code = SelectField(_l("Cause"), validators=[DataRequired()], validate_choice=False)
    severity = SelectField(_l("Severity"), choices=list(SEVERITY_LABELS.items()))
    priority = SelectField(_l("Priority"), choices=list(PRIORITY_LABELS.items()))
    product = StringField(_l("Product"), validators=[Optional(), Length(max=100)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        c = self.complaint
        for axis, field in (("A", self.channel_code), ("B", self.business_code),
                            ("C", self.cause_code)):
            current = getattr(c, field.short_name) if c is not None else None
            field.choices = [("", "—")] + codes.choices(axis, _locale(), current=current)
            if c is not None and not field.raw_data:
                field.data = current or ""
        if c is not None and not self.severity.raw_data:
            self.severity.data, self.priority.data = c.severity, c.priority
            self.product.data = c.product


class RestartForm(ActionForm):
    new_facts = TextAreaField(_l("The new facts"), validators=[DataRequired(), Length(max=5000)])
    received_at = DateTimeLocalField(_l("New material received at"),
                                     validators=[DataRequired()])


class DecisionForm(ActionForm):
    outcome = SelectField(_l("Outcome"), choices=OUTCOME_CHOICES)
    redress_amount = DecimalField(_l("Redress amount"), places=2,
                                  validators=[Optional(), NumberRange(min=0)])
    findings = TextAreaField(_l("What was verified"),
                             validators=[DataRequired(), Length(max=TEXT)])
    reasons = TextAreaField(_l("Reasons"), validators=[DataRequired(), Length(max=TEXT)])
    basis = TextAreaField(_l("Basis"), validators=[DataRequired(), Length(max=TEXT)])
    remedies = TextAreaField(_l("Remedies"), validators=[Optional(), Length(max=TEXT)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        c = self.complaint
        if c is not None and c.outcome and not self.outcome.raw_data:
            self.outcome.data, self.redress_amount.data = c.outcome, c.redress_amount
            self.findings.data, self.reasons.data = c.decision_findings, c.decision_reasons
            self.basis.data, self.remedies.data = c.decision_basis, c.remedies


class SummaryForm(ActionForm):
    resolution = TextAreaField(_l("How the complaint was resolved"),
                               validators=[DataRequired(), Length(max=TEXT)])


class ReviewRequestForm(ActionForm):
    reason = TextAreaField(_l("What the customer asks to be reviewed"),
                           validators=[DataRequired(), Length(max=5000)])
    applied_at = DateTimeLocalField(_l("Written application received at"),
                                    validators=[Optional()])


class ReviewStartForm(ActionForm):
    reviewer = SelectField(_l("Reviewer"), coerce=int, validators=[InputRequired()])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        c = self.complaint
        excluded = {c.decision_maker_id, c.approved_by_id} if c is not None else set()
        users = workflow.eligible_handlers(c) if c is not None else []
        self.reviewer.choices = [(u.id, u.name) for u in users if u.id not in excluded]
        if self.reviewer.data is None and self.user is not None \
                and self.user.id not in excluded:
            self.reviewer.data = self.user.id


class ReferralForm(ActionForm):
    body = SelectField(_l("Referred to"), choices=list(workflow.REFERRAL_LABELS.items()))
    reference = StringField(_l("Their reference"), validators=[DataRequired(), Length(max=64)])


class RedressStartForm(ActionForm):
    amount = DecimalField(_l("Amount to pay (if different)"), places=2,
                          validators=[Optional(), NumberRange(min=0)])


class _RootCauseMixin:
    def _root_cause_choices(self):
        c = self.complaint
        self.root_cause.choices = [("", "—")] + codes.choices(
            "R", _locale(), current=c.root_cause if c is not None else None)
        if c is not None and not self.root_cause.raw_data:
            self.root_cause.data = c.root_cause or ""
            self.remediation.data = c.remediation


class CloseForm(_RootCauseMixin, ActionForm):
    root_cause = SelectField(_l("Root cause"), validators=[DataRequired()], validate_choice=False)
    remediation = TextAreaField(_l("Remediation action"),
                                validators=[DataRequired(), Length(max=TEXT)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._root_cause_choices()


class RedressPaidForm(CloseForm):
    paid_at = DateTimeLocalField(_l("Paid at"), validators=[Optional()])


class MergeForm(ActionForm):
    into_reference = StringField(_l("Reference of the original complaint"),
                                 validators=[DataRequired(), Length(max=32)])
    no_new_facts = BooleanField(_l("The repeat brings no new facts."),
                                validators=[DataRequired()])
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(), Length(max=5000)])


class ApprovalForm(ActionForm):
    decision = RadioField(_l("Decision"), choices=(("approve", _l("Approve")),
                                                   ("reject", _l("Reject"))),
                          validators=[InputRequired()])
    note = TextAreaField(_l("Note (required to reject)"),
                         validators=[Optional(), Length(max=5000)])

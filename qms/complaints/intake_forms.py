"""Forms of the intake pages (staff and public), the code lists and the custom SLA policies.

They shape the input only; the rules (required fields by channel, codes, receipt time, the
regulator's reference ...) are the intake service's, whose field errors go back onto these
forms by name — so each form field is named like the service's input.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from qms.complaints.intake import LIMITS, SEVERITY_LABELS, SOURCE_LABELS
from qms.core.i18n import LOCALE_NAMES


def _len(name: str):
    return [Optional(), Length(max=LIMITS[name])]


class StaffComplaintForm(FlaskForm):
    customer_ref = StringField(_l("Customer reference"), validators=_len("customer_ref"))
    complainant_name = StringField(_l("Complainant's name"), validators=_len("complainant_name"))
    complainant_email = StringField(_l("E-mail"), validators=_len("complainant_email"))
    complainant_phone = StringField(_l("Phone"), validators=_len("complainant_phone"))
    complainant_locale = SelectField(_l("Language for letters"),
                                     choices=list(LOCALE_NAMES.items()), default="zh_Hans")
    segment = SelectField(_l("Customer segment"),
                          choices=[("standard", _l("Standard")), ("vip", _l("VIP"))],
                          default="standard")
    representative = StringField(_l("Representative (if someone complains for the customer)"),
                                 validators=_len("representative"))
    branch_code = SelectField(_l("Branch"), choices=[], validate_choice=False)
    agent_code = StringField(_l("Agent involved (code)"), validators=[Optional(), Length(max=32)])
    product = StringField(_l("Product"), validators=_len("product"))
    channel_code = SelectField(_l("Channel (A)"), choices=[], validate_choice=False)
    business_code = SelectField(_l("Business type (B)"), choices=[], validate_choice=False)
    cause_code = SelectField(_l("Cause (C)"), choices=[], validate_choice=False)
    severity = SelectField(_l("Severity"), choices=list(SEVERITY_LABELS.items()),
                           default="medium")
    description = TextAreaField(_l("What happened"), validators=_len("description"))
    requested_outcome = TextAreaField(_l("What the customer asks for"),
                                      validators=_len("requested_outcome"))
    received_at = DateTimeLocalField(_l("Received at (branch time)"), validators=[Optional()],
                                     format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"])
    source = SelectField(_l("Source"), choices=list(SOURCE_LABELS.items()), default="direct")
    regulator_ref = StringField(_l("Regulator's reference"), validators=_len("regulator_ref"))
    attachments = MultipleFileField(_l("Attachments (JPEG, PNG or PDF)"))
    confirm_duplicate = BooleanField(_l("This is a new complaint, not the open one above"))


class PublicComplaintForm(FlaskForm):
    complainant_name = StringField(_l("Your name"), validators=_len("complainant_name"))
    complainant_email = StringField(_l("E-mail"), validators=_len("complainant_email"))
    complainant_phone = StringField(_l("Phone"), validators=_len("complainant_phone"))
    representative = StringField(_l("If you complain for someone else: their name"),
                                 validators=_len("representative"))
    branch_code = SelectField(_l("Branch"), choices=[], validate_choice=False)
    product = StringField(_l("Product or service"), validators=_len("product"))
    channel_code = SelectField(_l("Where did it happen?"), choices=[], validate_choice=False)
    business_code = SelectField(_l("What is it about?"), choices=[], validate_choice=False)
    description = TextAreaField(_l("What happened"), validators=_len("description"))
    requested_outcome = TextAreaField(_l("What would you like us to do?"),
                                      validators=_len("requested_outcome"))
    attachments = MultipleFileField(_l("Documents or photos (JPEG, PNG or PDF)"))


class CodeForm(FlaskForm):
    axis = SelectField(_l("List"), choices=[])
    code = StringField(_l("Code"), validators=[InputRequired(), Length(max=16)])
    label_zh_Hans = StringField(_l("Label (Simplified Chinese)"), validators=[Length(max=200)])
    label_zh_Hant = StringField(_l("Label (Traditional Chinese)"), validators=[Length(max=200)])
    label_en = StringField(_l("Label (English)"), validators=[Length(max=200)])
    sort = IntegerField(_l("Order"), validators=[Optional(), NumberRange(min=0, max=100_000)])
    active = BooleanField(_l("In use (offered for new complaints)"), default=True)


class PolicyForm(FlaskForm):
    code = StringField(_l("Code"), validators=[InputRequired(), Length(max=32)])
    name = StringField(_l("Name"), validators=[InputRequired(), Length(max=200)])
    definition = TextAreaField(_l("Definition (JSON)"), validators=[InputRequired()])
    active = BooleanField(_l("Active"), default=True)

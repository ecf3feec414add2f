"""Forms for branches, agents, customers and CSV imports."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, EmailField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from qms.core.i18n import LOCALE_NAMES


class BranchForm(FlaskForm):
    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=32)])
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    region = StringField(_l("Region"), validators=[DataRequired(), Length(max=100)])
    city = StringField(_l("City"), validators=[DataRequired(), Length(max=100)])
    timezone = StringField(_l("Time zone"), default="Asia/Shanghai",
                           validators=[DataRequired(), Length(max=64)])
    active = BooleanField(_l("Active"), default=True)


class AgentForm(FlaskForm):
    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=32)])
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    branch_code = StringField(_l("Branch code"), validators=[DataRequired(), Length(max=32)])
    team = StringField(_l("Team"), validators=[Optional(), Length(max=100)])
    active = BooleanField(_l("Active"), default=True)


class CustomerForm(FlaskForm):
    ref = StringField(_l("Customer reference"), validators=[DataRequired(), Length(max=64)])
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    email = EmailField(_l("E-mail"), validators=[Optional(), Length(max=254)])
    phone = StringField(_l("Phone"), validators=[Optional(), Length(max=32)])
    segment = SelectField(_l("Segment"), choices=[("standard", _l("Standard")), ("vip", _l("VIP"))])
    locale = SelectField(_l("Language"), choices=list(LOCALE_NAMES.items()))
    home_branch_code = StringField(_l("Home branch code"), validators=[Optional(), Length(max=32)])


class ImportForm(FlaskForm):
    file = FileField(_l("CSV file"), validators=[FileRequired()])
    encoding = SelectField(_l("Text encoding"), choices=[
        ("utf-8-sig", _l("UTF-8 (with or without BOM)")),
        ("gb18030", _l("GB18030 / GBK (Excel in Simplified Chinese)")),
        ("big5", _l("Big5 (Excel in Traditional Chinese)")),
    ])

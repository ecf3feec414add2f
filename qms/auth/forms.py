"""Sign-in, profile and user-administration forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, Optional

from qms.config import ROLES
from qms.core.i18n import LOCALE_NAMES


def role_label(role: str):
    return {
        "admin": _l("Administrator"),
        "qa": _l("QA staff"),
        "auditor": _l("Auditor"),
        "complaints": _l("Complaint officer"),
        "branch_head": _l("Branch head"),
        "agent": _l("Agent"),
        "shopper": _l("Mystery shopper"),
    }[role]


def _locale_choices(blank: bool = True):
    choices = [("", _l("Browser default"))] if blank else []
    return choices + list(LOCALE_NAMES.items())


class LoginForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1024)])


class LocaleForm(FlaskForm):
    lang = SelectField(_l("Language"), choices=_locale_choices(blank=False))


class ProfileForm(FlaskForm):
    locale = SelectField(_l("Language"), choices=_locale_choices())
    current_password = PasswordField(_l("Current password"), validators=[Optional()])
    new_password = PasswordField(_l("New password"), validators=[Optional(), Length(min=10, max=1024)])
    confirm = PasswordField(_l("Repeat the new password"),
                            validators=[EqualTo("new_password", message=_l("The passwords differ."))])


class UserForm(FlaskForm):
    # The service checks the address (the same rule as the command line: intranet addresses
    # such as name@bank.local are valid for a bank's staff).
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Length(max=254)])
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    locale = SelectField(_l("Language"), choices=_locale_choices())
    password = PasswordField(_l("Password"), validators=[Optional(), Length(min=10, max=1024)])
    active = BooleanField(_l("Active"), default=True)
    agent_code = StringField(_l("Agent code (for an agent's own login)"),
                             validators=[Optional(), Length(max=32)])


class UserEditForm(UserForm):
    """Editing a user: the e-mail address is the account's key and is not changed here, so it
    is not re-validated either (an account made on the command line for an intranet address
    such as name@bank.local must still be editable and deactivatable)."""

    email = None


class GrantForm(FlaskForm):
    """One role grant; the user page shows one per role held plus an empty one to add."""

    role = SelectField(_l("Role"), choices=[(r, r) for r in ROLES])
    branch_code = StringField(_l("Branch code"), validators=[Optional(), Length(max=32)])
    region = StringField(_l("Region"), validators=[Optional(), Length(max=100)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.role.choices = [(r, role_label(r)) for r in ROLES]


class ApiTokenForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=100)])
    role = SelectField(_l("Role"))
    branch_code = StringField(_l("Branch code"), validators=[Optional(), Length(max=32)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.role.choices = [(r, role_label(r)) for r in ROLES]


class ConfirmForm(FlaskForm):
    """An empty form: a POST button with its CSRF token."""

"""Forms of the campaign pages. Times are entered in the user's time zone, stored in UTC."""

from __future__ import annotations

from datetime import UTC
from zoneinfo import ZoneInfo

from flask_babel import get_timezone
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, DateTimeLocalField, IntegerField, SelectField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

CHANNELS = (("email", _l("E-mail (audience list)")),
            ("counter", _l("Counter (QR codes per branch)")),
            ("api", _l("API (core banking / call centre delivers the link)")))


def _zone() -> ZoneInfo:
    # flask_babel may hand back a pytz zone, whose replace(tzinfo=...) gives LMT offsets
    return ZoneInfo(str(get_timezone()))


def to_utc(value):
    """A naive local time from a form -> aware UTC."""
    if value is None:
        return None
    return value.replace(tzinfo=_zone()).astimezone(UTC)


def to_local(value):
    if value is None:
        return None
    return value.astimezone(_zone()).replace(tzinfo=None, second=0, microsecond=0)


class CampaignForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    version_id = SelectField(_l("Survey version"), coerce=int)
    channel = SelectField(_l("Channel"), choices=CHANNELS)
    branch_code = StringField(_l("Branch code"), validators=[Optional(), Length(max=32)])
    opens_at = DateTimeLocalField(_l("Opens"), validators=[Optional()])
    closes_at = DateTimeLocalField(_l("Closes"), validators=[Optional()])
    link_valid_days = IntegerField(_l("Link valid for (days)"), default=14,
                                   validators=[NumberRange(1, 365)])
    reminder_after_days = IntegerField(_l("Remind non-responders after (days)"),
                                       validators=[Optional(), NumberRange(1, 90)])
    max_reminders = IntegerField(_l("At most this many reminders"), default=0,
                                 validators=[Optional(), NumberRange(0, 5)])
    contact_gap_days = IntegerField(_l("Do not invite anyone contacted in the last (days)"),
                                    default=30, validators=[NumberRange(0, 365)])

    def __init__(self, *args, versions=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.version_id.choices = [(v.id, f"{v.survey.title} · v{v.number}") for v in versions]

    LOCKED_WHEN_RUNNING = ("version_id", "channel", "branch_code", "opens_at")

    def lock_running_fields(self) -> None:
        """A running campaign keeps these: drop them so they are neither shown nor checked."""
        for name in self.LOCKED_WHEN_RUNNING:
            delattr(self, name)

    def service_data(self) -> dict:
        data = {}
        for name, f in self._fields.items():
            if name == "csrf_token":
                continue
            value = f.data
            if name in ("opens_at", "closes_at"):
                value = to_utc(value)
            data[name] = value
        data["max_reminders"] = data.get("max_reminders") or 0
        return data


class AudienceUploadForm(FlaskForm):
    file = FileField(_l("CSV file with a customer_ref column"), validators=[FileRequired()])
    encoding = SelectField(_l("Text encoding"), choices=[
        ("utf-8-sig", _l("UTF-8 (with or without BOM)")),
        ("gb18030", _l("GB18030 / GBK (Excel in Simplified Chinese)")),
        ("big5", _l("Big5 (Excel in Traditional Chinese)")),
    ])


class AudienceFilterForm(FlaskForm):
    branch_codes = StringField(_l("Branch codes (comma-separated; empty: all)"),
                               validators=[Optional(), Length(max=2000)])
    region = StringField(_l("Region"), validators=[Optional(), Length(max=100)])
    segment = SelectField(_l("Segment"), choices=[
        ("", _l("All segments")), ("standard", _l("Standard")), ("vip", _l("VIP"))])


class CounterLinksForm(FlaskForm):
    branch_codes = StringField(_l("Branch codes (comma-separated; empty: all)"),
                               validators=[Optional(), Length(max=2000)])
    per_agent = BooleanField(_l("Also one link per agent"))


class ConfirmForm(FlaskForm):
    """An empty form: a POST button with its CSRF token."""


def split_codes(text: str | None) -> list[str]:
    return [c.strip() for c in (text or "").replace("，", ",").replace(";", ",").split(",")
            if c.strip()]

"""Forms of the interaction pages: input shape only; the rules live in the services."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from qms.qa.models import CHANNELS


def channel_labels() -> dict:
    from qms.qa.evaluations import CHANNEL_LABELS

    return dict(CHANNEL_LABELS)


class InteractionForm(FlaskForm):
    channel = SelectField(_l("Channel"), choices=[])
    external_ref = StringField(_l("External reference"),
                               validators=[DataRequired(), Length(max=100)])
    agent_code = StringField(_l("Agent code"), validators=[DataRequired(), Length(max=32)])
    occurred_at = StringField(_l("Time"), validators=[DataRequired(), Length(max=40)],
                              render_kw={"type": "datetime-local", "step": "1"})
    duration_seconds = StringField(_l("Duration"), validators=[Optional(), Length(max=12)])
    customer_ref = StringField(_l("Customer reference"), validators=[Optional(), Length(max=64)])
    summary = TextAreaField(_l("Summary"), validators=[Optional(), Length(max=4000)])
    media_url = StringField(_l("Link to the recording or transcript"),
                            validators=[Optional(), Length(max=500)], render_kw={"type": "url"})
    transcript = TextAreaField(_l("Transcript"), validators=[Optional(), Length(max=200_000)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        labels = channel_labels()
        self.channel.choices = [(c, labels[c]) for c in CHANNELS]

    def to_data(self) -> dict:
        """The values as create_interaction takes them (blank optional fields stay blank)."""
        return {name: (self[name].data or "").strip() if name != "transcript"
                else (self[name].data or "")
                for name in ("channel", "external_ref", "agent_code", "occurred_at",
                             "duration_seconds", "customer_ref", "summary", "media_url",
                             "transcript")}

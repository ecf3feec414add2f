"""Forms of the scorecard pages: compute a month, create a model, edit a version's KPIs, and
the AHP pairwise comparison matrix (built at runtime for the version's KPIs)."""

from __future__ import annotations

from fractions import Fraction

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    FieldList,
    FloatField,
    Form,
    FormField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp

PERIOD_PATTERN = r"^\d{4}-(0[1-9]|1[0-2])$"


class ComputeForm(FlaskForm):
    period = StringField(_l("Month"), validators=[
        DataRequired(), Regexp(PERIOD_PATTERN, message=_l("A month as YYYY-MM."))])


class ModelCreateForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    scope = SelectField(_l("Scorecard of"), choices=[("branch", _l("Branches")),
                                                     ("agent", _l("Agents"))])


class KpiRowForm(Form):
    """One KPI of a version (no CSRF of its own: the enclosing form has it)."""

    key = HiddenField()
    include = BooleanField(_l("Include"))
    target = FloatField(_l("Target"), validators=[Optional()])
    green = FloatField(_l("Green from"), validators=[Optional()])
    amber = FloatField(_l("Amber from"), validators=[Optional()])
    weight = FloatField(_l("Weight"), validators=[Optional(), NumberRange(min=0)])
    min_sample = IntegerField(_l("Minimum sample"), validators=[Optional(), NumberRange(min=0)])


class VersionForm(FlaskForm):
    kpis = FieldList(FormField(KpiRowForm))
    overall_green = FloatField(_l("Overall green from"),
                               validators=[DataRequired(), NumberRange(min=0, max=100)])
    overall_amber = FloatField(_l("Overall amber from"),
                               validators=[DataRequired(), NumberRange(min=0, max=100)])

    def rows(self) -> list[dict]:
        """The included KPIs as service input, in the form's order."""
        out = []
        for entry in self.kpis.entries:
            f = entry.form
            if not f.include.data:
                continue
            row = {"key": f.key.data, "target": f.target.data, "green": f.green.data,
                   "amber": f.amber.data, "weight": f.weight.data}
            if f.min_sample.data is not None:
                row["min_sample"] = f.min_sample.data
            out.append(row)
        return out


# Saaty's fundamental scale: 9 (extremely more important) .. 1 (equal) .. 1/9.
SCALE_CHOICES = [(str(Fraction(n)), str(n)) for n in range(9, 1, -1)] + [("1", "1")] + \
    [(f"1/{n}", f"1/{n}") for n in range(2, 10)]


def scale_value(text: str) -> float:
    return float(Fraction(text))


def scale_text(value: float) -> str:
    """A stored judgement back to its choice ("3", "1/5"); the nearest scale value."""
    best = min(SCALE_CHOICES, key=lambda c: abs(scale_value(c[0]) - value))
    return best[0]


def ahp_form_class(n: int):
    """A form with one select per pair (i, j), i < j, named a_i_j."""

    class AhpForm(FlaskForm):
        def pairs(self):
            for i in range(n):
                for j in range(i + 1, n):
                    yield i, j, getattr(self, f"a_{i}_{j}")

        def upper(self) -> dict[tuple[int, int], float]:
            return {(i, j): scale_value(field.data) for i, j, field in self.pairs()}

    for i in range(n):
        for j in range(i + 1, n):
            setattr(AhpForm, f"a_{i}_{j}", SelectField(choices=SCALE_CHOICES, default="1"))
    return AhpForm

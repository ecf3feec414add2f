"""QA pages: interactions, rubrics, queues, evaluation form, disputes, calibration, reports."""

from flask import Blueprint

bp = Blueprint("qa", __name__, url_prefix="/qa")

from qms.qa.views import calibration, evaluations, interactions, reports, rubrics  # noqa: E402,F401

"""JSON API of the survey domain under /api/v1."""

from flask import Blueprint

bp = Blueprint("surveys_api", __name__, url_prefix="/api/v1")

from qms.surveys.api import bounces, invitations, results  # noqa: E402,F401

"""JSON (and PDF) API of scorecards under /api/v1/scorecards."""

from flask import Blueprint

bp = Blueprint("scorecards_api", __name__, url_prefix="/api/v1")

from qms.scorecards.api import pdf, snapshots  # noqa: E402,F401

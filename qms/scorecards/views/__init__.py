"""Scorecard pages: league table, branch and agent scorecards, scorecard models (AHP), PDFs."""

from flask import Blueprint

bp = Blueprint("scorecards", __name__, url_prefix="/scorecards")

from qms.scorecards.views import models_admin, pages, pdf  # noqa: E402,F401

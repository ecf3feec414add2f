"""Mystery-shopping pages: planning (programmes, waves, assignments), the shopper portal,
review of reports, results."""

from flask import Blueprint

bp = Blueprint("mystery", __name__, url_prefix="/mystery")

from qms.mystery.views import planning, results, review, shopper  # noqa: E402,F401

"""Survey pages for staff (builder, campaigns, results) and the public answering pages."""

from flask import Blueprint

bp = Blueprint("surveys", __name__, url_prefix="/surveys")
# Public pages (personal links /s/<token>, counter links /c/<token>) have no prefix.
public_bp = Blueprint("respond", __name__)

from qms.surveys.views import builder, campaigns, respond, results  # noqa: E402,F401

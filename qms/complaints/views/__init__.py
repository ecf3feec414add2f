"""Complaint pages for staff, and the public complaint form and status page."""

from flask import Blueprint

bp = Blueprint("complaints", __name__, url_prefix="/complaints")
# Public pages (no login): the complaint form and the private status link.
public_bp = Blueprint("complaint_public", __name__)

from qms.complaints.views import actions, admin, detail, intake, public, queues, reports  # noqa: E402,F401

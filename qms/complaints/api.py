"""JSON API of complaints under /api/v1."""

from flask import Blueprint

bp = Blueprint("complaints_api", __name__, url_prefix="/api/v1")

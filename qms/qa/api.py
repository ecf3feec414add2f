"""JSON API of QA under /api/v1."""

from flask import Blueprint

bp = Blueprint("qa_api", __name__, url_prefix="/api/v1")

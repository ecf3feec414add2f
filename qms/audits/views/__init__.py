"""Audit pages: checklist templates, programmes, calendar, performing, findings, reports."""

from flask import Blueprint

bp = Blueprint("audits", __name__, url_prefix="/audits")

from qms.audits.views import findings, perform, programmes, reports, templates  # noqa: E402,F401

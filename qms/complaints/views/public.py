"""Public complaint form and status page."""

from qms.complaints.views import public_bp  # noqa: F401

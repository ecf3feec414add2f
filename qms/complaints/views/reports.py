"""reports pages."""

from qms.complaints.views import bp  # noqa: F401

"""builder pages."""

from qms.surveys.views import bp  # noqa: F401

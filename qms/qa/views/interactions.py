"""interactions pages."""

from qms.qa.views import bp  # noqa: F401

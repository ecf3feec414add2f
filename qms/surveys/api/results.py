"""results API."""

from qms.surveys.api import bp  # noqa: F401

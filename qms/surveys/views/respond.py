"""Public answering pages: personal links and counter (QR) links."""

from qms.surveys.views import public_bp  # noqa: F401

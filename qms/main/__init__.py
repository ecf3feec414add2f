"""Cross-domain pages: home, language switch, health check."""

from qms.main import jobs_admin  # noqa: E402,F401  (routes on bp)
from qms.main.views import bp

__all__ = ["bp"]

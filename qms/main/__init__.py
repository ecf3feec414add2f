"""Cross-domain pages: home, language switch, health check."""

from qms.main.views import bp

from qms.main import jobs_admin  # noqa: E402,F401  (routes on bp)

__all__ = ["bp"]

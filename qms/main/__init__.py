"""Cross-domain pages: home, language switch, health check."""

from qms.main.views import bp

__all__ = ["bp"]

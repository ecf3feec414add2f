"""Admin page of scheduled jobs (being built)."""

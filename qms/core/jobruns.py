"""Scheduler run log (being built)."""

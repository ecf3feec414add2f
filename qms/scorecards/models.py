"""Scorecard tables (being built)."""

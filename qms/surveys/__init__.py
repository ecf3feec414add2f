"""Satisfaction surveys: definitions and versions, campaigns, invitations, responses, results."""

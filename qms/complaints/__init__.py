"""Complaint handling: intake to closure against regulatory deadlines, four-eyes, history."""

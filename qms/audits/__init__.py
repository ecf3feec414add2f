"""Periodic audits: checklists, programmes, findings and corrective actions."""

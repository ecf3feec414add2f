"""Cross-cutting pieces without routes: DB base, time, permissions, audit log, security."""

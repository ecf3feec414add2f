"""Benchmarks, run one at a time as `python -m bench.<name>`; not part of the test run."""

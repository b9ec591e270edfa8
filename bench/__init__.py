"""Benchmarks and data generators (not part of the test run)."""

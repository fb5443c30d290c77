"""Benchmarks with synthetic data at scale (`make bench`); never part of the test suite."""

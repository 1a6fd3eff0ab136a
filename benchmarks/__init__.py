"""Benchmarks (accuracy on labelled samples, performance); run as modules, kept out of the test suite."""

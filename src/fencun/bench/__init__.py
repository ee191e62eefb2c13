"""Benchmarks behind ``fencun bench``."""
